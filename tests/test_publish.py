"""Refreshes are published all at once (ecomlytics/dbt/publish.py): readers see the marts wholly as they were
or wholly as they are after a refresh, never a mix, and a failed build publishes nothing."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
import sqlalchemy as sa

from ecomlytics.bi.setup import bi_connection
from ecomlytics.dbt.publish import Built, install_reader_lock, publish, shadow_of
from ecomlytics.warehouse.client import parse_dsn
from tests.reference_metrics import Reference
from tests.superset_served import Served

# Totals several marts hold of the same orders: equal in every published state, whatever the data.
# ClickHouse runs scalar subqueries one after the other while it plans the statement, each opening
# its table then: the pause between the first and the others (a few hundred ms of hashing; the BI
# connection refuses sleep()) keeps each statement open long enough that, unguarded, a swap is likely
# to land inside one (a dashboard of slow charts, in small).
TOTALS_SQL = """
SELECT (SELECT count() FROM marts.fct_orders) AS fct_orders,
       (SELECT length(arrayFilter(x -> cityHash64(x) % 7 = 0, range(40000000)))) AS pause,
       (SELECT sum(orders) FROM marts.kpi_daily) AS kpi_daily,
       (SELECT sum(orders) FROM marts.kpi_weekly WHERE channel = '(all)' AND os = '(all)') AS kpi_weekly,
       (SELECT sum(orders) FROM marts.dim_customers) AS dim_customers,
       (SELECT toString(sum(revenue)) FROM marts.fct_orders) AS revenue_fct_orders,
       (SELECT toString(sum(revenue)) FROM marts.kpi_daily) AS revenue_kpi_daily,
       (SELECT toString(sum(revenue)) FROM marts.sales_daily) AS revenue_sales_daily,
       (SELECT toString(sum(revenue)) FROM marts.dim_customers) AS revenue_dim_customers
"""


def consistent(state: tuple) -> bool:
    orders, revenues = (state[0], *state[2:5]), state[5:]
    return len(set(orders)) == 1 and len(set(revenues)) == 1


class TotalsPoller:
    """Queries the marts' totals through SQL Lab, as fast as the server answers, on its own thread."""

    def __init__(self, served: Served) -> None:
        self.served, self.session = served, served.admin()
        self.database_id = self.session.get(f"{served.base}/api/v1/database/").json()["result"][0]["id"]
        self.states: list[tuple] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def query(self) -> tuple:
        response = self.session.post(f"{self.served.base}/api/v1/sqllab/execute/", json={
            "database_id": self.database_id, "sql": TOTALS_SQL, "schema": "marts", "runAsync": False})
        assert response.status_code == 200, response.text[:300]
        return tuple(response.json()["data"][0].values())

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.states.append(self.query())
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(exc))

    def __enter__(self) -> TotalsPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def distinct(self) -> list[tuple]:
        return list(dict.fromkeys(self.states))


@pytest.mark.changes_served_data(order=1)  # after the scheduled-refresh test, which starts from the inputs
def test_readers_see_the_marts_wholly_before_or_after_each_refresh(served: Served) -> None:
    """While the serving process runs three refreshes that each bring 300 new orders, a reader polling
    several marts' totals finds only published states: every state has the same order count and revenue
    in fct_orders, kpi_daily, kpi_weekly, sales_daily and dim_customers."""
    orders = pd.read_csv(served.data / "orders_log.csv", dtype=str, keep_default_na=False)
    valid = orders[orders.order_id.isin(Reference(served.data).orders.order_id) & (orders.order_id != "")]
    with TotalsPoller(served) as poller:
        while not poller.states:
            time.sleep(0.1)
        for batch in (1, 2, 3):
            seen = len(poller.distinct())
            new = valid.sample(300, random_state=batch).copy()
            new["order_id"] = [f"PUBLISH-{batch}-{i}" for i in range(len(new))]
            new.to_csv(served.home / "inbox" / f"orders_log_publish_{batch}.csv", index=False)
            deadline = time.time() + 300
            while len(poller.distinct()) == seen and time.time() < deadline:
                time.sleep(0.5)
            time.sleep(2)  # keep reading after the swap too
    states = poller.distinct()
    assert not poller.errors, poller.errors[:3]
    mixed = [state for state in states if not consistent(state)]
    assert mixed == [], f"{len(mixed)} mixed states of {len(states)}, e.g. {mixed[:2]}"
    assert len(states) >= 4, states  # the state before and after each refresh
    assert states[-1][0] == states[0][0] + 900  # every batch is in
    assert len(poller.states) > 20, len(poller.states)  # the reader read throughout


def _through_sqlalchemy(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text(sql)).fetchall()[0][0]


def _through_a_raw_cursor(engine: sa.Engine, sql: str) -> int:
    """As Superset runs chart and SQL Lab statements: ``db_engine_spec.execute`` on a raw DB-API cursor
    (superset/models/core.py ``get_df``, superset/sql/execution/executor.py), no SQLAlchemy execute."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchall()[0][0]
    finally:
        connection.close()


@pytest.mark.parametrize("run_statement", [_through_sqlalchemy, _through_a_raw_cursor])
def test_a_swap_waits_for_a_running_dashboard_statement(warehouse: str, client, run_statement) -> None:  # noqa: ANN001
    """In the serving process a dashboard statement holds the publish lock: a swap that comes while one
    runs waits for it, so the statement reads every mart of one generation (switch the lock off and the
    swap lands mid-statement). Both ways a statement reaches ClickHouse from the serving process."""
    for schema, rows in (("marts", 3), (shadow_of("marts"), 5)):
        client.command(f"CREATE DATABASE IF NOT EXISTS {schema}")
        client.command(f"CREATE TABLE {schema}.t ENGINE = MergeTree ORDER BY n "
                       f"AS SELECT number AS n FROM numbers({rows})")
    uri, engine_params = bi_connection(parse_dsn(warehouse), None)
    install_reader_lock()
    engine = sa.create_engine(uri, **engine_params)
    finished: dict[str, float] = {}

    def read() -> None:  # three rows, 0.4 s each: a slow dashboard query on the published table
        rows = run_statement(engine, "SELECT count() FROM marts.t WHERE sleepEachRow(0.4) = 0")
        finished["read"], finished["rows"] = time.monotonic(), rows

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)  # the statement is running
    publish(client, [Built("marts", "t", "table")])
    finished["publish"] = time.monotonic()
    reader.join()
    engine.dispose()
    assert finished["rows"] == 3  # the generation it started on
    assert finished["publish"] >= finished["read"]  # the swap waited for the statement
    assert client.query("SELECT count() FROM marts.t").result_rows[0][0] == 5  # and then happened
