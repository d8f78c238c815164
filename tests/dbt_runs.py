"""What the last dbt invocation of a test reported (its run_results.json in the state dir)."""

from __future__ import annotations

import json

from ecomlytics import settings


def failed_tests() -> set[str]:
    """Names of the data tests that failed (found failing rows) in the last dbt invocation."""
    results = json.loads((settings.state_dir() / "dbt" / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2] for r in results if r["status"] == "fail"}


def failed_checks() -> set[tuple[str, str]]:
    """(generic test, model it is attached to) of each data test that failed in the last invocation."""
    target = settings.state_dir() / "dbt" / "target"
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    results = json.loads((target / "run_results.json").read_text())["results"]
    failed = set()
    for r in results:
        node = nodes.get(r["unique_id"], {})
        if r["status"] == "fail" and node.get("test_metadata") and node.get("attached_node"):
            failed.add((node["test_metadata"]["name"], node["attached_node"].split(".")[-1]))
    return failed
