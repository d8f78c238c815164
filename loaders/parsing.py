"""SQL that turns raw text fields into typed values and a quarantine reason, inside ClickHouse.

Every field is read as a String; each contract column gets a typed ``*OrNull`` expression, and one
``multiIf`` names the first rule a row breaks ('' when the row is good). Rows are never touched
in Python.
"""

from __future__ import annotations

from loaders.lines import sql_string
from loaders.schema import Column, InputSpec
from loaders.seeds import event_types

# Accepted timestamp shapes: 'YYYY-MM-DD HH:MM:SS', ISO 8601 'YYYY-MM-DDTHH:MM:SS', 'DD.MM.YYYY HH:MM'.
# Parsed and stored in UTC so no time-zone shift ever happens (the values are naive business time).
_TS = (
    "multiIf("
    "substring({v}, 11, 1) = 'T', parseDateTimeOrNull({v}, '%Y-%m-%dT%H:%i:%s', 'UTC'), "
    "substring({v}, 3, 1) = '.', parseDateTimeOrNull({v}, '%d.%m.%Y %H:%i', 'UTC'), "
    "parseDateTimeOrNull({v}, '%Y-%m-%d %H:%i:%s', 'UTC'))"
)
_DATE = (
    "multiIf(match({v}, '^\\\\d{{4}}-\\\\d{{2}}-\\\\d{{2}}$'), toDateOrNull({v}), "
    "match({v}, '^\\\\d{{2}}\\\\.\\\\d{{2}}\\\\.\\\\d{{4}}$'), "
    "toDateOrNull(concat(substring({v}, 7, 4), '-', substring({v}, 4, 2), '-', substring({v}, 1, 2))), NULL)"
)
_MONEY = "if(match({v}, '^-?\\\\d+(\\\\.\\\\d{{1,2}})?$'), toDecimal64OrNull({v}, 2), NULL)"
_RATE = "if(match({v}, '^-?\\\\d+(\\\\.\\\\d{{1,6}})?$'), toDecimal64OrNull({v}, 6), NULL)"
_FLAG = (
    "multiIf(lower({v}) IN ('1', 'true', 'yes', 'y', 't'), toUInt8(1), "
    "lower({v}) IN ('0', 'false', 'no', 'n', 'f', ''), toUInt8(0), NULL)"
)
_PARSERS = {
    "UInt64": "toUInt64OrNull({v})",
    "UInt32": "toUInt32OrNull({v})",
    "UInt8": _FLAG,
    "DateTime('UTC')": _TS,
    "Nullable(DateTime('UTC'))": _TS,
    "Date": _DATE,
    "Nullable(Date)": _DATE,
    "Decimal(18, 2)": _MONEY,
    "Nullable(Decimal(18, 2))": _MONEY,
    "Decimal(18, 6)": _RATE,
}
NON_NEGATIVE = {"revenue", "costs", "quantity", "unit_price", "amount", "discount", "shipping", "tax", "unit_cost"}
POSITIVE = {"rate"}


def is_text(column: Column) -> bool:
    return column.ch_type in ("String", "LowCardinality(String)")


def typed(column: Column, text: str, decimal_comma: bool = False) -> str:
    """Expression parsing ``text`` (a String expression) into the column's type, NULL if it can't.

    ``decimal_comma``: money may be written ``4,50`` (semicolon-separated files, as European
    exports do; in comma-separated files a comma can't be the decimal mark).
    """
    if is_text(column):
        return text
    if decimal_comma and "Decimal" in column.ch_type:
        text = f"replaceOne({text}, ',', '.')"
    return _PARSERS[column.ch_type].format(v=text)


def byte_checks(raw: str, text: dict[str, str]) -> list[tuple[str, str]]:
    """(condition, reason) for a NUL byte or invalid UTF-8 in a contract column of the row.

    Looked for in the whole raw row first (one cheap pass); only a row that has one pays for
    finding the column. A column the contract does not read may hold anything.
    """
    checks = []
    for label, bad in (("NUL byte", "position({v}, '\\0') > 0"), ("invalid UTF-8", "NOT isValidUTF8({v})")):
        where = "multiIf(" + ", ".join(f"{bad.format(v=v)}, '{name}'" for name, v in text.items()) + ", '')"
        checks.append((f"{bad.format(v=raw)} AND {where} != ''", f"concat('{label} in ', {where})"))
    return checks


def reason_expr(spec: InputSpec, text: dict[str, str], value: dict[str, str],
                leading: list[tuple[str, str]] | None = None) -> str:
    """First rule broken by the row, '' if none. ``text``/``value``: column -> raw / typed expression.

    ``leading``: (condition, reason) checked first, about the row as a whole (malformed line, bytes).
    """
    checks: list[tuple[str, str]] = list(leading or [])
    for column in spec.columns:
        raw, parsed = text[column.name], value[column.name]
        if column.required:
            checks.append((f"{raw} = ''", f"'missing required value: {column.name}'"))
        if column.name in NON_NEGATIVE:
            # Checked before parsing: unsigned types would otherwise call '-1' unparsable.
            checks.append((f"startsWith({raw}, '-')", f"concat('negative {column.name}: ', {raw})"))
        if not is_text(column) or column.pattern:
            bad = f"{parsed} IS NULL" if not is_text(column) else f"NOT match({raw}, '{column.pattern}')"
            checks.append(
                (f"{raw} != '' AND {bad}", f"concat('unparsable {column.name}: ', substring({raw}, 1, 80))")
            )
        if column.name in POSITIVE:
            checks.append((f"{parsed} <= 0", f"concat('non-positive {column.name}: ', {raw})"))
        if column.allowed:
            allowed = ", ".join(f"'{v}'" for v in column.allowed)
            checks.append((f"{raw} != '' AND lower({raw}) NOT IN ({allowed})",
                           f"concat('unknown {column.name}: ', substring({raw}, 1, 80))"))
    if spec.kind == "visits":
        checks.append((f"{value['end_ts']} < {value['start_ts']}", "'End Ts earlier than Start Ts'"))
    if spec.kind == "events":
        allowed = ", ".join(sql_string(e) for e in event_types())
        checks.append((f"{value['event']} NOT IN ({allowed})", f"concat('unknown event: ', {text['event']})"))
    parts = ", ".join(f"{cond}, {msg}" for cond, msg in checks)
    return f"multiIf({parts}, '')"
