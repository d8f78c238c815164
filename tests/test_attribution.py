"""Multi-touch attribution marts (attribution_daily, roas_monthly) against an independent pandas
computation of docs/CONTRACT.md section 6 from the input files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from ecomlytics.bi.setup import ASSETS_DIR, ROLES
from ecomlytics.dbt.runner import run_dbt
from loaders.ingest import load_files
from tests.attribution_reference import MODEL_NAMES, MODELS, attribution_daily, roas_monthly, touchpoints
from tests.chart_reference import ChartReference
from tests.reference_metrics import Reference
from tests.superset_served import Served, chart_data, charts
from tests.test_marts import built, frame  # noqa: F401 - `built`: the generated, built warehouse (module scope)
from tests.test_marts_tiny import append_visit

DAILY_KEYS = ["day", "model", "source_id"]
MONTHLY_KEYS = ["month", "model", "source_id"]


def assert_frames_match(got: pd.DataFrame, expected: pd.DataFrame, keys: list[str], columns: dict[str, float]) -> None:
    """Same keys on both sides, and each column equal within its absolute tolerance (NaN = NULL)."""
    merged = got.merge(expected, on=keys, how="outer", suffixes=("_got", "_expected"), indicator=True)
    missing = merged[merged._merge != "both"]
    assert missing.empty, f"rows on one side only:\n{missing[[*keys, '_merge']].head(10)}"
    for column, tolerance in columns.items():
        a = pd.to_numeric(merged[f"{column}_got"], errors="coerce").astype(float)
        b = merged[f"{column}_expected"].astype(float)
        bad = ~(((a - b).abs() <= tolerance) | (a.isna() & b.isna()))
        shown = [*keys, f"{column}_got", f"{column}_expected"]
        assert not bad.any(), f"{column} differs:\n{merged.loc[bad, shown].head(10)}"


def marts(client) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: ANN001 - clickhouse-connect client
    daily = frame(client, "SELECT day, model, source_id, channel, orders, toFloat64(revenue) AS revenue, "
                          "toFloat64(net_revenue) AS net_revenue FROM marts.attribution_daily")
    daily["day"] = pd.to_datetime(daily.day)
    monthly = frame(client, "SELECT month, model, source_id, channel, toFloat64(costs) AS costs, orders, "
                            "toFloat64(revenue) AS revenue, toFloat64(net_revenue) AS net_revenue, roas, net_roas "
                            "FROM marts.roas_monthly")
    monthly["month"] = pd.to_datetime(monthly.month)
    return daily, monthly


def assert_marts_match_reference(client, ref: Reference) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: ANN001
    daily, monthly = marts(client)
    expected_daily = attribution_daily(ref)
    assert_frames_match(daily, expected_daily, DAILY_KEYS, {"orders": 1e-9, "revenue": 1e-5, "net_revenue": 1e-5})
    expected_monthly = roas_monthly(ref, expected_daily)
    assert_frames_match(monthly, expected_monthly, MONTHLY_KEYS,
                        {"costs": 0.005, "orders": 1e-9, "revenue": 1e-4, "net_revenue": 1e-4,
                         "roas": 1e-6, "net_roas": 1e-6})
    return daily, monthly


def test_attribution_matches_pandas_on_generated_data(built) -> None:  # noqa: F811
    client, ref = built
    tps = touchpoints(ref)
    per_order = tps.groupby("order").size()
    # The sample exercises what the models distinguish: orders without a touchpoint (source 0), orders
    # with one, and orders with three or more (position_based's middle share).
    assert (tps.source_id == 0).any() and (per_order == 1).any() and (per_order >= 3).any()
    daily, monthly = assert_marts_match_reference(client, ref)
    assert set(daily.model) == set(MODELS) == set(monthly.model)
    assert (daily[daily.source_id == 0].channel == "unknown").all()
    # Credits sum to 1 per order: every model credits each day with exactly its orders.
    per_day = daily.groupby(["model", "day"]).orders.sum().unstack(0)
    orders_per_day = ref.orders.groupby(ref.orders.buy_ts.dt.normalize()).size()
    assert (per_day.sub(orders_per_day, axis=0).abs() < 1e-9).all().all()
    assert monthly.roas.notna().any() and monthly[monthly.costs == 0].roas.isna().all()


# A buyer's two sessions at the same start_ts (listed with the higher source id first), one more
# touchpoint, a session older than the lookback and one after the order; a session exactly 30 days
# before an order (inside) next to one a second earlier (outside); a buyer without visits and one
# whose only visit is older than the lookback (both: source 0, unknown).
VISITS = """Uid,Device,Start Ts,End Ts,Source Id
1,desktop,2018-03-01 10:00:00,2018-03-01 10:05:00,5
1,desktop,2018-03-01 10:00:00,2018-03-01 10:01:00,2
1,touch,2018-03-05 12:00:00,2018-03-05 12:10:00,3
1,touch,2018-01-01 09:00:00,2018-01-01 09:10:00,4
1,touch,2018-03-10 12:00:01,2018-03-10 12:10:00,6
2,desktop,2018-02-08 12:00:00,2018-02-08 12:01:00,7
2,desktop,2018-02-08 11:59:59,2018-02-08 12:00:00,8
4,desktop,2018-01-01 09:00:00,2018-01-01 09:01:00,1
"""
ORDERS = """order_id,Uid,Buy Ts,Revenue
A1,1,2018-03-10 12:00:00,100.00
A2,2,2018-03-10 12:00:00,10.00
A3,3,2018-03-15 08:00:00,7.50
A4,4,2018-03-20 18:00:00,5.00
"""
MOVED = "A4,4,2018-03-21 18:00:00,5.00"  # the only order of Mar 20, corrected to the next day
COSTS = """source_id,dt,costs
2,2018-03-01,40.00
3,2018-03-02,0.00
9,2018-03-03,5.00
"""


@pytest.fixture
def tiny(client, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    for name, text in (("visits_log.csv", VISITS), ("orders_log.csv", ORDERS), ("costs.csv", COSTS)):
        (data / name).write_text(text)
    assert all(r.status == "loaded" for r in load_files(client, [], directory=data, quiet=True))
    assert run_dbt("build")
    return client, data


def credited(daily: pd.DataFrame, model: str, day: str) -> dict[int, float]:
    rows = daily[(daily.model == model) & (daily.day == pd.Timestamp(day))]
    return dict(zip(rows.source_id, rows.orders, strict=True))


def test_tiny_ties_lookback_and_orders_without_touchpoints(tiny, tmp_path: Path) -> None:
    client, data = tiny
    daily, monthly = assert_marts_match_reference(client, Reference(data))
    # Buyer 1's touchpoints in order: (Mar 1 10:00, source 2), (Mar 1 10:00, source 5), (Mar 5, 3);
    # buyer 2's: the session exactly 30 days before (source 7). Sources 4, 6 and 8 are outside.
    assert credited(daily, "first", "2018-03-10") == {2: 1.0, 7: 1.0}
    assert credited(daily, "last", "2018-03-10") == {3: 1.0, 7: 1.0}
    assert credited(daily, "position_based", "2018-03-10") == pytest.approx({2: 0.4, 5: 0.2, 3: 0.4, 7: 1.0})
    decay = credited(daily, "time_decay", "2018-03-10")
    assert decay[2] == pytest.approx(decay[5]) and decay[3] > decay[2]  # tied sessions weigh the same
    for model in MODELS:  # no visit, and only a visit older than the lookback: source 0, unknown
        assert credited(daily, model, "2018-03-15") == {0: 1.0}
        assert credited(daily, model, "2018-03-20") == {0: 1.0}
    assert set(daily[daily.source_id == 0].channel) == {"unknown"}
    roas = monthly[monthly.model == "first"].set_index("source_id")
    assert roas.roas[2] == pytest.approx(100 / 40)  # first touch: all of buyer 1's 100.00 on 40.00 of costs
    assert pd.isna(roas.roas[3]) and pd.isna(roas.roas[0])  # costs 0 / none: ROAS NULL
    assert roas.roas[9] == 0  # costs without credited orders

    # Late visits: buyer 1's on Mar 8 leaves his first touch (and so his fct_orders row) as it was, so
    # only the visit can make the refresh recompute Mar 10; buyer 3's first visit, the day before
    # the order, moves the Mar 15 order from source 0 to source 9. A corrected order leaves Mar 20 empty.
    stamp = "SELECT refreshed_in FROM marts.fct_orders WHERE uid = 1"
    before = client.query(stamp).result_rows
    late = ["1,touch,2018-03-08 09:00:00,2018-03-08 09:05:00,8", "3,touch,2018-03-14 20:00:00,2018-03-14 20:05:00,9"]
    for line in late:
        append_visit(client, tmp_path, line)
    correction = tmp_path / "correction"
    correction.mkdir()
    (correction / "orders_log.csv").write_text(f"{ORDERS.splitlines()[0]}\n{MOVED}\n")
    assert all(r.status == "loaded" for r in load_files(client, [], directory=correction, quiet=True))
    (data / "visits_log.csv").write_text(VISITS + "\n".join(late) + "\n")
    (data / "orders_log.csv").write_text(ORDERS.replace(ORDERS.splitlines()[-1], MOVED))
    assert run_dbt("build")
    assert client.query(stamp).result_rows == before
    daily, monthly = assert_marts_match_reference(client, Reference(data))
    assert credited(daily, "last", "2018-03-10") == {8: 1.0, 7: 1.0}
    assert credited(daily, "linear", "2018-03-15") == {9: 1.0}
    assert credited(daily, "first", "2018-03-20") == {} and credited(daily, "first", "2018-03-21") == {0: 1.0}
    assert monthly[(monthly.model == "last")].set_index("source_id").roas[9] == pytest.approx(7.5 / 5)


def test_attribution_dashboard_compares_models_with_period_channel_and_model_filters() -> None:
    """The committed bundle: every chart of the Attribution dashboard is in the scope of its Period and
    Channel filters; the Attribution model filter holds the model comparisons and not the payback curves
    (buyer cohorts by first touch: no model); its money carries the currency, and Finance may open it."""
    board = yaml.safe_load((ASSETS_DIR / "dashboards" / "attribution.yaml").read_text())
    charts_on_board = {item["meta"]["chartId"]: item["meta"]["sliceName"] for item in board["position"].values()
                       if isinstance(item, dict) and item.get("type") == "CHART"}
    on_board = set(charts_on_board)
    payback = {i for i, name in charts_on_board.items() if "acquisition channel" in name}
    assert len(payback) == 3
    filters = {f["name"]: f for f in board["metadata"]["native_filter_configuration"]}
    assert set(filters) == {"Period", "Channel", "Attribution model"}
    assert filters["Attribution model"]["targets"][0]["column"]["name"] == "model_name"
    for name in ("Period", "Channel"):
        assert set(filters[name]["chartsInScope"]) == on_board and not filters[name]["scope"]["excluded"], name
    model = filters["Attribution model"]
    assert set(model["chartsInScope"]) == on_board - payback and set(model["scope"]["excluded"]) == payback
    # each model has one colour on every chart (Superset would colour each chart's series in its own order)
    assert set(board["metadata"]["label_colors"]) == set(MODEL_NAMES.values())
    dataset = yaml.safe_load((ASSETS_DIR / "datasets" / "ecomlytics" / "roas_monthly.yaml").read_text())
    money = {m["metric_name"] for m in dataset["metrics"] if (m.get("currency") or {}).get("symbol")}
    assert money == {"credited_revenue", "credited_net_revenue", "spend"}
    assert "attribution" in next(spec for spec in ROLES if spec.name == "Finance").dashboards


def test_attribution_dashboard_shows_finance_the_contract_figures(served: Served) -> None:
    """The Attribution dashboard's channel x model table, as Finance reads it through the chart-data
    API, equals the pandas computation over the whole period; roles without it cannot open it."""
    finance = served.session("finance")
    assert finance.get(f"{served.base}/api/v1/dashboard/attribution").status_code == 200
    assert served.session("crm").get(f"{served.base}/api/v1/dashboard/attribution").status_code in (403, 404)
    monthly = ChartReference(Reference(served.data)).attribution_monthly  # with channel and model_name
    expected = monthly.groupby(["channel", "model_name"], as_index=False)[["orders", "revenue", "net_revenue",
                                                                          "costs"]].sum()
    paid = expected.costs > 0
    expected = expected.assign(roas=(expected.revenue / expected.costs).where(paid),
                               net_roas=(expected.net_revenue / expected.costs).where(paid))
    rows = pd.DataFrame(chart_data(finance, served.base, charts(finance, served.base)["Channels by attribution model"]))
    got = rows.rename(columns={"credited_orders": "orders", "credited_revenue": "revenue",
                               "credited_net_revenue": "net_revenue", "spend": "costs"})
    assert len(got) == len(expected)
    assert_frames_match(got, expected, ["channel", "model_name"], {"orders": 1e-6, "revenue": 1e-3,
                                                                   "net_revenue": 1e-3, "costs": 0.005,
                                                                   "roas": 1e-6, "net_roas": 1e-6})
    # Finance reads the payback curves and the gross-and-net money views too (values: test_chart_values.py)
    named = charts(finance, served.base)
    for chart in ("Payback curves: cumulative gross profit per buyer / CAC, by acquisition channel",
                  "Cumulative gross profit per buyer by acquisition channel",
                  "CAC by acquisition channel (cohorts of the period)", "Gross and net over the period",
                  "Refund rate and gross margin, monthly"):
        assert chart_data(finance, served.base, named[chart]), chart
