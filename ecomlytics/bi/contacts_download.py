"""The CRM contacts download of the served dashboards: a CSV a mailing or SMS tool imports as is.

Superset's own CSV download prefixes every cell starting with ``+ - = @`` with an apostrophe (its
protection against formula injection), which alters every E.164 phone number. That protection stays
on for every chart; contacts are downloaded here instead, from the same query as
``ecomlytics export rfm``, by users who may read the contacts dataset (CRM, Admin), named by
segment and date. Linked from the RFM contacts dashboard.
"""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, Response, abort, redirect, request

blueprint = Blueprint("ecomlytics_contacts", __name__)
CONTACTS_DATASET = "rfm_customers"


@blueprint.route("/ecomlytics/contacts.csv")
def contacts_csv() -> Response:
    from flask_login import current_user
    from superset import security_manager
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db

    from ecomlytics.export import ExportError, contacts_query, export_file_name, write_contacts_csv
    from ecomlytics.warehouse.client import connect

    if not current_user.is_authenticated:
        return redirect(f"/login/?next={request.full_path}")
    dataset = db.session.query(SqlaTable).filter_by(table_name=CONTACTS_DATASET).one_or_none()
    if dataset is None or not security_manager.can_access_datasource(dataset):
        abort(403, description="contact data: CRM and Admin only")
    segments, macro_segments = request.args.getlist("segment"), request.args.getlist("macro_segment")
    client = connect()
    try:
        sql, params = contacts_query(client, segments, macro_segments, request.args.get("consent") or None)
        rows = client.query(sql, parameters=params).result_rows
    except ExportError as exc:
        abort(400, description=str(exc))
    finally:
        client.close()
    buffer = io.StringIO()
    write_contacts_csv(rows, buffer)
    name = export_file_name(segments, macro_segments, date.today())
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
