"""What the last dbt invocation of a test reported (its run_results.json in the state dir)."""

from __future__ import annotations

import json

from ecomlytics import settings


def failed_tests() -> set[str]:
    """Names of the data tests that failed (found failing rows) in the last dbt invocation."""
    results = json.loads((settings.state_dir() / "dbt" / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2] for r in results if r["status"] == "fail"}
