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
    # What source() yields and checks() reads: the line, its number, split-by-char-is-enough, tokens, fields.
    COLUMNS = ("`_l`", "`_line`", "`_simple`", "`_tok`", "`_f`")

    def source(self, lines: str, line_expr: str) -> str:
        """Subquery of the data lines: ``_l`` (the line without CR), ``_line`` (its number), ``_f`` (fields).

        Line 1 is the header; empty lines are not rows (they are skipped, as CSV readers do).
        """
        d = sql_string(self.delimiter)
        tokens = sql_string(f'"(?:[^"]|"")*"|[^{self.delimiter}"]+|{self.delimiter}')
        # Lines with quotes that still need no tokenising (the regular expression is several times
        # slower): every field quoted, with no quote inside any (quote-all exports; delimiters
        # inside are fine: the separators are exactly the quote-delimiter-quote runs), or quotes
        # that only wrap whole fields holding no delimiter (strings-quoted exports).
        q = "'\"'"
        sep = sql_string(f'"{self.delimiter}"')
        all_quoted = (
            f"startsWith(`_l`, {q}) AND endsWith(`_l`, {q}) AND length(`_l`) > 1 "
            f"AND countSubstrings(`_l`, {q}) = 2 * (countSubstrings(`_l`, {sep}) + 1)"
        )
        all_quoted_fields = f"splitByString({sep}, substring(`_l`, 2, length(`_l`) - 2))"
        simple = (
            f"arrayAll(x -> countSubstrings(x, {q}) = 0 OR (countSubstrings(x, {q}) = 2 "
            f"AND startsWith(x, {q}) AND endsWith(x, {q})), `_s`)"
        )
        simple_fields = f"arrayMap(x -> if(startsWith(x, {q}), substring(x, 2, length(x) - 2), x), `_s`)"
        # Otherwise each chunk of tokens starts with a delimiter (one is prepended to the line); a
        # field is the rest of its chunk, unquoted when it is one quoted token ("" inside means ").
        raw_fields = f"arrayMap(c -> trimBoth(arrayStringConcat(arrayPopFront(c))), arraySplit(t -> t = {d}, `_tok`))"
        token_fields = (
            f"arrayMap(x -> if(length(x) > 1 AND startsWith(x, {q}) AND endsWith(x, {q}), "
            f"replaceAll(substring(x, 2, length(x) - 2), '\"\"', {q}), x), {raw_fields})"
        )
        return (
            f"(SELECT trimRight(line, '\\r') AS `_l`, {line_expr} AS `_line`, splitByChar({d}, `_l`) AS `_s`, "
            f"position(`_l`, {q}) = 0 AS `_bare`, {all_quoted} AS `_all_quoted`, "
            f"`_bare` OR `_all_quoted` OR {simple} AS `_simple`, "
            f"if(`_simple`, [], extractAll(concat({d}, `_l`), {tokens})) AS `_tok`, "
            f"multiIf(`_bare`, `_s`, `_all_quoted`, {all_quoted_fields}, `_simple`, {simple_fields}, "
            f"{token_fields}) AS `_f` "
            f"FROM {lines} WHERE `_line` > 1 AND `_l` != '')"
        )

    @staticmethod
    def field(index: int) -> str:
        """The field at ``index`` (0-based) of a line; '' when the line is shorter."""
        return f"`_f`[{index + 1}]"

    def checks(self) -> list[tuple[str, str]]:
        """(condition, reason) of a malformed line, before any column rule."""
        return [
            ("NOT `_simple` AND length(arrayStringConcat(`_tok`)) != length(`_l`) + 1",
             "concat('unterminated quote opened on line ', toString(`_line`))"),
            (f"length(`_f`) > {self.header_fields}",
             f"concat(toString(length(`_f`)), ' fields, header has {self.header_fields}')"),
        ]
