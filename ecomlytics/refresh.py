"""One refresh: load the new files of a directory, then build the marts and publish them all at once.

`ecomlytics run` (the main job) and the serving process's scheduled refresh both run this, so they
load, build and handle failures the same way: every file is reported (loaded, skipped as already
loaded, failed, not recognised); a failed file loads nothing and does not stop the build of what
did load; a failed build publishes nothing (ecomlytics/dbt/publish.py), the marts stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

console = Console(stderr=True)


@dataclass
class RefreshOutcome:
    """What a refresh did: the load's result per file, and whether the build passed and was published."""

    loads: list = field(default_factory=list)  # loaders.load_log.LoadResult
    built: bool = False

    @property
    def failed_files(self) -> list[Path]:
        return [result.file for result in self.loads if result.status == "failed"]


def load_new_files(directory: Path | None, *, archive_loaded: bool = False, label: str | None = None) -> list:
    """Load ``directory`` (if given and present) by `load --dir`'s rules; the result per file, summed up
    in one line headed ``label`` (default: the directory)."""
    from ecomlytics.warehouse.client import connect
    from loaders.inbox import archive_done
    from loaders.ingest import init_warehouse, load_files, tally, tally_line

    if directory is None or not directory.is_dir():
        return []
    client = connect()
    init_warehouse(client)
    loads = load_files(client, [], directory=directory, client_factory=connect)
    console.print(f"{label or directory}: {tally_line(tally(loads))}")
    if archive_loaded:
        for path in archive_done(directory, loads):
            console.print(f"archived {path}")
    return loads


def build_and_publish(*, verbose: bool = False, progress: bool = False) -> bool:
    """`dbt build` into the shadow and publish; True when built and published."""
    from ecomlytics.dbt.runner import run_dbt

    built = run_dbt("build", verbose=verbose, progress=progress)
    if not built:
        console.print("[red]dbt build failed[/]: nothing published, the marts are as before "
                      "(dbt's log above and in dbt.log)")
    return built


def refresh(directory: Path | None, *, archive_loaded: bool = False, verbose: bool = False,
            progress: bool = False, label: str | None = None) -> RefreshOutcome:
    """Load the new files of ``directory``, then build and publish the marts."""
    loads = load_new_files(directory, archive_loaded=archive_loaded, label=label)
    return RefreshOutcome(loads, build_and_publish(verbose=verbose, progress=progress))
