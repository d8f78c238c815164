"""Money marts (contract sections 5 and 10) on the embedded engine against an independent pandas
computation from the input files: net revenue, refunds by order date and by refund date, COGS and
gross profit with and without product costs, fx conversion with gaps (the latest earlier rate) and
without any rate, cancelled orders, data issues, RFM monetary."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from ecomlytics.dbt.runner import run_dbt
from tests.reference_metrics import Reference, lines_in_base, to_base
from tests.sample_build import sample_built
from tests.test_marts import assert_ltv_matches

MARGIN_RATE = 0.4  # not 1: items without a cost and orders without items carry a COGS
ITEMLESS = 25  # orders whose item lines the fixture removes (COGS = revenue x (1 - margin_rate))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Reference]]:
    with sample_built(tmp_path_factory.mktemp("money-home"), prepare=drop_some_item_lines,
                      dbt_vars={"margin_rate": MARGIN_RATE}) as (client, data):
        yield client, Reference(data, margin_rate=MARGIN_RATE)


def drop_some_item_lines(data: Path) -> None:
    """ITEMLESS orders lose their item lines: their COGS comes from margin_rate."""
    items = pd.read_csv(data / "order_items.csv", dtype=str, keep_default_na=False)
    without = items.order_id.drop_duplicates().iloc[::40].head(ITEMLESS)
    items[~items.order_id.isin(without)].to_csv(data / "order_items.csv", index=False)


def frame(client, sql: str) -> pd.DataFrame:
    result = client.query(sql)
    return pd.DataFrame(result.result_rows, columns=result.column_names)


MONEY = ["revenue", "refunded", "discount", "tax", "shipping", "net_revenue", "cogs", "gross_profit"]


def test_the_sample_exercises_every_money_rule(built) -> None:
    _, ref = built
    o = ref.money
    fx_days = set(ref.fx_rates.date)
    eur = o[o.currency == "EUR"]
    assert (o.status == "cancelled").sum() > 10
    assert (eur.rate.notna() & ~eur.day.isin(fx_days)).sum() > 0  # on a day without a rate: the latest earlier
    assert eur.rate.isna().sum() > 0 and (o.currency == "GBP").sum() > 0  # no rate at all (yet / ever)
    sales = ref.orders
    assert ((sales.refunded_exact > 0) & (sales.refunded_exact < sales.revenue_exact)).sum() > 10  # partial
    assert ((sales.refunded_exact > 0) & (sales.refunded_exact == sales.revenue_exact)).sum() > 10  # full
    assert (sales.refunds_original > sales.revenue_original).sum() >= 1  # refunded above revenue: capped
    costed = ref.items.sku.isin(ref.unit_costs.index)
    assert costed.sum() > 100 and (~costed).sum() > 10
    assert (~sales.order_id.isin(ref.items.order_id)).sum() > ITEMLESS / 2  # a few of them are no sales


def test_fct_orders_money_matches_pandas(built) -> None:
    """Every sale (and only those: no cancelled order, no order without a rate), each amount exact."""
    client, ref = built
    mart = frame(client, f"SELECT order_id, currency, fx_rate, {', '.join(MONEY)}, sales_channel, coupon "
                         "FROM marts.fct_orders").set_index("order_id")
    expected = ref.orders.set_index("order_id")
    assert sorted(mart.index) == sorted(expected.index)
    mart = mart.reindex(expected.index)
    assert (mart.currency == expected.currency).all()
    assert (mart.fx_rate == expected.rate).all()
    for column in MONEY:
        assert (mart[column] == expected[f"{column}_exact"]).all(), column
    raw = pd.read_csv(ref.data_dir / "orders_log.csv", dtype=str, keep_default_na=False).set_index("order_id")
    raw = raw[~raw.index.duplicated(keep="last")].reindex(expected.index)
    assert (mart.coupon == raw.coupon).all()
    assert (mart.sales_channel == raw.sales_channel.replace("", "unknown")).all()


def first_touch(ref: Reference, uids: pd.Series) -> pd.DataFrame:
    """source_id / device / os of each uid's first session (0 / unknown / unknown without a visit)."""
    ft = ref.first_touch.reindex(uids.to_numpy())
    return pd.DataFrame({"source_id": ft.first_source_id.fillna(0).astype(int).to_numpy(),
                         "device": ft.first_device.fillna("unknown").to_numpy(),
                         "os": ft.first_os.fillna("unknown").to_numpy()}, index=uids.index)


def test_kpi_daily_money_and_cancelled_orders_match_pandas(built) -> None:
    """Per day x first-touch source x device x OS: net revenue, refunds (on the order's day),
    discounts, gross profit of the sales, and cancelled orders (counted nowhere else)."""
    client, ref = built
    keys = ["day", "source_id", "device", "os"]
    sales = ref.orders.join(first_touch(ref, ref.orders.uid))
    sales["day"] = sales.buy_ts.dt.date
    expected = sales.groupby(keys).agg(orders=("order_id", "size"), revenue=("revenue_exact", "sum"),
                                       net_revenue=("net_revenue_exact", "sum"), refunded=("refunded_exact", "sum"),
                                       discounts=("discount_exact", "sum"), gross_profit=("gross_profit_exact", "sum"))
    cancelled = ref.money[ref.money.status == "cancelled"]
    cancelled = cancelled.join(first_touch(ref, cancelled.uid)).assign(day=cancelled.buy_ts.dt.date)
    expected = expected.join(cancelled.groupby(keys).size().rename("cancelled_orders"), how="outer").fillna(
        {"orders": 0, "cancelled_orders": 0, **dict.fromkeys(["revenue", "net_revenue", "refunded", "discounts",
                                                               "gross_profit"], Decimal(0))})
    mart = frame(client, "SELECT day, source_id, device, os, orders, revenue, net_revenue, refunded, discounts, "
                         "gross_profit, cancelled_orders FROM marts.kpi_daily WHERE orders > 0 OR cancelled_orders > 0")
    mart = mart.set_index(keys)
    assert sorted(mart.index) == sorted(expected.index)
    mart = mart.reindex(expected.index)
    for column in ("orders", "cancelled_orders", "revenue", "net_revenue", "refunded", "discounts", "gross_profit"):
        assert (mart[column] == expected[column]).all(), column
    assert expected.cancelled_orders.sum() == (ref.money.status == "cancelled").sum()


def test_money_daily_matches_pandas_per_sales_channel(built) -> None:
    """money_daily (the dashboards' gross and net): per day x sales channel x first-touch source x device x
    OS, the sales' orders and exact money (refunds on the order's day; COGS and gross profit with product
    costs and margin_rate 0.4)."""
    client, ref = built
    keys = ["day", "sales_channel", "source_id", "device", "os"]
    sales = ref.orders.join(first_touch(ref, ref.orders.uid))
    sales["day"] = sales.buy_ts.dt.date
    assert sales.sales_channel.nunique() > 1
    amounts = {"revenue": "revenue", "refunded": "refunded", "discounts": "discount", "tax": "tax",
               "shipping": "shipping", "net_revenue": "net_revenue", "cogs": "cogs", "gross_profit": "gross_profit"}
    expected = sales.groupby(keys).agg(orders=("order_id", "size"),
                                       **{k: (f"{v}_exact", "sum") for k, v in amounts.items()})
    mart = frame(client, f"SELECT {', '.join(keys)}, orders, {', '.join(amounts)} FROM marts.money_daily")
    mart = mart.assign(sales_channel=mart.sales_channel.astype(str)).set_index(keys)
    assert sorted(mart.index) == sorted(expected.index)
    mart = mart.reindex(expected.index)
    for column in ("orders", *amounts):
        assert (mart[column] == expected[column]).all(), column


def test_refunds_by_refund_date_match_pandas(built) -> None:
    """refunds_daily: the sales' refunds on the day they were paid, by the buyer's first-touch source,
    each converted at its order's rate to the cent."""
    client, ref = built
    sales = ref.orders.set_index("order_id")
    refunds = ref.refunds[ref.refunds.order_id.isin(sales.index)].copy()
    refunds["day"] = refunds.refund_ts.dt.date
    refunds["source_id"] = first_touch(ref, sales.uid.reindex(refunds.order_id).set_axis(refunds.index)).source_id
    refunds["converted"] = [to_base(a, r) for a, r in zip(refunds.amount, sales.rate.reindex(refunds.order_id),
                                                            strict=True)]
    expected = refunds.groupby(["day", "source_id"]).agg(refunds=("amount", "size"), refunded=("converted", "sum"))
    mart = frame(client, "SELECT day, source_id, refunds, refunded FROM marts.refunds_daily").set_index(
        ["day", "source_id"])
    assert sorted(mart.index) == sorted(expected.index)
    mart = mart.reindex(expected.index)
    assert (mart.refunds == expected.refunds).all() and (mart.refunded == expected.refunded).all()
    # The same money as fct_orders.refunded but for the part above revenue (and a cent of rounding per refund).
    over = sum(to_base(f, r) - v for f, r, v in zip(sales.refunds_original, sales.rate, sales.revenue_exact,
                                                    strict=True) if to_base(f, r) > v)
    assert abs(mart.refunded.sum() - over - ref.orders.refunded_exact.sum()) <= Decimal("0.01") * len(refunds)
    assert over > 0


def test_data_issues_match_pandas(built) -> None:
    client, ref = built
    o = ref.money
    not_cancelled = o[o.status != "cancelled"]
    expected = (
        {("no_fx_rate", k) for k in not_cancelled[not_cancelled.rate.isna()].order_id}
        | {("orphan_refund", k) for k in ref.refunds[~ref.refunds.order_id.isin(o.order_id)].refund_id}
        | {("refund_over_revenue", k)
           for k in not_cancelled[not_cancelled.refunds_original > not_cancelled.revenue_original].order_id}
    )
    got = set(client.query("SELECT kind, key FROM marts.data_issues").result_rows)
    assert got == expected
    assert {kind for kind, _ in got} == {"no_fx_rate", "orphan_refund", "refund_over_revenue"}


def test_ltv_uses_gross_profit(built) -> None:
    client, ref = built
    assert_ltv_matches(client, ref)
    revenue_based = (ref.orders.revenue.sum() * MARGIN_RATE)
    assert ref.orders.gross_profit.sum() != pytest.approx(revenue_based, rel=1e-3)  # a different basis indeed


@pytest.mark.parametrize("monetary", ["net", "gross"])
def test_rfm_monetary_is_net_revenue_or_gross_by_var(built, monetary: str) -> None:
    client, ref = built
    try:
        if monetary != "net":
            assert run_dbt("build", select="rfm_scores+", full_refresh=True,
                           vars={"margin_rate": MARGIN_RATE, "rfm_monetary": monetary})
        mart = frame(client, "SELECT uid, monetary, rfm_code FROM marts.rfm_customers").set_index("uid")
        expected = Reference(ref.data_dir, margin_rate=MARGIN_RATE, rfm_monetary=monetary).rfm()
        assert sorted(mart.index) == sorted(expected.index)
        mart = mart.reindex(expected.index)
        assert (mart.monetary == expected.monetary).all()
        assert (mart.rfm_code.astype(str) == expected.rfm_code.astype(str)).all()
    finally:
        if monetary != "net":
            assert run_dbt("build", select="rfm_scores+", full_refresh=True, vars={"margin_rate": MARGIN_RATE})


def test_sku_revenue_is_converted_at_the_order_rate_and_adds_up_to_the_orders(built) -> None:
    """sales_daily: a sku's revenue = its lines' quantity x unit_price converted at the order's rate (to
    the cent, lines adding up to the order's converted revenue); orders without items as 'unknown'."""
    client, ref = built
    sales = ref.orders.set_index("order_id")
    items = ref.items[ref.items.order_id.isin(sales.index)]
    line = lines_in_base(items, sales.rate)
    expected = line.groupby(items.sku).sum()
    expected["unknown"] = sales.revenue_exact[~sales.index.isin(items.order_id)].sum()
    mart = frame(client, "SELECT sku, sum(revenue) AS revenue FROM marts.sales_daily GROUP BY sku").set_index("sku")
    assert sorted(mart.index) == sorted(expected.index)
    assert (mart.revenue.reindex(expected.index) == expected).all()
    eur = items.order_id.map(sales.currency) == "EUR"
    assert eur.sum() > 50 and (line[eur] != [to_base(int(q) * p, Decimal(1)) for q, p in
                                             zip(items.quantity[eur], items.unit_price[eur], strict=True)]).all()
