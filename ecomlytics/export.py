"""RFM contact exports for CRM campaigns (scheduled jobs, no UI): CSV or XLSX."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import TextIO

from clickhouse_connect.driver.client import Client

CONTACT_COLUMNS = [
    "customer_id", "name", "email", "phone", "email_opt_in", "sms_opt_in", "push_opt_in", "segment", "macro_segment",
    "recommended_action", "rfm_code", "r_score", "f_score", "m_score", "recency_days", "frequency", "monetary",
    "as_of_date",
]
CONSENT = {"email": "email_opt_in", "sms": "sms_opt_in", "push": "push_opt_in"}
# The address a channel needs: a consent without one reaches nobody. Push goes to the app, whose
# device tokens are not in the customers list, so a push consent needs no address here.
ADDRESS = {"email": "email", "sms": "phone"}


class ExportError(ValueError):
    """An export request that cannot be served (unknown segment, consent channel, format)."""


def _known(client: Client, column: str) -> set[str]:
    return {r[0] for r in client.query(f"SELECT DISTINCT {column} FROM staging.rfm_segments").result_rows}


def contacts_query(client: Client, segments: list[str], macro_segments: list[str],
                   only_consented: str | None) -> tuple[str, dict]:
    """SQL and parameters selecting the contacts of the chosen segments."""
    for values, column in ((segments, "segment"), (macro_segments, "macro_segment")):
        unknown = set(values) - _known(client, column)
        if unknown:
            raise ExportError(f"unknown {column} {sorted(unknown)}; valid: {sorted(_known(client, column))}")
    if only_consented is not None and only_consented not in CONSENT:
        raise ExportError(f"unknown consent channel {only_consented!r}; valid: {sorted(CONSENT)}")
    where, params = [], {}
    if segments:
        where.append("segment IN {segments:Array(String)}")
        params["segments"] = segments
    if macro_segments:
        where.append("macro_segment IN {macros:Array(String)}")
        params["macros"] = macro_segments
    if only_consented:
        where.append(f"{CONSENT[only_consented]} = 1")
        if only_consented in ADDRESS:
            where.append(f"trimBoth({ADDRESS[only_consented]}) != ''")
    sql = f"SELECT {', '.join(CONTACT_COLUMNS)} FROM marts.rfm_customers"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY monetary DESC, uid", params


def write_contacts_csv(rows: list, handle: TextIO) -> None:
    """Contacts as CSV exactly as stored: ids and phones unchanged (no formula-escape prefixes, which
    break imports into mailing and SMS tools; the values come from the customers list, not from users
    of the BI tool)."""
    writer = csv.writer(handle)
    writer.writerow(CONTACT_COLUMNS)
    writer.writerows(rows)


def export_file_name(segments: list[str], macro_segments: list[str], on: date) -> str:
    """``contacts_lost-vip_2026-12-01.csv``: what the file holds and when it was taken."""
    chosen = segments + macro_segments
    label = "_".join(re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") for name in chosen) or "all"
    return f"contacts_{label}_{on.isoformat()}.csv"


def export_rfm_contacts(client: Client, out: Path, *, segments: list[str], macro_segments: list[str],
                        fmt: str = "csv", only_consented: str | None = None) -> int:
    """Write the contacts of the chosen segments to ``out``; returns the number of contacts."""
    sql, params = contacts_query(client, segments, macro_segments, only_consented)
    rows = client.query(sql, parameters=params).result_rows
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with open(out, "w", newline="", encoding="utf-8") as handle:
            write_contacts_csv(rows, handle)
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("contacts")
        sheet.append(CONTACT_COLUMNS)
        for row in rows:
            sheet.append(list(row))
        book.save(out)
    else:
        raise ExportError(f"unknown format {fmt!r}; use csv or xlsx")
    return len(rows)
