"""Every role, as an attacker would, through the served Superset: nothing reaches files, the network,
settings or other tables (the catalogue in tests/security_catalogue.py; docs/security.md).

Each attempt goes through SQL Lab (with and without Jinja), through a chart-data request's custom SQL
(metric, column, WHERE and HAVING extras) on a dashboard the role may open, and through a virtual
dataset where the role may create one. A canary file, Superset's secret key and the users' passwords
must never come back, and the local HTTP server must never be asked.
"""

from __future__ import annotations

import http.server
import json
import secrets
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.browser import browser_page, log_in, render_dashboard
from tests.security_catalogue import Target, attempts
from tests.superset_served import Served, charts

ROLES = ("analyst", "marketing", "finance", "crm", "executive")


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.hits.append(self.path)
        body = b"CANARY-FROM-HTTP"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_canary() -> Iterator[tuple[str, list[str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/canary", _CountingHandler.hits
    server.shutdown()


@pytest.fixture(scope="module")
def target(served: Served, http_canary: tuple[str, list[str]]) -> Target:
    folder = served.home / "canary"
    folder.mkdir(exist_ok=True)
    canary = folder / "canary.txt"
    canary.write_text(f"CANARY-{secrets.token_hex(12)}")
    return Target(canary=str(canary), url=http_canary[0])


def never_returned(served: Served, target: Target) -> list[str]:
    """Strings no response may contain: the canary, the secret key, every password, contact e-mails."""
    state = served.home / "superset"
    passwords = list(served.users().values()) + [served.admin_password]
    return [open(target.canary).read(), "CANARY-FROM-HTTP", (state / "secret_key").read_text().strip(),
            *passwords, "@example.org"]


def refused(response: requests.Response) -> bool:
    """A request the server did not answer with data: an error status, or errors in the chart result."""
    if response.status_code != 200:
        return True
    body = response.json()
    results = body.get("result") if isinstance(body, dict) else None
    return isinstance(results, list) and bool(results) and all(r.get("error") for r in results)


def sql_lab(session: requests.Session, served: Served, database_id: int, sql: str) -> requests.Response:
    return session.post(f"{served.base}/api/v1/sqllab/execute/", json={
        "database_id": database_id, "sql": sql, "schema": "marts", "runAsync": False, "client_id": None,
        "templateParams": "{}"})


def chart_request_of(served: Served, role: str) -> tuple[dict, int]:
    """The saved query context of a chart on a dashboard ``role`` may open, as the browser sends it."""
    admin, session = served.admin(), served.session(role)
    dashboards = session.get(f"{served.base}/api/v1/dashboard/?q=(page_size:100)").json()["result"]
    for dashboard in sorted(dashboards, key=lambda d: d["slug"]):
        for chart in admin.get(f"{served.base}/api/v1/dashboard/{dashboard['id']}/charts").json()["result"]:
            saved = admin.get(f"{served.base}/api/v1/chart/{chart['id']}").json()["result"]
            if not saved.get("query_context"):
                continue
            context = json.loads(saved["query_context"])
            context["form_data"] = {**context.get("form_data", {}), "dashboardId": dashboard["id"],
                                    "slice_id": chart["id"]}
            if session.post(f"{served.base}/api/v1/chart/data", json=context).status_code == 200:
                return context, chart["id"]
    raise AssertionError(f"{role} can open no chart")


def injections(context: dict, expression: str) -> dict[str, dict]:
    """The chart request with ``expression`` as a custom SQL metric, column, WHERE and HAVING."""
    def variant(change) -> dict:  # noqa: ANN001
        copy = json.loads(json.dumps(context))
        change(copy["queries"][0])
        return copy

    metric = {"expressionType": "SQL", "sqlExpression": expression, "label": "probe"}
    column = {"expressionType": "SQL", "sqlExpression": f"toString({expression})", "label": "probe_col"}
    return {
        "metric": variant(lambda q: q.__setitem__("metrics", [*(q.get("metrics") or []), metric])),
        "column": variant(lambda q: q.__setitem__("columns", [*(q.get("columns") or []), column])),
        "where": variant(lambda q: q.setdefault("extras", {}).__setitem__("where", f"toString({expression}) != ''")),
        "having": variant(lambda q: q.setdefault("extras", {}).__setitem__("having", f"{expression} IS NOT NULL")),
    }


def test_no_role_reaches_files_network_settings_or_other_tables(served: Served, target: Target,
                                                                http_canary: tuple[str, list[str]]) -> None:
    admin = served.admin()
    database_id = admin.get(f"{served.base}/api/v1/database/").json()["result"][0]["id"]
    forbidden = never_returned(served, target)
    leaks, answered = [], []
    for role in ROLES:
        session = served.session(role)
        context, _ = chart_request_of(served, role)
        for attempt in attempts(target):
            tries = {"SQL Lab": sql_lab(session, served, database_id, attempt.statement)}
            if attempt.expression:
                for where, request in injections(context, attempt.expression).items():
                    tries[f"chart {where}"] = session.post(f"{served.base}/api/v1/chart/data", json=request)
            for how, response in tries.items():
                leaks += [(role, attempt.name, how) for secret in forbidden if secret in response.text]
                if not refused(response):
                    answered.append((role, attempt.name, how, response.text[:200]))
        jinja = sql_lab(session, served, database_id, "SELECT {{ 'fi' ~ 'le' }}('" + target.canary + "') AS x")
        if not refused(jinja) or any(secret in jinja.text for secret in forbidden):
            answered.append((role, "Jinja-built file()", "SQL Lab", jinja.text[:200]))
    assert leaks == []
    assert answered == []
    assert http_canary[1] == []  # url() never reached the network


def test_a_virtual_dataset_cannot_read_files(served: Served, target: Target) -> None:
    """Roles that may create datasets get one whose SQL reads a file refused, or its data refused."""
    admin = served.admin()
    database_id = admin.get(f"{served.base}/api/v1/database/").json()["result"][0]["id"]
    forbidden = never_returned(served, target)
    for role in ("admin", *ROLES):
        session = admin if role == "admin" else served.session(role)
        created = session.post(f"{served.base}/api/v1/dataset/", json={
            "database": database_id, "schema": "marts", "table_name": f"probe_{role}",
            "sql": f"SELECT file('{target.canary}') AS leaked"})
        assert not any(secret in created.text for secret in forbidden), role
        if created.status_code != 201:
            continue  # the role may not create datasets, or the dataset's SQL was refused
        data = session.post(f"{served.base}/api/v1/chart/data", json={
            "datasource": {"id": created.json()["id"], "type": "table"},
            "queries": [{"columns": ["leaked"], "metrics": [], "row_limit": 10}],
            "result_format": "json", "result_type": "full"})
        assert refused(data), (role, data.text[:300])
        assert not any(secret in data.text for secret in forbidden), role


def test_state_files_are_private(served: Served) -> None:
    state = served.home / "superset"
    assert state.stat().st_mode & 0o777 == 0o700
    for name in ("secret_key", "users.json", "superset.db"):
        assert (state / name).stat().st_mode & 0o777 == 0o600, name


LANDING = {"analyst": "overview", "marketing": "marketing", "finance": "overview", "crm": "rfm",
           "executive": "overview"}


def test_every_role_sees_its_dashboards_render_in_a_browser(served: Served) -> None:
    """Each role lands on its dashboard after login, and the SQL guards leave every chart of every
    dashboard it may open working, in a real browser."""
    problems = []
    for role in ROLES:
        listed = served.session(role).get(f"{served.base}/api/v1/dashboard/?q=(page_size:100)").json()["result"]
        slugs = sorted(d["slug"] for d in listed)
        assert slugs, role
        with browser_page() as page:
            log_in(page, served.base, role, served.users()[role])
            page.wait_for_url("**/superset/dashboard/**", timeout=60_000)
            assert page.url.split("?")[0].rstrip("/").endswith(f"/superset/dashboard/{LANDING[role]}"), page.url
            # the top bar's My dashboards menu links exactly the dashboards the role may open
            menu = page.request.get(f"{served.base}/api/v1/menu/").json()["result"]
            entries = [child for item in menu if item.get("label") == "My dashboards"
                       for child in item.get("childs", [])]
            assert sorted(e["label"] for e in entries) == sorted(d["dashboard_title"] for d in listed), role
            assert all(e["url"].rstrip("/").rsplit("/", 1)[-1] in slugs for e in entries), role
            for slug in slugs:
                problems += [(role, *problem) for problem in render_dashboard(page, served.base, slug)]
    assert problems == []


def test_contacts_stay_with_crm_even_on_a_dashboard_a_role_was_given_by_mistake(served: Served) -> None:
    """Dashboard RBAC lets a dashboard's viewers query the datasets of its charts. An admin who gives the
    Analyst role the RFM contacts dashboard must still not hand analysts the contacts: the project's own
    PII check (ecomlytics/bi/security.py) refuses them, whatever Superset's dashboard access allows."""
    admin = served.admin()
    board = next(d for d in admin.get(f"{served.base}/api/v1/dashboard/?q=(page_size:100)").json()["result"]
                 if d["slug"] == "rfm-contacts")
    roles_before = [role["id"] for role in board["roles"]]
    query = "(filters:!((col:name,opr:eq,value:Analyst)))"
    analyst_role = admin.get(f"{served.base}/api/v1/security/roles/?q={query}").json()["result"][0]["id"]
    chart = next(c for c in admin.get(f"{served.base}/api/v1/dashboard/{board['id']}/charts").json()["result"]
                 if c["slice_name"] == "Contacts (CRM)")
    context = json.loads(admin.get(f"{served.base}/api/v1/chart/{chart['id']}").json()["result"]["query_context"])
    context["form_data"] = {**context.get("form_data", {}), "dashboardId": board["id"], "slice_id": chart["id"]}
    try:
        given = admin.put(f"{served.base}/api/v1/dashboard/{board['id']}",
                          json={"roles": [*roles_before, analyst_role]})
        assert given.status_code == 200, given.text[:300]
        analyst = served.session("analyst")
        assert analyst.get(f"{served.base}/api/v1/dashboard/{board['id']}").status_code == 200  # it may open it
        response = analyst.post(f"{served.base}/api/v1/chart/data", json=context)
        assert response.status_code in (403, 404), response.text[:300]
        assert "@example.org" not in response.text
        assert "@example.org" in served.session("crm").post(f"{served.base}/api/v1/chart/data", json=context).text
    finally:
        admin.put(f"{served.base}/api/v1/dashboard/{board['id']}", json={"roles": roles_before})


def test_refused_requests_leave_no_traceback_in_the_server_log(served: Served, target: Target) -> None:
    """A page or query a role may not have is refused with a message, not logged as a crash."""
    log = served.home / "serve.log"
    start = log.stat().st_size
    executive, analyst = served.session("executive"), served.session("analyst")
    admin = served.admin()
    database_id = admin.get(f"{served.base}/api/v1/database/").json()["result"][0]["id"]
    executive.get(f"{served.base}/superset/dashboard/sales/")  # the page; its data request is the refusal
    refused_requests = [
        executive.get(f"{served.base}/api/v1/dashboard/sales"),
        executive.get(f"{served.base}/api/v1/chart/{charts(admin, served.base)['Contacts (CRM)']}/data/"),
        sql_lab(analyst, served, database_id, f"SELECT file('{target.canary}') AS x"),
        sql_lab(analyst, served, database_id, "SELECT email FROM marts.rfm_customers"),
    ]
    assert all(refused(response) for response in refused_requests)
    time.sleep(1)  # let the server flush its log
    with open(log, encoding="utf-8", errors="replace") as handle:
        handle.seek(start)
        written = handle.read()
    assert "Traceback" not in written, written[-3000:]
