"""The CRM contacts download, as the CRM manager gets it in the browser and a mailing tool reads it."""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd

from tests.browser import browser_page, log_in
from tests.reference_metrics import Reference
from tests.superset_served import REPO, Served

SEGMENTS = pd.read_csv(REPO / "seeds" / "rfm_segments.csv", dtype=str).set_index("rfm_code")


def download(served: Served, username: str, password: str, query: str) -> tuple[int, str, str]:
    """(status, suggested file name, text) of /ecomlytics/contacts.csv?query in a logged-in browser."""
    with browser_page() as page:
        log_in(page, served.base, username, password)
        page.wait_for_url("**/superset/dashboard/**", timeout=60_000)  # landed: the session is set
        url = f"{served.base}/ecomlytics/contacts.csv?{query}"
        response = page.request.get(url, max_redirects=0)
        if response.status != 200:
            return response.status, "", response.text()
        assert "attachment" in response.headers.get("content-disposition", ""), response.text()[:300]
        with page.expect_download() as event:
            page.evaluate("url => { const a = document.createElement('a'); a.href = url; a.click(); }", url)
        saved = event.value
        return 200, saved.suggested_filename, open(saved.path(), encoding="utf-8").read()


def test_crm_downloads_a_segments_contacts_exactly_as_stored(served: Served) -> None:
    ref = Reference(served.data)
    status, name, text = download(served, "crm", served.users()["crm"], "segment=Lost%20VIP")
    assert status == 200, text[:300]
    assert name == f"contacts_lost-vip_{date.today().isoformat()}.csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    rfm = ref.rfm()
    expected = {str(uid) for uid, code in rfm.rfm_code.items() if SEGMENTS.segment[code] == "Lost VIP"}
    assert expected and {row["customer_id"] for row in rows} == expected
    customers = pd.read_csv(served.data / "customers.csv", dtype=str, keep_default_na=False).set_index("uid")
    # phones and e-mails byte for byte as in the customers file (E.164 '+7 ...', no "'" prefix)
    stored = customers.reindex(sorted(expected), fill_value="")
    assert {row["customer_id"]: row["phone"] for row in rows} == stored.phone.to_dict()
    assert {row["customer_id"]: row["email"] for row in rows} == stored.email.to_dict()
    assert any(row["phone"].startswith("+") for row in rows)
    monetary = [float(row["monetary"]) for row in rows]
    assert monetary == sorted(monetary, reverse=True)  # most valuable first


def test_contacts_download_needs_contact_access_and_a_known_segment(served: Served) -> None:
    for role in ("marketing", "analyst", "executive"):
        status, _, text = download(served, role, served.users()[role], "segment=Lost%20VIP")
        assert status == 403 and "@example.org" not in text, role
    status, _, text = download(served, "crm", served.users()["crm"], "segment=Nope")
    assert status == 400 and "valid" in text
