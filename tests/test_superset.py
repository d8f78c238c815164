"""Superset served by `ecomlytics serve` over a freshly built embedded warehouse.

The app runs as its own process (as a user runs it) and holds the chDB warehouse, so every
expectation here comes from the input files (pandas), never from reading the warehouse.
"""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
import requests

from tests.browser import browser_page, log_in, render_dashboard
from tests.reference_metrics import Reference
from tests.superset_served import REPO, Served, chart_data, charts, dataset_id

ARTIFACTS = REPO / "tests" / "artifacts"
SEGMENTS = pd.read_csv(REPO / "seeds" / "rfm_segments.csv", dtype=str).set_index("rfm_code")
SLUGS = ["overview", "sales", "users-conversion", "engagement-ttf", "cohorts", "marketing", "rfm", "rfm-contacts",
         "customer-base", "attribution"]


def test_every_chart_returns_data_through_the_chart_data_api(served: Served) -> None:
    admin = served.admin()
    ids = charts(admin, served.base)
    assert len(ids) >= 40
    empty = [name for name, chart_id in ids.items() if not chart_data(admin, served.base, chart_id)]
    assert empty == []


def test_chart_values_match_the_input_files(served: Served) -> None:
    admin, ref = served.admin(), Reference(served.data)
    ids = charts(admin, served.base)
    # Overview tiles cover complete weeks only (Monday-Sunday, up to the last day with data), so the
    # change against the previous week never compares a running week with a full one.
    last_day = max(ref.visits.start_ts.max(), ref.orders.buy_ts.max()).normalize()

    def week_of(ts: pd.Series) -> pd.Series:
        return ts.dt.normalize() - pd.to_timedelta(ts.dt.weekday, unit="D")

    complete = week_of(ref.orders.buy_ts) + pd.Timedelta(days=6) <= last_day
    gmv = chart_data(admin, served.base, ids["GMV"])
    assert sum(row["gmv"] for row in gmv) == pytest.approx(ref.orders.revenue[complete].sum(), abs=0.01)
    assert max(pd.Timestamp(row["Week"], unit="ms") for row in gmv) + pd.Timedelta(days=6) <= last_day
    # Overview users per week are exact distinct users (finalized weekly roll-ups, see the next test).
    users = {pd.Timestamp(row["Week"], unit="ms"): row["users"]
             for row in chart_data(admin, served.base, ids["Users"])}
    expected_users = ref.active("W")
    assert users == expected_users[expected_users.index + pd.Timedelta(days=6) <= last_day].to_dict()
    # Engagement: buyers per time-to-first-order range; labels sort in the ranges' natural order.
    ttf_rows = chart_data(admin, served.base, ids["Buyers by time to first order"])
    ttf = {row["ttf_range"]: row["buyers"] for row in ttf_rows}
    buyers = ref.buyers[ref.buyers.first_visit_ts.notna()]
    seconds = (buyers.first_order_ts - buyers.first_visit_ts).dt.total_seconds().clip(lower=0)
    ranges = ["0-1 min", "1-10 min", "10-60 min", "1-24 h", "1-7 d", "7-30 d", "30-90 d", "90+ d"]
    bucket = pd.cut(seconds, [0, 60, 600, 3600, 86400, 7 * 86400, 30 * 86400, 90 * 86400, float("inf")],
                    right=False, labels=[f"{i}. {label}" for i, label in enumerate(ranges, start=1)])
    assert ttf == {label: n for label, n in bucket.value_counts().items() if n}
    assert sorted(ttf) == [label for label in bucket.cat.categories if label in ttf]
    # Engagement: weekly active users, and mean session length per OS and week from additive seconds.
    wau = chart_data(admin, served.base, ids["Active users, weekly"])
    assert {pd.Timestamp(row["Week"], unit="ms"): row["users"] for row in wau} == expected_users.to_dict()
    visits = ref.visits
    week = visits.start_ts.dt.normalize() - pd.to_timedelta(visits.start_ts.dt.weekday, unit="D")
    expected_asl = visits.groupby([week, visits.os]).duration_s.mean()
    asl = [row for row in chart_data(admin, served.base, ids["Mean session length by OS, weekly"])
           if row["session_length_mean"] is not None]  # weeks x OS with orders but no sessions have no length
    assert len(asl) == len(expected_asl)
    for row in asl:  # long format: Week (week start), os, session_length_mean (milliseconds)
        key = (pd.Timestamp(row["Week"], unit="ms"), row["os"])
        assert row["session_length_mean"] / 1000 == pytest.approx(expected_asl[key], rel=1e-9), key
    # Marketing: monthly CAC of all channels (costs of every source / new buyers of every first source).
    cac_rows = chart_data(admin, served.base, ids["CAC, monthly (channels in the filter, all by default)"])
    monthly = ref.marketing_monthly().groupby(level="month")[["costs", "new_buyers"]].sum()
    monthly = monthly[monthly.new_buyers > 0]
    expected_cac = (monthly.costs / monthly.new_buyers).to_dict()
    assert len(cac_rows) == len(expected_cac) > 3
    for row in cac_rows:  # month (Month), cac
        key = pd.Timestamp(row["Month"], unit="ms")
        assert row["cac"] == pytest.approx(expected_cac[key], rel=1e-9), key


def test_weekly_kpis_follow_channel_and_os_filters_exactly(served: Served) -> None:
    """The kpi_weekly dataset answers one channel / OS from finalized roll-up rows and several at once
    from merged uniqExact states: both must equal distinct users counted from the visits file."""
    admin, ref = served.admin(), Reference(served.data)
    chart_id = charts(admin, served.base)["Users"]
    context = json.loads(admin.get(f"{served.base}/api/v1/chart/{chart_id}").json()["result"]["query_context"])
    saved_filters = context["queries"][0]["filters"]  # complete weeks only
    names = pd.read_csv(REPO / "seeds" / "channels.csv").set_index("source_id").channel
    visits = ref.visits.assign(channel=ref.visits.source_id.map(names).fillna(
        "source " + ref.visits.source_id.astype(str)))
    week = visits.start_ts.dt.normalize() - pd.to_timedelta(visits.start_ts.dt.weekday, unit="D")
    visits = visits.assign(week=week)
    last_day = max(ref.visits.start_ts.max(), ref.orders.buy_ts.max()).normalize()
    channels = visits.channel.value_counts().index[:2].tolist()
    oses = visits.os.value_counts().index[:2].tolist()
    cases = [{}, {"channel": channels[:1]}, {"os": oses[:1]}, {"channel": channels[:1], "os": oses[:1]},
             {"channel": channels}, {"os": oses}, {"channel": channels, "os": oses[:1]}]
    for case in cases:
        context["queries"][0]["filters"] = saved_filters + [
            {"col": col, "op": "IN", "val": values} for col, values in case.items()]
        response = admin.post(f"{served.base}/api/v1/chart/data", json=context)
        assert response.status_code == 200, response.text[:300]
        got = {pd.Timestamp(r["Week"], unit="ms"): r["users"] for r in response.json()["result"][0]["data"]
               if r["users"]}  # a week with only orders in the selection has 0 users
        chosen = visits
        for col, values in case.items():
            chosen = chosen[chosen[col].isin(values)]
        expected = chosen.groupby("week").uid.nunique()
        assert got == expected[expected.index + pd.Timedelta(days=6) <= last_day].to_dict(), case
        assert len(got) >= 20, case


def test_roles_see_only_their_dashboards(served: Served) -> None:
    expected = {"marketing": {"marketing", "sales", "cohorts", "overview"}, "executive": {"overview"},
                "crm": {"rfm", "rfm-contacts", "customer-base"},
                "finance": {"overview", "sales", "marketing", "attribution"},
                "analyst": set(SLUGS) - {"rfm-contacts"}}
    for username, slugs in expected.items():
        session = served.session(username)
        listed = {d["slug"] for d in session.get(f"{served.base}/api/v1/dashboard/?q=(page_size:100)").json()["result"]}
        assert listed == slugs, username


def test_marketing_gets_no_pii_from_charts_or_sql_lab(served: Served) -> None:
    admin, marketing = served.admin(), served.session("marketing")
    ids = charts(admin, served.base)
    contacts = marketing.get(f"{served.base}/api/v1/chart/{ids['Contacts (CRM)']}/data/")
    assert contacts.status_code in (403, 404)
    database_id = admin.get(f"{served.base}/api/v1/database/").json()["result"][0]["id"]

    def sql_lab(session: requests.Session, sql: str) -> requests.Response:
        return session.post(f"{served.base}/api/v1/sqllab/execute/", json={
            "database_id": database_id, "sql": sql, "schema": "marts", "runAsync": False, "client_id": None})

    allowed = sql_lab(marketing, "SELECT sum(revenue) AS gmv FROM marts.kpi_daily")
    assert allowed.status_code == 200, allowed.text[:300]
    for sql in ("SELECT name, email, phone FROM marts.rfm_customers",
                "SELECT email FROM marts.dim_customers",
                "SELECT email FROM raw.customers",
                "SELECT * FROM (SELECT phone FROM marts.rfm_customers) AS t",
                "SELECT email FROM file('/etc/passwd', 'LineAsString')",
                # Jinja is on (dataset SQL templates): a template must not reach a dataset's table either.
                f"SELECT email FROM {{{{ dataset({dataset_id(admin, served.base, 'rfm_customers')}) }}}}"):
        response = sql_lab(marketing, sql)
        assert response.status_code != 200, (sql, response.text[:200])
        errors = {e.get("error_type") for e in response.json().get("errors", [])}
        assert errors & {"TABLE_SECURITY_ACCESS_ERROR", "DATABASE_SECURITY_ACCESS_ERROR", "QUERY_SECURITY_ACCESS_ERROR",
                         "INVALID_SQL_ERROR",
                         "GENERIC_COMMAND_ERROR"}, (sql, response.text[:300])
        assert "@example.org" not in response.text
    # Every chart Marketing can open carries no contact data.
    for name, chart_id in ids.items():
        response = marketing.get(f"{served.base}/api/v1/chart/{chart_id}/data/")
        if response.status_code == 200:
            assert "@example.org" not in response.text and '"phone"' not in response.text, name


def test_no_pii_through_a_dashboard_for_roles_without_it(served: Served) -> None:
    """Dashboard RBAC lets a dashboard's viewers query its charts' datasets; contact data must still
    stay with CRM and Admin, whatever dashboard a chart request names (as the browser sends it)."""
    admin = served.admin()
    ids = charts(admin, served.base)
    dashboards = {d["slug"]: d["id"] for d in
                  admin.get(f"{served.base}/api/v1/dashboard/?q=(page_size:100)").json()["result"]}
    contacts = admin.get(f"{served.base}/api/v1/chart/{ids['Contacts (CRM)']}").json()["result"]
    context = json.loads(contacts["query_context"])

    def request_in(session: requests.Session, slug: str) -> requests.Response:
        context["form_data"] |= {"dashboardId": dashboards[slug], "slice_id": ids["Contacts (CRM)"]}
        return session.post(f"{served.base}/api/v1/chart/data", json=context)

    assert "@example.org" in request_in(admin, "rfm-contacts").text  # the request itself is sound
    assert "@example.org" in request_in(served.session("crm"), "rfm-contacts").text
    for role in ("analyst", "marketing", "finance", "executive"):
        for slug in dashboards:
            response = request_in(served.session(role), slug)
            assert response.status_code in (403, 404), (role, slug, response.status_code)
            assert "@example.org" not in response.text


def test_crm_gets_exactly_a_segments_contacts(served: Served) -> None:
    crm, ref = served.session("crm"), Reference(served.data)
    ids = charts(served.admin(), served.base)
    chart = crm.get(f"{served.base}/api/v1/chart/{ids['Contacts (CRM)']}").json()["result"]
    context = json.loads(chart["query_context"])
    context["queries"][0]["filters"] = [{"col": "segment", "op": "IN", "val": ["Lost VIP"]}]
    context["queries"][0]["row_limit"] = 100000
    context["result_format"] = "csv"
    response = crm.post(f"{served.base}/api/v1/chart/data", json=context)
    assert response.status_code == 200, response.text[:300]
    from io import StringIO

    # Superset's CSV names columns by their verbose names (the mailing-tool export is /ecomlytics/contacts.csv).
    exported = pd.read_csv(StringIO(response.text), dtype={"Customer id": str})
    rfm = ref.rfm()
    expected = {str(uid) for uid, code in rfm.rfm_code.items() if SEGMENTS.segment[code] == "Lost VIP"}
    assert expected and set(exported["Customer id"]) == expected
    assert exported["E-mail"].str.contains("@").any()  # CRM does see contacts


def test_sku_tables_show_ten_named_skus_without_reaching_their_row_limit(served: Served) -> None:
    """Superset warns "row limit reached" on a table whose rows reach its row limit (the dashboard
    compares the response's sql_rowcount with the chart's row_limit). The top / bottom tables show
    10 SKUs, each with its product name from the order items, and stay under the limit."""
    admin = served.admin()
    ids = charts(admin, served.base)
    items = pd.read_csv(served.data / "order_items.csv", dtype=str, keep_default_na=False)
    names = items[items.product_name != ""].groupby("sku").product_name.max()
    for name in ("Top 10 SKUs by GMV", "Bottom 10 SKUs by GMV"):
        row_limit = json.loads(admin.get(f"{served.base}/api/v1/chart/{ids[name]}").json()["result"]["params"])[
            "row_limit"]
        response = admin.get(f"{served.base}/api/v1/chart/{ids[name]}/data/")
        assert response.status_code == 200, response.text[:300]
        result = response.json()["result"][0]
        assert result["sql_rowcount"] == len(result["data"]) == 10 < row_limit, (name, row_limit)
        for row in result["data"]:
            assert row["product_name"] == names.get(row["sku"], "unknown"), (name, row)


def test_dashboards_render_in_a_real_browser(served: Served) -> None:
    problems = []
    with browser_page() as page:
        log_in(page, served.base, "admin", served.admin_password)
        for slug in SLUGS:
            problems += render_dashboard(page, served.base, slug, ARTIFACTS / f"{slug}.png")
    assert problems == []


@pytest.mark.changes_served_data
def test_scheduled_refresh_runs_inside_the_serving_process(served: Served) -> None:
    """`serve --refresh-every` loads new inbox files and rebuilds the marts in the process that holds
    the embedded warehouse; dashboards then show the new data."""
    admin = served.admin()
    database_id = admin.get(f"{served.base}/api/v1/database/").json()["result"][0]["id"]

    def marts_gmv() -> float:
        response = admin.post(f"{served.base}/api/v1/sqllab/execute/", json={
            "database_id": database_id, "sql": "SELECT toFloat64(sum(revenue)) AS gmv FROM marts.kpi_daily",
            "runAsync": False})
        return response.json()["data"][0]["gmv"]

    before, valid = marts_gmv(), Reference(served.data).orders
    assert before == pytest.approx(valid.revenue.sum(), abs=0.01)
    orders = pd.read_csv(served.data / "orders_log.csv", dtype=str, keep_default_na=False)
    late = orders[orders.order_id.isin(valid.order_id) & (orders.order_id != "")].tail(1).copy()  # a valid row
    late[["order_id", "Revenue"]] = ["REFRESH-1", "1000.00"]
    late.to_csv(served.home / "inbox" / "orders_log.csv", index=False)
    deadline = time.time() + 240
    while time.time() < deadline and marts_gmv() == pytest.approx(before, abs=0.001):
        time.sleep(5)
    assert marts_gmv() == pytest.approx(before + 1000, abs=0.01)
    gmv = chart_data(admin, served.base, charts(admin, served.base)["GMV by channel, weekly"])
    assert sum(row["gmv"] or 0 for row in gmv) == pytest.approx(before + 1000, abs=0.01)
