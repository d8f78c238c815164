"""Build benchmark: full `dbt build` at two data sizes and an incremental refresh, in one run.

    python bench/build.py [--small-users 480000] [--large-users 4800000] [--days 365] [--only large]

About 2.1 visits per user: the defaults give ~1M and ~10M visits. For each size: generate, load all
but the last --drops days, parse the dbt project and let the load's merges and the OS's write-back
settle, time a full build (models and dbt tests), then append the remaining days one at a time and
time each incremental build once they have settled again (as a day later), in the same process, so with
dbt's parsed manifest reused, as in the serving process's scheduled refresh; then time a second full
build (--full-refresh). The median of the daily refreshes is compared with the mean of the two full
builds (the machine's speed drifts). Each size runs in a process of its own (one warehouse per
process, as ecomlytics runs). Targets: large/small full build <= 12x for 10x data;
incremental/full <= 0.15. The slowest dbt nodes of the median refresh (from dbt's run_results.json)
are printed for each size (--slowest N, 0 for none), to show where a refresh's time goes.

--compare-mechanisms (with --only large) measures what two custom mechanisms of the project save: the
daily drops cycle through three variants of the refresh, side by side in one run, each timed against the
same full builds: as shipped; key tests checking every row (`verify_all`: as without
macros/verified_checks.sql); dbt-clickhouse's own materialization steps (`stock_materialization`: as without
macros/lean_materialization.sql). Use --drops 6 or more (each variant's median of two or more days).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ecomlytics import settings
from ecomlytics.dbt.runner import parse_project, run_dbt
from ecomlytics.sample_data import FILES, generate
from ecomlytics.warehouse.client import close_all, connect
from loaders.ingest import load_files

RESULT_PREFIX = "RESULT "
# Refresh variants of --compare-mechanisms: label -> dbt vars.
VARIANTS = {"as shipped": {}, "without verified_checks (verify_all)": {"verify_all": True},
            "without lean_materialization (stock_materialization)": {"stock_materialization": True}}
TIME_COLUMNS = {"visits": "Start Ts", "orders": "Buy Ts", "costs": "dt", "events": "ts", "refunds": "refund_ts",
                "fx_rates": "date"}


def split_daily_drops(data: Path, root: Path, days: list[str]) -> tuple[Path, list[Path]]:
    """Split each input into a history (rows before ``days[0]``) and one directory per day of ``days``
    (that day's rows; the last day also takes anything later), as daily drops would arrive. Inputs
    without a time column (customers, order items, products) go whole into the history."""
    history, drops = root / "history", [root / f"day_{day}" for day in days]
    for path in (history, *drops):
        path.mkdir()
    for kind, name in FILES.items():
        header = pacsv.read_csv(data / name, read_options=pacsv.ReadOptions(skip_rows_after_names=10**9))
        table = pacsv.read_csv(data / name, convert_options=pacsv.ConvertOptions(
            column_types={c: "string" for c in header.column_names}))
        if kind not in TIME_COLUMNS:
            pacsv.write_csv(table, history / name)
            continue
        ts = table[TIME_COLUMNS[kind]]
        pacsv.write_csv(table.filter(pc.invert(pc.fill_null(pc.greater_equal(ts, days[0]), False))), history / name)
        for i, (day, drop) in enumerate(zip(days, drops, strict=True)):
            in_day = pc.greater_equal(ts, day)
            if i + 1 < len(days):
                in_day = pc.and_(in_day, pc.less(ts, days[i + 1]))
            pacsv.write_csv(table.filter(pc.fill_null(in_day, False)), drop / name)
    return history, drops


def settle(client, quiet_polls: int = 3, limit_s: float = 300.0) -> float:
    """Seconds until no merge or mutation has run for `quiet_polls` polls in a row and the OS has
    written its dirty pages to disk: a daily refresh runs a day after the last build, not while the
    engine still merges the parts it wrote or the kernel still flushes them (up to ~3 s of write-back
    after a 10M build; refreshes timed during it showed slow outliers, not a steady slowdown)."""
    started = time.perf_counter()
    quiet = 0
    while quiet < quiet_polls and time.perf_counter() - started < limit_s:
        busy = client.query("SELECT (SELECT count() FROM system.merges)"
                            " + (SELECT count() FROM system.mutations WHERE NOT is_done)").result_rows[0][0]
        quiet = quiet + 1 if busy == 0 else 0
        time.sleep(0.5)
    os.sync()
    return time.perf_counter() - started


def node_timings(home: Path) -> dict[str, float]:
    """Each node's execution time (s) in the last dbt invocation, from its run_results.json."""
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())["results"]
    return {result["unique_id"]: result["execution_time"] for result in results}


def print_slowest(label: str, timings: dict[str, float], count: int) -> None:
    """The `count` slowest nodes of one build, with their share of its summed node time."""
    total = sum(timings.values())
    print(f"{label}: {len(timings)} nodes, {total:.1f} s summed; slowest {count}:", flush=True)
    for node, seconds in sorted(timings.items(), key=lambda item: -item[1])[:count]:
        print(f"  {seconds:6.2f} s {100 * seconds / total:5.1f}%  {node}", flush=True)


def measure(users: int, days: int, drops: int, root: Path, slowest: int = 15,
            variants: tuple[str, ...] = ("as shipped",)) -> tuple[int, float, list[float], list[str]]:
    home = root / f"u{users}"
    settings_env = {settings.HOME_ENV: str(home), settings.WAREHOUSE_ENV: f"chdb://{home / 'warehouse'}"}
    os.environ.update(settings_env)
    close_all()
    data = home / "data"
    generate(data, users=users, days=days, seed=5, start=date(2017, 6, 1), bad_share=0)
    first = date(2017, 6, 1).toordinal() + days - drops
    history, daily = split_daily_drops(data, home, [date.fromordinal(first + i).isoformat() for i in range(drops)])
    client = connect()
    load_files(client, [], directory=history, quiet=True)
    visits = client.query("SELECT count() FROM raw.visits").result_rows[0][0]
    # Like-for-like with the refreshes: the project is already parsed (as in the serving process)
    # and the load's background merges and write-back are done before the clock starts.
    started = time.perf_counter()
    assert parse_project()
    print(f"{visits:,} visits: dbt parse {time.perf_counter() - started:.1f} s (not in the build times)", flush=True)
    settle(client)
    started = time.perf_counter()
    assert run_dbt("build", extra_args=["--quiet"])
    full = time.perf_counter() - started
    refreshes, timings, labels = [], [], []
    for i, drop in enumerate(daily):
        label = variants[i % len(variants)]
        load_files(client, [], directory=drop, quiet=True)
        assert parse_project(VARIANTS[label])  # other vars, another manifest: parsed before the clock starts
        settled = settle(client)
        started = time.perf_counter()
        assert run_dbt("build", vars=VARIANTS[label], extra_args=["--quiet"])
        refreshes.append(time.perf_counter() - started)
        timings.append(node_timings(home))
        labels.append(label)
        print(f"{visits:,} visits: {drop.name} refresh {refreshes[-1]:.1f} s, {label}"
              f" (merges and write-back settled {settled:.1f} s before)", flush=True)
    shipped = [i for i, label in enumerate(labels) if label == variants[0]]
    if slowest and shipped:
        median = sorted(shipped, key=refreshes.__getitem__)[(len(shipped) - 1) // 2]
        print_slowest(f"{visits:,} visits: median refresh ({refreshes[median]:.1f} s)", timings[median], slowest)
    # A second full build after the refreshes (--full-refresh: every model rebuilt from all data): the
    # machine's speed drifts over minutes, and the mean of a full build before and one after the
    # refreshes is the fairer yardstick for them than either alone.
    settle(client)
    started = time.perf_counter()
    assert run_dbt("build", full_refresh=True, extra_args=["--quiet"])
    full_after = time.perf_counter() - started
    print(f"{visits:,} visits: full build {full:.1f} s before the refreshes, {full_after:.1f} s after", flush=True)
    close_all()
    return visits, statistics.mean((full, full_after)), refreshes, labels


def measure_in_own_process(users: int, days: int, drops: int, root: Path, slowest: int,
                           variants: tuple[str, ...]) -> tuple[int, float, list[float], list[str]]:
    """`measure` in a fresh Python process: one warehouse per process, as ecomlytics runs (the
    embedded engine of the first size would otherwise still shape the second's timings)."""
    command = [sys.executable, __file__, "--measure", str(users), "--days", str(days), "--drops", str(drops),
               "--root", str(root), "--slowest", str(slowest), "--variants", json.dumps(variants)]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            visits, full, refreshes, labels = json.loads(line[len(RESULT_PREFIX):])
            continue
        print(line, flush=True)
    return visits, full, refreshes, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small-users", type=int, default=480_000)
    parser.add_argument("--large-users", type=int, default=4_800_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--drops", type=int, default=3, help="daily drops appended one by one after the full build")
    parser.add_argument("--only", choices=("small", "large"), help="measure one size only")
    parser.add_argument("--slowest", type=int, default=15, help="slowest nodes of the median refresh to print")
    parser.add_argument("--compare-mechanisms", action="store_true",
                        help="cycle the daily refreshes through the VARIANTS (use with --only large --drops 6)")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # one size, in a child process
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variants", type=json.loads, default=["as shipped"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        result = measure(args.measure, args.days, args.drops, args.root, args.slowest, tuple(args.variants))
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return
    variants = tuple(VARIANTS) if args.compare_mechanisms else ("as shipped",)
    sizes = {"small": args.small_users, "large": args.large_users}
    measured = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, users in sizes.items():
            if args.only in (None, label):
                measured[label] = measure_in_own_process(users, args.days, args.drops, Path(tmp), args.slowest,
                                                         variants)
    for label, (visits, full, refreshes, variant_of) in measured.items():
        for variant in variants:
            timed = [t for t, v in zip(refreshes, variant_of, strict=True) if v == variant]
            incremental = statistics.median(timed)
            each = ", ".join(f"{t:.1f}" for t in timed)
            shown = "" if len(variants) == 1 else f" {variant}:"
            print(f"{label}: {visits:>11,} visits  full build (mean of 2) {full:7.1f} s {shown} "
                  f"incremental (+1 day, median of {each}) {incremental:6.1f} s  "
                  f"incremental/full {incremental / full:.2f} (target <= 0.15)")
    if len(measured) < 2:
        return
    small, large = measured["small"], measured["large"]
    print(f"data ratio {large[0] / small[0]:.1f}x -> full build time ratio {large[1] / small[1]:.2f}x "
          f"(target <= 12x for 10x data)")


if __name__ == "__main__":
    main()
