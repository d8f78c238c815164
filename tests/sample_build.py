"""The generated sample, loaded and built in a warehouse of its own: what the mart tests compare with
their pandas references."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from ecomlytics import settings
from ecomlytics.dbt.runner import run_dbt, scoped_environ
from ecomlytics.sample_data import generate
from ecomlytics.warehouse.client import close_all, connect
from loaders.ingest import load_files


@contextmanager
def sample_built(home: Path, *, prepare: Callable[[Path], None] | None = None,
                 dbt_vars: dict[str, Any] | None = None) -> Iterator[tuple[Any, Path]]:
    """Generate the sample (2,500 users over 240 days) in ``home``/data, let ``prepare`` change the
    files, load them and run ``dbt build``; yields (client, data directory). The state directory and
    the warehouse point at ``home`` for as long as the block runs (the process's settings travel by
    environment for dbt), and are restored after."""
    environment = {settings.HOME_ENV: str(home), settings.WAREHOUSE_ENV: f"chdb://{home / 'warehouse'}"}
    with scoped_environ(environment):
        close_all()
        try:
            data = home / "data"
            generate(data, users=2500, days=240, seed=7, start=date(2017, 6, 1), bad_share=0.002)
            if prepare is not None:
                prepare(data)
            client = connect()
            assert all(r.status == "loaded" for r in load_files(client, [], directory=data, quiet=True))
            assert run_dbt("build", vars=dbt_vars), "dbt build (models + dbt tests) failed"
            yield client, data
        finally:
            close_all()
