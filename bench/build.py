"""Build benchmark: full dbt build at two data sizes, and the daily incremental refresh.

    python bench/build.py [--small 1000000] [--large 10000000] [--days 365]

For each size (in visits) it generates sample data (ecomlytics.sample_data), loads all but the last
day into a fresh embedded warehouse, runs a full build (`dbt build --full-refresh`), appends the
last day and runs the normal (incremental) build. Printed side by side:
- full build time large / small (target <= 12x for 10x data),
- incremental refresh / full build at each size (target <= 0.15).
Generation and loading are not timed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.test_incremental holds the day-split helper shared with the test

from ecomlytics.build import run_dbt  # noqa: E402
from ecomlytics.sample_data import generate  # noqa: E402
from ecomlytics.warehouse import close_all, connect  # noqa: E402
from loaders.ingest import load_files  # noqa: E402
from tests.test_incremental import split_inputs  # noqa: E402

START = date(2017, 6, 1)
PROBE_USERS = 20_000


@dataclass
class Measurement:
    visits: int
    full_s: float
    incremental_s: float


def visits_per_user(workdir: Path, days: int) -> float:
    """The generator's mean visits per user over `days`, from a small probe run."""
    probe = workdir / "probe"
    paths = generate(probe, users=PROBE_USERS, days=days, seed=3, start=START, bad_share=0)
    with open(paths["visits"], "rb") as handle:
        visits = sum(1 for _ in handle) - 1
    return visits / PROBE_USERS


def timed_build(full_refresh: bool) -> float:
    started = time.perf_counter()
    if not run_dbt("build", full_refresh=full_refresh):
        raise SystemExit("dbt build failed (see the dbt log in the state dir)")
    return time.perf_counter() - started


def measure(workdir: Path, users: int, days: int) -> Measurement:
    """Generate, load all days but the last, full build; append the last day, incremental build."""
    data, history, last_day = workdir / "data", workdir / "history", workdir / "last_day"
    generate(data, users=users, days=days, seed=7, start=START, bad_share=0)
    split_inputs(data, history, last_day, cutoff=str(START + timedelta(days=days - 1)))
    os.environ["ECOMLYTICS_HOME"] = str(workdir / "state")
    os.environ["ECOMLYTICS_WAREHOUSE"] = f"chdb://{workdir / 'warehouse'}"
    close_all()  # one chDB path per process: release the previous size's warehouse
    client = connect(os.environ["ECOMLYTICS_WAREHOUSE"])
    load_files(client, [], directory=history, quiet=True)
    visits = client.query("SELECT count() FROM raw.visits").result_rows[0][0]
    full_s = timed_build(full_refresh=True)
    load_files(client, [], directory=last_day, quiet=True)
    incremental_s = timed_build(full_refresh=False)
    close_all()
    return Measurement(visits, full_s, incremental_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1_000_000, help="visits in the small dataset")
    parser.add_argument("--large", type=int, default=10_000_000, help="visits in the large dataset")
    parser.add_argument("--days", type=int, default=365, help="days of history")
    args = parser.parse_args()
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="ecomlytics-bench-build-") as tmp:
        per_user = visits_per_user(Path(tmp), args.days)
        for label, visits in (("small", args.small), ("large", args.large)):
            workdir = Path(tmp) / label
            results.append(measure(workdir, users=max(1, round(visits / per_user)), days=args.days))
    small, large = results
    print(f"{'':24}{'small':>12}{'large':>12}")
    print(f"{'visits loaded':24}{small.visits:>12,}{large.visits:>12,}")
    print(f"{'full build (s)':24}{small.full_s:>12.1f}{large.full_s:>12.1f}")
    print(f"{'incremental +1 day (s)':24}{small.incremental_s:>12.1f}{large.incremental_s:>12.1f}")
    print(f"{'incremental / full':24}{small.incremental_s / small.full_s:>12.2f}"
          f"{large.incremental_s / large.full_s:>12.2f}   (target <= 0.15)")
    print(f"full build large / small: {large.full_s / small.full_s:.1f}x for "
          f"{large.visits / small.visits:.1f}x visits (target <= 12x for 10x)")


if __name__ == "__main__":
    main()
