"""Which project built the warehouse's views and seeds, so a refresh of the data leaves them be.

A daily refresh changes data, not code: the views (staging, the few view marts) and the seeds it
would re-create are the ones the last complete build made from the same project. dbt's own
``state:modified`` compares nodes one by one but not the vars a view compiles with (e.g.
``base_currency``), so the comparison here is all or nothing: every file dbt parses, the vars and
the dbt / adapter versions. When they equal what the last complete build recorded in the warehouse,
and every view and seed is still there, a refresh excludes those nodes (``STATIC_NODES_EXCLUDED``);
the tests on the views still run (they check the new data), the tests on the seeds do not (their
content is the one already tested). Anything changed, and the refresh builds everything again.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from typing import Any

STATE_TABLE = "intermediate.dbt_project_state"
# dbt selection for a refresh of an unchanged project: no seed (nor the tests in seeds/*.yml), no view
# model, no exposure (a no-op); `empty` keeps the tests of the excluded views selected.
STATIC_NODES_EXCLUDED = ["--indirect-selection", "empty", "--exclude", "path:seeds",
                         "config.materialized:view,resource_type:model", "resource_type:exposure"]


def project_key(fingerprint: tuple, base_args: list[str]) -> str:
    """One string for what the views and seeds are built from: the project's files (their fingerprint),
    dbt's arguments (vars) and the versions of dbt and its adapter (their macros)."""
    versions = tuple(version(package) for package in ("dbt-core", "dbt-clickhouse"))
    return hashlib.sha256(repr((fingerprint, tuple(base_args), versions)).encode()).hexdigest()


def static_relations(manifest: Any) -> set[tuple[str, str]]:
    """(database, name) of every seed and view model in a parsed manifest."""
    return {(node.schema, node.alias or node.name) for node in manifest.nodes.values()
            if node.resource_type == "seed"
            or (node.resource_type == "model" and node.config.materialized == "view")}


def recorded_key(client: Any) -> str | None:
    """The project key the last complete build recorded, if any."""
    database, table = STATE_TABLE.split(".")
    exists = client.query("SELECT count() FROM system.tables WHERE database = {d:String} AND name = {t:String}",
                          parameters={"d": database, "t": table}).result_rows[0][0]
    if not exists:
        return None
    return client.query(f"SELECT argMax(project_key, recorded_at) FROM {STATE_TABLE}").result_rows[0][0] or None


def unchanged_since_last_build(client: Any, manifest: Any, key: str) -> bool:
    """The last complete build was of this very project, and its views and seeds are all still there."""
    if recorded_key(client) != key:
        return False
    wanted = static_relations(manifest)
    rows = client.query("SELECT database, name FROM system.tables WHERE database IN {dbs:Array(String)}",
                        parameters={"dbs": sorted({database for database, _ in wanted})}).result_rows
    return wanted <= {tuple(row) for row in rows}


def record_build(client: Any, key: str) -> None:
    """After a complete build that passed: its views and seeds were built from the project ``key``."""
    client.command(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (project_key String, "
                   "recorded_at DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree ORDER BY recorded_at")
    client.command(f"INSERT INTO {STATE_TABLE} (project_key) VALUES ({{key:String}})", parameters={"key": key})

