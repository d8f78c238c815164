"""Superset's side of ecomlytics' security: contact data for the roles granted it, SQL that reads marts only.

- With DASHBOARD_RBAC, Superset lets anyone who may open a dashboard query the datasets of the
  charts on it. That would hand the RFM contacts table to every role that can open the RFM
  dashboard. Here the PII datasets (names, e-mails, phones) are only served to users with explicit
  access to them (CRM, Admin), whichever dashboard a request names.
- ``sql_refusal`` checks every statement Superset is about to send (SQL Lab, chart queries with
  their custom SQL metrics / columns / filters / extras, virtual datasets, rendered Jinja), through
  ``SQL_QUERY_MUTATOR``, with Superset's own parser: no function of ``sql_guard.DENIED_FUNCTIONS``,
  no table function, no SETTINGS clause, no table outside the marts. The engine side
  (``sql_guard``) checks the same statements again with ClickHouse's parser on a read-only
  connection; each layer suffices alone.
"""

from __future__ import annotations

import re
from typing import Any

from superset.errors import ErrorLevel, SupersetError, SupersetErrorType
from superset.exceptions import SupersetParseError, SupersetSecurityException
from superset.security import SupersetSecurityManager
from superset.sql.parse import SQLScript

from ecomlytics.bi.sql_guard import BI_DATABASES, DENIED_FUNCTIONS
from ecomlytics.dbt.pii import pii_datasets

# Databases a dotted name may not start with, as far as Superset's parser can tell without asking
# the engine (the engine side compares with the databases that exist).
NON_BI_DATABASES = frozenset({"system", "information_schema", "raw", "raw_stage", "intermediate", "default"})


class EcomlyticsSecurityManager(SupersetSecurityManager):
    def raise_for_access(self, **kwargs: Any) -> None:
        datasource = kwargs.get("datasource")
        if kwargs.get("query_context") is not None:
            datasource = kwargs["query_context"].datasource
        elif kwargs.get("viz") is not None:
            datasource = kwargs["viz"].datasource
        if getattr(datasource, "table_name", None) in pii_datasets() and not self._granted_pii(datasource):
            raise SupersetSecurityException(SupersetError(
                error_type=SupersetErrorType.DATASOURCE_SECURITY_ACCESS_ERROR,
                message=f"{datasource.table_name} holds contact data: CRM and Admin only",
                level=ErrorLevel.ERROR,
            ))
        super().raise_for_access(**kwargs)

    def _granted_pii(self, datasource: Any) -> bool:
        return (self.can_access_all_datasources()
                or self.can_access("datasource_access", datasource.perm or ""))


def sql_refusal(sql: str, engine: str) -> str | None:
    """Why ``sql`` may not be sent to the warehouse, or None when it may (Superset's parser)."""
    try:
        script = SQLScript(sql, engine)
    except SupersetParseError:
        # Superset's parser does not read all of ClickHouse (e.g. parametric aggregates, quantile(0.9)(x)):
        # then a word-level scan refuses what the parser would have, and the engine side parses it fully.
        return _lexical_refusal(sql)
    if script.check_functions_present(set(DENIED_FUNCTIONS)):
        return "it calls a function that reads files, settings or server details"
    for statement in script.statements:
        for table in statement.tables:
            if not table.table:
                return "table functions are not allowed"
            if table.schema and table.schema.lower() not in BI_DATABASES:
                return f"table {table.schema}.{table.table} is outside the marts"
        if _has_settings_clause(statement):
            return "SETTINGS clauses are not allowed"
        for column in _dotted_names(statement):
            if column.split(".", 1)[0].lower() in NON_BI_DATABASES:
                return f"{column} is outside the marts"
    return None


_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*|#[^\n]*", re.DOTALL)


def _lexical_refusal(sql: str) -> str | None:
    """For statements Superset's parser cannot read: denied function names, SETTINGS, and names of
    other databases anywhere outside string literals and comments are refused; table functions need
    the read-only session's permission, which the engine side withholds."""
    code = re.sub(r"'(?:[^'\\]|\\.)*'", "''", _COMMENTS.sub(" ", sql))
    words = {word.lower() for word in _WORDS.findall(code.replace("`", "").replace('"', ""))}
    if words & DENIED_FUNCTIONS:
        return f"it calls {sorted(words & DENIED_FUNCTIONS)[0]}(), which reads files, settings or server details"
    if "settings" in words:
        return "SETTINGS clauses are not allowed"
    other = words & NON_BI_DATABASES - {"default"}
    return f"{sorted(other)[0]} is outside the marts" if other else None


def _dotted_names(statement: Any) -> list[str]:
    """Qualified column references (``system.tables`` in ``x IN system.tables`` parses as a column)."""
    from sqlglot import exp

    parsed = getattr(statement, "_parsed", None)
    if parsed is None:
        return []
    return [".".join(part.name for part in column.parts[:-1]) + "." + column.name
            for column in parsed.find_all(exp.Column) if column.table]


def _has_settings_clause(statement: Any) -> bool:
    parsed = getattr(statement, "_parsed", None)
    return parsed is not None and any(node.args.get("settings") for node in parsed.walk())


def refuse_unsafe_sql(sql: str, **kwargs: Any) -> str:
    """``SQL_QUERY_MUTATOR``: returns ``sql`` unchanged, or raises when ``sql_refusal`` refuses it."""
    database = kwargs.get("database")
    engine = database.db_engine_spec.engine if database is not None else "clickhousedb"
    reason = sql_refusal(sql, engine)
    if reason:
        raise SupersetSecurityException(SupersetError(
            error_type=SupersetErrorType.QUERY_SECURITY_ACCESS_ERROR,
            message=f"Query refused: {reason}.",
            level=ErrorLevel.ERROR,
        ))
    return sql
