"""The front door: ``ecomlytics --help``.

Each command is a thin wrapper over an importable library function; heavy modules (dbt,
Superset) are imported only by the commands that need them.
"""

from __future__ import annotations

import os
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ecomlytics import settings

app = typer.Typer(
    help="E-commerce growth analytics: load visits/orders/costs into ClickHouse, build dbt marts, "
    "serve Superset dashboards.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
export_app = typer.Typer(help="Export data for scheduled jobs (no UI needed).", no_args_is_help=True)
app.add_typer(export_app, name="export")
users_app = typer.Typer(help="Superset users and roles managed by ecomlytics.", no_args_is_help=True)
app.add_typer(users_app, name="users")
console = Console(stderr=True)


@app.callback()
def main(
    warehouse: Annotated[
        str | None,
        typer.Option(
            "--warehouse",
            envvar=settings.WAREHOUSE_ENV,
            help="Warehouse DSN: chdb:///abs/dir (embedded, default ./var/warehouse) "
            "or http(s)://user:pass@host:port (ClickHouse server).",
            show_default=False,
        ),
    ] = None,
) -> None:
    # Every library function reads the DSN through settings.warehouse_dsn(), so publishing the
    # option once here makes every command (and dbt, Superset) honour it.
    if warehouse:
        os.environ[settings.WAREHOUSE_ENV] = warehouse


@app.command()
def init() -> None:
    """Create the raw databases and tables (idempotent)."""
    from ecomlytics.warehouse.client import config, connect
    from loaders.ingest import init_warehouse

    client = connect()
    init_warehouse(client)
    console.print(f"[green]warehouse ready[/] at {config().redacted()}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Directory to write the CSV files into.")] = Path("var/data"),
    users: Annotated[int, typer.Option(help="Number of distinct visitors.")] = 20_000,
    days: Annotated[int, typer.Option(help="Length of the period in days.")] = 365,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")] = 42,
    start: Annotated[str, typer.Option(help="First day of the period (YYYY-MM-DD).")] = "2017-06-01",
    bad_rows: Annotated[float, typer.Option(help="Share of deliberately bad rows (quarantine demo).")] = 0.001,
) -> None:
    """Write realistic, deterministic sample inputs (visits, orders, costs, items, customers, events, refunds,
    fx rates, products)."""
    from datetime import date

    from ecomlytics.sample_data import generate as run_generate

    files = run_generate(
        out, users=users, days=days, seed=seed, start=date.fromisoformat(start), bad_share=bad_rows
    )
    for kind, path in files.items():
        console.print(f"{kind:12} {path}")


class Kind(StrEnum):
    visits = "visits"
    orders = "orders"
    costs = "costs"
    order_items = "order_items"
    customers = "customers"
    events = "events"
    refunds = "refunds"
    fx_rates = "fx_rates"
    products = "products"


@app.command()
def load(
    paths: Annotated[list[Path] | None, typer.Argument(help="Input files (CSV, CSV.gz, Parquet).")] = None,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Load every input in DIR, recognised by name (orders_log*.csv, visits*, ...)."),
    ] = None,
    kind: Annotated[Kind | None, typer.Option(help="Input kind, when a file name does not tell.")] = None,
    ignore_unknown: Annotated[
        bool, typer.Option(help="Exit 0 even when files in DIR match no input (they are still listed).")
    ] = False,
) -> None:
    """Load input files into the raw layer: validated, quarantined, idempotent, all-or-nothing.

    Exit code 1 when a file failed, or when a file in DIR was not recognised (unless --ignore-unknown).
    """
    from ecomlytics.warehouse.client import connect
    from loaders.ingest import load_files, tally, tally_line

    if not paths and not directory:
        raise typer.BadParameter("give files to load or --dir DIR")
    counts = tally(load_files(connect(), paths or [], directory=directory, kind=kind.value if kind else None,
                              client_factory=connect))
    console.print(tally_line(counts))
    if counts["failed"] or (counts["unknown"] and not ignore_unknown):
        raise typer.Exit(code=1)


@app.command()
def build(
    full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models from scratch.")] = False,
    select: Annotated[str | None, typer.Option(help="dbt node selection, e.g. 'marts.crm'.")] = None,
    verify_all: Annotated[
        bool, typer.Option(help="Key tests check every row, not only rows written since their last pass.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="dbt's node-by-node log instead of a progress line.")]
    = False,
) -> None:
    """Run `dbt build` (seeds, models, tests) and publish the marts all at once when every node passed."""
    from ecomlytics.dbt.runner import run_dbt
    from ecomlytics.warehouse.client import connect

    connect()  # a warehouse held by another process fails here, in one line, before dbt starts
    ok = run_dbt("build", full_refresh=full_refresh, select=select, vars={"verify_all": True} if verify_all else None,
                 verbose=verbose, progress=True)
    if not ok:
        raise typer.Exit(code=1)


@app.command()
def kpi() -> None:
    """Print the headline KPIs (marts.kpi_headline)."""
    from ecomlytics.headline import print_headline
    from ecomlytics.warehouse.client import connect

    print_headline(connect())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve Superset on.")] = 8088,
    refresh_every: Annotated[
        int, typer.Option(help="Minutes between scheduled refreshes (load --dir inbox + dbt build); 0 = off.")
    ] = 0,
    inbox: Annotated[Path | None, typer.Option(help="Directory the scheduled refresh loads new files from.")] = None,
    archive_loaded: Annotated[
        bool, typer.Option(help="Move inbox files once loaded (or already loaded) to INBOX/archive/.")
    ] = False,
    bi_warehouse: Annotated[
        str | None, typer.Option(help="Server mode: DSN of the read-only user the dashboards read the marts with "
                                      "(or ECOMLYTICS_BI_WAREHOUSE; see docs/security.md).")
    ] = None,
) -> None:
    """Prepare Superset (metadata, admin, roles, dashboards) and serve it.

    In embedded mode this process holds the chDB warehouse: stop it before running other
    commands against the same warehouse, or let it run the refreshes (--refresh-every).
    """
    from ecomlytics.bi.serve import serve as run_serve

    run_serve(host=host, port=port, refresh_every_min=refresh_every, inbox=inbox, archive_loaded=archive_loaded,
              bi_dsn=bi_warehouse)


@users_app.command("reset")
def users_reset(
    usernames: Annotated[list[str] | None, typer.Argument(help="Users to give a new password: admin, analyst, "
                                                               "marketing, finance, crm, executive.")] = None,
    roles: Annotated[bool, typer.Option("--roles", help="Also set every role back to ecomlytics' definition "
                                                        "(undoes permission changes made in the UI).")] = False,
) -> None:
    """Undo UI changes on purpose: `serve` creates users and roles only when missing and keeps the rest.

    Role users get a new generated password (written to the state dir's superset/users.json and printed);
    admin gets ECOMLYTICS_ADMIN_PASSWORD or the one in superset/admin_password. Embedded: run it while
    nothing serves.
    """
    from ecomlytics.bi.serve import create_superset_app
    from ecomlytics.bi.setup import migrate_metadata, reset_users

    if not usernames and not roles:
        raise typer.BadParameter("name users to reset, or --roles")
    migrate_metadata()
    try:
        passwords = reset_users(create_superset_app(), usernames or [], roles=roles)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for username, password in passwords.items():
        console.print(f"{username}: new password {password}")
    if roles:
        console.print("[green]roles reset[/] to ecomlytics' definitions")


@app.command("clickhouse-config")
def clickhouse_config(
    out: Annotated[Path, typer.Option(help="Directory for users.d/ and config.d/ (mounted by docker-compose.yml).")]
    = Path("deploy/clickhouse"),
) -> None:
    """Render the ClickHouse server settings of the dashboards' read-only user (docs/security.md)."""
    from ecomlytics.bi.server_config import write

    for path in write(out):
        console.print(f"[green]written[/] {path}")


@app.command("superset-export")
def superset_export(
    out: Annotated[Path | None, typer.Option(help="Where to write Superset's export (default: STATE/superset/export).")]
    = None,
) -> None:
    """Export the dashboards as edited in Superset's UI and list what differs from superset_assets/.

    superset_assets/ is rendered by ecomlytics/bi/bundle_builder.py (its one writer) from the description in
    superset_assets/description/: make the listed changes in the files named beside them and render the
    bundle again (superset_assets/README.md, Editing).
    """
    from ecomlytics.bi.bundle_builder import description_files
    from ecomlytics.bi.bundle_description import DESCRIPTION_DIR
    from ecomlytics.bi.bundle_diff import compare
    from ecomlytics.bi.serve import create_superset_app
    from ecomlytics.bi.setup import ASSETS_DIR, export_bundle, migrate_metadata
    from ecomlytics.settings import state_dir

    out = out or state_dir() / "superset" / "export"
    if out.resolve() == ASSETS_DIR.resolve():
        console.print("[red]--out:[/] superset_assets/ is rendered from ecomlytics/bi/bundle_builder.py out of "
                      "superset_assets/description/; export elsewhere and carry the listed changes into the "
                      "description", soft_wrap=True)
        raise typer.Exit(code=2)
    migrate_metadata()
    written = export_bundle(create_superset_app(), out)
    console.print(f"[green]{written} files[/] written to {out}")
    changes = compare(ASSETS_DIR, out, description_files())
    for change in changes:
        console.print(change.line(), markup=False, highlight=False)
    if not changes:
        console.print(f"the export equals {ASSETS_DIR}")
        return
    console.print(f"{len(changes)} asset(s) differ from {ASSETS_DIR}. Make each change in the description file "
                  f"named in [brackets] under {DESCRIPTION_DIR} (an added chart: in its dashboard's file; the "
                  f"settings are in {out}), then render the bundle and check that git diff superset_assets/ shows "
                  "the UI's change:\n    python -m ecomlytics.bi.bundle_builder", markup=False, highlight=False)


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


@export_app.command("rfm")
def export_rfm(
    out: Annotated[Path, typer.Option(help="File to write.")],
    segment: Annotated[list[str] | None, typer.Option(help="RFM segment(s), e.g. 'Lost VIP'.")] = None,
    macro_segment: Annotated[list[str] | None, typer.Option(help="Macro-segment(s): New, Active, Churn.")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or xlsx.")] = ExportFormat.csv,
    only_consented: Annotated[
        str | None, typer.Option(help="Keep only contacts opted in to this channel: email, sms or push.")
    ] = None,
) -> None:
    """Export RFM segment contacts (name, e-mail, phone, consent flags) for CRM campaigns."""
    from ecomlytics.export import ExportError, export_rfm_contacts
    from ecomlytics.warehouse.client import connect

    try:
        n = export_rfm_contacts(
            connect(),
            out,
            segments=segment or [],
            macro_segments=macro_segment or [],
            fmt=fmt.value,
            only_consented=only_consented,
        )
    except ExportError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(f"[green]{n} contacts[/] -> {out}")


@app.command()
def run(
    data: Annotated[
        Path | None, typer.Option(help="Directory of input files; default: generate sample data first.")
    ] = None,
    users: Annotated[int, typer.Option(help="Sample data size when generating.")] = 20_000,
    days: Annotated[int, typer.Option(help="Sample period when generating.")] = 365,
    end: Annotated[str | None, typer.Option(help="Last day of the generated sample (YYYY-MM-DD); default yesterday, "
                                                 "so relative periods (last month, last quarter) show data.")] = None,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve dashboards at the end.")] = True,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve Superset on.")] = 8088,
    bi_warehouse: Annotated[
        str | None, typer.Option(help="Server mode: DSN of the read-only user the dashboards read the marts with "
                                      "(or ECOMLYTICS_BI_WAREHOUSE; see docs/security.md).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="dbt's node-by-node log instead of a progress line.")]
    = False,
) -> None:
    """The main job: data -> warehouse -> marts -> dashboards, in one process."""
    from ecomlytics.pipeline import run_pipeline

    run_pipeline(data=data, users=users, days=days, serve=serve_after, host=host, port=port, bi_dsn=bi_warehouse,
                 verbose=verbose, end=date.fromisoformat(end) if end else None)


def entry() -> None:
    """The console script: known operational errors as one line, not a traceback."""
    from ecomlytics.warehouse.client import WarehouseInUse

    try:
        app()
    except WarehouseInUse as exc:
        console.print(f"[red]error:[/] {exc}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    entry()
