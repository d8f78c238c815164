"""Every dashboard chart's values against an independent pandas reference (tests/chart_reference.py).

Each chart is requested as a dashboard requests it: its saved query context POSTed to
/api/v1/chart/data, first unfiltered, then once per native filter of its dashboard that has it in
scope (the filter's value added as the dashboard adds it: an IN filter on the column, or the Period's
time range on the chart's temporal-range filter). The rows must equal the pandas computation from the
input files under the same selection: money to the cent (abs 0.01), counts exactly, ratios rel 1e-9.

build_checks maps every (dashboard, chart) to its check; a chart without one fails
test_every_chart_has_a_value_check. Each chart is checked unfiltered, under each filter in its scope,
and under all of them at once (select filters with two values).

Weaker than an exact comparison of every value shown, and why:
- "The period against the previous period ...": the current-period column to the decimals shown;
  the previous-period and last-year columns are outside the 240-day data under the checked
  selections, so only their "n/a" is checked here (tests/test_dashboard_filters.py checks figures
  inside the data through the API).
- Top / Bottom 10 SKUs: each row's GMV, units and product name exactly, and the GMVs shown are pandas' 10
  highest / lowest; which SKU of a tie is listed is not checked.
- Zero / empty values count as "no bar" on both sides (except the payback month, where 0 is a value).
- The kpi_headline tiles (session length, TTF median, sticky factors, CAC, LTV / ROMI / orders per
  buyer at 6 months) have no filter in scope by design: checked unfiltered only.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd
import pytest
import requests

from tests.chart_reference import ChartReference, Selection, channel_of
from tests.reference_metrics import Reference, month_start
from tests.superset_served import Served

MONEY, COUNT, RATIO = "money", "count", "ratio"
GROSS_NET_MONEY = ("gmv", "net_sales", "refunds", "discounts_granted", "profit")  # money_daily's amounts
CREDIT = "credit"  # attribution: credited money is rounded to 6 decimals per mart row (docs/decisions.md)


@dataclass
class Check:
    expected: Callable[[Selection], dict]  # Selection -> {metric: {key: value}}
    keys: tuple[str, ...]  # the row columns that make the key (none: a single-row tile)
    kinds: dict[str, str]  # metric -> MONEY / COUNT / RATIO
    note: str = ""  # why the check is weaker than an exact comparison, if it is
    special: Callable | None = None  # (rows, expected, selection) -> problems, instead of the plain comparison
    keep_zero: bool = False  # 0 is a value to compare (not "no bar"), e.g. payback in month 0


def _approx(kind: str, value: float):
    if kind == MONEY:
        return pytest.approx(value, abs=0.01)
    if kind == COUNT:
        return value
    return pytest.approx(value, rel=1e-6 if kind == CREDIT else 1e-9)


def compare(rows: list[dict], check: Check, expected: dict) -> list[str]:
    """Differences between the chart's rows and the expected values (zero / empty values on either side
    count as absent: a chart shows no bar for them)."""
    problems = []
    for metric, kind in check.kinds.items():
        def key(row: dict) -> object:
            values = tuple(row[k] for k in check.keys)
            return values[0] if len(values) == 1 else values

        absent = (None,) if check.keep_zero else (None, 0)
        got = {key(row): row[metric] for row in rows if row[metric] not in absent}
        want = {k: v for k, v in expected[metric].items() if not pd.isna(v) and (check.keep_zero or v != 0)}
        if got.keys() != want.keys():
            problems.append(f"{metric}: keys only in chart {sorted(got.keys() - want.keys(), key=str)[:5]}, "
                            f"only in pandas {sorted(want.keys() - got.keys(), key=str)[:5]}")
            continue
        for k, value in want.items():
            if got[k] != _approx(kind, value):
                problems.append(f"{metric}[{k}]: chart {got[k]!r} != pandas {value!r}")
    return problems


# ---- the module's shared state: one admin session, one reference --------------------------------
@dataclass
class Board:
    slug: str
    charts: dict[str, int]  # chart name -> id
    filters: list[dict]

    def in_scope(self, native_filter: dict) -> set[str]:
        # The importer remaps scope.excluded but not chartsInScope (SUPERSET-NOTES): read the former.
        excluded = set(native_filter["scope"]["excluded"])
        return {name for name, chart_id in self.charts.items() if chart_id not in excluded}


@dataclass
class Ctx:
    served: Served
    admin: requests.Session
    ref: Reference
    charts: ChartReference
    boards: dict[str, Board]
    contexts: dict[int, dict] = field(default_factory=dict)

    def context(self, chart_id: int) -> dict:
        if chart_id not in self.contexts:
            chart = self.admin.get(f"{self.served.base}/api/v1/chart/{chart_id}").json()["result"]
            self.contexts[chart_id] = json.loads(chart["query_context"])
        return copy.deepcopy(self.contexts[chart_id])

    def rows(self, chart_id: int, time_range: str | None = None, column: str | None = None,
             values: list[str] | None = None, selects: dict[str, list[str]] | None = None) -> list[dict]:
        """The chart's rows with the saved query context plus native filters, as a dashboard sends them:
        a time range, and IN filters (``column``/``values`` for one, ``selects`` column -> values)."""
        selects = dict(selects or {})
        if column is not None:
            selects[column] = values
        context = self.context(chart_id)
        query = context["queries"][0]
        extra: dict = {}
        if time_range is not None:
            extra["time_range"] = time_range
            query["time_range"] = time_range
            query["filters"] = [{**f, "val": time_range} if f["op"] == "TEMPORAL_RANGE" else f
                                for f in query["filters"]]
            for flt in context["form_data"].get("adhoc_filters", []):
                if flt.get("operator") == "TEMPORAL_RANGE":
                    flt["comparator"] = time_range
        if selects:
            extra["filters"] = [{"col": col, "op": "IN", "val": vals} for col, vals in selects.items()]
            query["filters"] = query["filters"] + extra["filters"]
        if extra:
            context["form_data"]["extra_form_data"] = extra
        response = self.admin.post(f"{self.served.base}/api/v1/chart/data", json=context)
        assert response.status_code == 200, response.text[:500]
        return response.json()["result"][0]["data"]


@pytest.fixture(scope="module")
def ctx(served: Served) -> Ctx:
    return make_ctx(served)


def make_ctx(served: Served) -> Ctx:
    admin = served.admin()
    boards = {}
    for item in admin.get(f"{served.base}/api/v1/dashboard/?q=(page_size:100)").json()["result"]:
        detail = admin.get(f"{served.base}/api/v1/dashboard/{item['id']}").json()["result"]
        metadata = json.loads(detail["json_metadata"])
        charts = {c["slice_name"]: c["id"] for c in
                  admin.get(f"{served.base}/api/v1/dashboard/{item['id']}/charts").json()["result"]}
        boards[item["slug"]] = Board(item["slug"], charts, metadata["native_filter_configuration"])
    ref = Reference(served.data)
    return Ctx(served, admin, ref, ChartReference(ref), boards)


# ---- special checks ----------------------------------------------------------------------------
def _sku_rank(ascending: bool):
    """Top / bottom 10 SKUs by GMV: each row's GMV, units and product name equal pandas for that SKU, and the GMVs
    shown are the 10 highest (lowest) of pandas' (ties may pick either SKU)."""
    def special(rows: list[dict], c: ChartReference, s: Selection) -> list[str]:
        skus = c.skus(s)
        problems = []
        for row in rows:
            want = skus.loc[(row["sku"], row["category"])]
            if (row["gmv"] != pytest.approx(want.gmv, abs=0.01) or row["units"] != want.units
                    or row["product_name"] != want.product_name):
                problems.append(f"{row} != {want.to_dict()}")
        shown = sorted(row["gmv"] for row in rows)
        best = sorted(skus.gmv.sort_values(ascending=ascending).iloc[:10])
        if shown != pytest.approx(best, abs=0.01):
            problems.append(f"GMVs shown {shown} != pandas' {'lowest' if ascending else 'highest'} 10 {best}")
        return problems
    return special


def _compare_table(rows: list[dict], c: ChartReference, s: Selection) -> list[str]:
    """The comparison table's current and previous periods as shown (counts exactly; money and percentages
    to the decimals shown). Without a Period the table shows the last complete month, whose previous
    month lies inside the data; under the tests' 3-month Period the previous period starts before the
    data and reads n/a (tests/test_dashboard_filters.py checks one inside the data through the API)."""
    want = c.compare_table(s)
    problems = []
    for column, figures in want.items():
        if figures is None:
            problems += [f"{row['kpi']} {column} not n/a" for row in rows if row[column] != "n/a"]
        else:
            problems += _compare_column({row["kpi"]: row[column] for row in rows}, figures, column)
    problems += [f"{row['kpi']} same period last year not n/a" for row in rows if row["same_period_last_year"] != "n/a"]
    return problems


def _compare_column(table: dict[str, str], want: dict, column: str) -> list[str]:
    problems = [f"{column}: kpis {sorted(table)} != {sorted(want)}"] if table.keys() != want.keys() else []
    for kpi, (value, decimals, suffix) in want.items():
        shown = table.get(kpi) or ""
        if decimals == 0:
            ok = shown == f"{int(value):,}"
        else:
            number = shown.removesuffix(suffix)
            plain = float(number.replace(",", ""))
            ok = shown.endswith(suffix) and len(number.rpartition(".")[2]) == decimals and \
                number.partition(".")[0].lstrip("-") == f"{int(abs(plain)):,}" and \
                abs(plain - value) <= 0.5 * 10**-decimals + 1e-9
        if not ok:
            problems.append(f"{column} {kpi}: {shown!r} != {value!r} ({decimals} decimals{suffix})")
    return problems


def _crm_contacts(rows: list[dict], c: ChartReference, s: Selection) -> list[str]:
    """One row per RFM customer (selected segment): its scores' segment, R, F, M and contacts."""
    rfm = c.rfm_selected(s)
    customers = c.customers
    problems = []
    if sorted(int(r["customer_id"]) for r in rows) != sorted(rfm.index):
        problems.append(f"customers: {len(rows)} rows, pandas {len(rfm)}")
        return problems
    monetary = [row["monetary"] for row in rows]
    if monetary != sorted(monetary, reverse=True):
        problems.append("not sorted by monetary value, most valuable first")
    for row in rows:
        uid = int(row["customer_id"])
        want = rfm.loc[uid]
        got = (row["segment"], row["macro_segment"], row["recommended_action"], row["recency_days"], row["frequency"])
        if got != (want.segment, want.macro_segment, want.recommended_action, want.recency, want.frequency) or \
                row["monetary"] != pytest.approx(float(want.monetary), abs=0.01):
            problems.append(f"{uid}: {row} != {want.to_dict()}")
        contact = customers.loc[uid] if uid in customers.index else None
        for column in ("name", "email", "phone"):
            if (contact[column] if contact is not None else "") != (row[column] or ""):
                problems.append(f"{uid} {column}: {row[column]!r}")
        for column in ("email_consent", "sms_consent", "push_consent"):
            if row[column] != want[column]:
                problems.append(f"{uid} {column}: {row[column]!r}, pandas {want[column]!r}")
        if len(problems) > 10:
            break
    return problems


# ---- the mapping: every chart of every dashboard -> its check -----------------------------------
def build_checks(c: ChartReference) -> dict[tuple[str, str], Check]:
    week = ("Week",)
    checks: dict[tuple[str, str], Check] = {}
    for slug in ("overview", "users-conversion"):
        checks[(slug, "Users")] = Check(c.kpi_tile("users"), week, {"users": COUNT})
    checks.update({
        # overview
        ("overview", "GMV"): Check(c.kpi_tile("gmv"), week, {"gmv": MONEY}),
        ("overview", "AOV"): Check(c.kpi_tile("aov"), week, {"aov": RATIO}),
        ("overview", "Conversion"): Check(c.kpi_tile("conversion"), week, {"conversion": RATIO}),
        ("overview", "Revenue per session"): Check(c.kpi_tile("revenue_per_session"), week,
                                                   {"revenue_per_session": RATIO}),
        ("overview", "Units sold"): Check(c.kpi_tile("units"), week, {"units": COUNT}),
        ("overview", "GMV by channel, weekly"): Check(c.gmv_by_channel_weekly, ("Week", "channel"), {"gmv": MONEY}),
        ("overview", "GMV share by channel"): Check(c.gmv_share_by_channel, ("channel",), {"gmv": MONEY}),
        ("overview", "GMV and net revenue, refunds, discounts, gross profit, weekly"): Check(
            c.gross_net_by("week"), week, {m: MONEY for m in GROSS_NET_MONEY}),
        ("overview", "Refund rate and gross margin, weekly"): Check(
            c.gross_net_by("week"), week, {"refund_rate": RATIO, "gross_margin": RATIO}),
        ("overview", "The period against the previous period of the same length and last year"): Check(
            c.compare_table, (), {}, special=_compare_table,
            note="this and the previous period (no Period: the last complete month); changes: test_dashboard_filters"),
        # users-conversion
        ("users-conversion", "Buyers"): Check(c.kpi_tile("buyers"), week, {"buyers": COUNT}),
        ("users-conversion", "Conversion (orders / users), buyer and session conversion, weekly"): Check(
            c.conversion_weekly, week, {"conversion": RATIO, "buyer_conversion": RATIO, "session_conversion": RATIO}),
        ("users-conversion", "DAU"): Check(c.active("day"), ("Day",), {"dau": COUNT}),
        ("users-conversion", "WAU"): Check(c.active("week"), week, {"wau": COUNT}),
        ("users-conversion", "MAU"): Check(c.active("month"), ("Month",), {"mau": COUNT}),
        ("users-conversion", "Sessions by OS, weekly"): Check(c.sessions_by_os_weekly, ("Week", "os"),
                                                              {"sessions": COUNT}),
        ("users-conversion", "Sticky factor (DAU/WAU)"): Check(c.sticky("wau"), (), {"sticky_wau": RATIO}),
        ("users-conversion", "Sticky factor (DAU/MAU)"): Check(c.sticky("mau"), (), {"sticky_mau": RATIO}),
        # engagement-ttf
        ("engagement-ttf", "Active users, weekly"): Check(c.active_users_weekly, week, {"users": COUNT}),
        ("engagement-ttf", "Buyers by time to first order"): Check(c.ttf_ranges, ("ttf_range",), {"buyers": COUNT}),
        ("engagement-ttf", "Mean session length by OS, weekly"): Check(
            c.session_length_by_os_weekly, ("Week", "os"), {"session_length_mean": RATIO}),
        ("engagement-ttf", "Median time to first order by channel"): Check(
            c.ttf_median_by_channel, ("channel",), {"ttf_median": RATIO}),
        ("engagement-ttf", "Session length, mean"): Check(
            c.headline("session_length_mean", lambda: 1000 * c.ref.asl[0]), (), {"session_length_mean": RATIO}),
        ("engagement-ttf", "Session length, median"): Check(
            c.headline("session_length_median", lambda: 1000 * c.ref.asl[1]), (), {"session_length_median": RATIO}),
        ("engagement-ttf", "Session length, mode"): Check(
            c.headline("session_length_mode", lambda: 1000 * c.ref.asl[2]), (), {"session_length_mode": RATIO}),
        ("engagement-ttf", "Time to first order, median"): Check(
            c.headline("ttf_median", lambda: 1000 * c.ref.ttf_median), (), {"ttf_median": RATIO}),
        # sales
        ("sales", "GMV and net revenue, refunds, discounts, gross profit, monthly"): Check(
            c.gross_net_by("month"), ("Month",), {m: MONEY for m in GROSS_NET_MONEY}),
        ("sales", "Refund rate and gross margin, monthly"): Check(
            c.gross_net_by("month"), ("Month",), {"refund_rate": RATIO, "gross_margin": RATIO}),
        ("sales", "Top 10 SKUs by GMV"): Check(c.skus, (), {}, special=_sku_rank(ascending=False),
                                               note="which SKU of a GMV tie is listed is not checked"),
        ("sales", "Bottom 10 SKUs by GMV"): Check(c.skus, (), {}, special=_sku_rank(ascending=True),
                                                  note="which SKU of a GMV tie is listed is not checked"),
        ("sales", "Channel share of GMV"): Check(c.sales_by("channel"), ("channel",), {"gmv": MONEY}),
        ("sales", "GMV by OS"): Check(c.sales_by("first_os"), ("os",), {"gmv": MONEY}),
        ("sales", "GMV by category, monthly (MoM, seasonality)"): Check(
            c.sales_monthly_by("category"), ("Month", "category"), {"gmv": MONEY}),
        ("sales", "GMV by channel, monthly"): Check(c.sales_monthly_by("channel"), ("Month", "channel"),
                                                    {"gmv": MONEY}),
        # cohorts
        ("cohorts", "Active buyers by cohort and age"): Check(c.active_buyers, ("cohort", "age_month"),
                                                              {"active_buyers": COUNT}),
        ("cohorts", "Average check by buyer cohort"): Check(c.average_check, ("Cohort month",),
                                                            {"average_check": RATIO}),
        ("cohorts", "LTV by buyer cohort and age (cumulative gross profit per buyer)"): Check(
            c.ltv, ("cohort", "age_month"), {"ltv": RATIO}),
        ("cohorts", "Lifetime (months active per user) by cohort"): Check(c.lifetime, ("Cohort month",),
                                                                          {"lifetime_months": RATIO}),
        ("cohorts", "Retention by visit cohort and lifetime month (month 0 = 100%, not shown)"): Check(
            c.retention, ("cohort", "lifetime_month"), {"retention": RATIO}),
        # marketing
        ("marketing", "CAC (project)"): Check(c.headline("cac", lambda: c.ref.cac), (), {"cac": RATIO}),
        ("marketing", "LTV at 6 months"): Check(c.headline("ltv_6m", lambda: c.ref.ltv_6m), (), {"ltv_6m": RATIO}),
        ("marketing", "ROMI at 6 months"): Check(c.headline("romi_6m", lambda: c.ref.romi_6m), (), {"romi_6m": RATIO}),
        ("marketing", "Orders per buyer in 6 months"): Check(
            c.headline("orders_per_buyer_6m", lambda: c.ref.orders_per_buyer_6m), (), {"orders_per_buyer_6m": RATIO}),
        ("marketing", "CAC, monthly (channels in the filter, all by default)"): Check(
            c.cac_all_channels_monthly, ("Month",), {"cac": RATIO}),
        ("marketing", "Costs by source, monthly"): Check(c.costs_monthly, ("Month", "channel"), {"costs": MONEY}),
        ("marketing", "Customer flow: new / returning / reactivated / churned"): Check(
            c.customer_flow, ("Month",), {"new": COUNT, "returning": COUNT, "reactivated": COUNT, "churned": COUNT}),
        ("marketing", "ROMI by cohort and age"): Check(c.romi, ("cohort", "age_month"), {"romi": RATIO}),
        ("marketing", "Channel scorecard"): Check(c.scorecard, ("channel",), {
            "costs": MONEY, "new_buyers": COUNT, "cac": RATIO, "ltv_6m": RATIO, "romi_6m": RATIO,
            "payback_month": COUNT}, keep_zero=True),
        # rfm
        ("rfm", "Customers by segment"): Check(c.rfm_by("segment"), ("segment",), {"customers": COUNT}),
        ("rfm", "Customers by macro-segment"): Check(c.rfm_by("macro_segment"), ("macro_segment",),
                                                     {"customers": COUNT}),
        ("rfm", "Recommended action per segment"): Check(c.rfm_actions, ("segment", "recommended_action"),
                                                         {"customers": COUNT}),
        ("rfm", "Segments by month"): Check(c.rfm_monthly, ("Snapshot month", "segment"), {"customers": COUNT}),
        ("rfm-contacts", "Contacts (CRM)"): Check(c.rfm_selected, (), {}, special=_crm_contacts),
        # customer-base
        ("customer-base", "Contacts"): Check(c.base_contacts, (), {"contacts": COUNT}),
        ("customer-base", "Reachable by e-mail"): Check(c.base_share("reachable_email"), (),
                                                        {"reachable_email": RATIO}),
        ("customer-base", "Reachable by SMS"): Check(c.base_share("reachable_sms"), (), {"reachable_sms": RATIO}),
        ("customer-base", "Reachable by push"): Check(c.base_share("reachable_push"), (), {"reachable_push": RATIO}),
        ("customer-base", "Profile completeness"): Check(c.base_share("profile_completeness"), (),
                                                         {"profile_completeness": RATIO}),
        ("customer-base", "Activity of the base"): Check(c.base_by("activity_label"), ("activity_label",),
                                                         {"contacts": COUNT}),
        ("customer-base", "Contacts by city"): Check(c.base_by("city"), ("city",), {"contacts": COUNT}),
        ("customer-base", "Registrations by month"): Check(c.base_by("registration_month"), ("Registration month",),
                                                           {"contacts": COUNT}),
        # attribution (credited orders are fractions of orders; credited money is rounded per row)
        ("attribution", "Channels by attribution model"): Check(c.attribution, ("channel", "model_name"), {
            "credited_orders": CREDIT, "credited_revenue": MONEY, "credited_net_revenue": MONEY, "spend": MONEY,
            "roas": CREDIT, "net_roas": CREDIT}),
        ("attribution", "ROAS by channel and model"): Check(c.attribution, ("channel", "model_name"), {"roas": CREDIT}),
        ("attribution", "Net ROAS by channel and model"): Check(c.attribution, ("channel", "model_name"),
                                                                {"net_roas": CREDIT}),
        ("attribution", "Orders by channel and model (credited)"): Check(c.attribution, ("channel", "model_name"),
                                                                         {"credited_orders": CREDIT}),
        ("attribution", "Revenue by channel and model (credited)"): Check(c.attribution, ("channel", "model_name"),
                                                                          {"credited_revenue": MONEY}),
        # attribution: payback curves per acquisition channel (romi_cohorts)
        ("attribution", "Payback curves: cumulative gross profit per buyer / CAC, by acquisition channel"): Check(
            c.payback, ("age_month", "channel"), {"payback_ratio": RATIO}),
        ("attribution", "Cumulative gross profit per buyer by acquisition channel"): Check(
            c.payback, ("age_month", "channel"), {"gross_profit_per_buyer": RATIO}),
        ("attribution", "CAC by acquisition channel (cohorts of the period)"): Check(
            c.cac_by_channel, ("channel",), {"cac": RATIO}),
    })
    # Gross and net over the period: one chart on Overview and Sales
    for slug in ("overview", "sales"):
        checks[(slug, "Gross and net over the period")] = Check(c.gross_net_totals, (), {
            **{m: MONEY for m in GROSS_NET_MONEY}, "refund_rate": RATIO, "gross_margin": RATIO})
    return checks


CHART_KEYS = sorted(build_checks(ChartReference.__new__(ChartReference)).keys())  # static ids for parametrize
KNOWN_BUGS: dict[tuple[str, str], str] = {}  # chart -> why it cannot meet the contract yet (xfail, strict)


def params() -> list:
    return [pytest.param(k, id="|".join(k), marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[k])]
                         if k in KNOWN_BUGS else []) for k in CHART_KEYS]


@pytest.fixture(scope="module")
def checks(ctx: Ctx) -> dict[tuple[str, str], Check]:
    return build_checks(ctx.charts)


def run_check(ctx: Ctx, check: Check, rows: list[dict], selection: Selection) -> list[str]:
    assert rows, "no rows"
    if check.special is not None:
        return check.special(rows, ctx.charts, selection)
    return compare(rows, check, check.expected(selection))


def test_every_chart_has_a_value_check(ctx: Ctx, checks: dict) -> None:
    charts = {(slug, name) for slug, board in ctx.boards.items() for name in board.charts}
    assert len(charts) >= 40
    assert charts - checks.keys() == set()  # a chart without a value check
    assert checks.keys() - charts == set()  # a check for a chart that is gone


def test_sales_channel_filter_scope(ctx: Ctx) -> None:
    """Overview, Sales and Cohorts have a Sales-channel filter; it holds exactly the charts over marts with a
    sales channel (the values tests below check that each of those is filtered); the charts over users,
    sessions or visit cohorts (no sales channel) are out of its scope."""
    out_of_scope = {
        "overview": {"GMV", "AOV", "Users", "Conversion", "Revenue per session", "Units sold",
                     "The period against the previous period of the same length and last year"},
        "sales": set(),
        "cohorts": {"Retention by visit cohort and lifetime month (month 0 = 100%, not shown)",
                    "Lifetime (months active per user) by cohort"},
    }
    for slug, excluded in out_of_scope.items():
        board = ctx.boards[slug]
        (native_filter,) = [f for f in board.filters
                            if f["targets"][0].get("column", {}).get("name") == "sales_channel"]
        assert native_filter["name"] == "Sales channel"
        assert board.in_scope(native_filter) == set(board.charts) - excluded, slug
    assert not any(f["targets"][0].get("column", {}).get("name") == "sales_channel"
                   for slug, board in ctx.boards.items() if slug not in out_of_scope for f in board.filters)


@pytest.mark.parametrize("chart", params())
def test_chart_values_unfiltered(ctx: Ctx, checks: dict, chart: tuple[str, str]) -> None:
    slug, name = chart
    rows = ctx.rows(ctx.boards[slug].charts[name])
    assert run_check(ctx, checks[chart], rows, Selection()) == []


# ---- native filters -----------------------------------------------------------------------------
def period_of(ref: Reference) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Three whole months inside the data: from the second full month on (as test_dashboard_filters)."""
    start = month_start(pd.Series([ref.visits.start_ts.min()])).iloc[0] + pd.DateOffset(months=2)
    return start, start + pd.DateOffset(months=3)


def filter_value(c: ChartReference, column: str, n: int = 1) -> list[str]:
    """Real values that are only part of the data (the ``n`` most frequent)."""
    if column == "channel":  # the paid channels most buyers come from (every marketing chart has them)
        paid = set(c.ref.costs.source_id[c.ref.costs.costs > 0])
        sources = c.buyers.first_source_id
        values = channel_of(pd.Series(sources[sources.isin(paid)].value_counts().index))
    elif column == "os":
        values = c.visits.os.value_counts().index
    elif column == "category":
        values = c.items.category.value_counts().index
    elif column in ("city", "activity_label"):
        values = c.base[column].value_counts().index
    elif column.endswith("_consent"):  # consented first: a campaign's selection
        values = pd.Index(["yes", "no"])
    elif column == "sales_channel":  # the most frequent first (pickup, delivery in the generated data)
        values = c.orders.sales_channel.value_counts().index
    elif column == "model_name":  # the models that spread credit, then the single-touch ones
        values = pd.Index(["Linear", "Position based", "Time decay", "First touch", "Last touch"])
    else:  # segment, macro_segment: the largest
        values = c.rfm[column].value_counts().index
    return list(values[:n])


@pytest.mark.parametrize("chart", params())
def test_chart_values_under_each_filter_in_scope(ctx: Ctx, checks: dict, chart: tuple[str, str]) -> None:
    slug, name = chart
    board, check = ctx.boards[slug], checks[chart]
    applied, problems = 0, []
    for native_filter in board.filters:
        if name not in board.in_scope(native_filter):
            continue
        if native_filter["filterType"] == "filter_time":
            start, end = period_of(ctx.ref)
            selection = Selection(start=start, end=end)
            rows = ctx.rows(board.charts[name], time_range=f"{start:%Y-%m-%d} : {end:%Y-%m-%d}")
        else:
            column = native_filter["targets"][0]["column"]["name"]
            values = filter_value(ctx.charts, column)
            selection = Selection(**{column: tuple(values)})
            rows = ctx.rows(board.charts[name], column=column, values=values)
        applied += 1
        # The selection must matter to pandas too, or a filter the chart ignores would go unnoticed.
        filtered, unfiltered = check.expected(selection), check.expected(Selection())
        if filtered.equals(unfiltered) if isinstance(filtered, pd.DataFrame) else filtered == unfiltered:
            problems.append(f"{native_filter['name']}: the selection changes nothing in pandas")
        problems += [f"{native_filter['name']}: {p}" for p in run_check(ctx, check, rows, selection)]
    if not applied:
        pytest.skip("no native filter of its dashboard applies to this chart")
    assert problems == []



@pytest.mark.parametrize("chart", params())
def test_chart_values_under_all_its_filters_at_once(ctx: Ctx, checks: dict, chart: tuple[str, str]) -> None:
    """Every filter in scope set together, the select filters with two values each (the kpi_weekly
    dataset then answers from merged uniqExact states instead of its finalized per-value rows)."""
    slug, name = chart
    board, check = ctx.boards[slug], checks[chart]
    time_range, selection, selects = None, Selection(), {}
    for native_filter in board.filters:
        if name not in board.in_scope(native_filter):
            continue
        if native_filter["filterType"] == "filter_time":
            start, end = period_of(ctx.ref)
            time_range = f"{start:%Y-%m-%d} : {end:%Y-%m-%d}"
            selection = replace(selection, start=start, end=end)
        else:
            column = native_filter["targets"][0]["column"]["name"]
            # Segment and macro-segment together: the largest macro-segment and its two largest segments.
            selects[column] = filter_value(ctx.charts, column, n=1 if column == "macro_segment" else 2)
            selection = replace(selection, **{column: tuple(selects[column])})
    if "segment" in selects and "macro_segment" in selects:
        rfm = ctx.charts.rfm
        within = rfm[rfm.macro_segment == selects["macro_segment"][0]]
        selects["segment"] = list(within.segment.value_counts().index[:2])
        selection = replace(selection, segment=tuple(selects["segment"]))
    if selection == Selection():
        pytest.skip("no native filter of its dashboard applies to this chart")
    rows = ctx.rows(board.charts[name], time_range=time_range, selects=selects)
    assert run_check(ctx, check, rows, selection) == []
