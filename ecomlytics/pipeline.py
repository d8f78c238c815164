"""The main job in one process: sample data -> raw layer -> dbt marts -> headline KPIs -> dashboards.

One process on purpose: in embedded mode a chDB directory may be opened by one process at a
time, so loading, building and serving happen here in turn, and the engine is released before
Superset takes it over.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from rich.console import Console

from ecomlytics.settings import state_dir

console = Console(stderr=True)

SAMPLE_SEED = 42


def default_end() -> date:
    """Sample data ends yesterday by default, so relative periods (last week, last month) show data."""
    return date.today() - timedelta(days=1)


def sample_data_dir(users: int, days: int, end: date) -> Path:
    """Where generated sample data for this size and last day lives in the state dir."""
    return state_dir() / "data" / f"sample-u{users}-d{days}-e{end.isoformat()}-s{SAMPLE_SEED}"


def ensure_sample_data(users: int, days: int, end: date) -> Path:
    """Generate the sample inputs once per size and last day (the generator is deterministic)."""
    from ecomlytics.sample_data import generate

    out = sample_data_dir(users, days, end)
    marker = out.with_name(out.name + ".complete")  # beside the inputs, not among them (load --dir reports every file)
    if not marker.exists():
        console.rule(f"[bold]1/4 generating sample data[/] ({users:,} users, {days} days)")
        generate(out, users=users, days=days, seed=SAMPLE_SEED, start=end - timedelta(days=days - 1))
        marker.touch()
    else:
        console.rule(f"[bold]1/4 sample data[/] already at {out}")
    return out


def run_pipeline(
    *, data: Path | None, users: int, days: int, serve: bool, host: str = "127.0.0.1", port: int = 8088,
    bi_dsn: str | None = None, verbose: bool = False, end: date | None = None,
) -> None:
    """Run every step of the main job; raises on the first failing step."""
    from ecomlytics.build import run_dbt
    from ecomlytics.headline import print_headline
    from ecomlytics.warehouse import close_all, config, connect
    from loaders.ingest import init_warehouse, load_files

    data_dir = data if data is not None else ensure_sample_data(users, days, end or default_end())
    console.rule(f"[bold]2/4 loading[/] {data_dir} -> {config().redacted()}")
    client = connect()
    init_warehouse(client)
    results = load_files(client, [], directory=data_dir, client_factory=connect)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise SystemExit(f"{len(failed)} file(s) failed to load: " + ", ".join(str(r.file) for r in failed))

    console.rule("[bold]3/4 building marts[/] (dbt build)")
    if not run_dbt("build", verbose=verbose, progress=True):
        raise SystemExit("dbt build failed (nothing published: marts are as before): see the log above")
    print_headline(client)

    # Hand the embedded engine over: Superset opens its own clients in this process.
    close_all()
    if serve:
        from ecomlytics.serve import serve as run_serve

        console.rule("[bold]4/4 serving dashboards[/]")
        run_serve(host=host, port=port, bi_dsn=bi_dsn)
