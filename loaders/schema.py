"""The raw layer (database ``raw``): one table per input plus ``load_log`` and ``quarantine``.

Each input is described once here: its columns in contract order, the ClickHouse type of each,
whether the input must carry it, and the key by which a later load replaces an earlier row.
DDL and the loaders' parsing are both derived from these specs.

Guarantee to readers (dbt): raw tables hold only rows of committed loads, and keyed tables hold
only the latest version of each key (orders by order_id, customers by uid, costs by (source_id,
dt), refunds by refund_id, fx rates by (date, currency), products by sku; an order's items are
replaced together when the order_id is loaded again).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

RAW_DB = "raw"


@dataclass(frozen=True)
class Column:
    name: str  # snake_case name in the raw table
    ch_type: str  # ClickHouse type in the raw table
    required: bool = False
    # Value rules beyond the type (contract section 1); a row breaking one is quarantined.
    allowed: tuple[str, ...] = ()  # the only values accepted, case-insensitively ('' always is)
    pattern: str = ""  # a regular expression a non-empty value must match, else "unparsable"
    normalise: str = ""  # SQL applied to the text before it is stored, {v} = the text


@dataclass(frozen=True)
class InputSpec:
    """One input of the contract (section 1) and its raw table (section 2)."""

    kind: str  # visits, orders, costs, order_items, customers, events
    table: str
    file_names: tuple[str, ...]  # file name stems that identify this input in `load --dir`
    columns: tuple[Column, ...]
    order_by: str
    key: tuple[str, ...] = ()  # a later load replaces the earlier rows with the same key
    unique_key: bool = True  # one row per key (else a key groups rows, e.g. an order's items)
    # A key column that, when empty, gets a stable id from the file's content hash and line number.
    generated_id: str = ""

    @property
    def partition_by(self) -> str:
        # Append-only inputs get one partition per load, so a load becomes visible atomically with
        # ATTACH PARTITION; keyed inputs are rewritten whole and swapped in with EXCHANGE TABLES.
        return "tuple()" if self.key else "load_id"

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


LC = "LowCardinality(String)"
MONEY = "Decimal(18, 2)"
RATE = "Decimal(18, 6)"  # fx rates: units of the base currency per unit of a currency
ORDER_STATUSES = ("completed", "cancelled")
CURRENCY = Column("currency", LC, pattern="^[A-Za-z]{3}$", normalise="upper({v})")  # ISO 4217 code
# Timestamps are naive business time: stored as UTC wall-clock so no session time zone shifts them.
TS = "DateTime('UTC')"

INPUTS: dict[str, InputSpec] = {
    spec.kind: spec
    for spec in (
        InputSpec(
            kind="visits",
            table="visits",
            file_names=("visits_log", "visits"),
            columns=(
                Column("uid", "UInt64", True),
                Column("device", LC, True),
                Column("start_ts", TS, True),
                Column("end_ts", TS, True),
                Column("source_id", "UInt32", True),
                Column("os", LC),
                Column("country", LC),
                Column("region", LC),
                Column("city", LC),
                Column("campaign", LC),
            ),
            order_by="(uid, start_ts)",
        ),
        InputSpec(
            kind="orders",
            table="orders",
            file_names=("orders_log", "orders"),
            columns=(
                Column("order_id", "String"),
                Column("uid", "UInt64", True),
                Column("buy_ts", TS, True),
                Column("revenue", MONEY, True),
                Column("country", LC),
                Column("region", LC),
                Column("city", LC),
                Column("status", LC, allowed=ORDER_STATUSES, normalise="lower({v})"),
                CURRENCY,
                Column("discount", MONEY),
                Column("coupon", "String"),
                Column("shipping", MONEY),
                Column("tax", MONEY),
                Column("sales_channel", LC, normalise="lower({v})"),
            ),
            order_by="(order_id)",
            key=("order_id",),
            generated_id="order_id",
        ),
        InputSpec(
            kind="costs",
            table="costs",
            file_names=("costs",),
            columns=(
                Column("source_id", "UInt32", True),
                Column("dt", "Date", True),
                Column("costs", MONEY, True),
            ),
            order_by="(source_id, dt)",
            key=("source_id", "dt"),
        ),
        InputSpec(
            kind="order_items",
            table="order_items",
            file_names=("order_items", "orders_items", "items"),
            columns=(
                Column("order_id", "String", True),
                Column("sku", "String", True),
                Column("category", LC, True),
                Column("quantity", "UInt32", True),
                Column("unit_price", MONEY, True),
                Column("product_name", "String"),
                Column("variant", "String"),
            ),
            order_by="(order_id, sku)",
            key=("order_id",),
            unique_key=False,
        ),
        InputSpec(
            kind="customers",
            table="customers",
            file_names=("customers",),
            columns=(
                Column("uid", "UInt64", True),
                Column("name", "String"),
                Column("email", "String"),
                Column("phone", "String"),
                Column("city", LC),
                Column("registered_at", f"Nullable({TS})"),
                Column("email_opt_in", "UInt8"),
                Column("sms_opt_in", "UInt8"),
                Column("push_opt_in", "UInt8"),
                Column("gender", LC),
                Column("birth_date", "Nullable(Date)"),
            ),
            order_by="(uid)",
            key=("uid",),
        ),
        InputSpec(
            kind="events",
            table="events",
            file_names=("events", "behaviour_events", "behavior_events"),
            columns=(
                Column("uid", "UInt64", True),
                Column("ts", TS, True),
                Column("event", LC, True),
                Column("sku", "String"),
                Column("search_term", "String"),
                Column("page", "String"),
            ),
            order_by="(uid, ts)",
        ),
        InputSpec(
            kind="refunds",
            table="refunds",
            file_names=("refunds",),
            columns=(
                Column("refund_id", "String"),
                Column("order_id", "String", True),
                Column("refund_ts", TS, True),
                Column("amount", MONEY, True),
                Column("reason", "String"),
            ),
            order_by="(order_id, refund_id)",
            key=("refund_id",),
            generated_id="refund_id",
        ),
        InputSpec(
            kind="fx_rates",
            table="fx_rates",
            file_names=("fx_rates", "fx"),
            columns=(
                Column("date", "Date", True),
                replace(CURRENCY, required=True),
                Column("rate", RATE, True),
            ),
            order_by="(currency, date)",
            key=("date", "currency"),
        ),
        InputSpec(
            kind="products",
            table="products",
            file_names=("products",),
            columns=(
                Column("sku", "String", True),
                Column("product_name", "String"),
                Column("category", LC),
                Column("brand", LC),
                Column("unit_cost", f"Nullable({MONEY})"),  # empty = no cost known
            ),
            order_by="(sku)",
            key=("sku",),
        ),
    )
}

def table_ddl(spec: InputSpec, database: str = RAW_DB, table: str | None = None) -> str:
    """CREATE TABLE for an input's raw table (or a staging copy of it)."""
    cols = ",\n  ".join(f"`{c.name}` {c.ch_type}" for c in spec.columns)
    return (
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{table or spec.table}` (\n  {cols},\n"
        f"  `load_id` UInt64\n) ENGINE = MergeTree\n"
        f"PARTITION BY {spec.partition_by}\nORDER BY {spec.order_by}"
    )


LOAD_LOG_DDL = f"""
CREATE TABLE IF NOT EXISTS `{RAW_DB}`.`load_log` (
  `load_id` UInt64,
  `kind` {LC},
  `file_name` String,
  `content_hash` String,
  `started_at` DateTime64(3),
  `finished_at` Nullable(DateTime64(3)),
  `rows_read` UInt64,
  `rows_loaded` UInt64,
  `rows_quarantined` UInt64,
  `status` {LC},
  `error` String,
  `version` UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY load_id
"""

QUARANTINE_DDL = f"""
CREATE TABLE IF NOT EXISTS `{RAW_DB}`.`quarantine` (
  `load_id` UInt64,
  `kind` {LC},
  `file_name` String,
  `line_number` UInt64,
  `raw_line` String,
  `reason` String
) ENGINE = MergeTree
PARTITION BY load_id
ORDER BY (file_name, line_number)
"""


def all_ddl() -> list[str]:
    """Every statement that creates the raw layer, idempotently."""
    return [
        f"CREATE DATABASE IF NOT EXISTS `{RAW_DB}`",
        *(table_ddl(spec) for spec in INPUTS.values()),
        LOAD_LOG_DDL,
        QUARANTINE_DDL,
    ]


def added_columns_ddl(existing: dict[str, list[str]]) -> list[str]:
    """ALTERs giving raw tables of an older warehouse the columns added to their input since.

    ``existing``: raw table -> its columns. A new column goes after the one before it in the spec,
    so the table keeps the spec's column order (ATTACH PARTITION needs the staging table's layout).
    """
    statements = []
    for spec in INPUTS.values():
        have = existing.get(spec.table)
        if have is None:
            continue
        for before, column in zip(spec.columns, spec.columns[1:], strict=False):
            if column.name not in have:
                statements.append(
                    f"ALTER TABLE `{RAW_DB}`.`{spec.table}` ADD COLUMN IF NOT EXISTS `{column.name}` "
                    f"{column.ch_type} AFTER `{before.name}`"
                )
    return statements
