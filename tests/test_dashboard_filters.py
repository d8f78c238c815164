"""Every native filter of every dashboard filters, as a user applies it in a real browser.

For each dashboard and each native filter the test creates a permalink carrying the filter's value
(what the UI does when a user applies a filter and shares the view), opens it in chromium and
captures the ``/api/v1/chart/data`` responses the dashboard's charts receive. Every chart in the
filter's scope must answer with data different from the unfiltered dashboard's, and a few figures
must equal a pandas computation from the input files (tests/reference_metrics.py):

- Overview under a 3-month Period: the GMV tile's weekly rows (complete weeks starting in the
  period) and the weekly GMV chart (days in the period, by week);
- Sales under a Channel and under a Category filter: the monthly GMV charts' totals.

- Overview, Sales and Cohorts under the Sales-channel filter: the gross-and-net figures and the LTV
  of the cohorts whose first order went through that sales channel.

Screenshots of every dashboard with the Period applied, and of those with a Sales-channel filter with
it applied (1600 px wide), go to tests/artifacts/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
import requests

from tests.reference_metrics import Reference, lines_in_base, month_start
from tests.superset_served import REPO, Served

ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOT_FILTERS = ("sales_channel",)  # select filters whose dashboards are also shot with them applied
CHANNELS = pd.read_csv(REPO / "seeds" / "channels.csv").set_index("source_id").channel


def period_of(ref: Reference) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Three whole months inside the data: from the second full month on."""
    start = month_start(pd.Series([ref.visits.start_ts.min()])).iloc[0] + pd.DateOffset(months=2)
    return start, start + pd.DateOffset(months=3)


def week_of(ts: pd.Series) -> pd.Series:
    return ts.dt.normalize() - pd.to_timedelta(ts.dt.weekday, unit="D")


@dataclass
class Board:
    slug: str
    id: int
    charts: dict[int, str]  # chart id -> name
    filters: list[dict]
    captured: dict[str, dict[int, list[dict]]] = field(default_factory=dict)  # filter name ("" none) -> data

    def in_scope(self, native_filter: dict) -> set[int]:
        # The importer remaps scope.excluded but not chartsInScope (SUPERSET-NOTES): read the former.
        return set(self.charts) - set(native_filter["scope"]["excluded"])


class Browser:
    """A logged-in chromium page that opens a dashboard URL and returns its charts' data."""

    def __init__(self, served: Served) -> None:
        from playwright.sync_api import sync_playwright

        self.served = served
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        # Tall enough that every chart is in view: Superset loads charts lazily.
        self.page = self._browser.new_page(viewport={"width": 1600, "height": 3200})
        self.page.goto(f"{served.base}/login/")
        self.page.fill("input[name=username], #username", "admin")
        self.page.fill("input[name=password], #password", served.admin_password)
        self.page.keyboard.press("Enter")
        self.page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)

    def chart_data(self, url: str, expected: set[int], screenshot: str | None = None) -> dict[int, list[dict]]:
        """Open ``url``; return each chart's rows (the last response per chart id)."""
        responses: list = []

        def keep(response) -> None:
            if "/api/v1/chart/data" in response.url and response.request.method == "POST":
                responses.append(response)

        self.page.on("response", keep)
        try:
            self.page.goto(url)
            deadline = time.time() + 240
            while time.time() < deadline:
                seen = {self._slice_id(r) for r in responses}
                if expected <= seen:
                    break
                self.page.mouse.wheel(0, 800)  # in case a chart waits to be scrolled into view
                self.page.wait_for_timeout(500)
            self.page.wait_for_timeout(2000)  # a late re-query (filters settling) replaces the first
            data: dict[int, list[dict]] = {}
            for response in responses:
                if self._slice_id(response) is None:
                    continue
                assert response.status == 200, (url, response.url, response.text()[:300])
                data[self._slice_id(response)] = [row for result in response.json()["result"]
                                                  for row in result["data"]]
            if screenshot:
                holders = self.page.locator("[data-test='dashboard-component-chart-holder']")
                holders.first.wait_for(timeout=60_000)
                while self.page.locator(".loading, [aria-label='Loading']").count() and time.time() < deadline:
                    self.page.wait_for_timeout(500)
                self.page.mouse.wheel(0, -20000)
                self.page.wait_for_timeout(2500)  # let the grid paint before the full-page shot
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                self.page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
        finally:
            self.page.remove_listener("response", keep)
        missing = expected - set(data)
        assert not missing, (url, missing)
        return data

    @staticmethod
    def _slice_id(response) -> int | None:
        """The chart a response is for: the dashboard names it in the URL
        (/api/v1/chart/data?form_data={"slice_id":N}&dashboard_id=M); a native filter fetching its
        values names none."""
        form_data = parse_qs(urlparse(response.url).query).get("form_data")
        return json.loads(form_data[0]).get("slice_id") if form_data else None

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()


def boards(admin: requests.Session, base: str) -> list[Board]:
    found = []
    for item in admin.get(f"{base}/api/v1/dashboard/?q=(page_size:100)").json()["result"]:
        detail = admin.get(f"{base}/api/v1/dashboard/{item['id']}").json()["result"]
        metadata = json.loads(detail["json_metadata"])
        charts = {c["id"]: c["slice_name"] for c in
                  admin.get(f"{base}/api/v1/dashboard/{item['id']}/charts").json()["result"]}
        found.append(Board(item["slug"], item["id"], charts, metadata["native_filter_configuration"]))
    return sorted(found, key=lambda b: b.slug)


def permalink(admin: requests.Session, base: str, board: Board, data_mask: dict) -> str:
    response = admin.post(f"{base}/api/v1/dashboard/{board.id}/permalink", json={
        "dataMask": data_mask, "activeTabs": [], "anchor": "", "urlParams": []})
    assert response.status_code in (200, 201), response.text[:300]
    return response.json()["url"]


def select_mask(native_filter: dict, values: list[str]) -> dict:
    column = native_filter["targets"][0]["column"]["name"]
    return {native_filter["id"]: {"extraFormData": {"filters": [{"col": column, "op": "IN", "val": values}]},
                                  "filterState": {"value": values}, "ownState": {}}}


def period_mask(native_filter: dict, time_range: str) -> dict:
    return {native_filter["id"]: {"extraFormData": {"time_range": time_range},
                                  "filterState": {"value": time_range}, "ownState": {}}}


@dataclass
class Choice:
    """The value each filter is set to: a real value that is only part of the data."""
    ref: Reference
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def time_range(self) -> str:
        return f"{self.start:%Y-%m-%d} : {self.end:%Y-%m-%d}"

    @property
    def channel(self) -> str:  # the paid channel most buyers come from (every marketing chart has it)
        paid = set(self.ref.costs.source_id[self.ref.costs.costs > 0])
        sources = self.ref.buyers.first_source_id
        return CHANNELS[sources[sources.isin(paid)].value_counts().index[0]]

    @property
    def category(self) -> str:
        return self.items.category.value_counts().index[0]

    @property
    def os(self) -> str:
        return self.ref.visits.os.value_counts().index[0]

    @property
    def sales_channel(self) -> str:  # the most frequent of the orders' sales channels (pickup, delivery)
        return self.ref.orders.sales_channel.value_counts().index[0]

    @property
    def model_name(self) -> str:  # one attribution model of five, as the dashboard names it
        return "Time decay"

    @property
    def city(self) -> str:
        return pd.read_csv(self.ref.data_dir / "customers.csv", dtype=str).city.value_counts().index[0]

    @property
    def items(self) -> pd.DataFrame:
        items = pd.read_csv(self.ref.data_dir / "order_items.csv", dtype={"order_id": str})
        items = items[pd.to_numeric(items.quantity, errors="coerce") > 0]
        return items[items.order_id.isin(self.ref.orders.order_id)]

    def value(self, column: str, admin: requests.Session, base: str, native_filter: dict) -> list[str]:
        if hasattr(self, column):
            return [getattr(self, column)]
        # RFM segments: the largest one, as the filter's own value list offers it.
        from tests.superset_served import dataset_id

        # Consents: as the contacts table's own value list offers them (yes / no).
        table = {"segment": "rfm_summary", "macro_segment": "rfm_summary",
                 "activity_label": "customer_base_summary", "email_consent": "rfm_customers",
                 "sms_consent": "rfm_customers", "push_consent": "rfm_customers"}[column]
        values = admin.get(f"{base}/api/v1/datasource/table/{dataset_id(admin, base, table)}/column/{column}/values/")
        options = values.json()["result"]
        assert len(options) > 1, options
        return [sorted(options)[0]]


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Browser]:
    opened = Browser(served)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def captured(served: Served, browser: Browser) -> list[Board]:
    """Every dashboard opened unfiltered and once per native filter with a value set through a permalink."""
    admin, ref = served.admin(), Reference(served.data)
    start, end = period_of(ref)
    choice = Choice(ref, start, end)
    found = boards(admin, served.base)
    for board in found:
        board.captured[""] = browser.chart_data(f"{served.base}/superset/dashboard/{board.slug}/", set(board.charts))
        for native_filter in board.filters:
            if native_filter["filterType"] == "filter_time":
                mask, shot = period_mask(native_filter, choice.time_range), f"{board.slug}-period.png"
            else:
                column = native_filter["targets"][0]["column"]["name"]
                shot = f"{board.slug}-{column}.png" if column in SCREENSHOT_FILTERS else None
                mask = select_mask(native_filter, choice.value(column, admin, served.base, native_filter))
            url = permalink(admin, served.base, board, mask)
            board.captured[native_filter["id"]] = browser.chart_data(url, set(board.charts), screenshot=shot)
    return found


def test_every_native_filter_changes_every_chart_in_its_scope(captured: list[Board]) -> None:
    assert {b.slug for b in captured} >= {"overview", "sales", "users-conversion", "engagement-ttf", "cohorts",
                                          "marketing", "rfm", "rfm-contacts", "customer-base", "attribution"}
    unchanged, filters = [], 0
    for board in captured:
        assert board.filters, board.slug
        for native_filter in board.filters:
            filters += 1
            scope = board.in_scope(native_filter)
            assert scope, (board.slug, native_filter["name"])  # a filter that applies to nothing is noise
            for chart_id in sorted(scope):
                before, after = board.captured[""][chart_id], board.captured[native_filter["id"]][chart_id]
                assert before, (board.slug, board.charts[chart_id])
                if after == before:
                    unchanged.append((board.slug, native_filter["name"], board.charts[chart_id]))
    assert unchanged == []
    assert filters >= 20


def test_every_dashboard_has_a_period_filter(captured: list[Board]) -> None:
    without = [b.slug for b in captured if not any(f["filterType"] == "filter_time" for f in b.filters)
               and b.slug not in ("rfm", "rfm-contacts")]  # RFM is a snapshot: scores as of the last day
    assert without == []


def _board(captured: list[Board], slug: str) -> Board:
    return next(b for b in captured if b.slug == slug)


def _filter(board: Board, name: str) -> dict:
    return next(f for f in board.filters if f["name"] == name)


def _rows(board: Board, filter_name: str, chart: str) -> list[dict]:
    filter_id = _filter(board, filter_name)["id"] if filter_name else ""
    chart_id = next(i for i, n in board.charts.items() if n == chart)
    return board.captured[filter_id][chart_id]


X_AXES = ("Week", "Month", "week", "month", "day")  # the axis labels (the last three: before they were relabelled)


def _by_x(rows: list[dict]) -> dict[pd.Timestamp, float]:
    """Rows as the browser gets them (the x axis, then a column per series): x -> the row's total."""
    assert rows
    x = next(name for name in X_AXES if name in rows[0])
    return {pd.Timestamp(row[x], unit="ms"): sum(v for k, v in row.items() if k != x and v is not None)
            for row in rows}


def test_overview_gmv_under_a_three_month_period_equals_pandas(served: Served, captured: list[Board]) -> None:
    ref = Reference(served.data)
    start, end = period_of(ref)
    overview = _board(captured, "overview")
    orders = ref.orders
    last_day = max(ref.visits.start_ts.max(), orders.buy_ts.max()).normalize()
    weekly = orders.groupby(week_of(orders.buy_ts)).revenue.sum()
    # The tile: complete weeks (Monday-Sunday within the data) that start in the period.
    expected_tile = weekly[(weekly.index >= start) & (weekly.index < end) & (weekly.index + pd.Timedelta(days=6)
                                                                             <= last_day)]
    tile = _by_x(_rows(overview, "Period", "GMV"))
    assert len(tile) >= 12
    assert tile.keys() == expected_tile.to_dict().keys()
    for week, gmv in tile.items():
        assert gmv == pytest.approx(expected_tile[week], abs=0.01), week
    # The weekly chart: orders of the days in the period, by week (the first and last weeks are partial).
    day = orders.buy_ts.dt.normalize()
    chosen = orders[(day >= start) & (day < end)]
    expected_chart = chosen.groupby(week_of(chosen.buy_ts)).revenue.sum()
    chart = _by_x(_rows(overview, "Period", "GMV by channel, weekly"))
    assert chart.keys() == expected_chart.to_dict().keys()
    for week, gmv in chart.items():
        assert gmv == pytest.approx(expected_chart[week], abs=0.01), week
    assert sum(chart.values()) == pytest.approx(chosen.revenue.sum(), abs=0.01)
    assert sum(chart.values()) < sum(_by_x(_rows(overview, "", "GMV by channel, weekly")).values())


def test_sales_gmv_under_a_channel_and_a_category_filter_equals_pandas(served: Served,
                                                                        captured: list[Board]) -> None:
    ref = Reference(served.data)
    choice = Choice(ref, *period_of(ref))
    sales = _board(captured, "sales")
    orders = ref.orders.join(ref.buyers[["first_source_id"]], on="uid")
    by_channel = orders[orders.first_source_id.map(CHANNELS) == choice.channel]
    expected = by_channel.groupby(month_start(by_channel.buy_ts)).revenue.sum()
    got = _by_x(_rows(sales, "Channel", "GMV by channel, monthly"))
    assert got.keys() == expected.to_dict().keys()
    for month, gmv in got.items():
        assert gmv == pytest.approx(expected[month], abs=0.01), (choice.channel, month)
    # Category: line revenue (quantity x unit price) of the category's items in valid orders.
    # unit_price is in the order's currency: lines converted at the order's rate, to the cent.
    items = choice.items.assign(unit_price=lambda f: f.unit_price.astype(str).map(Decimal))
    rate = ref.orders[ref.orders.order_id != ""].set_index("order_id").rate  # orders without an id have no lines
    items = items.assign(line=lines_in_base(items, rate).astype(float))
    items = items[items.category == choice.category].merge(ref.orders[["order_id", "buy_ts"]], on="order_id")
    line = items.line
    expected = line.groupby(month_start(items.buy_ts)).sum()
    got = _by_x(_rows(sales, "Category", "GMV by category, monthly (MoM, seasonality)"))
    assert got.keys() == expected.to_dict().keys()
    for month, gmv in got.items():
        assert gmv == pytest.approx(expected[month], abs=0.01), (choice.category, month)


COMPARE = "The period against the previous period of the same length and last year"


def _compare_rows(rows: list[dict]) -> dict[str, dict]:
    return {row["kpi"]: row for row in rows}


def test_overview_compares_the_period_with_the_previous_period_and_last_year(served: Served,
                                                                            captured: list[Board]) -> None:
    """The Period against the period of the same length before it and the same dates a year earlier;
    a comparison period not wholly inside the data reads "n/a", never a percentage."""
    from tests.chart_reference import shown_currency_sign

    ref = Reference(served.data)
    orders, visits = ref.orders, ref.visits
    data_from = min(visits.start_ts.min(), orders.buy_ts.min()).normalize()

    def figures(start: pd.Timestamp, end: pd.Timestamp) -> dict[str, float]:
        o = orders[(orders.buy_ts >= start) & (orders.buy_ts < end)]
        v = visits[(visits.start_ts >= start) & (visits.start_ts < end)]
        return {"GMV": o.revenue.sum(), "Orders": len(o), "Users": v.uid.nunique(), "Buyers": o.uid.nunique()}

    # In the browser, under the 3-month Period of the other tests: the previous 3 months start before the data.
    start, end = period_of(ref)
    assert start - (end - start) < data_from
    table = _compare_rows(_rows(_board(captured, "overview"), "Period", COMPARE))
    now = figures(start, end)
    assert table["GMV"]["this_period"] == f"{now['GMV']:,.2f} {shown_currency_sign()}"
    assert table["Orders"]["this_period"] == f"{now['Orders']:,}"
    assert table["Users"]["this_period"] == f"{now['Users']:,}"
    for row in table.values():
        assert row["previous_period"] == row["change_vs_previous"] == "n/a", row
        assert row["same_period_last_year"] == row["change_vs_last_year"] == "n/a", row
    # Through the API, two months whose previous two months lie inside the data.
    admin = served.admin()
    from tests.superset_served import charts

    chart_id = charts(admin, served.base)[COMPARE]
    context = json.loads(admin.get(f"{served.base}/api/v1/chart/{chart_id}").json()["result"]["query_context"])
    start = data_from + pd.offsets.MonthBegin(4)
    end = start + pd.DateOffset(months=2)
    time_range = f"{start:%Y-%m-%d} : {end:%Y-%m-%d}"
    context["form_data"]["extra_form_data"] = {"time_range": time_range}
    for flt in context["form_data"]["adhoc_filters"]:
        if flt["operator"] == "TEMPORAL_RANGE":
            flt["comparator"] = time_range
    context["queries"][0]["time_range"] = time_range
    context["queries"][0]["filters"] = [{**f, "val": time_range} if f["op"] == "TEMPORAL_RANGE" else f
                                        for f in context["queries"][0]["filters"]]
    response = admin.post(f"{served.base}/api/v1/chart/data", json=context)
    assert response.status_code == 200, response.text[:300]
    table = _compare_rows(response.json()["result"][0]["data"])
    now, before = figures(start, end), figures(start - (end - start), start)
    assert before["Orders"] > 0
    for kpi in ("GMV", "Orders", "Users", "Buyers"):
        shown = (lambda x: f"{x:,.2f} {shown_currency_sign()}") if kpi == "GMV" else (lambda x: f"{x:,}")
        assert table[kpi]["this_period"] == shown(now[kpi]), (kpi, table[kpi], now, before, time_range)
        assert table[kpi]["previous_period"] == shown(before[kpi]), kpi
        change = 100 * (now[kpi] / before[kpi] - 1)
        shown_change = float(table[kpi]["change_vs_previous"].rstrip("%").replace(",", ""))
        assert shown_change == pytest.approx(change, abs=0.051), kpi
        assert table[kpi]["same_period_last_year"] == "n/a"  # the sample holds 240 days


def test_attribution_under_a_model_filter_equals_pandas(served: Served, captured: list[Board]) -> None:
    """The Attribution dashboard with one model chosen: its table holds that model's channels only,
    with credited revenue and ROAS as the contract computes them (tests/attribution_reference.py)."""
    from tests.chart_reference import ChartReference

    ref = Reference(served.data)
    choice = Choice(ref, *period_of(ref))
    monthly = ChartReference(ref).attribution_monthly  # with channel and model_name
    monthly = monthly[monthly.model_name == choice.model_name]
    expected = monthly.groupby("channel")[["revenue", "costs"]].sum()
    rows = _rows(_board(captured, "attribution"), "Attribution model", "Channels by attribution model")
    assert {row["model_name"] for row in rows} == {choice.model_name}
    assert {row["channel"] for row in rows} == set(expected.index)
    for row in rows:
        revenue, costs = expected.revenue[row["channel"]], expected.costs[row["channel"]]
        assert row["credited_revenue"] == pytest.approx(revenue, abs=1e-3), row
        assert (row["roas"] is None) == (costs == 0), row
        if costs:
            assert row["roas"] == pytest.approx(revenue / costs, rel=1e-6), row  # money rounded to 1e-6


def test_gross_and_net_under_a_sales_channel_filter_equal_pandas(served: Served, captured: list[Board]) -> None:
    """Overview and Sales: the period's gross-and-net row for one sales channel's orders (refund rate =
    refunds / GMV, gross margin = gross profit / net revenue); Cohorts: buyer cohorts by their first
    order's sales channel (each cohort's buyers, at age 0: active buyers = cohort buyers)."""
    ref = Reference(served.data)
    channel = Choice(ref, *period_of(ref)).sales_channel
    orders = ref.orders[ref.orders.sales_channel == channel]
    assert 0 < len(orders) < len(ref.orders)
    total = {c: float(orders[f"{c}_exact"].sum()) for c in ("revenue", "net_revenue", "refunded", "gross_profit")}
    for slug in ("overview", "sales"):
        board = _board(captured, slug)
        (row,) = _rows(board, "Sales channel", "Gross and net over the period")
        assert row["gmv"] == pytest.approx(total["revenue"], abs=0.01), slug
        assert row["net_sales"] == pytest.approx(total["net_revenue"], abs=0.01), slug
        assert row["refund_rate"] == pytest.approx(total["refunded"] / total["revenue"], rel=1e-9), slug
        assert row["gross_margin"] == pytest.approx(total["gross_profit"] / total["net_revenue"], rel=1e-9), slug
    first = ref.orders.sort_values(["buy_ts", "order_id"]).groupby("uid").first()
    cohorts = month_start(first[first.sales_channel == channel].buy_ts).value_counts()
    rows = _rows(_board(captured, "cohorts"), "Sales channel", "Active buyers by cohort and age")
    at_zero = {row["cohort"]: row["active_buyers"] for row in rows if row["age_month"] == 0}
    assert at_zero == {f"{month:%Y-%m}": n for month, n in cohorts.items()}
