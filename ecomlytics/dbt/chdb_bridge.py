"""Bridge: dbt-clickhouse on embedded ClickHouse (chDB) through clickhouse-connect.

dbt-clickhouse 1.10 knows the ``http`` and ``native`` drivers only; the upstream proposal
("Support chDB as a driver", ClickHouse/dbt-clickhouse#369) adds ``driver: chdb``. This module
implements exactly that profile shape so it can be deleted once upstream ships it:

    embedded:
      type: clickhouse
      driver: chdb
      host: /path/to/warehouse      # for driver chdb: the chDB data directory
      schema: marts

The chDB client is dbt-clickhouse's own HTTP client wrapper with one change: the underlying
clickhouse-connect client is created with ``interface="chdb"``. In one process every client for
the same path shares one engine, so ``ecomlytics build`` (in-process dbt) and the loaders or
Superset of the same process see the same data.

``patch()`` applies the bridge now; ``install_import_hook()`` applies it whenever dbt-clickhouse
is imported, and ``python -m ecomlytics.dbt.chdb_bridge --install`` writes a ``.pth`` file that calls it
at interpreter start, so a plain ``dbt build`` in this environment understands ``driver: chdb``.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import sysconfig
from pathlib import Path

DBCLIENT = "dbt.adapters.clickhouse.dbclient"
PTH_NAME = "ecomlytics_dbt_chdb.pth"


def _chdb_client(credentials):
    """dbt-clickhouse's client wrapper, connected to an in-process chDB engine."""
    from dbt.adapters.clickhouse import dbclient
    from dbt.adapters.clickhouse.httpclient import ChHttpClient

    from ecomlytics.warehouse.client import open_embedded_client

    class ChChdbClient(ChHttpClient):
        def _create_client(self, credentials):
            path = Path(credentials.host).expanduser().resolve()
            path.mkdir(parents=True, exist_ok=True)
            return open_embedded_client(path, settings=self._conn_settings)

        def get_ch_setting(self, setting_name):
            # chDB reports every setting as read-only although a session may change it; without this
            # the adapter would disable lightweight deletes and with them delete+insert incrementals.
            value, _readonly = super().get_ch_setting(setting_name)
            return value, 0

    # The adapter remembers per process which databases exist; one process may switch warehouse
    # directories (close, reopen elsewhere), so forget it for every new embedded connection.
    with dbclient._database_lock:
        dbclient._ensured_databases.clear()
    return ChChdbClient(credentials)


def _with_chdb(original):
    """Wrap dbt-clickhouse's ``get_db_client`` so that ``driver: chdb`` gets the chDB client."""
    if getattr(original, "_ecomlytics_chdb", False):
        return original

    def get_db_client(credentials):
        if credentials.driver == "chdb":
            return _chdb_client(credentials)
        return original(credentials)

    get_db_client._ecomlytics_chdb = True  # type: ignore[attr-defined]
    return get_db_client


def patch() -> None:
    """Teach dbt-clickhouse's client factory the ``chdb`` driver now (idempotent)."""
    from dbt.adapters.clickhouse import connections, dbclient

    from ecomlytics.compat import check

    check("dbt-clickhouse")
    dbclient.get_db_client = _with_chdb(dbclient.get_db_client)
    connections.get_db_client = dbclient.get_db_client


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Wraps the factory right after dbt-clickhouse's dbclient module runs, before anyone uses it."""

    def find_spec(self, fullname, path, target=None):
        if fullname != DBCLIENT:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        original_exec = spec.loader.exec_module

        def exec_module(module):
            from ecomlytics.compat import check

            original_exec(module)
            check("dbt-clickhouse")
            # connections imports get_db_client by name after this: it gets the wrapped one.
            module.get_db_client = _with_chdb(module.get_db_client)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install_import_hook() -> None:
    """Patch dbt-clickhouse lazily, whenever (and if ever) it is imported in this interpreter."""
    if DBCLIENT in sys.modules:
        patch()
    elif not any(isinstance(f, _PatchAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchAfterImport())


def pth_path() -> Path:
    return Path(sysconfig.get_paths()["purelib"]) / PTH_NAME


def install_pth() -> Path:
    """Make every interpreter of this environment (so plain `dbt`) load the bridge on demand."""
    target = pth_path()
    target.write_text("import ecomlytics.dbt.chdb_bridge as _b; _b.install_import_hook()\n")
    return target


if __name__ == "__main__":
    if "--install" in sys.argv:
        print(f"dbt chDB bridge hook installed: {install_pth()}")
    else:
        print(__doc__)
