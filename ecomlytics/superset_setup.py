"""Prepare Superset: metadata DB, admin, the dashboards bundle, roles and their users.

All of it is idempotent and runs on every ``ecomlytics serve``: the bundle in superset_assets/
is the source of truth and is re-imported (overwriting) each time, with its database pointed at
the configured warehouse. Generated passwords stay in the state dir (mode 0600).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ecomlytics import settings
from ecomlytics.settings import state_dir
from ecomlytics.warehouse import config

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR.parent / "superset_assets"
CONFIG_PATH = PACKAGE_DIR / "superset_config.py"
URI_PLACEHOLDER = "__ECOMLYTICS_SQLALCHEMY_URI__"
# Money metrics carry this as their currency in the bundle; import writes settings.currency() there.
CURRENCY_PLACEHOLDER = "__ECOMLYTICS_CURRENCY__"
ADMIN_PASSWORD_ENV = "ECOMLYTICS_ADMIN_PASSWORD"
PII_DATASETS = {"rfm_customers", "dim_customers"}


@dataclass(frozen=True)
class RoleSpec:
    name: str
    dashboards: tuple[str, ...]  # slugs; "*" = all (without PII charts unless pii)
    pii: bool = False
    sql_lab: bool = False


ROLES = (
    RoleSpec("Analyst", ("*",), sql_lab=True),
    RoleSpec("Marketing", ("marketing", "sales", "cohorts", "overview"), sql_lab=True),
    RoleSpec("Finance", ("overview", "sales", "marketing")),
    RoleSpec("CRM", ("rfm", "rfm-contacts", "customer-base"), pii=True),
    RoleSpec("Executive", ("overview",)),
)


def superset_dir() -> Path:
    path = state_dir() / "superset"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
    """The bundle as Superset's import expects it, with the database pointed at ``uri``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(assets.rglob("*.yaml")):
            text = path.read_text()
            if path.parent.name == "databases":
                text = text.replace(URI_PLACEHOLDER, uri)
            text = text.replace(CURRENCY_PLACEHOLDER, settings.currency())
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


def ensure_user(username: str, role_names: list[str], password: str, email: str) -> None:
    from superset import security_manager
    from superset.extensions import db

    roles = [security_manager.find_role(name) for name in role_names]
    user = security_manager.find_user(username=username)
    if user is None:
        security_manager.add_user(username, username, "ecomlytics", email, roles, password=password)
    else:
        user.roles = roles
        security_manager.reset_password(user.id, password)
    db.session.commit()


def dashboards_by_slug() -> dict:
    from superset.extensions import db
    from superset.models.dashboard import Dashboard

    return {d.slug: d for d in db.session.query(Dashboard).all() if d.slug}


def _shows_pii(dashboard) -> bool:
    return any(c.datasource is not None and c.datasource.table_name in PII_DATASETS for c in dashboard.slices)


def ensure_roles() -> None:
    """Create/update the roles: dashboards via DASHBOARD_RBAC, data via per-dataset access."""
    from superset import security_manager
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db

    dashboards = dashboards_by_slug()
    gamma = security_manager.find_role("Gamma")
    sql_lab = security_manager.find_role("sql_lab")
    for spec in ROLES:
        role = security_manager.add_role(spec.name)
        chosen = [d for d in dashboards.values() if spec.pii or not _shows_pii(d)] if spec.dashboards == ("*",) else [
            dashboards[s] for s in spec.dashboards if s in dashboards
        ]
        # A role reads the datasets of its dashboards' charts; "*" roles (Analyst) every dataset,
        # so rollup-backed tables stay explorable row by row (customer_profiles, rfm_scores).
        tables = (db.session.query(SqlaTable).all() if spec.dashboards == ("*",) else
                  [chart.datasource for dashboard in chosen for chart in dashboard.slices])
        datasets = {table.id: table for table in tables
                    if table is not None and (spec.pii or table.table_name not in PII_DATASETS)}
        permissions = list(gamma.permissions)
        if spec.sql_lab:
            permissions += [p for p in sql_lab.permissions if p not in permissions]
        for table in datasets.values():
            pvm = security_manager.add_permission_view_menu("datasource_access", table.perm)
            permissions.append(pvm)
        role.permissions = permissions
        for dashboard in chosen:
            if role not in dashboard.roles:
                dashboard.roles.append(role)
    admin = security_manager.find_role("Admin")
    for dashboard in dashboards.values():
        if admin not in dashboard.roles:
            dashboard.roles.append(admin)
        dashboard.published = True
    db.session.commit()


def ensure_role_users() -> dict[str, str]:
    """One user per role (analyst, marketing, ...), passwords generated once into the state dir."""
    path = superset_dir() / "users.json"
    passwords = json.loads(path.read_text()) if path.exists() else {}
    for spec in ROLES:
        username = spec.name.lower()
        passwords.setdefault(username, secrets.token_urlsafe(12))
        ensure_user(username, [spec.name], passwords[username], f"{username}@ecomlytics.local")
    _private_file(path, json.dumps(passwords, indent=2))
    return passwords


def point_database_at_warehouse(uri: str) -> None:
    """Keep the imported database entry on the configured warehouse (survives DSN changes)."""
    from superset.extensions import db
    from superset.models.core import Database

    for database in db.session.query(Database).filter_by(database_name="ecomlytics"):
        database.set_sqlalchemy_uri(uri)
    db.session.commit()


def prepare(app) -> str:
    """Everything serve needs, inside the app context. Returns the admin password."""
    uri = config().sqlalchemy_uri("marts")
    password, generated = admin_password()
    with app.app_context():
        ensure_user("admin", ["Admin"], password, "admin@ecomlytics.local")
        import_bundle(uri)
        point_database_at_warehouse(uri)
        ensure_roles()
        ensure_role_users()
    if generated:
        print(f"Superset admin password (generated, shown once; kept in {superset_dir() / 'admin_password'}): "
              f"{password}")
    return password


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def export_bundle(app, out_dir: Path = ASSETS_DIR) -> int:
    """Write Superset's own export of every asset over ``out_dir`` (the bundle in the repository).

    The database URI becomes the placeholder again and no password is written, so the bundle stays
    portable between the embedded warehouse and servers. Returns the number of files written.
    """
    import shutil

    from flask import g
    from superset import security_manager
    from superset.commands.export.assets import ExportAssetsCommand

    written = 0
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
                text = yaml.safe_dump(data, sort_keys=False)
            if name.startswith("datasets/"):  # the configured currency becomes the placeholder again
                data = yaml.safe_load(text)
                for metric in data.get("metrics") or []:
                    if (metric.get("currency") or {}).get("symbol") == settings.currency():
                        metric["currency"]["symbol"] = CURRENCY_PLACEHOLDER
                if data.get("sql"):  # virtual datasets that print money (kpi_compare): ' RUB'
                    data["sql"] = data["sql"].replace(f"' {settings.currency()}'", f"' {CURRENCY_PLACEHOLDER}'")
                text = yaml.safe_dump(data, sort_keys=False)
            path.write_text(text)
            written += 1
    return written
