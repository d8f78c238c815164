"""CSV rows as physical lines, split into fields inside ClickHouse.

Why not ClickHouse's CSV parser: with a fixed structure it silently drops fields beyond the
header, lets an unterminated quote swallow the following lines, and numbers rows rather than
lines. Reading the file as lines (format ``LineAsString``) gives each row its true line number,
lets its fields be counted, and confines a broken quote to its own line, so the next lines still
load. The price: a quoted field cannot span lines (no contract column holds multi-line text);
such a row is quarantined like an unterminated quote.

Lines without a double quote (nearly all) are split with ``splitByChar``; lines with one are cut
into tokens by one regular expression (quoted field | unquoted run | delimiter), which are glued
back into fields. A ``"`` that no token covers has no closing quote.
"""

from __future__ import annotations

from dataclasses import dataclass


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class CsvLines:
    """SQL over a source of lines (a ``line`` String column) for one file's delimiter and header."""

    delimiter: str
    header_fields: int
    # What source() yields and checks() reads: the line, its number, has-a-quote, tokens, fields.
    COLUMNS = ("`_l`", "`_line`", "`_q`", "`_tok`", "`_f`")

    def source(self, lines: str, line_expr: str) -> str:
        """Subquery of the data lines: ``_l`` (the line without CR), ``_line`` (its number), ``_f`` (fields).

        Line 1 is the header; empty lines are not rows (they are skipped, as CSV readers do).
        """
        d = sql_string(self.delimiter)
        tokens = sql_string(f'"(?:[^"]|"")*"|[^{self.delimiter}"]+|{self.delimiter}')
        # Each chunk of tokens starts with a delimiter (one is prepended to the line); a field is
        # the rest of its chunk, unquoted when it is one quoted token ("" inside means ").
        raw_fields = f"arrayMap(c -> trimBoth(arrayStringConcat(arrayPopFront(c))), arraySplit(t -> t = {d}, `_tok`))"
        unquoted = (
            f"arrayMap(x -> if(length(x) > 1 AND startsWith(x, '\"') AND endsWith(x, '\"'), "
            f"replaceAll(substring(x, 2, length(x) - 2), '\"\"', '\"'), x), {raw_fields})"
        )
        return (
            f"(SELECT trimRight(line, '\\r') AS `_l`, {line_expr} AS `_line`, position(`_l`, '\"') > 0 AS `_q`, "
            f"if(`_q`, extractAll(concat({d}, `_l`), {tokens}), []) AS `_tok`, "
            f"if(`_q`, {unquoted}, splitByChar({d}, `_l`)) AS `_f` "
            f"FROM {lines} WHERE `_line` > 1 AND `_l` != '')"
        )

    @staticmethod
    def field(index: int) -> str:
        """The field at ``index`` (0-based) of a line; '' when the line is shorter."""
        return f"`_f`[{index + 1}]"

    def checks(self) -> list[tuple[str, str]]:
        """(condition, reason) of a malformed line, before any column rule."""
        return [
            ("`_q` AND length(arrayStringConcat(`_tok`)) != length(`_l`) + 1",
             "concat('unterminated quote opened on line ', toString(`_line`))"),
            (f"length(`_f`) > {self.header_fields}",
             f"concat(toString(length(`_f`)), ' fields, header has {self.header_fields}')"),
        ]
