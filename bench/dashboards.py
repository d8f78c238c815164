"""Dashboard benchmark: every dashboard's chart queries on the marts vs the same metrics from raw.

    python bench/dashboards.py [--users 4800000]     # ~2.1 visits per user: 4.8M users ~ 10M visits

Builds a warehouse (generate -> load -> dbt build), serves it with `ecomlytics serve`, then per
dashboard times (a) all its charts through Superset's chart data API (force=true, no cache) and
(b) the same metrics computed from the raw tables through Superset's SQL Lab API, in one run. It
also checks that no chart query reads a raw table. Target: marts >= 20x faster than raw.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_superset import Served, free_port  # noqa: E402 - the same served-app helper the tests use

FIRST_TOUCH = """(SELECT uid, argMin(source_id, (start_ts, source_id, device, end_ts)) AS src,
    argMin(os, (start_ts, source_id, device, end_ts)) AS first_os, min(start_ts) AS first_ts
    FROM raw.visits GROUP BY uid)"""
RAW_SQL = {
    "overview": [
        f"""SELECT toStartOfWeek(o.buy_ts, 1) AS w, sum(o.revenue), count(), sum(o.revenue) / count(),
            uniqExact(o.uid) FROM raw.orders AS o LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = o.uid GROUP BY w""",
        "SELECT toStartOfWeek(start_ts, 1) AS w, uniqExact(uid), count() FROM raw.visits GROUP BY w",
        f"""SELECT f.src, toStartOfWeek(o.buy_ts, 1) AS w, sum(o.revenue) FROM raw.orders AS o
            LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = o.uid GROUP BY f.src, w""",
    ],
    "sales": [
        f"""SELECT i.category, i.sku, f.src, f.first_os, toStartOfMonth(o.buy_ts) AS m,
            sum(i.quantity * i.unit_price) FROM raw.order_items AS i
            INNER JOIN raw.orders AS o ON o.order_id = i.order_id
            LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = o.uid GROUP BY ALL""",
    ],
    "users-conversion": [
        "SELECT toDate(start_ts) AS d, uniqExact(uid) FROM raw.visits GROUP BY d",
        "SELECT toStartOfWeek(start_ts, 1) AS w, uniqExact(uid) FROM raw.visits GROUP BY w",
        "SELECT toStartOfMonth(start_ts) AS m, uniqExact(uid) FROM raw.visits GROUP BY m",
        "SELECT toStartOfWeek(start_ts, 1) AS w, os, count() FROM raw.visits GROUP BY w, os",
    ],
    "engagement-ttf": [
        "SELECT os, toStartOfWeek(start_ts, 1) AS w, avg(end_ts - start_ts) FROM raw.visits GROUP BY os, w",
        "SELECT avg(end_ts - start_ts), medianExact(end_ts - start_ts) FROM raw.visits",
        f"""SELECT f.src, medianExact(greatest(0, dateDiff('second', f.first_ts, b.first_order)))
            FROM (SELECT uid, min(buy_ts) AS first_order FROM raw.orders GROUP BY uid) AS b
            INNER JOIN {FIRST_TOUCH} AS f ON f.uid = b.uid GROUP BY f.src""",
    ],
    "cohorts": [
        f"""SELECT toStartOfMonth(f.first_ts) AS c, dateDiff('month', c, toStartOfMonth(v.start_ts)) AS l,
            uniqExact(v.uid) FROM raw.visits AS v INNER JOIN {FIRST_TOUCH} AS f ON f.uid = v.uid GROUP BY c, l""",
        """SELECT b.c, dateDiff('month', b.c, toStartOfMonth(o.buy_ts)) AS a, sum(o.revenue), uniqExact(o.uid)
            FROM raw.orders AS o INNER JOIN (SELECT uid, toStartOfMonth(min(buy_ts)) AS c FROM raw.orders GROUP BY uid)
            AS b ON b.uid = o.uid GROUP BY b.c, a""",
    ],
    "marketing": [
        "SELECT source_id, toStartOfMonth(dt) AS m, sum(costs) FROM raw.costs GROUP BY source_id, m",
        f"""SELECT f.src, toStartOfMonth(b.first_order) AS m, count() FROM
            (SELECT uid, min(buy_ts) AS first_order FROM raw.orders GROUP BY uid) AS b
            LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = b.uid GROUP BY f.src, m""",
    ],
    "rfm": [
        """WITH c AS (SELECT uid, dateDiff('day', toDate(max(buy_ts)), (SELECT toDate(max(buy_ts)) + 1 FROM raw.orders))
            AS r, count() AS f, sum(revenue) AS m FROM raw.orders GROUP BY uid)
            SELECT quantilesExact(0.2, 0.4, 0.6, 0.8)(r), quantilesExact(0.2, 0.4, 0.6, 0.8)(f),
            quantilesExact(0.2, 0.4, 0.6, 0.8)(m), count() FROM c""",
    ],
    "customer-base": [
        """SELECT toStartOfMonth(registered_at) AS m, count(), avg(email_opt_in), avg(sms_opt_in), avg(push_opt_in)
            FROM raw.customers GROUP BY m""",
    ],
}


def build(home: Path, users: int) -> None:
    env = {**os.environ, "ECOMLYTICS_HOME": str(home), "ECOMLYTICS_WAREHOUSE": f"chdb://{home / 'warehouse'}"}
    subprocess.run([sys.executable, "-m", "ecomlytics.cli", "run", "--no-serve", "--users", str(users)],
                   env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=4_800_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        build(home, args.users)
        port = free_port()
        env = {**os.environ, "ECOMLYTICS_HOME": str(home), "ECOMLYTICS_WAREHOUSE": f"chdb://{home / 'warehouse'}",
               "ECOMLYTICS_ADMIN_PASSWORD": "bench-password"}
        server = subprocess.Popen([sys.executable, "-m", "ecomlytics.cli", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    if requests.get(f"{base}/health", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(1)
            report(Served(base, home, home, "bench-password"))
        finally:
            server.terminate()
            server.wait(timeout=60)


def report(served: Served) -> None:
    admin = served.admin()
    database_id = admin.get(f"{served.base}/api/v1/database/").json()["result"][0]["id"]
    visits = admin.post(f"{served.base}/api/v1/sqllab/execute/", json={
        "database_id": database_id, "sql": "SELECT count() AS n FROM raw.visits", "runAsync": False}).json()
    print(f"visits: {visits['data'][0]['n']:,}")
    print(f"{'dashboard':18} {'charts':>6} {'marts s':>8} {'raw s':>8} {'raw/marts':>9}  raw tables in chart SQL")
    for dashboard in admin.get(f"{served.base}/api/v1/dashboard/?q=(page_size:100)").json()["result"]:
        slug = dashboard["slug"]
        charts = admin.get(f"{served.base}/api/v1/dashboard/{dashboard['id']}/charts").json()["result"]
        started = time.perf_counter()
        raw_reads = 0
        for chart in charts:
            response = admin.get(f"{served.base}/api/v1/chart/{chart['id']}/data/?force=true")
            response.raise_for_status()
            query = admin.get(f"{served.base}/api/v1/chart/{chart['id']}/data/?type=query").json()
            sql = " ".join(r.get("query", "") for r in query.get("result", []))
            raw_reads += "raw." in sql or "`raw`." in sql
        marts_time = time.perf_counter() - started
        started = time.perf_counter()
        for sql in RAW_SQL[slug]:
            response = admin.post(f"{served.base}/api/v1/sqllab/execute/", json={
                "database_id": database_id, "sql": sql, "runAsync": False, "queryLimit": 100000})
            response.raise_for_status()
        raw_time = time.perf_counter() - started
        print(f"{slug:18} {len(charts):>6} {marts_time:8.2f} {raw_time:8.2f} {raw_time / marts_time:8.1f}x  "
              f"{raw_reads}")


if __name__ == "__main__":
    main()
