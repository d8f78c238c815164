"""Which marts hold contact data (PII): the models whose YAML flags a column (or the model) with
``meta: {pii: true}``, read from dbt's manifest, so the dbt project stays the one place that says so.
The Superset security setup grants those datasets to CRM and Admin only."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ecomlytics.settings import state_dir


def manifest_path() -> Path:
    return state_dir() / "dbt" / "target" / "manifest.json"


def _flags_pii(node: dict) -> bool:
    def flagged(entry: dict) -> bool:
        return bool(entry.get("meta", {}).get("pii") or entry.get("config", {}).get("meta", {}).get("pii"))

    return flagged(node) or any(flagged(column) for column in node.get("columns", {}).values())


@lru_cache(maxsize=1)
def pii_datasets() -> frozenset[str]:
    """Names of the dbt models with PII (parses the project first when no manifest is there yet)."""
    path = manifest_path()
    if not path.exists():
        from ecomlytics.dbt.runner import parse_project

        if not parse_project():
            raise RuntimeError("the dbt project does not parse: cannot tell which marts hold contact data")
    nodes = json.loads(path.read_text())["nodes"].values()
    return frozenset(node["name"] for node in nodes if node["resource_type"] == "model" and _flags_pii(node))
