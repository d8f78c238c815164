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
    from ecomlytics.headline import print_headline
    from ecomlytics.refresh import RefreshOutcome, build_and_publish, load_new_files
    from ecomlytics.warehouse.client import close_all, config, connect

    data_dir = data if data is not None else ensure_sample_data(users, days, end or default_end())
    console.rule(f"[bold]2/4 loading[/] {data_dir} -> {config().redacted()}")
    outcome = RefreshOutcome(load_new_files(data_dir))
    if outcome.failed_files:
        raise SystemExit(f"{len(outcome.failed_files)} file(s) failed to load: "
                         + ", ".join(str(path) for path in outcome.failed_files))
    console.rule("[bold]3/4 building marts[/] (dbt build, published all at once)")
    if not build_and_publish(verbose=verbose, progress=True):
        raise SystemExit("dbt build failed: see the log above")
    print_headline(connect())

    # Hand the embedded engine over: Superset opens its own clients in this process.
    close_all()
    if serve:
        from ecomlytics.bi.serve import serve as run_serve

        console.rule("[bold]4/4 serving dashboards[/]")
        run_serve(host=host, port=port, bi_dsn=bi_dsn)
