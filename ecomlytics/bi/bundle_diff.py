"""What a Superset export changes against the committed bundle, asset by asset and setting by setting.

`superset_assets/` has one writer, `ecomlytics/bi/bundle_builder.py`, which renders the description in
`superset_assets/description/` (a test keeps the committed files equal to its rendering). A dashboard
edited in the UI comes back through `ecomlytics superset-export`, which writes Superset's export
elsewhere and prints this comparison: which charts, datasets and dashboards were added, removed or
changed, in which settings (e.g. ``params.y_axis_title``) and in which description file the asset is
described, so the change can be made there and rendered again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KINDS = ("dashboards", "charts", "datasets")
# Settings Superset stores as JSON text inside the YAML: compared as data, not as strings.
JSON_TEXT = ("params", "query_context", "json_metadata", "position", "extra", "template_params")
# Database ids of charts, datasets and dashboards: each Superset gives its own, the uuids identify.
ID_KEYS = {"chartId", "datasetId", "datasource", "datasource_id", "slice_id", "dashboardId", "excluded",
           "chartsInScope"}
# Lists of settings objects are compared item by item under these names, not by position.
ITEM_KEYS = ("column_name", "metric_name", "id", "name")
# Written by every export with new values, not by an edit.
VOLATILE = {"version", "query_context.result_format", "query_context.result_type"}


@dataclass(frozen=True)
class AssetChange:
    kind: str  # dashboards, charts, datasets
    name: str  # title, chart name or table name
    change: str  # added, removed, changed
    settings: tuple[str, ...] = ()
    described_in: str = ""  # the description file to make the change in, when known

    def line(self) -> str:
        detail = f": {', '.join(self.settings)}" if self.settings else ""
        where = f"  [{self.described_in}]" if self.described_in else ""
        return f"{self.change:8} {self.kind[:-1]:9} {self.name}{detail}{where}"


def _assets(bundle: Path, kind: str) -> dict[str, dict]:
    assets = {}
    for path in sorted((bundle / kind).rglob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        for key in JSON_TEXT:
            if isinstance(data.get(key), str) and data[key].strip().startswith(("{", "[")):
                data[key] = json.loads(data[key])
        assets[data.get("uuid", str(path))] = data
    return assets


def _name(data: dict) -> str:
    return str(data.get("dashboard_title") or data.get("slice_name") or data.get("table_name") or data.get("uuid"))


def _item_key(index: int, item: Any) -> str:
    if isinstance(item, dict):
        for key in ITEM_KEYS:
            if isinstance(item.get(key), str):
                return item[key]
    return str(index)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf settings by dotted path (list items by their name), without database ids; empty = unset."""
    if isinstance(value, dict):
        items = [(key, item) for key, item in value.items()
                 if key not in ID_KEYS and not (key == "id" and isinstance(item, int))]
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        items = [(_item_key(index, item), item) for index, item in enumerate(value)]
    else:
        return {} if value in (None, "", [], {}) else {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in items:
        flat |= _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    return flat


def changed_settings(before: dict, after: dict) -> tuple[str, ...]:
    """Dotted paths of the settings that differ."""
    old, new = _flatten(before), _flatten(after)
    return tuple(sorted(key for key in old.keys() | new.keys()
                        if key not in VOLATILE and old.get(key) != new.get(key)))


def compare(committed: Path, exported: Path, described_in: Mapping[str, str] | None = None) -> list[AssetChange]:
    """Every asset the export adds, removes or changes against the committed bundle; ``described_in``:
    asset UUID -> the description file it is described in (bundle_builder.description_files)."""
    files = described_in or {}
    changes = []
    for kind in KINDS:
        before, after = _assets(committed, kind), _assets(exported, kind)
        for uuid in before.keys() - after.keys():
            changes.append(AssetChange(kind, _name(before[uuid]), "removed", described_in=files.get(uuid, "")))
        for uuid in after.keys() - before.keys():
            changes.append(AssetChange(kind, _name(after[uuid]), "added"))
        for uuid in before.keys() & after.keys():
            settings = changed_settings(before[uuid], after[uuid])
            if settings:
                changes.append(AssetChange(kind, _name(after[uuid]), "changed", settings, files.get(uuid, "")))
    return sorted(changes, key=lambda c: (KINDS.index(c.kind), c.name, c.change))
