"""What the last dbt invocation of a test reported (its run_results.json in the state dir)."""

from __future__ import annotations

import json

from ecomlytics import settings


def last_results() -> list[dict]:
    """The node results of the last dbt invocation."""
    return json.loads((settings.state_dir() / "dbt" / "target" / "run_results.json").read_text())["results"]


def failed_tests() -> set[str]:
    """Names of the data tests that failed (found failing rows) in the last dbt invocation."""
    return {r["unique_id"].split(".")[2] for r in last_results() if r["status"] == "fail"}


def nodes_run() -> set[str]:
    """unique_ids of the nodes the last dbt invocation ran."""
    return {r["unique_id"] for r in last_results()}


def failed_checks() -> set[tuple[str, str]]:
    """(generic test, model it is attached to) of each data test that failed in the last invocation."""
    nodes = json.loads((settings.state_dir() / "dbt" / "target" / "manifest.json").read_text())["nodes"]
    failed = set()
    for r in last_results():
        node = nodes.get(r["unique_id"], {})
        if r["status"] == "fail" and node.get("test_metadata") and node.get("attached_node"):
            failed.add((node["test_metadata"]["name"], node["attached_node"].split(".")[-1]))
    return failed
