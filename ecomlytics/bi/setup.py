"""Prepare Superset: metadata DB, admin, the dashboards bundle, roles and their users.

All of it is idempotent and runs on every ``ecomlytics serve``: the bundle in superset_assets/
is the source of truth and is re-imported (overwriting) each time, with its database pointed at
the configured warehouse. Generated passwords stay in the state dir (mode 0600).
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ecomlytics import settings
from ecomlytics.bi.sql_guard import BI_SESSION_SETTINGS
from ecomlytics.dbt.pii import pii_datasets
from ecomlytics.settings import BI_WAREHOUSE_ENV, bi_warehouse_dsn, state_dir
from ecomlytics.warehouse.client import WarehouseConfig, config, parse_dsn

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR.parents[1] / "superset_assets"
# The dashboards' description the bundle is rendered from (bundle_builder.py): a source, never imported.
DESCRIPTION_FOLDER = "description"
CONFIG_PATH = PACKAGE_DIR / "superset_config.py"
URI_PLACEHOLDER = "__ECOMLYTICS_SQLALCHEMY_URI__"
# Money metrics carry this as their currency in the bundle; import writes settings.currency() there.
CURRENCY_PLACEHOLDER = "__ECOMLYTICS_CURRENCY__"
# Amounts a virtual dataset prints as text (kpi_compare) end in this; import writes the currency's sign,
# the one the charts show ("33,128.80 $" in the table as on the tiles).
CURRENCY_SIGN_PLACEHOLDER = "__ECOMLYTICS_CURRENCY_SIGN__"
ADMIN_PASSWORD_ENV = "ECOMLYTICS_ADMIN_PASSWORD"


@dataclass(frozen=True)
class RoleSpec:
    name: str
    dashboards: tuple[str, ...]  # slugs; "*" = all (without PII charts unless pii)
    pii: bool = False
    sql_lab: bool = False
    landing: str = "overview"  # the dashboard its users land on after logging in


ROLES = (
    RoleSpec("Analyst", ("*",), sql_lab=True),
    RoleSpec("Marketing", ("marketing", "sales", "cohorts", "overview"), sql_lab=True, landing="marketing"),
    RoleSpec("Finance", ("overview", "sales", "marketing", "attribution")),
    RoleSpec("CRM", ("rfm", "rfm-contacts", "customer-base"), pii=True, landing="rfm"),
    RoleSpec("Executive", ("overview",)),
)


DASHBOARD_MENU = "ecomlytics dashboards"  # the top-bar menu listing the dashboards a role may open


def dashboard_menu_name(slug: str) -> str:
    """The menu entry (and its menu_access permission) of a dashboard."""
    return f"ecomlytics dashboard {slug}"


def bundle_dashboards(assets: Path | None = None) -> list[tuple[str, str]]:
    """(slug, title) of every dashboard in the bundle, in file order."""
    folder = (assets or ASSETS_DIR) / "dashboards"
    boards = [yaml.safe_load(path.read_text()) for path in sorted(folder.glob("*.yaml"))]
    return [(board["slug"], board["dashboard_title"]) for board in boards]


def landing_dashboard(role_names: Iterable[str]) -> str | None:
    """The slug a user with these roles lands on after login; None (Superset's home) for Admin and others."""
    names = set(role_names)
    if "Admin" in names:
        return None
    return next((spec.landing for spec in ROLES if spec.name in names), None)


def superset_dir() -> Path:
    """Superset's state: secret key, metadata DB, passwords. Only this user may enter it (0700)."""
    path = state_dir() / "superset"
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


class BIConnectionError(RuntimeError):
    """Superset cannot be given a safe connection to the warehouse."""


def bi_connection(warehouse: WarehouseConfig, bi_dsn: str | None) -> tuple[str, dict]:
    """SQLAlchemy URI and engine params of the connection Superset reads the marts with.

    Embedded: the warehouse directory, each connection a read-only chDB session
    (``sql_guard.BI_SESSION_SETTINGS``; the loaders' and dbt's connections stay writable). Server:
    the read-only BI user (``bi_dsn``; deploy/clickhouse/ sets it up), never the loaders' user.
    """
    if warehouse.embedded:
        return warehouse.sqlalchemy_uri("marts"), {"connect_args": {"chdb_options": dict(BI_SESSION_SETTINGS)}}
    if not bi_dsn:
        raise BIConnectionError(
            f"a ClickHouse server needs a read-only user for the dashboards: set {BI_WAREHOUSE_ENV} "
            "(e.g. http://ecomlytics_bi:PASSWORD@host:8123; see docs/security.md and deploy/clickhouse/)")
    bi = parse_dsn(bi_dsn)
    if bi.embedded or bi.username == warehouse.username:
        raise BIConnectionError(f"{BI_WAREHOUSE_ENV} must name a read-only server user, not the loaders' user "
                                f"{warehouse.username!r}")
    return bi.sqlalchemy_uri("marts"), {}


def superset_env() -> dict[str, str]:
    """Environment under which the Superset app and CLI find our config and state."""
    return {
        "SUPERSET_CONFIG_PATH": str(CONFIG_PATH),
        "ECOMLYTICS_HOME": str(state_dir()),
        "FLASK_APP": "superset.app:create_app()",
        "SUPERSET_LOAD_EXAMPLES": "no",
    }


def _private_file(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


def migrate_metadata() -> None:
    """`superset db upgrade` + `superset init`, once per Superset version (they take a while)."""
    from importlib.metadata import version

    marker = superset_dir() / f".migrated-{version('apache-superset')}"
    if marker.exists():
        return
    superset_bin = Path(sys.executable).with_name("superset")
    env = {**os.environ, **superset_env()}
    for args in (["db", "upgrade"], ["init"]):
        subprocess.run([str(superset_bin), *args], env=env, check=True, capture_output=True)
    (superset_dir() / "superset.db").chmod(0o600)
    marker.touch()


def admin_password() -> tuple[str, bool]:
    """The admin password and whether it was generated just now (then it is printed once)."""
    given = os.environ.get(ADMIN_PASSWORD_ENV)
    if given:
        return given, False
    path = superset_dir() / "admin_password"
    if path.exists():
        return path.read_text().strip(), False
    password = secrets.token_urlsafe(12)
    _private_file(path, password)
    return password, True


def bundle_zip(uri: str, assets: Path = ASSETS_DIR) -> bytes:
    """The bundle as Superset's import expects it, with the database pointed at ``uri`` (the rendered
    files only: the description they are rendered from is *.yml and left out in any case)."""
    code = settings.currency()
    sign = settings.currency_sign(code)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(assets.rglob("*.yaml")):
            if path.relative_to(assets).parts[0] == DESCRIPTION_FOLDER:
                continue
            text = path.read_text()
            if path.parent.name == "databases":
                text = text.replace(URI_PLACEHOLDER, uri)
            text = text.replace(CURRENCY_SIGN_PLACEHOLDER, sign).replace(CURRENCY_PLACEHOLDER, code)
            archive.writestr(f"bundle/{path.relative_to(assets)}", text)
    return buffer.getvalue()


def import_bundle(uri: str) -> None:
    """Import superset_assets/ (overwrite) with Superset's own assets import command."""
    from flask import g
    from superset import security_manager
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.commands.importers.v1.utils import get_contents_from_bundle

    g.user = security_manager.find_user(username="admin")  # the importer records an owner

    with zipfile.ZipFile(io.BytesIO(bundle_zip(uri))) as archive:
        contents = get_contents_from_bundle(archive)
    ImportAssetsCommand(contents).run()


def ensure_user(username: str, role_names: list[str], password: str, email: str, reset: bool = False) -> bool:
    """Create the user when missing; an existing one keeps its password and roles unless ``reset``.
    Returns True when the user was created or reset."""
    from superset import security_manager
    from superset.extensions import db

    roles = [security_manager.find_role(name) for name in role_names]
    user = security_manager.find_user(username=username)
    if user is None:
        security_manager.add_user(username, username, "ecomlytics", email, roles, password=password)
    elif reset:
        user.roles = roles
        security_manager.reset_password(user.id, password)
    else:
        return False
    db.session.commit()
    return True


def dashboards_by_slug() -> dict:
    from superset.extensions import db
    from superset.models.dashboard import Dashboard

    return {d.slug: d for d in db.session.query(Dashboard).all() if d.slug}


def _shows_pii(dashboard) -> bool:
    return any(c.datasource is not None and c.datasource.table_name in pii_datasets() for c in dashboard.slices)


def _granted_ledger() -> Path:
    """What serve granted each role last time: what an admin removed since is not granted again."""
    return superset_dir() / "granted.json"


def _permission_key(pvm) -> str:  # noqa: ANN001 - a FAB PermissionView
    return f"{pvm.permission.name}|{pvm.view_menu.name}"


def _menu_permissions(dashboards: Iterable) -> list:
    """menu_access to the My dashboards menu and to the entries of these dashboards (navigation.py)."""
    from superset import security_manager

    names = [DASHBOARD_MENU, *(dashboard_menu_name(d.slug) for d in dashboards)]
    return [security_manager.add_permission_view_menu("menu_access", name) for name in names]


def marts_named(sql: str) -> list[str]:
    """The marts a (virtual dataset's) SQL reads: its `marts.<table>` names."""
    return re.findall(r"\bmarts\.(\w+)", sql)


def _with_virtual_reads(tables: list) -> list:
    """``tables`` (Superset datasets) and the datasets of the marts their virtual datasets' SQL reads."""
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db

    wanted = {name for table in tables if table is not None and table.sql
              for name in marts_named(table.sql)}
    behind = db.session.query(SqlaTable).filter(SqlaTable.table_name.in_(wanted)).all() if wanted else []
    return [*tables, *(table for table in behind if not table.sql)]


def ensure_roles(reset: bool = False) -> None:
    """Create the roles and grant what their dashboards need: dashboards via DASHBOARD_RBAC, data via
    per-dataset access. A role that exists keeps what an admin changed: only grants new since the last
    start (a new dataset or dashboard in the bundle) are added. ``reset`` sets every role to its spec."""
    from superset import security_manager
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db

    ledger_path = _granted_ledger()
    before = {} if reset or not ledger_path.exists() else json.loads(ledger_path.read_text())
    granted = {}
    dashboards = dashboards_by_slug()
    gamma = security_manager.find_role("Gamma")
    sql_lab = security_manager.find_role("sql_lab")
    all_menus = _menu_permissions(dashboards.values())
    menus = {p.id for p in all_menus}
    for spec in ROLES:
        created = security_manager.find_role(spec.name) is None
        role = security_manager.add_role(spec.name)
        chosen = [d for d in dashboards.values() if spec.pii or not _shows_pii(d)] if spec.dashboards == ("*",) else [
            dashboards[s] for s in spec.dashboards if s in dashboards
        ]
        # A role reads the datasets of its dashboards' charts and the marts their virtual datasets read
        # (the Overview's weekly tiles come from kpi_daily: its users may query it in SQL Lab); "*" roles
        # (Analyst) every dataset, so rollup-backed tables stay explorable row by row (customer_profiles,
        # rfm_scores).
        tables = (db.session.query(SqlaTable).all() if spec.dashboards == ("*",) else
                  _with_virtual_reads([chart.datasource for dashboard in chosen for chart in dashboard.slices]))
        datasets = {table.id: table for table in tables
                    if table is not None and (spec.pii or table.table_name not in pii_datasets())}
        # Gamma's and sql_lab's permissions without the dashboard menu entries (`superset init` gives Gamma
        # every menu), then the role's datasets and the menu entries of its own dashboards.
        base = [*gamma.permissions, *(sql_lab.permissions if spec.sql_lab else [])]
        own = [security_manager.add_permission_view_menu("datasource_access", table.perm)
               for table in datasets.values()]
        permissions = list({p.id: p for p in [*(p for p in base if p.id not in menus), *own,
                                              *_menu_permissions(chosen)]}.values())
        fresh = created or reset or spec.name not in before
        known = set(before.get(spec.name, {}).get("permissions", []))
        if fresh:
            role.permissions = permissions
        else:
            role.permissions = list(role.permissions) + [
                p for p in permissions if _permission_key(p) not in known and p not in role.permissions]
        linked = set(before.get(spec.name, {}).get("dashboards", []))
        for dashboard in chosen:
            if (fresh or dashboard.slug not in linked) and role not in dashboard.roles:
                dashboard.roles.append(role)
        granted[spec.name] = {"permissions": sorted({_permission_key(p) for p in permissions}),
                              "dashboards": sorted(d.slug for d in chosen)}
    admin = security_manager.find_role("Admin")
    admin.permissions = list(admin.permissions) + [p for p in all_menus if p not in admin.permissions]
    for dashboard in dashboards.values():
        if admin not in dashboard.roles:
            dashboard.roles.append(admin)
        dashboard.published = True
    db.session.commit()
    _private_file(ledger_path, json.dumps(granted, indent=1))


def ensure_role_users(reset: Iterable[str] = ()) -> dict[str, str]:
    """One user per role (analyst, marketing, ...), created when missing with a password generated
    into the state dir (users.json: the initial passwords). Users named in ``reset`` get a new password
    and their role back."""
    path = superset_dir() / "users.json"
    passwords = json.loads(path.read_text()) if path.exists() else {}
    reset = set(reset)
    for spec in ROLES:
        username = spec.name.lower()
        if username in reset or username not in passwords:
            passwords[username] = secrets.token_urlsafe(12)
        ensure_user(username, [spec.name], passwords[username], f"{username}@ecomlytics.local",
                    reset=username in reset)
    _private_file(path, json.dumps(passwords, indent=2))
    return passwords


def point_database_at_warehouse(uri: str, engine_params: dict) -> None:
    """Keep the imported database entry on the configured warehouse with the BI connection's
    engine params (survives DSN changes; the bundle carries neither)."""
    from superset.extensions import db
    from superset.models.core import Database

    for database in db.session.query(Database).filter_by(database_name="ecomlytics"):
        database.set_sqlalchemy_uri(uri)
        extra = json.loads(database.extra or "{}")
        extra["engine_params"] = engine_params
        database.extra = json.dumps(extra)
    db.session.commit()


def prepare(app, bi_dsn: str | None = None) -> str:
    """Everything serve needs, inside the app context. Returns the admin password. Creates users and
    roles only when missing: what an admin changed in the UI stays (``reset_users`` undoes it)."""
    uri, engine_params = bi_connection(config(), bi_warehouse_dsn(bi_dsn))
    password, generated = admin_password()
    with app.app_context():
        ensure_user("admin", ["Admin"], password, "admin@ecomlytics.local")
        import_bundle(uri)
        point_database_at_warehouse(uri, engine_params)
        ensure_roles()
        ensure_role_users()
    if generated:
        print(f"Superset admin password (generated, shown once; kept in {superset_dir() / 'admin_password'}): "
              f"{password}")
    return password


def reset_users(app, usernames: Iterable[str] = (), roles: bool = False) -> dict[str, str]:
    """``ecomlytics users reset``: new passwords for the named users (``admin`` included: the admin
    password from ECOMLYTICS_ADMIN_PASSWORD or the state dir), and with ``roles`` every role back to
    its spec. Returns the new passwords of the role users reset."""
    usernames = set(usernames)
    role_users = {spec.name.lower() for spec in ROLES}
    unknown = usernames - role_users - {"admin"}
    if unknown:
        raise ValueError(f"unknown users {sorted(unknown)}; ecomlytics manages admin and {sorted(role_users)}")
    with app.app_context():
        if roles:
            ensure_roles(reset=True)
        if "admin" in usernames:
            ensure_user("admin", ["Admin"], admin_password()[0], "admin@ecomlytics.local", reset=True)
        passwords = ensure_role_users(reset=usernames & role_users)
    return {name: passwords[name] for name in usernames & role_users}


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def export_bundle(app, out_dir: Path) -> int:
    """Write Superset's own export of every asset to ``out_dir`` (superset-export compares it with the bundle).

    The database URI becomes the placeholder again and no password is written, so the bundle stays
    portable between the embedded warehouse and servers. Returns the number of files written.
    """
    import shutil

    from flask import g
    from superset import security_manager
    from superset.commands.export.assets import ExportAssetsCommand

    written = 0
    code = settings.currency()
    sign = settings.currency_sign(code)
    with app.app_context():
        g.user = security_manager.find_user(username="admin")
        files = list(ExportAssetsCommand().run())
        for sub in ("databases", "datasets", "charts", "dashboards"):
            shutil.rmtree(out_dir / sub, ignore_errors=True)
        for name, content in files:
            if name.startswith(("saved_queries/", "themes/")):
                continue
            path = out_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            text = content()
            if name.startswith("databases/"):
                data = yaml.safe_load(text)
                data["sqlalchemy_uri"] = URI_PLACEHOLDER
                data.pop("password", None)
                data.get("extra", {})["engine_params"] = {}  # set by serve for the warehouse in force
                text = yaml.safe_dump(data, sort_keys=False)
            if name.startswith("datasets/"):  # the configured currency becomes the placeholder again
                data = yaml.safe_load(text)
                for metric in data.get("metrics") or []:
                    if (metric.get("currency") or {}).get("symbol") == code:
                        metric["currency"]["symbol"] = CURRENCY_PLACEHOLDER
                if data.get("sql"):  # virtual datasets that print money (kpi_compare): ' $'
                    data["sql"] = data["sql"].replace(f"' {sign}'", f"' {CURRENCY_SIGN_PLACEHOLDER}'")
                text = yaml.safe_dump(data, sort_keys=False)
            if name.startswith("charts/"):  # axis titles name the currency: "GMV (USD)"
                text = text.replace(f"({code})", f"({CURRENCY_PLACEHOLDER})")
            path.write_text(text)
            written += 1
    return written
