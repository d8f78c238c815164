"""Build benchmark: full `dbt build` at two data sizes and an incremental refresh, in one run.

    python bench/build.py [--small-users 480000] [--large-users 4800000] [--days 365]

About 2.1 visits per user: the defaults give ~1M and ~10M visits. For each size: generate, load all
but the last day, time a full build (models and dbt tests), then append the last day and time the
incremental build once the engine's background merges have settled (as a day later), in the same
process, so with dbt's parsed manifest reused, as in the serving process's scheduled refresh. Targets:
large/small full build <= 12x for 10x data; incremental/full <= 0.15.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ecomlytics import settings
from ecomlytics.build import run_dbt
from ecomlytics.sample_data import FILES, generate
from ecomlytics.warehouse import close_all, connect
from loaders.ingest import load_files

TIME_COLUMNS = {"visits": "Start Ts", "orders": "Buy Ts", "costs": "dt", "events": "ts"}


def split_last_day(data: Path, history: Path, last_day: Path, day: str) -> None:
    """Move each input's rows of ``day`` (and later) into a separate directory, as a daily drop would."""
    history.mkdir()
    last_day.mkdir()
    for kind, name in FILES.items():
        table = pacsv.read_csv(data / name, convert_options=pacsv.ConvertOptions(
            column_types={c: "string" for c in pacsv.read_csv(data / name, read_options=pacsv.ReadOptions(
                skip_rows_after_names=10**9)).column_names}))
        if kind in TIME_COLUMNS:
            late = pc.greater_equal(table[TIME_COLUMNS[kind]], day)
            late = pc.fill_null(late, False)
            pacsv.write_csv(table.filter(pc.invert(late)), history / name)
            pacsv.write_csv(table.filter(late), last_day / name)
        else:
            pacsv.write_csv(table, history / name)


def wait_for_background_merges(client, quiet_polls: int = 3, limit_s: float = 300.0) -> float:
    """Seconds until no merge or mutation has run for `quiet_polls` polls in a row: a daily refresh
    runs a day after the last build, not while the engine still merges the parts it wrote."""
    started = time.perf_counter()
    quiet = 0
    while quiet < quiet_polls and time.perf_counter() - started < limit_s:
        busy = client.query("SELECT (SELECT count() FROM system.merges)"
                            " + (SELECT count() FROM system.mutations WHERE NOT is_done)").result_rows[0][0]
        quiet = quiet + 1 if busy == 0 else 0
        time.sleep(0.5)
    return time.perf_counter() - started


def measure(users: int, days: int, root: Path) -> tuple[int, float, float]:
    home = root / f"u{users}"
    settings_env = {settings.HOME_ENV: str(home), settings.WAREHOUSE_ENV: f"chdb://{home / 'warehouse'}"}
    import os

    os.environ.update(settings_env)
    close_all()
    data = home / "data"
    generate(data, users=users, days=days, seed=5, start=date(2017, 6, 1), bad_share=0)
    last = (date(2017, 6, 1).toordinal() + days - 1)
    split_last_day(data, home / "history", home / "last_day", date.fromordinal(last).isoformat())
    client = connect()
    load_files(client, [], directory=home / "history", quiet=True)
    visits = client.query("SELECT count() FROM raw.visits").result_rows[0][0]
    started = time.perf_counter()
    assert run_dbt("build", extra_args=["--quiet"])
    full = time.perf_counter() - started
    load_files(client, [], directory=home / "last_day", quiet=True)
    settled = wait_for_background_merges(client)
    print(f"{visits:,} visits: full build {full:.1f} s; background merges settled {settled:.1f} s later", flush=True)
    started = time.perf_counter()
    assert run_dbt("build", extra_args=["--quiet"])
    incremental = time.perf_counter() - started
    close_all()
    return visits, full, incremental


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small-users", type=int, default=480_000)
    parser.add_argument("--large-users", type=int, default=4_800_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(args.small_users, args.days, Path(tmp))
        large = measure(args.large_users, args.days, Path(tmp))
    for label, (visits, full, incremental) in (("small", small), ("large", large)):
        print(f"{label}: {visits:>11,} visits  full build {full:7.1f} s  incremental (+1 day) {incremental:6.1f} s  "
              f"incremental/full {incremental / full:.2f} (target <= 0.15)")
    print(f"data ratio {large[0] / small[0]:.1f}x -> full build time ratio {large[1] / small[1]:.2f}x "
          f"(target <= 12x for 10x data)")


if __name__ == "__main__":
    main()
