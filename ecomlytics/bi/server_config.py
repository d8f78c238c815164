"""ClickHouse server settings for the dashboards' read-only user, rendered from the BI connection's rules.

On a server the engine itself enforces what ``sql_guard`` asks of the embedded one: the user Superset
connects as has a read-only profile (``BI_SESSION_SETTINGS``: no table functions, no writes, no
settings changes) and may SELECT from the marts (``BI_DATABASES``) only; the server requires grants
for system tables and keeps file access in its (empty) user_files directory. ``docker-compose.yml``
mounts the rendered files (deploy/clickhouse/); tests check they equal this rendering.
"""

from __future__ import annotations

from pathlib import Path

from ecomlytics.bi.sql_guard import BI_DATABASES, BI_SESSION_SETTINGS

BI_USER = "ecomlytics_bi"
BI_PASSWORD_ENV = "ECOMLYTICS_BI_PASSWORD"
HEADER = "<!-- Rendered by `ecomlytics clickhouse-config` from ecomlytics/bi/sql_guard.py; do not edit. -->\n"


def bi_user_xml(user: str = BI_USER) -> str:
    """users.d file: the read-only profile and the BI user (password from the server's environment)."""
    settings = "".join(f"      <{name}>{value}</{name}>\n" for name, value in BI_SESSION_SETTINGS.items())
    grants = "".join(f"        <query>GRANT SELECT ON {database}.*</query>\n" for database in sorted(BI_DATABASES))
    return (
        f"{HEADER}<clickhouse>\n"
        f"  <profiles>\n    <{user}>\n{settings}    </{user}>\n  </profiles>\n"
        f"  <users>\n    <{user}>\n"
        f'      <password from_env="{BI_PASSWORD_ENV}"/>\n'
        f"      <profile>{user}</profile>\n"
        f"      <quota>default</quota>\n"
        f"      <networks><ip>::/0</ip></networks>\n"
        f"      <grants>\n{grants}      </grants>\n"
        f"    </{user}>\n  </users>\n</clickhouse>\n"
    )


def server_security_xml() -> str:
    """config.d file: system tables and information_schema need grants; file() stays in user_files."""
    return (
        f"{HEADER}<clickhouse>\n"
        "  <access_control_improvements>\n"
        "    <select_from_system_db_requires_grant>true</select_from_system_db_requires_grant>\n"
        "    <select_from_information_schema_requires_grant>true</select_from_information_schema_requires_grant>\n"
        "  </access_control_improvements>\n"
        "  <user_files_path>/var/lib/clickhouse/user_files/</user_files_path>\n"
        "</clickhouse>\n"
    )


def rendered_files() -> dict[str, str]:
    """Relative path under deploy/clickhouse/ -> content."""
    return {"users.d/ecomlytics-bi.xml": bi_user_xml(), "config.d/ecomlytics-security.xml": server_security_xml()}


def write(out_dir: Path) -> list[Path]:
    written = []
    for relative, text in rendered_files().items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
