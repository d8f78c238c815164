"""Superset configuration for ecomlytics (loaded through SUPERSET_CONFIG_PATH).

Everything generated lives in the state dir ($ECOMLYTICS_HOME/superset): the metadata DB and a
SECRET_KEY made on first use (file mode 0600), never in the repository. No Celery, no Redis:
one process serves, caches in memory and, in embedded mode, holds the chDB warehouse.
"""

from __future__ import annotations

import logging
import os
import secrets
import warnings
from pathlib import Path

from sqlalchemy.exc import SAWarning

_HOME = Path(os.environ.get("ECOMLYTICS_HOME", "var")).expanduser().resolve()
SUPERSET_STATE = _HOME / "superset"
SUPERSET_STATE.mkdir(parents=True, exist_ok=True)
SUPERSET_STATE.chmod(0o700)  # secret key, metadata DB and passwords: this user only


def _secret(name: str) -> str:
    path = SUPERSET_STATE / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret("secret_key")
SQLALCHEMY_DATABASE_URI = f"sqlite:///{SUPERSET_STATE / 'superset.db'}?check_same_thread=false"
DATA_DIR = str(SUPERSET_STATE)

FEATURE_FLAGS = {
    "DASHBOARD_RBAC": True,  # dashboards carry the roles that may open them
    "ALERT_REPORTS": False,
    # Jinja in dataset SQL: the kpi_weekly dataset reads the dashboard's channel / OS filter to pick
    # finalized weekly rows (bundle_builder.KPI_WEEKLY_SQL). SQL Lab checks table access on the
    # rendered SQL, so templates give no way around dataset permissions (tested for PII).
    "ENABLE_TEMPLATE_PROCESSING": True,
    "TAGGING_SYSTEM": False,
}

CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
DATA_CACHE_CONFIG = CACHE_CONFIG
FILTER_STATE_CACHE_CONFIG = CACHE_CONFIG
EXPLORE_FORM_DATA_CACHE_CONFIG = CACHE_CONFIG
THUMBNAIL_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
RESULTS_BACKEND = None

# Served on localhost over http by default: no HTTPS-only headers, session cookie without Secure.
TALISMAN_ENABLED = False
SESSION_COOKIE_SECURE = False
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

# SQL Lab: read-only, no CTAS/CVAS, no file uploads; row limits keep exports bounded.
SQLLAB_CTAS_NO_LIMIT = False
SQL_MAX_ROW = 100_000
ROW_LIMIT = 50_000
CSV_EXPORT = {"encoding": "utf-8"}
EXCEL_EXPORT = {}
ALLOWED_EXTENSIONS = set()

# The embedded chDB URI points at a local directory; that is intended here.
PREVENT_UNSAFE_DB_CONNECTIONS = False
LOG_LEVEL = os.environ.get("ECOMLYTICS_SUPERSET_LOG_LEVEL", "WARNING")
SUPERSET_WEBSERVER_TIMEOUT = 300
APP_NAME = "ecomlytics"

# clickhouse-connect warns on every embedded connection that chDB ignores the host argument.
logging.getLogger("clickhouse_connect.driver").setLevel(logging.ERROR)
# Superset's own ORM code trips SQLAlchemy's session-state warnings on every start (nothing to act on).
warnings.filterwarnings("ignore", category=SAWarning)


class _OneLineRefusals(logging.Filter):
    """Superset logs every handled client error (a refused query, a page a role may not open: 4xx) as a
    WARNING with its traceback. Keep one line with the reason; real failures (ERROR) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and record.exc_info and record.exc_info[1] is not None:
            reason = str(record.exc_info[1]).strip().splitlines()
            record.msg, record.args = f"{record.getMessage()}: {reason[0][:300] if reason else ''}", ()
            record.exc_info = record.exc_text = None
        return True


logging.getLogger("superset.views.error_handling").addFilter(_OneLineRefusals())
CONTENT_SECURITY_POLICY_WARNING = False  # local http serving; put a reverse proxy with CSP in front for the internet

# Chart queries reuse open chDB handles instead of opening one per query (see chdb_handles.py).
from ecomlytics.warehouse.chdb_handles import install as _pool_chdb_handles  # noqa: E402

_pool_chdb_handles()

# PII datasets are served only to roles granted them, even through a dashboard (bi/security.py).
from ecomlytics.bi.security import EcomlyticsSecurityManager, refuse_unsafe_sql  # noqa: E402

CUSTOM_SECURITY_MANAGER = EcomlyticsSecurityManager

# What SQL may reach the warehouse (docs/security.md). Superset side: SQL Lab's stock function check
# (its defaults are keyed by engine name, and this engine is `clickhousedb`), and every statement
# (charts' custom SQL, virtual datasets, SQL Lab) through the query mutator. Engine side: the
# connection is read-only and each statement is parsed by ClickHouse and checked (sql_guard.py).
from ecomlytics.bi.sql_guard import DENIED_FUNCTIONS, install_sqlalchemy_guard  # noqa: E402

DISALLOWED_SQL_FUNCTIONS = {"clickhousedb": set(DENIED_FUNCTIONS), "clickhouse": set(DENIED_FUNCTIONS)}
SQL_QUERY_MUTATOR = refuse_unsafe_sql
MUTATE_AFTER_SPLIT = False  # checked once per query, before Superset splits it into statements
install_sqlalchemy_guard()

# A scheduled refresh publishes the marts between two statements, never during one (publish.py).
from ecomlytics.dbt.publish import install_reader_lock  # noqa: E402

install_reader_lock()

# CRM contacts as a CSV mailing tools import as is (contacts_download.py); Superset's CSV escaping stays on.
from ecomlytics.bi.contacts_download import blueprint as _contacts_download  # noqa: E402

BLUEPRINTS = [_contacts_download]

# Each role lands on its own dashboard after login, and a My dashboards menu lists those it may open
# (navigation.py).
FAB_INDEX_VIEW = "ecomlytics.bi.navigation.LandingIndexView"


def FLASK_APP_MUTATOR(app) -> None:  # noqa: N802, ANN001 - Superset's config name
    from ecomlytics.bi.navigation import add_dashboard_menu

    add_dashboard_menu(app)
