"""dbt marts on the embedded engine against an independent pandas computation from the input files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecomlytics import settings
from ecomlytics.dbt.runner import run_dbt
from ecomlytics.sample_data import HEADERS
from tests.chart_reference import ChartReference
from tests.dbt_runs import failed_checks, failed_tests
from tests.reference_metrics import Reference, month_start
from tests.sample_build import sample_built

REPO = Path(__file__).resolve().parents[1]
SEGMENTS = pd.read_csv(REPO / "seeds" / "rfm_segments.csv", dtype=str).set_index("rfm_code")


@pytest.fixture(scope="module", params=["full", "without_money_inputs"])
def built(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Reference]]:
    """Generate a small dataset, load it and run `dbt build` once for the whole module; every test runs
    on it as generated and once more without the optional money inputs (contract section 5: the same
    figures as before them, which the reference then computes)."""
    prepare = strip_money_inputs if request.param == "without_money_inputs" else None
    with sample_built(tmp_path_factory.mktemp("marts-home"), prepare=prepare) as (client, data):
        yield client, Reference(data)


def strip_money_inputs(data: Path) -> None:
    """The data as it was before section 5: no refunds, fx rates, products, money columns or campaigns."""
    for name in ("refunds.csv", "fx_rates.csv", "products.csv"):
        (data / name).unlink()
    for name, columns in (("orders_log.csv", HEADERS["orders"][7:]), ("visits_log.csv", ["campaign"])):
        df = pd.read_csv(data / name, dtype=str, keep_default_na=False)
        df.drop(columns=columns).to_csv(data / name, index=False)


def frame(client, sql: str) -> pd.DataFrame:
    result = client.query(sql)
    return pd.DataFrame(result.result_rows, columns=result.column_names)


def test_headline_matches_pandas(built) -> None:
    client, ref = built
    got = frame(client, "SELECT * FROM marts.kpi_headline").iloc[0]
    asl_mean, asl_median, asl_mode = ref.asl
    expected = {
        "dau": ref.dau, "wau": ref.wau, "mau": ref.mau,
        "sticky_wau": ref.dau / ref.wau, "sticky_mau": ref.dau / ref.mau,
        "sessions_per_user_day": ref.sessions_per_user_day,
        "asl_mean_s": asl_mean, "asl_median_s": asl_median, "asl_mode_s": asl_mode,
        "ttf_median_s": ref.ttf_median, "aov": ref.aov, "ltv_6m": ref.ltv_6m,
        "orders_per_buyer_6m": ref.orders_per_buyer_6m, "cac": ref.cac, "romi_6m": ref.romi_6m,
    }
    for column, value in expected.items():
        assert got[column] == pytest.approx(value, rel=1e-9), column


def test_revenue_and_buyers_reconcile_with_inputs(built) -> None:
    client, ref = built
    revenue, orders, buyers = client.query(
        "SELECT sum(revenue), count(), uniqExact(uid) FROM marts.fct_orders").result_rows[0]
    assert float(revenue) == pytest.approx(ref.orders.revenue.sum(), abs=0.005)
    assert orders == len(ref.orders)
    assert buyers == ref.orders.uid.nunique()
    kpi_revenue, kpi_buyers = client.query(
        "SELECT sum(revenue), uniqExactMerge(buyers_state) FROM marts.kpi_daily").result_rows[0]
    assert float(kpi_revenue) == pytest.approx(ref.orders.revenue.sum(), abs=0.005)
    assert kpi_buyers == ref.orders.uid.nunique()


def test_without_money_inputs_net_is_gross_and_nothing_is_left_out(built, request: pytest.FixtureRequest) -> None:
    """Without the optional inputs every order is a sale in the base currency: net revenue = revenue,
    gross profit = revenue x margin_rate, no refunds, cancellations or data issues."""
    client, ref = built
    if request.node.callspec.params["built"] != "without_money_inputs":
        pytest.skip("only without the optional money inputs")
    assert client.query(
        "SELECT count(), countIf(net_revenue = revenue AND gross_profit = revenue AND refunded = 0 AND cogs = 0 "
        "AND discount = 0 AND currency = 'USD' AND fx_rate = 1 AND sales_channel = 'unknown') FROM marts.fct_orders"
    ).result_rows == [(len(ref.orders), len(ref.orders))]
    assert client.query("SELECT sum(net_revenue) = sum(revenue), sum(gross_profit) = sum(revenue), sum(refunded), "
                        "sum(cancelled_orders) FROM marts.kpi_daily").result_rows == [(1, 1, 0, 0)]
    for table in ("data_issues", "refunds_daily"):
        assert client.query(f"SELECT count() FROM marts.{table}").result_rows == [(0,)], table
    # The Sales-channel dimension has one value: the dashboards' figures stay as without it.
    for table in ("money_daily", "sales_daily", "ltv_monthly"):
        assert client.query(f"SELECT groupUniqArray(toString(sales_channel)) FROM marts.{table}").result_rows == [
            (["unknown"],)], table
    assert client.query("SELECT sum(net_revenue) = sum(revenue), sum(gross_profit) = sum(revenue), sum(refunded), "
                        "toUInt64(sum(orders)) FROM marts.money_daily").result_rows == [(1, 1, 0, len(ref.orders))]


def test_sales_daily_names_each_sku_as_the_order_items_do(built) -> None:
    """product_name rides along the SKU without changing sales_daily's grain: each SKU's rows carry
    the name its valid order lines give it ('unknown' for orders without lines), and activity labels
    come from the seed for every status."""
    client, ref = built
    items = ChartReference(ref).items  # the valid lines of valid orders
    expected = items[items.product_name != ""].groupby("sku").product_name.max().to_dict()
    got = frame(client, "SELECT sku, groupArray(DISTINCT toString(product_name)) AS names "
                        "FROM marts.sales_daily GROUP BY sku")
    assert len(got) > 50
    for sku, names in zip(got.sku, got.names, strict=True):
        assert names == [expected.get(sku, "unknown")], sku
    assert frame(client, "SELECT count() AS n FROM marts.sales_daily").n[0] == frame(
        client, "SELECT count() AS n FROM (SELECT DISTINCT day, category, sku, source_id, device, os, country, "
                "region, city, sales_channel FROM marts.sales_daily)").n[0]
    labels = pd.read_csv(REPO / "seeds" / "activity_statuses.csv").set_index("activity_status").activity_label
    base = frame(client, "SELECT DISTINCT toString(activity_status) AS status, toString(activity_label) AS label "
                         "FROM marts.customer_base_summary")
    assert len(base) >= 3
    assert dict(zip(base.status, base.label, strict=True)) == labels[base.status].to_dict()


def test_exact_users_under_a_filter_combination(built) -> None:
    client, ref = built
    v = ref.visits
    march = v[(v.start_ts >= "2017-10-01") & (v.start_ts < "2017-11-01") & (v.os.isin(["iOS", "Android"]))]
    got = client.query(
        "SELECT uniqExactMerge(users_state) FROM marts.kpi_daily WHERE day >= '2017-10-01' AND day < '2017-11-01' "
        "AND os IN ('iOS', 'Android')").result_rows[0][0]
    assert got == march.uid.nunique()


def test_retention_matches_pandas(built) -> None:
    client, ref = built
    mart = frame(client, "SELECT cohort_month, lifetime_month AS lifetime, sum(active_users) / sum(cohort_users) "
                         "AS retention FROM marts.retention_monthly GROUP BY cohort_month, lifetime_month")
    mart["cohort_month"] = pd.to_datetime(mart.cohort_month)
    expected = ref.retention()
    merged = expected.merge(mart, on=["cohort_month", "lifetime"], suffixes=("", "_mart"))
    assert len(merged) == len(expected)
    assert (merged[merged.lifetime == 0].retention_mart == 1).all()
    assert merged.retention_mart.to_numpy() == pytest.approx(merged.retention.to_numpy(), rel=1e-12)


def assert_ltv_matches(client, ref: Reference) -> None:  # noqa: ANN001 - clickhouse-connect client
    """LTV per cohort and age (cumulative gross profit per buyer) equals the pandas reference."""
    mart = frame(client, "SELECT cohort_month, age_month AS age, sum(cum_gross_profit) / sum(cohort_buyers) AS ltv "
                         "FROM marts.ltv_monthly GROUP BY cohort_month, age_month")
    mart["cohort_month"] = pd.to_datetime(mart.cohort_month)
    merged = ref.ltv().merge(mart, on=["cohort_month", "age"], suffixes=("", "_mart"))
    assert len(merged) == len(ref.ltv())
    assert merged.ltv_mart.to_numpy() == pytest.approx(merged.ltv.to_numpy(), rel=1e-9)


def test_ltv_matches_pandas(built) -> None:
    assert_ltv_matches(*built)


def assert_columns_match(got: pd.DataFrame, expected: pd.DataFrame, columns: list[str]) -> None:
    """Same keys (index) both ways, and each column equal row by row (NaN where the mart has NULL)."""
    assert sorted(got.index) == sorted(expected.index)
    got = got.reindex(expected.index)
    for column in columns:
        want = expected[column].astype(float).to_numpy()
        have = got[column].astype(float).to_numpy()
        assert (np.isnan(have) == np.isnan(want)).all(), f"{column}: NULL in other rows than the reference"
        assert have[~np.isnan(want)] == pytest.approx(want[~np.isnan(want)], rel=1e-9, abs=1e-9), column


def test_marketing_costs_new_buyers_and_cac_by_month_and_source_match_pandas(built) -> None:
    """Every (month, source) with costs or new buyers, its costs, new buyers and CAC = costs / new
    buyers whose first source it is (NULL without new buyers), from the input files."""
    client, ref = built
    mart = frame(client, "SELECT month, source_id, costs, new_buyers, cac FROM marts.marketing_monthly")
    mart["month"] = pd.to_datetime(mart.month)
    expected = ref.marketing_monthly()
    assert (expected.cac > 0).sum() > 20 and expected.cac.isna().sum() > 0  # paid rows, and spend without buyers
    assert_columns_match(mart.set_index(["month", "source_id"]), expected, ["costs", "new_buyers", "cac"])


def test_romi_cac_ltv_and_payback_by_cohort_and_source_match_pandas(built) -> None:
    """romi_cohorts row by row against the contract computed from the input files: cohort buyers of
    the source, the source's costs in the cohort month, CAC, LTV, ROMI = LTV / CAC - 1 and the payback
    month (first age with ROMI >= 0; NULL if never, and without costs)."""
    client, ref = built
    mart = frame(client, "SELECT cohort_month, source_id, age_month, cohort_buyers, costs, cac, ltv, romi, "
                         "payback_month FROM marts.romi_cohorts")
    mart["cohort_month"] = pd.to_datetime(mart.cohort_month)
    expected = ref.romi_cohorts()
    # The data must exercise every branch: paid cohorts that pay back, paid ones that never do, unpaid ones.
    paid = expected[expected.cac.notna()]
    assert paid.payback_month.notna().any() and paid.payback_month.isna().any() and expected.cac.isna().any()
    assert (paid.payback_month > 0).any()  # a payback after age 0
    assert_columns_match(mart.set_index(["cohort_month", "source_id", "age_month"]), expected,
                         ["cohort_buyers", "costs", "cac", "ltv", "romi", "payback_month"])


def test_customer_flow_matches_pandas(built) -> None:
    client, ref = built
    mart = frame(client, "SELECT month, new_buyers AS new, returning_buyers AS returning, "
                         "reactivated_buyers AS reactivated, churned_buyers AS churned "
                         "FROM marts.customer_flow_monthly ORDER BY month")
    mart["month"] = pd.to_datetime(mart.month)
    expected = ref.customer_flow()
    pd.testing.assert_frame_equal(mart.astype({c: "int64" for c in mart.columns[1:]}).reset_index(drop=True),
                                  expected.astype({c: "int64" for c in expected.columns[1:]}), check_dtype=False)


def test_rfm_scores_and_segments_match_pandas(built) -> None:
    client, ref = built
    mart = frame(client, "SELECT uid, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_code, "
                         "segment, macro_segment FROM marts.rfm_customers").set_index("uid")
    expected = ref.rfm()
    assert len(mart) == len(expected)
    joined = expected.join(mart, rsuffix="_mart")
    assert (joined.recency == joined.recency_days).all()
    for column in ("r_score", "f_score", "m_score", "rfm_code"):
        assert (joined[column].astype(str) == joined[f"{column}_mart"].astype(str)).all(), column
    assert (joined.segment == SEGMENTS.segment.reindex(joined.rfm_code).to_numpy()).all()
    assert (joined.macro_segment == SEGMENTS.macro_segment.reindex(joined.rfm_code).to_numpy()).all()


def test_monthly_rfm_snapshot_uses_only_orders_before_next_month(built) -> None:
    client, ref = built
    latest = client.query("SELECT max(snapshot_month) FROM marts.rfm_monthly").result_rows[0][0]
    assert latest == date(2018, 1, 1)  # the month of the last order (240 days from 2017-06-01)
    for month in ("2017-09-01", str(latest)):  # a past month, and the latest (built another way)
        snapshot = pd.Timestamp(month)
        expected = ref.rfm(as_of=snapshot + pd.DateOffset(months=1))
        expected["segment"] = SEGMENTS.segment.reindex(expected.rfm_code).to_numpy()
        mart = frame(client, "SELECT segment, sum(customers) AS customers FROM marts.rfm_monthly "
                             f"WHERE snapshot_month = '{month}' GROUP BY segment").set_index("segment").customers
        assert mart.sort_index().to_dict() == expected.segment.value_counts().sort_index().to_dict(), month


def test_rfm_as_of_date_var(built) -> None:
    """With dbt var rfm_as_of_date set, RFM counts only orders before it (measures from fct_orders,
    not int_buyers) and the monthly snapshots are all scored from orders."""
    client, ref = built
    as_of = "2017-10-01"
    try:
        assert run_dbt("build", select="rfm_scores+ rfm_monthly+", full_refresh=True, vars={"rfm_as_of_date": as_of})
        mart = frame(client, "SELECT uid, recency_days, rfm_code FROM marts.rfm_scores").set_index("uid")
        expected = ref.rfm(as_of=pd.Timestamp(as_of))
        assert len(mart) == len(expected)
        joined = expected.join(mart, rsuffix="_mart")
        assert (joined.recency == joined.recency_days).all()
        assert (joined.rfm_code.astype(str) == joined.rfm_code_mart.astype(str)).all()
        latest = pd.Timestamp("2018-01-01")
        monthly = ref.rfm(as_of=latest + pd.DateOffset(months=1))
        monthly_segments = SEGMENTS.segment.reindex(monthly.rfm_code).value_counts().sort_index().to_dict()
        got = frame(client, "SELECT segment, sum(customers) AS customers FROM marts.rfm_monthly "
                            "WHERE snapshot_month = '2018-01-01' GROUP BY segment").set_index("segment").customers
        assert got.sort_index().to_dict() == monthly_segments
    finally:
        assert run_dbt("build", select="rfm_scores+ rfm_monthly+", full_refresh=True)


def test_activity_marts_cover_every_day_with_sessions(built) -> None:
    client, ref = built
    daily = frame(client, "SELECT day, dau FROM marts.activity_daily ORDER BY day")
    expected = ref.active("D")
    assert daily.dau.tolist() == expected.tolist()
    assert month_start(pd.to_datetime(daily.day)).nunique() == month_start(ref.visits.start_ts).nunique()


def test_rfm_export_has_exactly_the_segments_customers(built, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from ecomlytics.export import ExportError, export_rfm_contacts

    client, ref = built
    rfm = ref.rfm()
    expected = {str(uid) for uid, code in rfm.rfm_code.items() if SEGMENTS.segment[code] == "Lost VIP"}
    count = export_rfm_contacts(client, tmp_path / "lost.csv", segments=["Lost VIP"], macro_segments=[], fmt="csv")
    exported = pd.read_csv(tmp_path / "lost.csv", dtype={"customer_id": str})
    assert count == len(expected) and set(exported.customer_id) == expected
    export_rfm_contacts(client, tmp_path / "new.xlsx", segments=[], macro_segments=["New"], fmt="xlsx",
                        only_consented="email")
    sheet = load_workbook(tmp_path / "new.xlsx").active
    values = list(sheet.values)
    header, body = values[0], values[1:]
    got = {row[header.index("customer_id")] for row in body}
    macro = SEGMENTS.macro_segment.reindex(rfm.rfm_code).to_numpy()
    customers = pd.read_csv(ref.data_dir / "customers.csv", dtype=str, keep_default_na=False).set_index("uid")
    # --only-consented email: opted in AND an e-mail address to write to
    new = {str(uid) for uid, m in zip(rfm.index, macro, strict=True) if m == "New"}
    opted_in = new & set(customers.index[customers.email_opt_in == "1"])
    reachable = opted_in & set(customers.index[customers.email.str.strip() != ""])
    assert reachable < opted_in  # some opted-in new customers have no e-mail: they must not be exported
    assert got == reachable
    with pytest.raises(ExportError, match="valid"):
        export_rfm_contacts(client, tmp_path / "x.csv", segments=["Nope"], macro_segments=[])


def test_dbt_key_and_value_tests_catch_bad_rows(built) -> None:
    """The generic tests fail on the rows they exist for: a duplicated key (primary_key) and a
    segment left at the column's default '' (not_empty); a rebuild clears both."""
    client, _ = built
    client.command("INSERT INTO marts.rfm_scores SELECT * FROM marts.rfm_scores ORDER BY uid LIMIT 1")
    client.command("INSERT INTO marts.rfm_scores SELECT * REPLACE (uid + 1 AS uid, '' AS segment)"
                   " FROM marts.rfm_scores ORDER BY uid DESC LIMIT 1")
    assert not run_dbt("test", select="rfm_scores")
    assert {"primary_key_rfm_scores_uid", "not_empty_rfm_scores_segment"} <= failed_tests()
    assert run_dbt("build", select="rfm_scores")


# A copy of one row with a marker in a column outside the grain: (table, column = marker, the grain test
# that must fail, the model it is attached to).
DUPLICATES = [
    ("marts.marketing_monthly", "costs", "toDecimal64(987654.32, 2)", "unique_combination", "marketing_monthly"),
    ("marts.romi_cohorts", "ltv", "-12345.0", "unique_combination", "romi_cohorts"),
    ("marts.ltv_monthly", "ltv", "-12345.0", "unique_combination", "ltv_monthly"),
    ("marts.retention_monthly", "retention", "-12345.0", "unique_combination", "retention_monthly"),
    ("marts.funnel_daily", "events", "987654321", "unique_combination", "funnel_daily"),
    ("marts.kpi_daily", "session_seconds", "987654321", "unique_combination", "kpi_daily"),
    ("marts.rfm_monthly", "customers", "987654321", "unique_combination", "rfm_monthly"),
    # as a refresh would write it: stamped after the last pass, so the refresh-time slice sees its day
    ("marts.sales_daily", "units", "987654321", "unique_combination", "sales_daily"),
    ("raw.costs", "costs", "toDecimal64(987654.32, 2)", "unique_combination", "stg_costs"),
    ("marts.fct_sessions", "duration_s", "987654321", "same_row_count", "fct_sessions"),
    ("staging.channels", "channel", "'zz marker'", "same_row_count", "int_sessions"),  # a join that multiplies
    ("marts.rfm_scores", "monetary", "987654321", "same_row_count", "customer_profiles"),
    ("raw.customers", "name", "'zz marker'", "same_row_count", "rfm_customers"),
    ("marts.kpi_headline", "dau", "-12345.0", "one_row", "kpi_headline"),
]


# Views whose row count runs their joins: checked on full builds and with --verify-all (on_refresh: false).
FULL_BUILD_ONLY = {"int_sessions", "customer_profiles", "rfm_customers"}


def test_grain_tests_catch_a_duplicated_row(built) -> None:
    """Each model's grain test fails when one row of it (or of the input that sets its grain) is
    duplicated; with the copies deleted again, they all pass."""
    client, _ = built
    models = " ".join(model for *_, model in DUPLICATES)
    # A refresh's sales_daily slice: a day written after the last pass (a row of a new day, no revenue, a new
    # stamp) makes that pass's watermark newer than every other row; the copy below is stamped newer
    # still, on an old day, as a refresh that forgot its delete would write it.
    client.command("INSERT INTO marts.sales_daily SELECT * REPLACE (toDate('2099-01-01') AS day, "
                   "revenue - revenue AS revenue, (SELECT max(load_id) + 1 FROM marts.sales_daily) AS load_id) "
                   "FROM (SELECT * FROM marts.sales_daily LIMIT 1)")
    assert run_dbt("test", select=models)
    for table, column, marker, _, _ in DUPLICATES:
        stamp = ", (SELECT max(load_id) + 1 FROM marts.sales_daily) AS load_id" if table == "marts.sales_daily" else ""
        # a customer / a source that has rows in the view, so that the join multiplies them
        where = {"raw.customers": "WHERE uid IN (SELECT uid FROM marts.rfm_scores)",
                 "staging.channels": "WHERE source_id IN (SELECT source_id FROM raw.visits)",
                 "marts.sales_daily": "WHERE day < '2099-01-01'"}.get(table, "")  # an old day
        client.command(f"INSERT INTO {table} SELECT * REPLACE ({marker} AS {column}{stamp}) "
                       f"FROM (SELECT * FROM {table} {where} LIMIT 1)")
    try:
        assert not run_dbt("test", select=models)  # as on a daily refresh
        expected = {(test, model) for *_, test, model in DUPLICATES if model not in FULL_BUILD_ONLY}
        assert expected <= failed_checks()
        assert not {model for _, model in failed_checks()} & FULL_BUILD_ONLY  # views: not on a refresh ...
        assert not run_dbt("test", select=" ".join(FULL_BUILD_ONLY), vars={"verify_all": True})
        assert {("same_row_count", model) for model in FULL_BUILD_ONLY} <= failed_checks()  # ... but with verify_all
    finally:
        for table, column, marker, _, _ in DUPLICATES:
            client.command(f"DELETE FROM {table} WHERE {column} = {marker}")
        client.command("DELETE FROM marts.sales_daily WHERE day = '2099-01-01'")
    assert run_dbt("test", select=models)


def test_contact_columns_are_flagged_pii_in_dbt_and_only_those_marts_are_pii(built) -> None:
    """The marts with names, e-mails or phones (as the engine sees their columns) are exactly the marts
    flagged `meta: {pii: true}` in the dbt project, which the Superset security setup reads."""
    from ecomlytics.dbt.pii import pii_datasets

    client, _ = built
    with_contacts = {row[0] for row in client.query(
        "SELECT DISTINCT table FROM system.columns WHERE database = 'marts' AND name IN ('name', 'email', 'phone')"
    ).result_rows}
    marts = {row[0] for row in client.query("SELECT name FROM system.tables WHERE database = 'marts'").result_rows}
    assert with_contacts == {"rfm_customers", "dim_customers"}
    assert pii_datasets() & marts == with_contacts


def test_rendering_the_dashboards_description_gives_the_committed_bundle(built, tmp_path: Path) -> None:
    """superset_assets/ is derived: the description in superset_assets/description/, rendered by bundle_builder
    with the built marts' columns, equals the committed files byte for byte (regenerate with
    `python -m ecomlytics.bi.bundle_builder`)."""
    from ecomlytics.bi.bundle_builder import ASSETS_DIR, warehouse_columns, write_bundle

    write_bundle(warehouse_columns(settings.warehouse_dsn()), tmp_path)
    rendered = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.yaml")}
    committed = {p.relative_to(ASSETS_DIR): p.read_text() for p in ASSETS_DIR.rglob("*.yaml")}
    assert sorted(rendered) == sorted(committed)
    assert [name for name in rendered if rendered[name] != committed[name]] == []
