"""raw.load_log: one logical row per load (the highest version wins), and what a load reports."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clickhouse_connect.driver.client import Client

from loaders.schema import RAW_DB


@dataclass
class LoadResult:
    file: Path
    kind: str | None
    status: str  # loaded | skipped | failed | unknown (a directory's file whose name matches no input)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str = ""
    load_id: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        name = f"{self.file.name} ({self.kind or '?'})"
        if self.status == "skipped":
            return f"[yellow]skipped[/]  {name}: already loaded (same content as load {self.load_id})"
        if self.status == "unknown":
            return f"[red]unknown[/]  {self.file.name}: {self.error}"
        if self.status == "failed":
            return f"[red]FAILED[/]   {name}: {self.error}"
        return (
            f"[green]loaded[/]   {name}: read {self.rows_read:,}, loaded {self.rows_loaded:,}, "
            f"quarantined {self.rows_quarantined:,} in {self.seconds:.1f}s"
        )


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_load_id() -> int:
    # Increasing and unique for a single writer: microseconds since the epoch.
    time.sleep(1e-6)
    return time.time_ns() // 1000


class LoadLog:
    """raw.load_log access: one logical row per load, the highest version wins."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def write(self, result: LoadResult, file_hash: str, started: datetime, status: str) -> None:
        finished = None if status == "running" else now()
        # A parameterised INSERT ... VALUES: client.insert() would first fetch the table's columns.
        self.client.command(
            f"INSERT INTO {RAW_DB}.load_log VALUES ({{load_id:UInt64}}, {{kind:String}}, {{file:String}}, "
            "{hash:String}, {started:DateTime64(3)}, {finished:Nullable(DateTime64(3))}, {read:UInt64}, "
            "{loaded:UInt64}, {quarantined:UInt64}, {status:String}, {error:String}, {version:UInt64})",
            parameters={"load_id": result.load_id, "kind": result.kind or "", "file": str(result.file),
                        "hash": file_hash, "started": started, "finished": finished, "read": result.rows_read,
                        "loaded": result.rows_loaded, "quarantined": result.rows_quarantined, "status": status,
                        "error": result.error, "version": time.time_ns()},
        )

    def loaded_with_hash(self, file_hash: str) -> int | None:
        rows = self.client.query(
            f"SELECT load_id FROM {RAW_DB}.load_log FINAL WHERE content_hash = {{h:String}} "
            "AND status = 'loaded' ORDER BY load_id LIMIT 1",
            parameters={"h": file_hash},
        ).result_rows
        return rows[0][0] if rows else None

    def interrupted(self) -> list[tuple[int, str, str, str, datetime, int, int, int]]:
        return self.client.query(
            f"SELECT load_id, kind, file_name, content_hash, started_at, rows_read, rows_loaded, "
            f"rows_quarantined FROM {RAW_DB}.load_log FINAL WHERE status IN ('running', 'committing')"
        ).result_rows
