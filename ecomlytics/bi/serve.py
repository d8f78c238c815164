"""Serve Superset in this process, over the configured warehouse.

In embedded mode this process holds the chDB engine (Superset's clickhouse-connect clients and
the optional scheduled refresh share it), so nothing else may open the same warehouse directory
while it runs. In server mode there is no such limit.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from rich.console import Console

from ecomlytics.bi.setup import BIConnectionError, bi_connection, migrate_metadata, prepare, superset_env
from ecomlytics.settings import bi_warehouse_dsn
from ecomlytics.warehouse.client import config

console = Console(stderr=True)


def create_superset_app():
    """The Superset WSGI app with ecomlytics' configuration."""
    os.environ.update(superset_env())
    from superset.app import create_app

    return create_app()


def refresh_once(inbox: Path | None, archive_loaded: bool = False) -> None:
    """Load new files from the inbox (idempotent by content) and rebuild the marts (refresh.py)."""
    from ecomlytics.refresh import refresh

    refresh(inbox, archive_loaded=archive_loaded, label="scheduled refresh, inbox")


def start_refresher(app, every_min: int, inbox: Path | None, archive_loaded: bool = False) -> threading.Thread:
    """A daemon thread that refreshes every ``every_min`` minutes inside the serving process."""

    def loop() -> None:
        while True:
            time.sleep(every_min * 60)
            console.print(f"[bold]scheduled refresh[/] (every {every_min} min)")
            try:
                refresh_once(inbox, archive_loaded)
                with app.app_context():
                    from superset.extensions import cache_manager

                    cache_manager.data_cache.clear()
            except Exception as exc:  # noqa: BLE001 - keep serving; the next run retries
                console.print(f"[red]scheduled refresh failed:[/] {exc}")

    thread = threading.Thread(target=loop, name="ecomlytics-refresh", daemon=True)
    thread.start()
    return thread


def serve(
    host: str = "127.0.0.1",
    port: int = 8088,
    refresh_every_min: int = 0,
    inbox: Path | None = None,
    archive_loaded: bool = False,
    bi_dsn: str | None = None,
) -> None:
    """Prepare Superset (metadata, admin, bundle, roles) and serve it until interrupted."""
    from waitress import serve as waitress_serve

    cfg = config()
    try:  # fail before anything starts when the dashboards' connection cannot be made safe
        bi_connection(cfg, bi_warehouse_dsn(bi_dsn))
    except BIConnectionError as exc:
        raise SystemExit(f"ecomlytics serve: {exc}") from None
    console.print("preparing Superset (metadata, dashboards, roles) ...")
    migrate_metadata()
    app = create_superset_app()
    prepare(app, bi_dsn)
    if refresh_every_min > 0:
        start_refresher(app, refresh_every_min, inbox, archive_loaded)
    console.print(f"[green]dashboards:[/] http://{host}:{port}/  (user admin)  warehouse: {cfg.redacted()}")
    if cfg.embedded:
        console.print(
            "[yellow]embedded warehouse:[/] this process holds it; stop it (Ctrl-C) before running other "
            "ecomlytics commands or dbt on the same directory"
            + (", or let --refresh-every do the refreshes." if not refresh_every_min else ".")
        )
    waitress_serve(app, host=host, port=port, threads=8, channel_timeout=300, ident="ecomlytics")
