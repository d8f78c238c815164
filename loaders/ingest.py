"""Load input files into the raw layer: validated, quarantined, idempotent and all-or-nothing.

One load = one file. Its rows are parsed by ClickHouse in a single pass into a Null-engine
staging table whose two materialized views split them into good rows (typed, shaped like the raw
table) and quarantined rows (line, raw text, reason). Good rows then become visible in one atomic
step: ``ATTACH PARTITION`` of the load's partition for append-only inputs, ``EXCHANGE TABLES``
with a rewritten copy for keyed inputs (the later load replaces the earlier rows). A load killed
at any point leaves only staging tables and a ``running`` row in ``raw.load_log``; the next run
finishes or rolls it back, so loading again is always safe. The same content is never loaded twice.

Single writer: one loader at a time per warehouse (embedded chDB enforces it anyway).
"""

from __future__ import annotations

import gzip
import os
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from loaders.formats import (
    PARQUET_MAGIC,
    InputError,
    Probe,
    compressed_file_error,
    content_hash,
    expected_names,
    kind_from_name,
    probe,
)
from loaders.lines import CsvLines, sql_string
from loaders.parsing import byte_checks, is_text, reason_expr, typed
from loaders.schema import INPUTS, RAW_DB, Column, InputSpec, added_columns_ddl, all_ddl

STAGE_DB = "raw_stage"
KIND_ORDER = list(INPUTS)  # contract order: visits, orders, costs, order_items, customers, events, refunds, ...
PROGRESS_MIN_BYTES = 32 << 20
console = Console(stderr=True)


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


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _new_load_id() -> int:
    # Increasing and unique for a single writer: microseconds since the epoch.
    time.sleep(1e-6)
    return time.time_ns() // 1000


class LoadLog:
    """raw.load_log access: one logical row per load, the highest version wins."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def write(self, result: LoadResult, file_hash: str, started: datetime, status: str) -> None:
        finished = None if status == "running" else _now()
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


class Stage:
    """Staging tables of one load, in database raw_stage."""

    def __init__(self, client: Client, spec: InputSpec, load_id: int) -> None:
        self.client, self.spec, self.load_id = client, spec, load_id
        prefix = f"`{STAGE_DB}`.`{spec.table}_{load_id}"
        self.entry, self.good, self.bad = f"{prefix}_in`", f"{prefix}_good`", f"{prefix}_bad`"
        self.next = f"{prefix}_next`"
        self.text = f"{prefix}_text`"  # server mode: the file's lines, streamed from this machine

    def create(self) -> None:
        spec = self.spec
        cols = ", ".join(f"`{c.name}` {c.ch_type}" for c in spec.columns)
        # Keyed inputs keep the line so that, within one file, the last row of a key wins.
        keep_line = ", `_line` UInt64" if spec.key else ""
        self.client.command(
            f"CREATE TABLE {self.entry} ({cols}, `load_id` UInt64, `_line` UInt64, `_reason` String, "
            "`_raw` String) ENGINE = Null"
        )
        self.client.command(
            f"CREATE TABLE {self.good} ({cols}, `load_id` UInt64{keep_line}) ENGINE = MergeTree "
            f"PARTITION BY {spec.partition_by} ORDER BY {spec.order_by}"
        )
        self.client.command(
            f"CREATE TABLE {self.bad} (`line_number` UInt64, `raw_line` String, `reason` String) "
            "ENGINE = MergeTree ORDER BY line_number"
        )
        names = ", ".join(f"`{c.name}`" for c in spec.columns)
        line = ", `_line`" if spec.key else ""
        self.client.command(
            f"CREATE MATERIALIZED VIEW {self.entry[:-1]}_mv_good` TO {self.good} AS "
            f"SELECT {names}, `load_id`{line} FROM {self.entry} WHERE `_reason` = ''"
        )
        self.client.command(
            f"CREATE MATERIALIZED VIEW {self.entry[:-1]}_mv_bad` TO {self.bad} AS "
            f"SELECT `_line` AS line_number, `_raw` AS raw_line, `_reason` AS reason "
            f"FROM {self.entry} WHERE `_reason` != ''"
        )

    def counts(self) -> tuple[int, int]:
        good = self.client.query(f"SELECT count() FROM {self.good}").result_rows[0][0]
        bad = self.client.query(f"SELECT count() FROM {self.bad}").result_rows[0][0]
        return good, bad

    def commit(self, result: LoadResult) -> None:
        """Make the good rows visible at once, then record the quarantined ones."""
        spec, raw_table = self.spec, f"`{RAW_DB}`.`{self.spec.table}`"
        if spec.key:
            key = ", ".join(f"`{k}`" for k in spec.key)
            names = ", ".join(f"`{c.name}`" for c in spec.columns) + ", `load_id`"
            dedupe = f"ORDER BY `_line` DESC LIMIT 1 BY {key}" if spec.unique_key else ""
            self.client.command(f"CREATE TABLE {self.next} AS {raw_table}")
            self.client.command(
                f"INSERT INTO {self.next} SELECT {names} FROM {raw_table} "
                f"WHERE ({key}) NOT IN (SELECT {key} FROM {self.good})"
            )
            self.client.command(f"INSERT INTO {self.next} SELECT {names} FROM {self.good} {dedupe}")
            self.client.command(f"EXCHANGE TABLES {raw_table} AND {self.next}")
        elif result.rows_loaded:
            self.client.command(f"ALTER TABLE {raw_table} ATTACH PARTITION {self.load_id} FROM {self.good}")
        self.client.command(
            f"INSERT INTO `{RAW_DB}`.`quarantine` SELECT {self.load_id}, {{kind:String}}, {{file:String}}, "
            f"line_number, raw_line, reason FROM {self.bad}",
            parameters={"kind": spec.kind, "file": str(result.file)},
        )

    def drop(self) -> None:
        for suffix in ("_mv_good`", "_mv_bad`"):
            self.client.command(f"DROP TABLE IF EXISTS {self.entry[:-1]}{suffix}")
        for table in (self.entry, self.good, self.bad, self.next, self.text):
            self.client.command(f"DROP TABLE IF EXISTS {table}")


def _source_columns(client: Client, path: Path) -> list[tuple[str, str]]:
    rows = client.query(f"DESCRIBE TABLE file({sql_string(str(path))}, 'Parquet')").result_rows
    return [(r[0], r[1]) for r in rows]


def _text_fields(p: Probe, parquet_types: dict[str, str]) -> dict[str, str]:
    """column -> String expression of the file's field ('' when the file lacks the column)."""
    fields: dict[str, str] = {}
    for column in p.spec.columns:
        if column.name not in p.positions:
            fields[column.name] = "''"
        elif p.fmt == "CSV":
            fields[column.name] = f"trimBoth({CsvLines.field(p.positions[column.name])})"
        else:
            source = f"`{p.source_names[column.name]}`"
            source_type = parquet_types.get(p.source_names[column.name], "")
            if "DateTime" in source_type:
                source = f"formatDateTime({source}, '%Y-%m-%d %H:%i:%S', 'UTC')"
            elif "Float" in source_type and column.ch_type.startswith("Decimal"):
                source = f"toString(round({source}, 2))"
            fields[column.name] = f"trimBoth(ifNull(toString({source}), ''))"
    return fields


def _default(column: Column) -> str:
    if column.ch_type.startswith("Nullable"):
        return "NULL"
    return "''" if is_text(column) else f"defaultValueOfTypeName({sql_string(column.ch_type)})"


def select_sql(p: Probe, load_id: int, file_hash: str, source: str, line_expr: str,
               parquet_types: dict[str, str] | None = None) -> str:
    """SELECT turning the source's rows into staging rows (typed values + reason + raw line).

    CSV: ``source`` yields lines (a ``line`` column, header included) and ``line_expr`` numbers
    them from 1. Parquet: ``source`` yields the file's columns and ``line_expr`` numbers rows.
    """
    spec = p.spec
    text = _text_fields(p, parquet_types or {})
    inner = [f"{expr} AS `t_{name}`" for name, expr in text.items()]
    inner += [f"{typed(c, f'`t_{c.name}`', p.delimiter == ';')} AS `v_{c.name}`" for c in spec.columns
              if not is_text(c)]
    t_fields = {n: f"`t_{n}`" for n in text}
    if p.fmt == "CSV":
        lines = CsvLines(p.delimiter, len(p.header))
        source, leading = lines.source(source, line_expr), lines.checks()
        inner += [*CsvLines.COLUMNS, "`_l` AS `_raw_all`"]
    else:
        leading = []
        raw_all = "arrayStringConcat([" + ", ".join(t_fields.values()) + "], ',')"
        inner += [f"{line_expr} AS `_line`", f"{raw_all} AS `_raw_all`"]
    leading += byte_checks("`_raw_all`", t_fields)
    values = {c.name: f"`t_{c.name}`" if is_text(c) else f"`v_{c.name}`" for c in spec.columns}
    reason = reason_expr(spec, t_fields, values, leading)
    outer = []
    for column in spec.columns:
        value = values[column.name]
        if column.name == spec.generated_id:
            # Orders (refunds) without an id get a stable one: content hash + line (same file -> same ids).
            value = f"if({value} = '', concat('h{file_hash[:16]}-', toString(`_line`)), {value})"
        elif column.normalise:
            value = column.normalise.format(v=value)
        elif not is_text(column) and not column.ch_type.startswith("Nullable"):
            value = f"ifNull({value}, {_default(column)})"
        outer.append(f"{value} AS `{column.name}`")
    # The raw line is kept for quarantined rows only; invalid UTF-8 in it becomes U+FFFD so that
    # raw.quarantine stays readable by every client.
    outer += [f"toUInt64({load_id}) AS `load_id`", "`_line`", f"{reason} AS `_reason`",
              "if(`_reason` = '', '', toValidUTF8(`_raw_all`)) AS `_raw`"]
    return (
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source})"
    )


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
        exists = self.client.query(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
            parameters={"db": STAGE_DB, "t": f"{stage.spec.table}_{result.load_id}_bad"},
        ).result_rows[0][0]
        if not present and exists:
            self.client.command(
                f"INSERT INTO `{RAW_DB}`.`quarantine` SELECT {result.load_id}, {{kind:String}}, {{file:String}}, "
                f"line_number, raw_line, reason FROM {stage.bad}",
                parameters={"kind": result.kind, "file": str(result.file)},
            )

    def load(self, path: Path, kind: str) -> LoadResult:
        started, clock = _now(), time.perf_counter()
        result = LoadResult(path, kind, "failed", load_id=_new_load_id())
        file_hash = ""
        try:
            file_hash = content_hash(path)
            previous = self.log.loaded_with_hash(file_hash)
            if previous is not None:
                result.status, result.load_id = "skipped", previous
                return result
            parquet_types: dict[str, str] = {}
            if path.name.lower().endswith(".parquet"):
                parquet_types = self._parquet_schema(path)
            p = probe(path, kind, list(parquet_types) if parquet_types or path.suffix == ".parquet" else None)
            self.log.write(result, file_hash, started, "running")
            stage = Stage(self.client, p.spec, result.load_id)
            stage.create()
            self._stage_rows(p, stage, file_hash, result.load_id)
            result.rows_loaded, result.rows_quarantined = stage.counts()
            result.rows_read = result.rows_loaded + result.rows_quarantined
            _fault_point("staged")
            self.log.write(result, file_hash, started, "committing")
            stage.commit(result)
            _fault_point("committed")
            result.status = "loaded"
            self.log.write(result, file_hash, started, "loaded")
            stage.drop()
        except InputError as exc:
            result.error = exc.reason
            self._fail(result, file_hash, started)
        except Exception as exc:  # noqa: BLE001 - any engine error rejects the file as a whole
            message = str(exc)
            if path.name.lower().endswith(".gz") and any(marker in message for marker in INFLATE_ERRORS):
                message = compressed_file_error(path).reason
            result.error = _first_line(message)
            self._fail(result, file_hash, started)
        finally:
            result.seconds = time.perf_counter() - clock
        return result

    def _parquet_schema(self, path: Path) -> dict[str, str]:
        with open(path, "rb") as handle:
            if handle.read(4) != PARQUET_MAGIC:
                raise InputError(path, "not a Parquet file (missing PAR1 magic bytes)")
        try:
            return dict(_source_columns(self.client, path))
        except Exception as exc:  # noqa: BLE001
            raise InputError(path, f"not a readable Parquet file: {_first_line(str(exc))}") from exc

    def _stage_rows(self, p: Probe, stage: Stage, file_hash: str, load_id: int) -> None:
        path = sql_string(str(p.path))
        if p.fmt == "Parquet":
            source, line_expr = f"file({path}, 'Parquet')", "_row_number + 1"
        elif self.embedded:
            compression = "'gzip'" if p.path.name.lower().endswith(".gz") else "'none'"
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
        opener = gzip.open if p.path.name.lower().endswith(".gz") else open
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


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0][:500] if message.strip() else "unknown error"


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
