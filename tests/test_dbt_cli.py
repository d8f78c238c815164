"""Plain `dbt build` / `dbt docs generate` in the repository root work on chDB (bridge .pth hook).

Runs the real dbt executable in separate processes (one chDB directory per process at a time), on a
raw layer with a handful of rows, so only the wiring is under test here; values are tested elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ecomlytics.dbt.runner import project_dir

DBT = Path(sys.executable).with_name("dbt")
SEED_RAW = """
import sys
from ecomlytics.warehouse.client import connect
from loaders.schema import all_ddl
client = connect("chdb://" + sys.argv[1])
for statement in all_ddl():
    client.command(statement)
client.command("INSERT INTO raw.visits (uid, device, start_ts, end_ts, source_id, load_id) "
               "VALUES (1, 'desktop', '2018-01-01 10:00:00', '2018-01-01 10:01:00', 1, 1)")
client.command("INSERT INTO raw.orders (order_id, uid, buy_ts, revenue, load_id) "
               "VALUES ('a', 1, '2018-01-01 10:05:00', 10.5, 1)")
"""
COUNT_ORDERS = """
import sys
from ecomlytics.warehouse.client import connect
print(connect("chdb://" + sys.argv[1]).query("SELECT sum(revenue) FROM marts.fct_orders").result_rows[0][0])
"""


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=project_dir(), env=env, capture_output=True, text=True, timeout=300)


def test_plain_dbt_build_and_docs_in_repo_root(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    env = os.environ | {
        "ECOMLYTICS_CHDB_PATH": str(warehouse),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("ECOMLYTICS_DBT_TARGET", None)  # the profile's default target: embedded
    assert run([sys.executable, "-c", SEED_RAW, str(warehouse)], env).returncode == 0
    build = run([str(DBT), "build", "--profiles-dir", "."], env)
    assert build.returncode == 0, build.stdout[-3000:]
    docs = run([str(DBT), "docs", "generate", "--profiles-dir", "."], env)
    assert docs.returncode == 0, docs.stdout[-3000:]
    assert (tmp_path / "target" / "catalog.json").exists()
    revenue = run([sys.executable, "-c", COUNT_ORDERS, str(warehouse)], env)
    assert revenue.stdout.strip() == "10.50"  # exact Decimal money, revenue.stderr[-2000:]
