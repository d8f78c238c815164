"""One way to reach the warehouse: a clickhouse-connect Client built from a DSN.

``chdb:///abs/dir``                  embedded ClickHouse (chDB) stored in that directory
``http(s)://user:pass@host:port``    a ClickHouse server over HTTP(S)

All code talks to the warehouse through the returned Client; only its creation differs.
chDB allows one process per on-disk directory; inside a process every client for the same
path shares one engine, and the engine is released once every client is closed.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from ecomlytics.settings import warehouse_dsn

# Clients handed out by connect(): a chDB engine is released only when all its clients are
# closed, and a process may hold one chDB path at a time, so switching paths needs close_all().
_open_clients: weakref.WeakSet[Client] = weakref.WeakSet()


@dataclass(frozen=True)
class WarehouseConfig:
    """A parsed warehouse DSN."""

    interface: str  # "chdb", "http" or "https"
    path: Path | None = None  # chdb only
    host: str = "localhost"
    port: int = 8123
    username: str = "default"
    password: str = ""

    @property
    def embedded(self) -> bool:
        return self.interface == "chdb"

    def client_kwargs(self) -> dict:
        """Keyword arguments for ``clickhouse_connect.get_client``."""
        if self.embedded:
            return {"interface": "chdb", "path": str(self.path)}
        return {
            "interface": self.interface,
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
        }

    def sqlalchemy_uri(self, database: str = "marts") -> str:
        """URI for Superset's ``clickhousedb`` SQLAlchemy dialect (clickhouse-connect)."""
        if self.embedded:
            return f"clickhousedb://localhost/{database}?interface=chdb&path={self.path}"
        auth = self.username + (f":{self.password}" if self.password else "")
        query = "?protocol=https" if self.interface == "https" else ""
        return f"clickhousedb://{auth}@{self.host}:{self.port}/{database}{query}"

    def redacted(self) -> str:
        """The DSN with the password hidden, for logs and messages."""
        if self.embedded:
            return f"chdb://{self.path}"
        return f"{self.interface}://{self.username}:***@{self.host}:{self.port}"


def parse_dsn(dsn: str) -> WarehouseConfig:
    """Parse ``chdb:///dir`` or ``http(s)://user:pass@host:port`` into a WarehouseConfig."""
    parts = urlsplit(dsn)
    scheme = parts.scheme.lower()
    if scheme == "chdb":
        raw_path = unquote((parts.netloc or "") + parts.path)
        if not raw_path:
            raise ValueError(f"chdb DSN needs a directory: {dsn!r} (e.g. chdb:///abs/dir)")
        return WarehouseConfig(interface="chdb", path=Path(raw_path).expanduser().resolve())
    if scheme in ("http", "https"):
        return WarehouseConfig(
            interface=scheme,
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if scheme == "https" else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
        )
    raise ValueError(f"unsupported warehouse DSN {dsn!r}: use chdb:///abs/dir or http(s)://user:pass@host:port")


def config(dsn: str | None = None) -> WarehouseConfig:
    """The warehouse configuration in force (see ``ecomlytics.settings.warehouse_dsn``)."""
    return parse_dsn(warehouse_dsn(dsn))


class WarehouseInUse(RuntimeError):
    """The embedded warehouse directory is held by another process (chDB allows one per directory)."""


def holder_of(path: Path) -> str:
    """Which process holds an embedded warehouse: the engine writes its PID into ``status``."""
    try:
        pid = next(line.split(":", 1)[1].strip() for line in (path / "status").read_text().splitlines()
                   if line.startswith("PID:"))
    except (OSError, StopIteration):
        return "another process"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    return f"process {pid}" + (f" ({command})" if command else "")


def open_embedded_client(path: Path, **kwargs) -> Client:
    """A chDB client on ``path``; a directory held by another process is a WarehouseInUse error."""
    from clickhouse_connect.driver.exceptions import ProgrammingError

    try:
        return clickhouse_connect.get_client(interface="chdb", path=str(path), **kwargs)
    except ProgrammingError as exc:
        if "Error initializing EmbeddedServer" not in str(exc):
            raise
        raise WarehouseInUse(
            f"the embedded warehouse {path} is in use by {holder_of(path)}. Only one process may open it: "
            "stop that process (e.g. Ctrl-C in the terminal running `ecomlytics serve`), or let the serving "
            "process refresh itself (`ecomlytics serve --refresh-every MIN --inbox DIR`).") from None


def connect(dsn: str | None = None, **settings) -> Client:
    """A clickhouse-connect Client for the configured warehouse."""
    cfg = config(dsn)
    if cfg.embedded:
        cfg.path.mkdir(parents=True, exist_ok=True)
        client = open_embedded_client(cfg.path, settings=settings or None)
    else:
        client = clickhouse_connect.get_client(**cfg.client_kwargs(), settings=settings or None)
    _open_clients.add(client)
    return client


def close_all() -> None:
    """Close every client connect() handed out (releases an embedded engine for other paths)."""
    from ecomlytics.warehouse.chdb_handles import close_idle

    for client in list(_open_clients):
        client.close()
    _open_clients.clear()
    close_idle()
