"""Dashboard benchmark: every dashboard's chart queries on the marts vs the same metrics from raw.

    python bench/dashboards.py [--users 4800000] [--home DIR]   # ~2.1 visits per user: ~10M visits

Builds a warehouse (generate -> load -> dbt build; skipped when --home already holds one), serves
it with `ecomlytics serve`, and per dashboard:
  1. fetches every chart through Superset's chart data API (force=true, no cache): the wall time a
     user waits for, and each chart's SQL; it counts chart queries that read a raw table (must be 0);
  2. after stopping the server (embedded chDB: one process at a time), runs in this process, on the
     same engine, the charts' SQL and SQL computing the same metrics from the raw tables, best of
     three each, and prints both times and their ratio. Target: marts >= 20x faster than raw.
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
from ecomlytics.warehouse.client import close_all, connect  # noqa: E402
from tests.superset_served import Served, free_port  # noqa: E402 - the same served-app helper the tests use

FIRST_TOUCH = """(SELECT uid, argMin(source_id, (start_ts, source_id, device, end_ts)) AS src,
    argMin(os, (start_ts, source_id, device, end_ts)) AS first_os, min(start_ts) AS first_ts
    FROM raw.visits GROUP BY uid)"""
MONTHS = """CROSS JOIN (SELECT arrayJoin(arrayMap(i -> addMonths(toStartOfMonth(min(buy_ts)), i),
    range(toUInt32(dateDiff('month', min(buy_ts), max(buy_ts)) + 1)))) AS snapshot FROM raw.orders) AS months
    WHERE toDate(buy_ts) < addMonths(snapshot, 1)"""

# Every sale with its section-5 money from raw (fx rate of its day or the latest earlier; refunds capped at
# revenue; COGS from product costs, else revenue x (1 - margin_rate) with the default margin_rate 1: 0).
SALES_MONEY = """(SELECT o.uid AS uid, o.buy_ts AS buy_ts, o.sales_channel AS sales_channel,
        o.revenue * x.rate AS revenue, least(o.revenue, ifNull(r.amount, 0)) * x.rate AS refunded,
        o.discount * x.rate AS discount, (o.revenue - refunded / x.rate - o.tax - o.shipping) * x.rate AS net_revenue,
        ifNull(c.cogs, 0) AS cogs, net_revenue - cogs * if(revenue > 0, 1 - refunded / revenue, 1) AS gross_profit
    FROM raw.orders AS o
    ASOF LEFT JOIN (SELECT currency, date, rate FROM raw.fx_rates
                    UNION ALL SELECT 'USD', toDate('1970-01-01'), 1) AS x
        ON x.currency = if(o.currency = '', 'USD', o.currency) AND toDate(o.buy_ts) >= x.date
    LEFT JOIN (SELECT order_id, sum(amount) AS amount FROM raw.refunds GROUP BY order_id) AS r
        ON r.order_id = o.order_id
    LEFT JOIN (SELECT i.order_id AS order_id, sum(i.quantity * ifNull(p.unit_cost, 0)) AS cogs FROM raw.order_items AS i
               LEFT JOIN raw.products AS p ON p.sku = i.sku GROUP BY i.order_id) AS c ON c.order_id = o.order_id
    WHERE o.status != 'cancelled' AND x.rate > 0)"""


def gross_and_net(period: str) -> str:
    """The gross-and-net charts (totals, amounts, refund rate and gross margin) per period, sales channel and
    first-touch source (the dashboards' filters) from raw."""
    return f"""SELECT {period} AS p, s.sales_channel, f.src, sum(s.revenue), sum(s.net_revenue), sum(s.refunded),
        sum(s.discount), sum(s.gross_profit), sum(s.refunded) / sum(s.revenue), sum(s.gross_profit) / sum(s.net_revenue)
        FROM {SALES_MONEY} AS s LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = s.uid GROUP BY ALL"""


def rfm_codes(snapshot: str, months: str = "") -> str:
    """Per customer (and snapshot month): recency, frequency, monetary and the RFM code, exact quantiles."""
    return f"""WITH c AS (SELECT {snapshot} AS snapshot, uid, count() AS f, sum(revenue) AS m,
            dateDiff('day', toDate(max(buy_ts)), addMonths(snapshot, 1)) AS r FROM raw.orders {months}
            GROUP BY snapshot, uid),
        t AS (SELECT snapshot, quantilesExact(0.2, 0.4, 0.6, 0.8)(r) AS qr, quantilesExact(0.2, 0.4, 0.6, 0.8)(f) AS qf,
              quantilesExact(0.2, 0.4, 0.6, 0.8)(m) AS qm FROM c GROUP BY snapshot)
        SELECT c.snapshot AS snapshot, uid, r, f, m,
            concat(toString(multiIf(r <= qr[1], 5, r <= qr[2], 4, r <= qr[3], 3, r <= qr[4], 2, 1)),
                   toString(multiIf(f <= qf[1], 1, f <= qf[2], 2, f <= qf[3], 3, f <= qf[4], 4, 5)),
                   toString(multiIf(m <= qm[1], 1, m <= qm[2], 2, m <= qm[3], 3, m <= qm[4], 4, 5))) AS code
        FROM c INNER JOIN t ON t.snapshot = c.snapshot"""


RAW_SQL = {
    "overview": [
        f"""SELECT toStartOfWeek(o.buy_ts, 1) AS w, sum(o.revenue), count(), sum(o.revenue) / count(),
            uniqExact(o.uid) FROM raw.orders AS o LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = o.uid GROUP BY w""",
        "SELECT toStartOfWeek(start_ts, 1) AS w, uniqExact(uid), count() FROM raw.visits GROUP BY w",
        f"""SELECT f.src, toStartOfWeek(o.buy_ts, 1) AS w, sum(o.revenue) FROM raw.orders AS o
            LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = o.uid GROUP BY f.src, w""",
        """SELECT toStartOfWeek(o.buy_ts, 1) AS w, sum(i.quantity) FROM raw.order_items AS i
            INNER JOIN raw.orders AS o ON o.order_id = i.order_id GROUP BY w""",  # units sold
        gross_and_net("toStartOfWeek(s.buy_ts, 1)"),
    ],
    "sales": [
        f"""SELECT i.category, i.sku, f.src, f.first_os, toStartOfMonth(o.buy_ts) AS m,
            sum(i.quantity * i.unit_price) FROM raw.order_items AS i
            INNER JOIN raw.orders AS o ON o.order_id = i.order_id
            LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = o.uid GROUP BY ALL""",
        gross_and_net("toStartOfMonth(s.buy_ts)"),
    ],
    "users-conversion": [
        "SELECT toDate(start_ts) AS d, uniqExact(uid) FROM raw.visits GROUP BY d",
        "SELECT toStartOfWeek(start_ts, 1) AS w, uniqExact(uid) FROM raw.visits GROUP BY w",
        "SELECT toStartOfMonth(start_ts) AS m, uniqExact(uid) FROM raw.visits GROUP BY m",
        "SELECT toStartOfWeek(start_ts, 1) AS w, os, count() FROM raw.visits GROUP BY w, os",
        "SELECT toStartOfWeek(buy_ts, 1) AS w, count(), uniqExact(uid) FROM raw.orders GROUP BY w",  # conversion
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
        # buyer cohorts by the sales channel of the first order: gross profit (LTV), revenue, active buyers
        f"""SELECT b.c, b.sc, dateDiff('month', b.c, toStartOfMonth(s.buy_ts)) AS a, sum(s.gross_profit),
            sum(s.revenue), uniqExact(s.uid) FROM {SALES_MONEY} AS s
            INNER JOIN (SELECT uid, toStartOfMonth(min(buy_ts)) AS c, argMin(sales_channel, buy_ts) AS sc
                        FROM raw.orders WHERE status != 'cancelled' GROUP BY uid) AS b ON b.uid = s.uid
            GROUP BY b.c, b.sc, a""",
    ],
    "marketing": [
        "SELECT source_id, toStartOfMonth(dt) AS m, sum(costs) FROM raw.costs GROUP BY source_id, m",
        f"""SELECT f.src, toStartOfMonth(b.first_order) AS m, count() FROM
            (SELECT uid, min(buy_ts) AS first_order FROM raw.orders GROUP BY uid) AS b
            LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = b.uid GROUP BY f.src, m""",
    ],
    "attribution": [
        # linear credit (1 / touchpoints) of each order to the buyer's sessions in the 30 days before it, per
        # source and month, beside the month's costs (ROAS); the other models weigh the same touchpoints
        """SELECT t.source_id, t.m, sum(1 / t.n), sum(t.revenue / t.n), any(c.costs)
            FROM (SELECT o.order_id, toStartOfMonth(o.buy_ts) AS m, o.revenue, v.source_id,
                         count() OVER (PARTITION BY o.order_id) AS n
                  FROM raw.orders AS o INNER JOIN raw.visits AS v ON v.uid = o.uid
                  WHERE o.status != 'cancelled' AND v.start_ts <= o.buy_ts AND v.start_ts >= o.buy_ts - INTERVAL 30 DAY)
                 AS t
            LEFT JOIN (SELECT source_id, toStartOfMonth(dt) AS m, sum(costs) AS costs FROM raw.costs GROUP BY ALL)
                 AS c ON c.source_id = t.source_id AND c.m = t.m
            GROUP BY t.source_id, t.m""",
        # payback curves: cumulative gross profit per buyer by first-touch source and age against the cohort
        # month's costs of the source / its new buyers
        f"""SELECT f.src, b.c, dateDiff('month', b.c, toStartOfMonth(s.buy_ts)) AS a, sum(s.gross_profit),
            uniqExact(s.uid), any(k.costs)
            FROM {SALES_MONEY} AS s
            INNER JOIN (SELECT uid, toStartOfMonth(min(buy_ts)) AS c FROM raw.orders WHERE status != 'cancelled'
                        GROUP BY uid) AS b ON b.uid = s.uid
            LEFT JOIN {FIRST_TOUCH} AS f ON f.uid = s.uid
            LEFT JOIN (SELECT source_id, toStartOfMonth(dt) AS m, sum(costs) AS costs FROM raw.costs GROUP BY ALL)
                 AS k ON k.source_id = f.src AND k.m = b.c
            GROUP BY f.src, b.c, a""",
    ],
    "rfm": [
        f"SELECT code, count() FROM ({rfm_codes('toStartOfMonth(today())')}) GROUP BY code",
        # the monthly segment dynamics: one RFM scoring per snapshot month, on orders before it ends
        f"""SELECT snapshot, code, count() FROM ({rfm_codes('snapshot', MONTHS)}) GROUP BY snapshot, code""",
    ],
    "rfm-contacts": [  # the contacts table: 10,000 customers with contacts and their RFM code
        f"""SELECT s.uid, cu.name, cu.email, cu.phone, cu.email_opt_in, cu.sms_opt_in, cu.push_opt_in, s.code,
                   s.r, s.f, s.m FROM ({rfm_codes('toStartOfMonth(today())')}) AS s
            LEFT JOIN raw.customers AS cu ON cu.uid = s.uid LIMIT 10000""",
    ],
    "customer-base": [
        """SELECT toStartOfMonth(registered_at) AS m, count(), avg(email_opt_in * (email != '')),
            avg(sms_opt_in * (phone != '')), avg(push_opt_in), avg(((name != '') + (email != '') + (phone != '')
            + (city != '') + (gender != '') + (birth_date IS NOT NULL)) / 6) FROM raw.customers GROUP BY m""",
        """SELECT multiIf(o.n = 0, 'never_ordered', dateDiff('day', toDate(o.last), today()) <= 30, 'active_30d',
                         dateDiff('day', toDate(o.last), today()) <= 90, 'active_90d', 'dormant') AS status,
                  cu.city, count()
            FROM raw.customers AS cu LEFT JOIN (SELECT uid, count() AS n, max(buy_ts) AS last FROM raw.orders
            GROUP BY uid) AS o ON o.uid = cu.uid GROUP BY status, cu.city""",
    ],
}


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "ECOMLYTICS_HOME": str(home), "ECOMLYTICS_WAREHOUSE": f"chdb://{home / 'warehouse'}",
            "ECOMLYTICS_ADMIN_PASSWORD": "bench-password"}


def build(home: Path, users: int) -> None:
    if (home / "warehouse").exists():
        print(f"reusing the warehouse in {home}")
        return
    subprocess.run([sys.executable, "-m", "ecomlytics.cli", "run", "--no-serve", "--users", str(users)],
                   env=environment(home), check=True)


def through_superset(home: Path) -> dict[str, tuple[float, list[str]]]:
    """Per dashboard: wall time of all its charts through the chart data API, and the charts' SQL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ecomlytics.cli", "serve", "--port", str(port)],
                              env=environment(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if requests.get(f"{base}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(1)
        session_of = Served(home, "bench-password")  # its login helper, against this server
        session_of.base = base
        admin = session_of.admin()
        timings = {}
        for dashboard in admin.get(f"{base}/api/v1/dashboard/?q=(page_size:100)").json()["result"]:
            charts = admin.get(f"{base}/api/v1/dashboard/{dashboard['id']}/charts").json()["result"]
            started = time.perf_counter()
            for chart in charts:
                admin.get(f"{base}/api/v1/chart/{chart['id']}/data/?force=true").raise_for_status()
            wall = time.perf_counter() - started
            sqls = []
            for chart in charts:
                result = admin.get(f"{base}/api/v1/chart/{chart['id']}/data/?type=query").json()["result"]
                sqls += [r["query"] for r in result if r.get("query")]
            timings[dashboard["slug"]] = (wall, sqls)
        return timings
    finally:
        server.terminate()
        server.wait(timeout=60)


def best_of_three(client, sqls: list[str], slow: list[tuple[float, str]] | None = None) -> float:
    """Best-of-three time of each query, summed; queries over 50 ms are added to ``slow``.

    Engine time: results come back as ClickHouse Native bytes, not decoded into Python objects, so
    a 10,000-row contacts table costs what the warehouse spends on it on both sides."""
    total = 0.0
    for sql in sqls:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            client.raw_query(sql, fmt="Native")
            best = min(best, time.perf_counter() - started)
        total += best
        if slow is not None and best > 0.05:
            slow.append((best, " ".join(sql.split())))
    return total


def reads_raw(sql: str) -> bool:
    return "raw." in sql or "`raw`." in sql


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=4_800_000)
    parser.add_argument("--home", type=Path, help="state dir to build in / reuse (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        build(home, args.users)
        timings = through_superset(home)
        os.environ.update(environment(home))
        client = connect()
        visits = client.query("SELECT count() FROM raw.visits").result_rows[0][0]
        print(f"visits: {visits:,}")
        print(f"{'dashboard':18} {'charts':>6} {'API wall s':>10} {'marts SQL s':>11} {'raw SQL s':>9} "
              f"{'raw/marts':>9}  chart queries reading raw")
        total_marts = total_raw = 0.0
        slow: list[tuple[float, str]] = []
        for slug, (wall, sqls) in timings.items():
            marts, raw = best_of_three(client, sqls, slow), best_of_three(client, RAW_SQL[slug])
            total_marts, total_raw = total_marts + marts, total_raw + raw
            print(f"{slug:18} {len(sqls):>6} {wall:10.2f} {marts:11.3f} {raw:9.3f} {raw / marts:8.1f}x  "
                  f"{sum(map(reads_raw, sqls))}")
        print(f"{'all':18} {'':>6} {'':>10} {total_marts:11.3f} {total_raw:9.3f} {total_raw / total_marts:8.1f}x  "
              f"(target >= 20x, 0 raw reads)")
        for seconds, sql in sorted(slow, reverse=True):
            print(f"slow chart query {seconds:.3f} s: {sql[:300]}")
        close_all()


if __name__ == "__main__":
    main()
