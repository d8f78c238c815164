"""Facts the loaders share with the dbt project, read from its seeds so each is kept in one place.

The project is ``$ECOMLYTICS_PROJECT_DIR`` (as for dbt) or the repository this package runs from.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

PROJECT_DIR_ENV = "ECOMLYTICS_PROJECT_DIR"
REPO_DIR = Path(__file__).resolve().parents[1]


def seed_path(name: str) -> Path:
    """The CSV of the dbt seed ``name``."""
    path = Path(os.environ.get(PROJECT_DIR_ENV, REPO_DIR)) / "seeds" / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no dbt seed {path} (set {PROJECT_DIR_ENV} to the dbt project)")
    return path


def event_types() -> tuple[str, ...]:
    """The behaviour event types the events input may hold (seeds/event_types.csv), in event order."""
    with open(seed_path("event_types"), newline="", encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["event_order"]))
    return tuple(row["event"] for row in rows)
