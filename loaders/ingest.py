"""Load input files into the raw layer: validated, quarantined, idempotent and all-or-nothing.

One load = one file: recognised (``formats``), its rows parsed by ClickHouse in a single pass into
staging tables and published at once (``staging``), recorded in ``raw.load_log`` (``load_log``). A
load killed at any point leaves only staging tables and a ``running`` row in ``raw.load_log``; the
next run finishes or rolls it back, so loading again is always safe. The same content is never
loaded twice.

Single writer: one loader at a time per warehouse (embedded chDB enforces it anyway).
"""

from __future__ import annotations

import gzip
import os
import threading
import time
import zlib
from datetime import datetime
from pathlib import Path

from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from loaders.formats import (
    InputError,
    Probe,
    compressed_file_error,
    content_hash,
    expected_names,
    first_line,
    is_gzip,
    kind_from_name,
    probe_file,
)
from loaders.lines import sql_string
from loaders.load_log import LoadLog, LoadResult, new_load_id, now
from loaders.schema import INPUTS, RAW_DB, InputSpec, added_columns_ddl, all_ddl
from loaders.staging import STAGE_DB, Stage, select_sql

__all__ = ["LoadResult", "Loader", "init_warehouse", "load_files", "tally", "tally_line"]

KIND_ORDER = list(INPUTS)  # contract order: visits, orders, costs, order_items, customers, events, refunds, ...
PROGRESS_MIN_BYTES = 32 << 20
console = Console(stderr=True)


def init_warehouse(client: Client) -> None:
    """Create the raw layer idempotently."""
    for statement in all_ddl():
        client.command(statement)
    columns: dict[str, list[str]] = {}
    for table, name in client.query(
        "SELECT table, name FROM system.columns WHERE database = {db:String}", parameters={"db": RAW_DB}
    ).result_rows:
        columns.setdefault(table, []).append(name)
    for statement in added_columns_ddl(columns):
        client.command(statement)


# Parse and write with every core: parsing, not I/O, bounds a load.
INSERT_SETTINGS: dict[str, object] = {"max_insert_threads": 2, "parallel_view_processing": 1}
# The engine's words for a .gz it cannot inflate to the end (truncated, corrupt, no CRC trailer).
INFLATE_ERRORS = ("ZLIB_INFLATE_FAILED", "inflate failed")


class _Progress:
    """A progress bar fed by system.processes (read bytes of the running INSERT) for big files."""

    def __init__(self, client_factory, marker: str, path: Path, label: str) -> None:
        self.client_factory, self.marker, self.total = client_factory, marker, path.stat().st_size
        self.label, self.stop = label, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Progress:
        if self.total >= PROGRESS_MIN_BYTES and self.client_factory is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=2)

    def _run(self) -> None:
        try:
            watcher = self.client_factory()
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task(self.label, total=self.total)
                while not self.stop.wait(0.5):
                    rows = watcher.query(
                        "SELECT max(read_bytes) FROM system.processes WHERE position(query, {m:String}) > 0 "
                        "AND query NOT LIKE '%system.processes%'",
                        parameters={"m": self.marker},
                    ).result_rows
                    if rows and rows[0][0]:
                        bar.update(task, completed=min(rows[0][0], self.total))
        except Exception:  # noqa: BLE001 - progress is cosmetic, never fail a load for it
            return


class Loader:
    """Loads files one at a time into one warehouse."""

    def __init__(self, client: Client, client_factory=None) -> None:
        self.client = client
        self.client_factory = client_factory
        self.log = LoadLog(client)
        self.embedded = type(client).__name__.lower().startswith("chdb")

    def prepare(self) -> None:
        """Create the raw layer, then finish or roll back loads a crash interrupted."""
        init_warehouse(self.client)
        self.client.command(f"CREATE DATABASE IF NOT EXISTS `{STAGE_DB}`")
        for load_id, kind, file_name, file_hash, started, read, loaded, quarantined in self.log.interrupted():
            spec = INPUTS.get(kind)
            committed = spec is not None and loaded > 0 and self._has_rows(spec, load_id)
            result = LoadResult(Path(file_name), kind, "loaded" if committed else "failed", read, loaded,
                                quarantined, "" if committed else "interrupted; rolled back", load_id)
            if committed:
                self._ensure_quarantine(result)
            else:
                self.client.command(f"ALTER TABLE `{RAW_DB}`.`quarantine` DROP PARTITION {load_id}")
                if spec is not None and not spec.key:
                    self.client.command(f"ALTER TABLE `{RAW_DB}`.`{spec.table}` DROP PARTITION {load_id}")
            self.log.write(result, file_hash, started, "loaded" if committed else "aborted")
        # Whatever is left in staging belongs to loads that are now finished or rolled back.
        for (table,) in self.client.query(
            "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY engine = 'MaterializedView' DESC",
            parameters={"db": STAGE_DB},
        ).result_rows:
            self.client.command(f"DROP TABLE IF EXISTS `{STAGE_DB}`.`{table}`")

    def _has_rows(self, spec: InputSpec, load_id: int) -> bool:
        query = f"SELECT count() > 0 FROM `{RAW_DB}`.`{spec.table}` WHERE load_id = {load_id}"
        return bool(self.client.query(query).result_rows[0][0])

    def _ensure_quarantine(self, result: LoadResult) -> None:
        # The crash may have come between the data commit and the quarantine insert: the stage's
        # bad rows are still there in that case.
        stage = Stage(self.client, INPUTS[result.kind], result.load_id)
        present = self.client.query(
            f"SELECT count() FROM `{RAW_DB}`.`quarantine` WHERE load_id = {result.load_id}"
        ).result_rows[0][0]
        if not present and stage.has_quarantine_table():
            stage.record_quarantine(str(result.file))

    def load(self, path: Path, kind: str) -> LoadResult:
        started, clock = now(), time.perf_counter()
        result = LoadResult(path, kind, "failed", load_id=new_load_id())
        file_hash = ""
        try:
            file_hash = content_hash(path)
            previous = self.log.loaded_with_hash(file_hash)
            if previous is not None:
                result.status, result.load_id = "skipped", previous
                return result
            p = probe_file(self.client, path, kind)
            self.log.write(result, file_hash, started, "running")
            stage = Stage(self.client, p.spec, result.load_id)
            stage.create()
            self._stage_rows(p, stage, file_hash, result.load_id)
            result.rows_loaded, result.rows_quarantined = stage.counts()
            result.rows_read = result.rows_loaded + result.rows_quarantined
            _fault_point("staged")
            self.log.write(result, file_hash, started, "committing")
            stage.commit(result.rows_loaded, str(result.file))
            _fault_point("committed")
            result.status = "loaded"
            self.log.write(result, file_hash, started, "loaded")
            stage.drop()
        except InputError as exc:
            result.error = exc.reason
            self._fail(result, file_hash, started)
        except Exception as exc:  # noqa: BLE001 - any engine error rejects the file as a whole
            message = str(exc)
            if is_gzip(path) and any(marker in message for marker in INFLATE_ERRORS):
                message = compressed_file_error(path).reason
            result.error = first_line(message)
            self._fail(result, file_hash, started)
        finally:
            result.seconds = time.perf_counter() - clock
        return result

    def _stage_rows(self, p: Probe, stage: Stage, file_hash: str, load_id: int) -> None:
        path = sql_string(str(p.path))
        if p.fmt == "Parquet":
            source, line_expr = f"file({path}, 'Parquet')", "_row_number + 1"
        elif self.embedded:
            compression = "'gzip'" if p.compressed else "'none'"
            source, line_expr = f"file({path}, 'LineAsString', 'line String', {compression})", "_row_number + 1"
        else:
            self._stream_csv(p, stage, file_hash, load_id)
            return
        marker = f"{p.spec.table}_{load_id}_in"
        _watch_insert_for_fault(self.client_factory, marker)
        with _Progress(self.client_factory, marker, p.path, f"loading {p.path.name}"):
            self.client.command(
                f"INSERT INTO {stage.entry} {select_sql(p, load_id, file_hash, source, line_expr)}",
                settings=INSERT_SETTINGS,
            )

    def _stream_csv(self, p: Probe, stage: Stage, file_hash: str, load_id: int) -> None:
        """Server mode: the file is on this machine, so stream its lines into a staging table first.

        A Log table keeps the lines in file order, so rowNumberInAllBlocks() (one reading thread)
        gives each its line number; then the same validating SELECT runs inside the server.
        """
        text_table = stage.text
        self.client.command(f"CREATE TABLE {text_table} (line String) ENGINE = Log")
        opener = gzip.open if p.compressed else open
        try:
            with opener(p.path, "rb") as handle:
                self.client.raw_insert(text_table, insert_block=iter(lambda: handle.read(1 << 20), b""),
                                       fmt="LineAsString")
        except (EOFError, OSError, zlib.error) as exc:
            if opener is gzip.open:
                raise compressed_file_error(p.path) from exc
            raise
        source = f"(SELECT line, rowNumberInAllBlocks() AS _n FROM {text_table})"
        self.client.command(f"INSERT INTO {stage.entry} {select_sql(p, load_id, file_hash, source, '_n + 1')}",
                            settings={"max_threads": 1})

    def _fail(self, result: LoadResult, file_hash: str, started: datetime) -> None:
        result.status = "failed"
        try:
            self.client.command(f"ALTER TABLE `{RAW_DB}`.`quarantine` DROP PARTITION {result.load_id}")
            Stage(self.client, INPUTS[result.kind], result.load_id).drop()
            result.rows_read = result.rows_loaded = result.rows_quarantined = 0
            self.log.write(result, file_hash, started, "failed")
        except Exception:  # noqa: BLE001 - the original error is what the user needs to see
            pass


FAULT_ENV = "ECOMLYTICS_FAULT_AT"
_halted = threading.Event()  # a fault point was reached: the load goes no further


def _fault_point(name: str, detail: str = "") -> None:
    """Crash-test hook: with ECOMLYTICS_FAULT_AT=<name> the load stops here until it is killed, and once
    any point was reached (the insert watcher's runs in its own thread) the load stops at the next one
    too, so the state a test kills is exactly the state of that point. Off unless the variable is set."""
    if os.environ.get(FAULT_ENV) == name or _halted.is_set():
        _halted.set()
        print(f"fault point reached: {name}{detail}", flush=True)
        while True:
            time.sleep(1)


def _watch_insert_for_fault(client_factory, marker: str) -> None:
    """Fault point ``inserting``: reached while the staging INSERT has read some rows of the file."""
    if os.environ.get(FAULT_ENV) != "inserting" or client_factory is None:
        return

    def watch() -> None:
        watcher = client_factory()
        while True:
            rows = watcher.query(
                "SELECT max(read_rows) FROM system.processes WHERE position(query, {m:String}) > 0 "
                "AND query NOT LIKE '%system.processes%'", parameters={"m": marker}).result_rows
            if rows and rows[0][0]:
                _fault_point("inserting", f" (read {rows[0][0]} rows)")
            time.sleep(0.01)

    threading.Thread(target=watch, daemon=True).start()


def discover(directory: Path) -> tuple[list[tuple[Path, str]], list[Path]]:
    """Every file in a directory: (recognised inputs in contract order then name order, the rest).

    Several files of one input (daily exports) load in name order, so dated names load oldest
    first and a later file's keyed rows replace an earlier one's. Sub-directories (``archive/``)
    are not looked into.
    """
    if not directory.is_dir():
        raise InputError(directory, "not a directory")
    files = sorted((path for path in directory.iterdir() if path.is_file()), key=lambda p: (p.name.lower(), p.name))
    found = [(path, kind_from_name(path)) for path in files]
    known = sorted(((p, k) for p, k in found if k), key=lambda pk: KIND_ORDER.index(pk[1]))  # stable: name order kept
    return known, [p for p, k in found if k is None]


def load_files(
    client: Client,
    paths: list[Path],
    directory: Path | None = None,
    kind: str | None = None,
    client_factory=None,
    quiet: bool = False,
) -> list[LoadResult]:
    """Load files (and every recognised input in ``directory``); one summary line per file.

    Every file of ``directory`` gets a result: loaded, skipped (same content already loaded),
    failed, or ``unknown`` (its name matches no input; nothing is read from it).
    """
    loader = Loader(client, client_factory)
    loader.prepare()
    todo: list[tuple[Path, str | None]] = [(Path(p), kind or kind_from_name(Path(p))) for p in paths]
    unknown: list[Path] = []
    if directory is not None:
        known, unknown = discover(Path(directory))
        todo += known
    results = []
    for path, file_kind in todo:
        if file_kind is None:
            result = LoadResult(path, None, "failed", error="cannot tell the input kind from the file name; use --kind")
        else:
            result = loader.load(path, file_kind)
        results.append(result)
        if not quiet:
            console.print(result.summary())
    for path in unknown:
        result = LoadResult(path, None, "unknown", error=f"not recognised as an input (names: {expected_names()})")
        results.append(result)
        if not quiet:
            console.print(result.summary())
    return results


def tally(results: list[LoadResult]) -> dict[str, int]:
    """Files per status (loaded, skipped, failed, unknown), for exit codes and log lines."""
    counts = dict.fromkeys(("loaded", "skipped", "failed", "unknown"), 0)
    for result in results:
        counts[result.status] += 1
    return counts


def tally_line(counts: dict[str, int]) -> str:
    """'2 loaded, 1 skipped, 0 failed, 1 unknown': the closing line of a directory load."""
    return ", ".join(f"{n} {status}" for status, n in counts.items())
