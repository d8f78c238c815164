"""Content checksums of every table and view in the marts and intermediate databases: proof that a
change kept the figures.

    python scripts/mart_checksums.py --warehouse chdb:///abs/dir > after.json
    python scripts/mart_checksums.py --compare before.json after.json [--rename OLD=NEW ...]

Per table: its row count and the sum of its rows' hashes (independent of row order). Load and
refresh ids, which differ between any two loads of the same files, are left out; uniqExact states
are compared finalized, and floats rounded to 9 decimals (a float sum's last bits depend on the
order rows are read in). ``--rename`` maps a table that moved, e.g.
``intermediate.int_customer_profiles=marts.customer_profiles_base``. The exit status of
``--compare`` is 1 when a table differs or is missing on one side.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DATABASES = ("marts", "intermediate")
LOAD_COLUMNS = frozenset({"load_id", "refreshed_in", "sale_changed_in", "visits_load_id"})
STATE_TABLES = frozenset({"dbt_verified_checks"})  # bookkeeping of the key tests, not figures


def _expression(name: str, ch_type: str) -> str:
    if ch_type.startswith("AggregateFunction"):
        return f"finalizeAggregation(`{name}`)"
    return f"round(`{name}`, 9)" if "Float" in ch_type else f"`{name}`"


def checksums(dsn: str) -> dict[str, list]:
    """``database.table`` -> [rows, checksum, column names] for every table of DATABASES."""
    from ecomlytics.warehouse.client import connect

    client = connect(dsn)
    tables = client.query(
        "SELECT database, name FROM system.tables WHERE database IN {dbs:Array(String)} "
        "AND NOT startsWith(name, '.') ORDER BY database, name", parameters={"dbs": list(DATABASES)}).result_rows
    result: dict[str, list] = {}
    for database, table in tables:
        if table in STATE_TABLES:
            continue
        columns = client.query(
            "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = {t:String} ORDER BY name",
            parameters={"d": database, "t": table}).result_rows
        hashed = ", ".join(_expression(n, t) for n, t in columns if n not in LOAD_COLUMNS)
        rows, checksum = client.query(
            f"SELECT count(), sum(cityHash64(tuple({hashed}))) FROM `{database}`.`{table}`").result_rows[0]
        result[f"{database}.{table}"] = [int(rows), str(checksum), [n for n, _ in columns if n not in LOAD_COLUMNS]]
    return result


def compare(before: dict[str, list], after: dict[str, list], renames: dict[str, str]) -> list[str]:
    """The tables whose content differs (or that one side lacks), after applying ``renames`` to ``before``."""
    before = {renames.get(name, name): value for name, value in before.items()}
    return [name for name in sorted(before.keys() | after.keys()) if before.get(name) != after.get(name)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", help="DSN of a built warehouse: print its checksums as JSON")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    args = parser.parse_args()
    if args.warehouse:
        json.dump(checksums(args.warehouse), sys.stdout, indent=1)
        return 0
    if not args.compare:
        parser.error("give --warehouse or --compare")
    before, after = (json.loads(path.read_text()) for path in args.compare)
    differ = compare(before, after, dict(item.split("=", 1) for item in args.rename))
    print(f"{len(after)} tables, {sum(v[0] for v in after.values()):,} rows; differing: {', '.join(differ) or 'none'}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
