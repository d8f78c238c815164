"""Recognise an input file: its format, delimiter, header and how its columns map to the contract.

All format probing is here: the name, the magic bytes, a CSV's header line (read in Python) and a
Parquet file's schema (read by the engine); the rows are parsed by ClickHouse. Header names match
case-insensitively with spaces, dashes and underscores treated alike (`Start Ts` = `start_ts` =
`START-TS`); unknown columns are ignored, missing optional ones get defaults, a missing required
one rejects the file.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from clickhouse_connect.driver.client import Client

from loaders.lines import sql_string
from loaders.schema import INPUTS, InputSpec

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
HASH_CHUNK = 8 << 20


class InputError(Exception):
    """A file that cannot be loaded at all (rejected whole, nothing loaded)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def compressed_file_error(path: Path) -> InputError:
    """The one message for a .gz that cannot be decompressed to its end (not zlib's or the engine's)."""
    return InputError(path, f"compressed file is truncated or corrupt: {path.name}")


@dataclass(frozen=True)
class Probe:
    """What a file is and where each contract column sits in it."""

    path: Path
    spec: InputSpec
    fmt: str  # "CSV" or "Parquet"
    delimiter: str  # CSV only
    header: tuple[str, ...]  # the file's own column names, in file order
    positions: dict[str, int]  # contract column -> index in header (present columns only)
    source_types: dict[str, str] = field(default_factory=dict)  # Parquet only: header name -> engine type

    @property
    def source_names(self) -> dict[str, str]:
        """contract column -> the file's own header name."""
        return {col: self.header[i] for col, i in self.positions.items()}

    @property
    def compressed(self) -> bool:
        return is_gzip(self.path)


def normalise(name: str) -> str:
    """Header key: case-insensitive, spaces/dashes/underscores (and a BOM) ignored."""
    return re.sub(r"[\s_\-]+", "", name.replace("\ufeff", "")).lower()


SUFFIXES = (".csv.gz", ".csv", ".parquet")


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(".parquet")


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def first_line(message: str) -> str:
    """The first line of an error message (the engine's messages run long), for load results."""
    return message.strip().splitlines()[0][:500] if message.strip() else "unknown error"


def kind_from_name(path: Path) -> str | None:
    """The input kind a file name announces, or None.

    A name is a contract stem (``orders_log``, ``orders``, ``visits``, ...; see ``InputSpec.file_names``)
    followed by anything that does not start with a letter, then ``.csv``, ``.csv.gz`` or
    ``.parquet``, case-insensitively: ``orders_log_2018-05-31.csv`` and ``ORDERS-2.csv.gz`` are orders,
    ``ordersheet.csv`` is nothing. The longest matching stem wins, because stems are prefixes of
    one another (``orders`` / ``orders_items``).
    """
    name = path.name.lower()
    suffix = next((s for s in SUFFIXES if name.endswith(s)), None)
    if suffix is None:
        return None
    base = name[: -len(suffix)]
    matches = [
        (len(stem), spec.kind)
        for spec in INPUTS.values()
        for stem in spec.file_names
        if base.startswith(stem) and not base[len(stem) : len(stem) + 1].isalpha()
    ]
    return max(matches)[1] if matches else None


def expected_names() -> str:
    """The main name pattern of each input (`load --dir` takes the shorter stems too), for messages."""
    return ", ".join(f"{spec.file_names[0]}*" for spec in INPUTS.values())


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes: the identity of a load (same content = same load)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_csv_header(path: Path, compressed: bool) -> str:
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as handle:
            first = handle.readline(1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        if compressed:
            raise compressed_file_error(path) from exc
        raise InputError(path, f"unreadable: {exc}") from exc
    if b"\x00" in first:
        raise InputError(path, "not a CSV file (binary content)")
    try:
        return first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a UTF-8 CSV file (line 1: {exc.reason})") from exc


def _split_header(line: str) -> tuple[str, list[str]]:
    delimiter = ";" if line.count(";") > line.count(",") else ","
    return delimiter, [field.strip().strip('"').strip() for field in line.split(delimiter)]


def parquet_schema(client: Client, path: Path) -> dict[str, str]:
    """A Parquet file's columns and their types, as the engine reads them."""
    with open(path, "rb") as handle:
        if handle.read(4) != PARQUET_MAGIC:
            raise InputError(path, "not a Parquet file (missing PAR1 magic bytes)")
    try:
        rows = client.query(f"DESCRIBE TABLE file({sql_string(str(path))}, 'Parquet')").result_rows
    except Exception as exc:  # noqa: BLE001
        raise InputError(path, f"not a readable Parquet file: {first_line(str(exc))}") from exc
    return {row[0]: row[1] for row in rows}


def probe_file(client: Client, path: Path, kind: str) -> Probe:
    """probe(), reading a Parquet file's schema through the engine (``client``)."""
    return probe(path, kind, parquet_schema(client, path) if is_parquet(path) else None)


def probe(path: Path, kind: str, parquet_types: dict[str, str] | None = None) -> Probe:
    """Identify the file's format and map its header onto the contract columns of ``kind``.

    ``parquet_types``: a Parquet file's schema (``parquet_schema``), column name -> engine type."""
    spec = INPUTS[kind]
    if not path.is_file():
        raise InputError(path, "no such file")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    name = path.name.lower()
    if is_parquet(path):
        if magic != PARQUET_MAGIC:
            raise InputError(path, "not a Parquet file (missing PAR1 magic bytes)")
        if parquet_types is None:
            raise InputError(path, "Parquet schema could not be read")
        fmt, delimiter, header = "Parquet", ",", list(parquet_types)
    elif name.endswith((".csv", ".csv.gz")):
        compressed = is_gzip(path)
        if compressed and magic[:2] != GZIP_MAGIC:
            raise InputError(path, "not a gzip file")
        if magic == PARQUET_MAGIC:
            raise InputError(path, "not a CSV file (it is Parquet)")
        line = _read_csv_header(path, compressed)
        if not line.strip():
            raise InputError(path, "empty file: no header line")
        fmt = "CSV"
        delimiter, header = _split_header(line)
    else:
        raise InputError(path, "unsupported file type (use .csv, .csv.gz or .parquet)")

    by_key: dict[str, int] = {}
    for index, column in enumerate(header):
        key = normalise(column)
        if key and key in by_key:
            # Which of the two holds the data is anyone's guess: refuse rather than pick one.
            first = header[by_key[key]]
            raise InputError(path, f"header names column {column!r} twice (fields {by_key[key] + 1} and {index + 1}"
                             + (f", as {first!r})" if first != column else ")"))
        by_key[key] = index
    positions = {c.name: by_key[normalise(c.name)] for c in spec.columns if normalise(c.name) in by_key}
    missing = [c for c in spec.required if c not in positions]
    if missing:
        raise InputError(
            path,
            f"missing required column(s) {', '.join(missing)} for {kind} (header: {', '.join(header)})",
        )
    return Probe(path, spec, fmt, delimiter, tuple(header), positions, parquet_types or {})
