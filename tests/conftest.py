"""Shared fixtures. Every test runs against the real embedded engine (chDB).

A process can hold one chDB directory at a time, so a test that needs its own warehouse gets a
fresh directory through ``warehouse`` and all clients are closed when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ecomlytics import settings
from ecomlytics.warehouse.client import close_all, connect

REPO_ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.superset_served"]  # the session-wide `served` Superset


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that change the served data (a scheduled refresh) run after every test that reads it; those
    marked ``changes_served_data(order=N)`` after those with a lower N (default 0): a test that adds
    data goes after one that compares the served data with the inputs before adding its own."""
    def rank(item: pytest.Item) -> int:
        marker = item.get_closest_marker("changes_served_data")
        return 0 if marker is None else 1 + marker.kwargs.get("order", 0)

    items.sort(key=rank)


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ECOMLYTICS_HOME for one test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv(settings.HOME_ENV, str(home))
    return home


@pytest.fixture
def warehouse(state_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DSN of a fresh embedded warehouse, published through $ECOMLYTICS_WAREHOUSE."""
    dsn = f"chdb://{state_home / 'warehouse'}"
    monkeypatch.setenv(settings.WAREHOUSE_ENV, dsn)
    close_all()
    yield dsn
    close_all()


@pytest.fixture
def client(warehouse: str):
    """A clickhouse-connect client on the fresh warehouse."""
    return connect(warehouse)
