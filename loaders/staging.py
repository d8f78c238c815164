"""Staging of one load: its rows parsed and split inside ClickHouse, then published at once.

The file's rows go in a single ``INSERT ... SELECT`` (``select_sql``) into a Null-engine table whose
two materialized views split them into good rows (typed, shaped like the raw table) and quarantined
rows (line, raw text, reason). ``Stage.commit`` makes the good rows visible in one atomic step:
``ATTACH PARTITION`` of the load's partition for append-only inputs, ``EXCHANGE TABLES`` with a
rewritten copy for keyed inputs (the later load replaces the earlier rows).
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from loaders.formats import Probe
from loaders.lines import CsvLines, sql_string
from loaders.parsing import byte_checks, is_text, reason_expr, typed
from loaders.schema import RAW_DB, Column, InputSpec

STAGE_DB = "raw_stage"


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

    def commit(self, rows_loaded: int, file_name: str) -> None:
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
        elif rows_loaded:
            self.client.command(f"ALTER TABLE {raw_table} ATTACH PARTITION {self.load_id} FROM {self.good}")
        self.record_quarantine(file_name)

    def record_quarantine(self, file_name: str) -> None:
        """Copy the quarantined rows into raw.quarantine."""
        self.client.command(
            f"INSERT INTO `{RAW_DB}`.`quarantine` SELECT {self.load_id}, {{kind:String}}, {{file:String}}, "
            f"line_number, raw_line, reason FROM {self.bad}",
            parameters={"kind": self.spec.kind, "file": file_name},
        )

    def has_quarantine_table(self) -> bool:
        """Whether the quarantined rows' table is still there (a load stopped after staging)."""
        return bool(self.client.query(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
            parameters={"db": STAGE_DB, "t": f"{self.spec.table}_{self.load_id}_bad"},
        ).result_rows[0][0])

    def drop(self) -> None:
        for suffix in ("_mv_good`", "_mv_bad`"):
            self.client.command(f"DROP TABLE IF EXISTS {self.entry[:-1]}{suffix}")
        for table in (self.entry, self.good, self.bad, self.next, self.text):
            self.client.command(f"DROP TABLE IF EXISTS {table}")


def _text_fields(p: Probe) -> dict[str, str]:
    """column -> String expression of the file's field ('' when the file lacks the column)."""
    fields: dict[str, str] = {}
    for column in p.spec.columns:
        if column.name not in p.positions:
            fields[column.name] = "''"
        elif p.fmt == "CSV":
            fields[column.name] = f"trimBoth({CsvLines.field(p.positions[column.name])})"
        else:
            source = f"`{p.source_names[column.name]}`"
            source_type = p.source_types.get(p.source_names[column.name], "")
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


def select_sql(p: Probe, load_id: int, file_hash: str, source: str, line_expr: str) -> str:
    """SELECT turning the source's rows into staging rows (typed values + reason + raw line).

    CSV: ``source`` yields lines (a ``line`` column, header included) and ``line_expr`` numbers
    them from 1. Parquet: ``source`` yields the file's columns and ``line_expr`` numbers rows.
    """
    spec = p.spec
    text = _text_fields(p)
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
