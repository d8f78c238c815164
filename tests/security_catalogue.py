"""Ways a BI user could try to make the warehouse read files, the network, settings or other tables.

One catalogue for every layer's test (tests/test_sql_guard.py: the engine side and Superset's side each
on its own; tests/test_security.py: every role through the served Superset). Grow it as you think of
more. ``statement`` is a whole query (SQL Lab, the engine); ``expression`` the same reach as a custom SQL
metric of a chart request, where one exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    canary: str  # a file whose content must never come back
    url: str  # a local HTTP server that must never be asked
    pii_table: str = "marts.rfm_customers"


@dataclass(frozen=True)
class Attempt:
    name: str
    statement: str
    expression: str | None = None


def attempts(target: Target) -> list[Attempt]:
    canary, url, pii = target.canary, target.url, target.pii_table
    folder = canary.rsplit("/", 1)[0]
    db, table = pii.split(".")
    return [
        Attempt("scalar file()", f"SELECT file('{canary}') AS x", f"any(file('{canary}'))"),
        Attempt("scalar file() quoted", f"SELECT `file`('{canary}') AS x", f"any(`file`('{canary}'))"),
        Attempt("scalar file() with a comment", f"SELECT file/**/('{canary}') AS x", f"any(file/**/('{canary}'))"),
        Attempt("scalar file() in a CTE", f"WITH file('{canary}') AS f SELECT f"),
        Attempt("scalar file() beside syntax Superset's parser cannot read",
                f"SELECT quantileExactInclusive(0.5)(1) AS q, file('{canary}') AS x"),
        Attempt("scalar file() relative", f"SELECT file('../{canary.rsplit('/', 2)[1]}/{canary.rsplit('/', 1)[1]}')"),
        Attempt("table file()", f"SELECT * FROM file('{canary}', 'LineAsString')",
                f"any((SELECT any(line) FROM file('{canary}', 'LineAsString')))"),
        Attempt("filesystem()", f"SELECT name FROM filesystem('{folder}')"),
        Attempt("url()", f"SELECT * FROM url('{url}', 'LineAsString')"),
        Attempt("executable()", f"SELECT * FROM executable('cat {canary}', 'LineAsString', 'line String')"),
        Attempt("merge() over a PII table", f"SELECT email FROM merge('{db}', '^{table}$')"),
        Attempt("cluster() over a PII table", f"SELECT email FROM cluster('default', {pii})"),
        Attempt("remote() over a PII table", f"SELECT email FROM remote('127.0.0.1', {pii})"),
        Attempt("system.disks (paths)", "SELECT name, path FROM system.disks"),
        Attempt("system.query_log", "SELECT query FROM system.query_log"),
        Attempt("system table in IN", "SELECT 1 AS x WHERE 'marts' IN system.databases"),
        Attempt("information_schema", "SELECT table_name FROM information_schema.tables"),
        Attempt("getSetting()", "SELECT getSetting('max_threads') AS x", "any(getSetting('max_threads'))"),
        Attempt("getServerSetting()", "SELECT getServerSetting('path') AS x", "any(getServerSetting('path'))"),
        Attempt("version()", "SELECT version() AS x", "any(version())"),
        Attempt("hostName()", "SELECT hostName() AS x", "any(hostName())"),
        Attempt("SETTINGS override", "SELECT 1 AS x SETTINGS readonly = 0"),
        Attempt("sleep()", "SELECT sleep(3) AS x", "any(sleep(3))"),
    ]
