"""Ingest benchmark: our loader vs ClickHouse's bare `INSERT ... SELECT FROM file()`, side by side.

    python bench/ingest.py [--rows 2000000]

Both load the same generated visits CSV (seed format, 20-digit uids) into equivalent MergeTree
tables of one embedded warehouse, whose tables exist before the clock starts; the bare insert does
no content hashing, validation, quarantine, load log or atomic commit. Target: ours <= 1.3x the bare insert.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ecomlytics.warehouse.client import close_all, connect
from loaders.ingest import Loader
from loaders.schema import INPUTS, table_ddl


def write_visits(path: Path, rows: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2017-06-01T00:00:00") + rng.integers(0, 365 * 86400, rows).astype("timedelta64[s]")
    end = start + (rng.integers(0, 40, rows) * 60).astype("timedelta64[s]")
    table = pa.table({
        "Device": pa.array(np.where(rng.random(rows) < 0.3, "touch", "desktop")),
        "End Ts": pa.array(end), "Source Id": pa.array(rng.integers(1, 11, rows)),
        "Start Ts": pa.array(start),
        "Uid": pa.array(rng.integers(10**18, np.iinfo(np.uint64).max, rows, dtype=np.uint64, endpoint=True)),
    })
    with open(path, "wb") as handle:
        handle.write(b"Device,End Ts,Source Id,Start Ts,Uid\n")
        pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best time counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "visits_log.csv"
        write_visits(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        close_all()
        client = connect(f"chdb://{tmp}/warehouse")
        spec = INPUTS["visits"]
        ours, bare = [], []
        for run in range(args.repeat):
            client.command("DROP DATABASE IF EXISTS raw SYNC")
            client.command("DROP DATABASE IF EXISTS bare SYNC")
            client.command("CREATE DATABASE bare")
            client.command(table_ddl(spec, database="bare"))
            loader = Loader(client)
            loader.prepare()  # like the bare table: schema exists before the clock starts (`ecomlytics init`)
            started = time.perf_counter()
            client.command(
                f"INSERT INTO bare.visits (uid, device, start_ts, end_ts, source_id, load_id) "
                f"SELECT Uid, Device, `Start Ts`, `End Ts`, `Source Id`, {run} "
                f"FROM file('{csv_path}', 'CSVWithNames')")
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = loader.load(csv_path, "visits")
            ours.append(time.perf_counter() - started)
            assert result.status == "loaded" and result.rows_loaded == args.rows, result
            loaded = client.query("SELECT count() FROM raw.visits").result_rows[0][0]
            assert loaded == client.query("SELECT count() FROM bare.visits").result_rows[0][0] == args.rows
        close_all()
    best_ours, best_bare = min(ours), min(bare)
    print(f"visits CSV: {args.rows:,} rows, {size_mb:.0f} MB (best of {args.repeat})")
    print(f"bare INSERT ... SELECT FROM file(): {best_bare:6.2f} s  ({args.rows / best_bare:,.0f} rows/s)")
    print(f"ecomlytics loader                : {best_ours:6.2f} s  ({args.rows / best_ours:,.0f} rows/s)")
    print(f"ratio ours / bare                : {best_ours / best_bare:6.2f}x  (target <= 1.30x)")


if __name__ == "__main__":
    main()
