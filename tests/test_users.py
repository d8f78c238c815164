"""Users and roles belong to the admin once created: `serve` keeps what was changed in the UI, and
`ecomlytics users reset` undoes it on purpose."""

from __future__ import annotations

import pytest
import requests

from tests.superset_served import Served, chart_data, charts


def _user_id(admin: requests.Session, served: Served, username: str) -> int:
    query = f"(filters:!((col:username,opr:eq,value:{username})))"
    return admin.get(f"{served.base}/api/v1/security/users/?q={query}").json()["result"][0]["id"]


def _role_id(admin: requests.Session, served: Served, name: str) -> int:
    query = f"(filters:!((col:name,opr:eq,value:{name})))"
    return admin.get(f"{served.base}/api/v1/security/roles/?q={query}").json()["result"][0]["id"]


def _can_log_in(served: Served, username: str, password: str) -> bool:
    response = requests.post(f"{served.base}/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db"})
    return response.status_code == 200


@pytest.mark.changes_served_data
def test_serve_keeps_ui_changes_and_users_reset_undoes_them(served: Served) -> None:
    admin = served.admin()
    # In the UI (its API): the admin sets marketing's password and takes a dataset away from Finance.
    changed = admin.put(f"{served.base}/api/v1/security/users/{_user_id(admin, served, 'marketing')}",
                        json={"password": "chosen-by-the-admin-1"})
    assert changed.status_code == 200, changed.text[:300]
    finance = _role_id(admin, served, "Finance")
    permissions = admin.get(f"{served.base}/api/v1/security/roles/{finance}/permissions/").json()["result"]
    gmv_chart = charts(admin, served.base)["GMV"]
    dataset = admin.get(f"{served.base}/api/v1/chart/{gmv_chart}").json()["result"]["query_context"]
    assert chart_data(served.session("finance"), served.base, gmv_chart)  # Finance reads the GMV tile
    kept = [p["id"] for p in permissions
            if not (p["permission_name"] == "datasource_access" and "kpi_weekly" in p["view_menu_name"])]
    assert len(kept) == len(permissions) - 1, dataset[:200]
    assert admin.post(f"{served.base}/api/v1/security/roles/{finance}/permissions",
                      json={"permission_view_menu_ids": kept}).status_code == 200

    def finance_reads_gmv() -> bool:
        return served.session("finance").get(f"{served.base}/api/v1/chart/{gmv_chart}/data/").status_code == 200

    assert not finance_reads_gmv()
    served.stop()
    served.start()  # serve again: users and roles exist, nothing is reset
    assert _can_log_in(served, "marketing", "chosen-by-the-admin-1")
    assert not _can_log_in(served, "marketing", served.users()["marketing"])
    assert not finance_reads_gmv()

    served.stop()
    reset = served.cli("users", "reset", "marketing", "--roles")
    assert reset.returncode == 0, reset.stderr[-2000:]
    served.start()
    assert not _can_log_in(served, "marketing", "chosen-by-the-admin-1")
    assert f"marketing: new password {served.users()['marketing']}" in reset.stderr
    assert _can_log_in(served, "marketing", served.users()["marketing"])
    assert finance_reads_gmv()
