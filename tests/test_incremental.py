"""An incremental refresh after appending new days equals a full rebuild, mart by mart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from ecomlytics.dbt.runner import run_dbt
from ecomlytics.sample_data import generate
from loaders.ingest import load_files

CUTOFF = "2017-12-20"
MARTS = [
    "fct_sessions", "fct_orders", "dim_customers", "activity_daily", "activity_weekly", "activity_monthly",
    "kpi_daily", "sales_daily", "retention_monthly", "ltv_monthly", "marketing_monthly", "romi_cohorts",
    "ttf_buyers", "customer_flow_monthly", "rfm_customers", "rfm_monthly", "kpi_headline", "customer_profiles",
    "kpi_weekly", "rfm_summary", "customer_base_summary", "funnel_daily", "refunds_daily", "data_issues",
    "attribution_daily", "roas_monthly", "money_daily", "kpi_users_daily", "kpi_users_monthly",
]
INTERMEDIATE = ["int_first_touch", "int_buyers", "int_order_amounts"]  # incremental too; the marts read them
KEYS_COPY = "incremental_copy.int_user_keys"  # incremental too; its keys may differ from a rebuild's (see below)


def split_inputs(source: Path, before: Path, after: Path, cutoff: str = CUTOFF) -> None:
    """Write the rows of each input before / from cutoff into two directories (items follow orders).

    Also used by bench/build.py to append the last day.
    """
    before.mkdir()
    after.mkdir()
    time_columns = {"visits_log.csv": "Start Ts", "orders_log.csv": "Buy Ts", "costs.csv": "dt", "events.csv": "ts",
                    "refunds.csv": "refund_ts", "fx_rates.csv": "date"}
    early_orders: set[str] = set()
    for name, column in time_columns.items():
        if not (source / name).exists():  # an optional input
            continue
        df = pd.read_csv(source / name, dtype=str, keep_default_na=False)
        early = df[column] < cutoff
        df[early].to_csv(before / name, index=False)
        df[~early].to_csv(after / name, index=False)
        if name == "orders_log.csv":
            early_orders = set(df[early].order_id)
    items = pd.read_csv(source / "order_items.csv", dtype=str, keep_default_na=False)
    in_early = items.order_id.isin(early_orders)
    items[in_early].to_csv(before / "order_items.csv", index=False)
    items[~in_early].to_csv(after / "order_items.csv", index=False)
    (source / "customers.csv").rename(before / "customers.csv")
    if (source / "products.csv").exists():
        (source / "products.csv").rename(before / "products.csv")


LATE_RATE_DAYS = 21


@dataclass(frozen=True)
class MoneyCorrections:
    """Late money inputs of the third drop (see write_late_corrections)."""

    refunded_order: str  # an old order refunded late
    cancelled_order: str  # an old order reloaded as cancelled (and a day later)
    unrefunded_order: str  # an old order whose refund is reloaded as another order's (it loses it)
    first_rate_day: str  # a late EUR rate: EUR orders of the LATE_RATE_DAYS from it get a rate (become sales)
    gap_day: str  # a late EUR rate: EUR orders of the LATE_RATE_DAYS from it change from an earlier rate to it


def write_late_corrections(source: Path, first: Path, second: Path,
                           third: Path) -> tuple[str, pd.DataFrame, MoneyCorrections]:
    """What real feeds do, on top of the appended days: the second drop gets an order without item
    lines and an order of a buyer seen nowhere else; a third drop brings that order's item line
    late, events for old days, visits that precede some buyers' first sessions (changing their first touch), a corrected
    order moved to another day, orders reloaded under another uid (their buyers lose them: the
    only order of a buyer with visits, of the buyer seen nowhere else, one of a buyer with several)
    and a changed and a new customers record, plus late money (write_late_money). Returns the moved
    order's id, the reloaded orders (former_uid = the buyer they leave) and the money corrections."""
    third.mkdir()
    visits = pd.read_csv(source / "visits_log.csv", dtype=str, keep_default_na=False)
    orders = pd.read_csv(source / "orders_log.csv", dtype=str, keep_default_na=False)
    buyers_with_visits = orders[orders.Uid.isin(visits.Uid)].Uid.drop_duplicates().head(5)
    late = visits[visits.Uid.isin(buyers_with_visits)].sort_values("Start Ts").groupby("Uid").head(1).copy()
    start = pd.to_datetime(late["Start Ts"]) - pd.Timedelta(days=3)
    late["Start Ts"] = start.dt.strftime("%Y-%m-%d %H:%M:%S")
    late["End Ts"] = (start + pd.Timedelta(seconds=90)).dt.strftime("%Y-%m-%d %H:%M:%S")
    late["Source Id"] = "9"  # a different first-touch source
    # ... also of a user whose only (old) orders are cancelled: kpi_daily counts them by the first touch.
    status = orders.groupby("Uid").agg(cancelled=("status", lambda v: (v == "cancelled").all()),
                                       last=("Buy Ts", "max"))
    cancelled_only = status[status.cancelled & (status["last"] < CUTOFF)].index
    first_visits = visits[visits.Uid.isin(cancelled_only)].sort_values("Start Ts").groupby("Uid").head(1)
    earlier = first_visits.head(1).assign(**{"Source Id": "9"})
    start = pd.to_datetime(earlier["Start Ts"]) - pd.Timedelta(days=3)
    earlier["Start Ts"] = start.dt.strftime("%Y-%m-%d %H:%M:%S")
    earlier["End Ts"] = (start + pd.Timedelta(seconds=90)).dt.strftime("%Y-%m-%d %H:%M:%S")
    assert len(earlier) == 1 and earlier["Start Ts"].iloc[0] < CUTOFF
    pd.concat([late, earlier]).to_csv(third / "visits_log.csv", index=False)
    events = pd.read_csv(source / "events.csv", dtype=str, keep_default_na=False)
    late_events = events[events.ts < CUTOFF].head(3).copy()  # events that arrive late, for old days
    late_events["ts"] = (pd.to_datetime(late_events.ts) + pd.Timedelta(seconds=1)).dt.strftime("%Y-%m-%d %H:%M:%S")
    late_events.to_csv(third / "events.csv", index=False)
    early = orders[orders["Buy Ts"] < CUTOFF]
    moved = early.iloc[[0]].copy()  # the same order_id, corrected to two days later
    moved["Buy Ts"] = (pd.to_datetime(moved["Buy Ts"]) + pd.Timedelta(days=2)).dt.strftime("%Y-%m-%d %H:%M:%S")
    itemless, stranger = early.iloc[[-1]].copy(), early.iloc[[-1]].copy()
    itemless["order_id"] = "LATE-1"
    stranger[["order_id", "Uid"]] = ["GONE-1", STRANGER]
    second_orders = pd.read_csv(second / "orders_log.csv", dtype=str, keep_default_na=False)
    pd.concat([second_orders, itemless, stranger]).to_csv(second / "orders_log.csv", index=False)
    untouched = early.iloc[1:-1][~early.iloc[1:-1].Uid.isin(buyers_with_visits)]  # no other change
    rehomed = reassigned_orders(untouched, orders, visits, stranger)
    money = write_late_money(source, first, third, untouched[~untouched.order_id.isin(rehomed.order_id)])
    cancelled = orders[orders.order_id == money.cancelled_order].assign(status="cancelled")
    moved_ts = pd.to_datetime(cancelled["Buy Ts"]) + pd.Timedelta(days=1)  # and moved to the next day
    cancelled["Buy Ts"] = moved_ts.dt.strftime("%Y-%m-%d %H:%M:%S")
    pd.concat([moved, rehomed.drop(columns="former_uid"), cancelled]).to_csv(third / "orders_log.csv", index=False)
    items = pd.read_csv(source / "order_items.csv", dtype=str, keep_default_na=False)
    late_item = items.head(1).copy()
    late_item[["order_id", "sku", "quantity", "unit_price"]] = ["LATE-1", "SKU-LATE", "1", itemless.Revenue.iloc[0]]
    late_item.to_csv(third / "order_items.csv", index=False)
    customers = pd.read_csv(first / "customers.csv", dtype=str, keep_default_na=False).head(2)
    customers["email"] = ["changed@example.org", ""]
    customers.iloc[1, customers.columns.get_loc("uid")] = NEW_CUSTOMER
    customers.to_csv(third / "customers.csv", index=False)
    return str(moved.order_id.iloc[0]), rehomed, money


def write_late_money(source: Path, first: Path, third: Path, untouched: pd.DataFrame) -> MoneyCorrections:
    """Third drop's money: a late partial refund of an old order, a cancellation of another (written by
    the caller with the orders) and two EUR rates, each at the start of LATE_RATE_DAYS whose rates the
    first drop lacks: the first rate day (EUR orders of those days had no rate: they become sales at the
    late rate), and the first day of the generated gap (its EUR orders had the latest earlier rate and
    change to the late one)."""
    refunds = pd.read_csv(source / "refunds.csv", dtype=str, keep_default_na=False)
    completed = untouched[(untouched.status == "completed") & ~untouched.order_id.isin(refunds.order_id)]
    refunded, cancelled, other = completed.iloc[0], completed.iloc[1], completed.iloc[2]
    single = refunds.order_id.map(refunds.order_id.value_counts()) == 1
    in_base = untouched[untouched.currency.isin(["", "USD"])].order_id
    early = refunds[(refunds.refund_ts < CUTOFF) & single & refunds.order_id.isin(in_base)]
    moved = early.iloc[[0]].assign(order_id=other.order_id)  # the same refund_id, now another order's
    late = pd.DataFrame({"refund_id": ["R-LATE-1"], "order_id": [refunded.order_id],
                         "refund_ts": [CUTOFF + " 10:00:00"], "amount": ["0.25"], "reason": ["late"]})
    pd.concat([late, moved]).to_csv(third / "refunds.csv", index=False)
    rates = pd.read_csv(source / "fx_rates.csv", dtype=str, keep_default_na=False)
    days = pd.date_range(rates.date.min(), rates.date.max()).strftime("%Y-%m-%d")
    gap = [d for d in days if d not in set(rates.date)]
    first_day = rates.date.min()
    first_rates = pd.read_csv(first / "fx_rates.csv", dtype=str, keep_default_na=False)
    def window(start: str) -> pd.Series:
        end = (pd.Timestamp(start) + pd.Timedelta(days=LATE_RATE_DAYS)).strftime("%Y-%m-%d")
        return (first_rates.date >= start) & (first_rates.date < end)

    first_rates[~window(first_day) & ~window(gap[0])].to_csv(first / "fx_rates.csv", index=False)
    pd.DataFrame({"date": [first_day, gap[0]], "currency": ["EUR", "EUR"], "rate": ["1.05", "1.2"]}).to_csv(
        third / "fx_rates.csv", index=False)
    return MoneyCorrections(str(refunded.order_id), str(cancelled.order_id), str(early.order_id.iloc[0]), first_day,
                            gap[0])


STRANGER, NEW_CUSTOMER = "88888888888", "77777777777"  # uids without visits, orders or a customers record


def reassigned_orders(early: pd.DataFrame, orders: pd.DataFrame, visits: pd.DataFrame,
                      stranger: pd.DataFrame) -> pd.DataFrame:
    """Orders reloaded under another buyer's uid: the only order of a buyer with visits, the order of
    the buyer seen nowhere else, one order of a buyer with several."""
    counts = orders.Uid.value_counts()
    single, multi = early[early.Uid.map(counts) == 1], early[early.Uid.map(counts) > 1]
    picks = pd.concat([single[single.Uid.isin(visits.Uid)].head(1), stranger, multi.head(1)])
    assert len(picks) == 3, "the sample lacks a kind of buyer the test needs"
    return picks.assign(former_uid=picks.Uid, Uid=multi.Uid[~multi.Uid.isin(picks.Uid)].iloc[-1])


LINEAGE = {"load_id", "refreshed_in", "sale_changed_in", "replaced_day"}  # bookkeeping of incremental runs, not results


def comparable_columns(client, table: str) -> str:
    """Columns of a (schema-qualified) table as comparable values: states finalized, floats rounded
    (summation order may differ)."""
    out = []
    for name, ch_type, *_ in client.query(f"DESCRIBE TABLE {table}").result_rows:
        if name in LINEAGE:
            continue
        if ch_type.startswith("AggregateFunction"):
            out.append(f"finalizeAggregation(`{name}`)")
        elif "Float" in ch_type:
            out.append(f"round(`{name}`, 6)")
        else:
            out.append(f"`{name}`")
    return ", ".join(out)


def test_incremental_refresh_equals_full_rebuild(client, tmp_path: Path) -> None:
    data, first, second, third = (tmp_path / name for name in ("all", "first", "second", "third"))
    generate(data, users=2000, days=240, seed=11, start=date(2017, 6, 1), bad_share=0)
    split_inputs(data, first, second)
    moved_order, rehomed, money = write_late_corrections(data, first, second, third)
    assert all(r.status == "loaded" for r in load_files(client, [], directory=first, quiet=True))
    assert run_dbt("build")
    assert all(r.status == "loaded" for r in load_files(client, [], directory=second, quiet=True))
    assert run_dbt("build")  # incremental facts and day-keyed marts, rebuilt small aggregates
    assert all(r.status == "loaded" for r in load_files(client, [], directory=third, quiet=True))
    newly_rated = client.query(
        "SELECT count() FROM intermediate.int_order_amounts WHERE currency = 'EUR' AND NOT has_fx_rate "
        f"AND NOT is_cancelled AND toDate(buy_ts) < '{money.first_rate_day}'::Date + {LATE_RATE_DAYS}"
    ).result_rows[0][0]
    assert newly_rated > 0  # EUR orders without a rate, left out of the marts until the late rate arrives
    assert run_dbt("build")  # late visits, a moved order, a late item line, late money
    assert run_dbt("build")  # a scheduled refresh with nothing new: nothing to recompute, still green
    moved = client.query(f"SELECT replaced_day FROM marts.fct_orders WHERE order_id = '{moved_order}'").result_rows
    assert len(moved) == 1 and moved[0][0] is not None  # the day it left is recomputed too
    former = ", ".join(rehomed.former_uid)
    still_buyers = client.query(f"SELECT uid, orders FROM intermediate.int_buyers WHERE uid IN ({former})").result_rows
    assert len(still_buyers) == 1  # the one-order buyers are no buyers any more; the third has an order less
    dim = client.query(f"SELECT uid FROM marts.dim_customers WHERE uid IN ({former}, {NEW_CUSTOMER})").result_rows
    assert len(dim) == 3  # the former buyer seen nowhere else is gone, the new customer is in
    assert_late_money_rewrote_only_what_it_touches(client, money, newly_rated, third, list(rehomed.former_uid))

    assert_equals_full_rebuild(client)
    sessions_after = client.query(f"SELECT count() FROM marts.fct_sessions WHERE start_ts >= '{CUTOFF}'").result_rows
    assert sessions_after[0][0] > 1000  # the appended days really arrived


def assert_late_money_rewrote_only_what_it_touches(client, money: MoneyCorrections, newly_rated: int,  # noqa: ANN001
                                                   third: Path, former_uids: list[str]) -> None:
    """The third drop's refund, cancellation and fx rates reached fct_orders, and its refresh rewrote
    only the orders they (and the drop's other corrections) touch."""
    def one(sql: str):  # noqa: ANN202
        return client.query(sql).result_rows[0]

    newest = "(SELECT max(refreshed_in) FROM marts.fct_orders)"
    refunded, rate, rewritten = one(f"SELECT refunded, fx_rate, refreshed_in = {newest} FROM marts.fct_orders "
                                    f"WHERE order_id = '{money.refunded_order}'")
    assert (refunded, rewritten) == ((Decimal("0.25") * rate).quantize(Decimal("0.01"), ROUND_HALF_UP), 1)
    # ... but the refund changed none of its sales figures: sales_daily need not recompute its day
    assert one(f"SELECT sale_changed_in < refreshed_in FROM marts.fct_orders "
               f"WHERE order_id = '{money.refunded_order}'") == (1,)
    assert one(f"SELECT count() FROM marts.fct_orders WHERE order_id = '{money.cancelled_order}'") == (0,)
    assert one(f"SELECT refunded, refreshed_in = {newest} FROM marts.fct_orders "
               f"WHERE order_id = '{money.unrefunded_order}'") == (0, 1)
    early_eur = one(f"SELECT count(), countIf(fx_rate = 1.05), countIf(refreshed_in = {newest}) "
                    f"FROM marts.fct_orders WHERE currency = 'EUR' "
                    f"AND toDate(buy_ts) < '{money.first_rate_day}'::Date + {LATE_RATE_DAYS}")
    assert early_eur == (newly_rated, newly_rated, newly_rated)
    gap = one(f"SELECT count(), countIf(fx_rate = 1.2 AND refreshed_in = {newest}) FROM marts.fct_orders "
              f"WHERE currency = 'EUR' AND toDate(buy_ts) >= '{money.gap_day}' "
              f"AND toDate(buy_ts) < '{money.gap_day}'::Date + {LATE_RATE_DAYS}")
    assert gap[0] > 0 and gap[0] == gap[1]
    # Only buyers the drop touches were rewritten: those of its orders, visits, item line and refund, and
    # of the EUR orders whose rate it changed; every other row is the one of an earlier refresh.
    third_orders = pd.read_csv(third / "orders_log.csv", dtype=str, keep_default_na=False)
    items = pd.read_csv(third / "order_items.csv", dtype=str, keep_default_na=False)
    touched_orders = {*items.order_id, money.refunded_order, money.unrefunded_order}
    expected = {int(u) for u in [*third_orders.Uid, *former_uids,
                                 *pd.read_csv(third / "visits_log.csv", dtype=str, keep_default_na=False).Uid]}
    expected |= {uid for (uid,) in client.query(
        "SELECT uid FROM marts.fct_orders WHERE order_id IN {ids:Array(String)} OR currency = 'EUR' AND ("
        f"toDate(buy_ts) < '{money.first_rate_day}'::Date + {LATE_RATE_DAYS} OR toDate(buy_ts) >= '{money.gap_day}' "
        f"AND toDate(buy_ts) < '{money.gap_day}'::Date + {LATE_RATE_DAYS})", parameters={"ids": list(touched_orders)}
    ).result_rows}
    rewritten = {uid for (uid,) in client.query(f"SELECT uid FROM marts.fct_orders WHERE refreshed_in = {newest}")
                 .result_rows}
    total = one("SELECT uniqExact(uid) FROM marts.fct_orders")[0]
    assert rewritten <= expected and len(rewritten) < total / 4


def assert_equals_full_rebuild(client) -> None:  # noqa: ANN001 - clickhouse-connect client
    """Copy every incremental mart and intermediate table, rebuild everything from scratch, and require
    the copies to equal the rebuilt tables row for row."""
    tables = [("marts", table) for table in MARTS] + [("intermediate", table) for table in INTERMEDIATE]
    client.command("DROP DATABASE IF EXISTS incremental_copy")
    client.command("CREATE DATABASE incremental_copy")
    for schema, table in tables:
        client.command(f"CREATE TABLE incremental_copy.`{table}` ENGINE = MergeTree ORDER BY tuple() "
                       f"AS SELECT * FROM {schema}.`{table}`")
    client.command(f"CREATE TABLE {KEYS_COPY} ENGINE = MergeTree ORDER BY tuple() "
                   "AS SELECT * FROM intermediate.int_user_keys")
    assert run_dbt("build", full_refresh=True)
    for schema, table in tables:
        columns = comparable_columns(client, f"{schema}.`{table}`")
        diff = client.query(
            f"SELECT count() FROM ((SELECT {columns} FROM {schema}.`{table}` EXCEPT ALL "
            f"SELECT {columns} FROM incremental_copy.`{table}`) UNION ALL (SELECT {columns} FROM "
            f"incremental_copy.`{table}` EXCEPT ALL SELECT {columns} FROM {schema}.`{table}`))").result_rows[0][0]
        total = client.query(f"SELECT count() FROM {schema}.`{table}`").result_rows[0][0]
        assert total > 0, table
        assert diff == 0, f"{table}: incremental and full rebuild differ in {diff} rows"
    # The user bitmaps' keys (int_user_keys) are numbered in the order users arrived, which a rebuild may not
    # repeat: beyond their counts (finalized above), each cell's users, read back through each build's own
    # keys, are the same people.
    for table, cell in (("kpi_users_daily", "day, source_id, os"), ("kpi_users_monthly", "month, source_id, os")):
        def people(schema: str, keys: str, table: str = table, cell: str = cell) -> str:
            return " UNION ALL ".join(
                f"SELECT {cell}, '{column}' AS kind, count() AS n, sum(cityHash64(k.uid)) AS h "
                f"FROM (SELECT {cell}, arrayJoin(bitmapToArray({column})) AS key FROM {schema}.`{table}`) AS b "
                f"INNER JOIN {keys} AS k ON k.user_key = b.key GROUP BY {cell}"
                for column in ("users_bitmap", "buyers_bitmap"))
        rebuilt, copied = people("marts", "intermediate.int_user_keys"), people("incremental_copy", KEYS_COPY)
        rebuilt, copied = f"SELECT * FROM ({rebuilt})", f"SELECT * FROM ({copied})"
        diff = client.query(f"SELECT count() FROM (({rebuilt} EXCEPT ALL {copied}) UNION ALL "
                            f"({copied} EXCEPT ALL {rebuilt}))").result_rows[0][0]
        assert diff == 0, f"{table}: the incremental and rebuilt bitmaps hold other users in {diff} cells"


def published_marts(client) -> dict[str, tuple]:  # noqa: ANN001 - clickhouse-connect client
    """Every published mart's row count and an order-independent hash of its rows."""
    tables = [name for (name,) in client.query(
        "SELECT name FROM system.tables WHERE database = 'marts' ORDER BY name").result_rows]
    return {name: client.query(f"SELECT count(), sum(cityHash64(*)) FROM marts.`{name}`").result_rows[0]
            for name in tables}


def test_a_refresh_killed_midway_is_completed_by_the_next_one(warehouse: str, tmp_path: Path) -> None:
    """kill -9 right after fct_orders took the new orders (kpi_daily not yet): the published marts are
    exactly those of the build before, whole; the next `ecomlytics build` completes the work, and every
    incremental table equals a full rebuild."""
    from ecomlytics.dbt.publish import shadow_of
    from ecomlytics.warehouse.client import close_all, connect

    data, first, second = tmp_path / "all", tmp_path / "first", tmp_path / "second"
    generate(data, users=1500, days=240, seed=5, start=date(2017, 6, 1), bad_share=0)
    split_inputs(data, first, second)
    close_all()  # the CLI subprocesses own the embedded warehouse in turn
    cli = [sys.executable, "-m", "ecomlytics.cli"]

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, *args], env={**os.environ, **env}, capture_output=True, text=True)

    for step in (("load", "--dir", str(first)), ("build",), ("load", "--dir", str(second))):
        assert run(*step).returncode == 0, step
    before = published_marts(connect(warehouse))
    close_all()
    killed = run("build", ECOMLYTICS_FAULT_AT="refresh-after:fct_orders", ECOMLYTICS_DBT_THREADS="1")
    assert killed.returncode == -signal.SIGKILL and "fault point reached: refresh-after:fct_orders" in killed.stdout
    client = connect(warehouse)
    # The build got that far: the new orders are in the fct_orders it was building ...
    assert client.query(f"SELECT count() FROM {shadow_of('marts')}.fct_orders "
                        f"WHERE buy_ts >= '{CUTOFF}'").result_rows[0][0] > 0
    # ... and readers still see every mart exactly as published before it, none half refreshed.
    assert published_marts(client) == before
    assert client.query(f"SELECT count() FROM marts.fct_orders WHERE buy_ts >= '{CUTOFF}'").result_rows[0][0] == 0
    close_all()
    completed = run("build")
    assert completed.returncode == 0, completed.stderr[-2000:]
    client = connect(warehouse)
    assert client.query(f"SELECT sum(orders) FROM marts.kpi_daily WHERE day >= '{CUTOFF}'").result_rows[0][0] > 0
    assert_equals_full_rebuild(client)
