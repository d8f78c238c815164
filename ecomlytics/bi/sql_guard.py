"""What the BI connection may ask of the warehouse: read the marts, and nothing else.

Superset's users write SQL (SQL Lab, custom SQL metrics / columns / filters in chart requests,
virtual datasets, Jinja templates), and ClickHouse functions reach far beyond tables: ``file()``
reads any file the engine process can read, ``url()`` / ``remote()`` / ``s3()`` reach the network,
``executable()`` runs programs, ``merge()`` reads a table under another name, ``getSetting()`` and
``system.*`` reveal configuration. This module is the engine side of the defence, applied to every
connection Superset opens (two layers, each sufficient on its own; docs/security.md):

1. **Session settings** (``BI_SESSION_SETTINGS``): ``readonly=1`` on the connection itself, so the
   engine refuses table functions (``file``, ``url``, ``merge``, ``cluster``, ``executable`` ...),
   writes, DDL and any change of settings (``SETTINGS readonly=0`` included). In embedded mode they
   are chDB connection options (a session setting per connection; the loaders' connections stay
   writable); on a ClickHouse server the BI user's profile carries them (deploy/clickhouse/).
2. **Statement check** (``StatementChecker.check``): the engine parses each statement (``EXPLAIN AST``,
   the parser that will run it, so no quoting or comment trick parses differently) and the statement
   is refused unless it is a SELECT that reads only tables of ``BI_DATABASES``, uses no table
   function, no ``SETTINGS`` clause and none of ``DENIED_FUNCTIONS``. This is what stops the scalar
   ``file()`` function, which ``readonly`` allows and which chDB (like clickhouse-local) does not
   confine to ``user_files_path``.

The Superset side (``bi/security.py``) checks the same ``DENIED_FUNCTIONS`` with Superset's
own parser before a query reaches the connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

BI_DATABASES = frozenset({"marts"})

# Session settings of the BI connection. readonly=1 also forbids changing any setting later.
BI_SESSION_SETTINGS = {"readonly": "1", "allow_introspection_functions": "0"}

# Scalar functions that read files, other tables, dictionaries or the server's configuration and
# identity, or that stall the engine. Table functions need no entry: every one is refused.
DENIED_FUNCTIONS = frozenset(name.lower() for name in (
    # files, other tables, dictionaries, models
    "file", "joinGet", "joinGetOrNull", "hasColumnInTable", "catboostEvaluate", "naiveBayesClassifier",
    "dictGet", "dictGetOrDefault", "dictGetOrNull", "dictGetAll", "dictHas", "dictGetHierarchy", "dictIsIn",
    "dictGetChildren", "dictGetDescendants", "dictGetKeys", "dictGetRoot",
    # settings and server configuration
    "getSetting", "getSettingOrDefault", "getServerSetting", "getMergeTreeSetting", "getMacro",
    "getClientHTTPHeader", "showCertificate", "getMaxTableNameLengthForDatabase",
    # identity of the server, its host, users and sessions
    "version", "revision", "buildId", "serverUUID", "uptime", "hostName", "hostname", "FQDN", "fullHostName",
    "tcpPort", "getServerPort", "port", "displayName", "getOSKernelVersion", "zookeeperSessionUptime",
    "filesystemAvailable", "filesystemCapacity", "filesystemUnreserved", "shardNum", "shardCount",
    "currentUser", "user", "current_user", "session_user", "authenticatedUser", "authUser", "pgGetUserById",
    "pg_get_userbyid", "currentRoles", "enabledRoles", "defaultRoles", "currentProfiles", "enabledProfiles",
    "defaultProfiles", "currentQueryID", "queryID", "query_id", "current_query_id", "initialQueryID",
    "initial_query_id", "initialQueryStartTime", "initial_query_start_time", "connectionID", "connection_id",
    "currentHandler", "currentRequestURL", "queryString", "queryStringAndFragment",
    "transactionID", "transactionLatestSnapshot", "transactionOldestSnapshot",
    # introspection and stalling
    "addressToLine", "addressToLineWithInlines", "addressToSymbol", "demangle", "logTrace", "sleep", "sleepEachRow",
))

SELECT_STATEMENTS = ("SelectWithUnionQuery", "SelectIntersectExceptQuery")
_NODE = re.compile(r"^(?P<indent> *)(?P<kind>\w+)(?: (?P<name>[^\s(]+))?")


class RefusedStatement(Exception):
    """A statement the BI connection will not run; the message says why."""


@dataclass(frozen=True)
class AstNode:
    depth: int
    kind: str  # Function, TableIdentifier, Identifier, TableExpression, Set, ...
    name: str


def parse_ast_dump(lines: Iterable[str]) -> list[AstNode]:
    """The nodes of an ``EXPLAIN AST`` dump (one node a line, one space of indent per level)."""
    nodes = []
    for line in lines:
        match = _NODE.match(line)
        if match:
            nodes.append(AstNode(len(match["indent"]), match["kind"], (match["name"] or "").strip("`\"")))
    return nodes


def refusal(nodes: list[AstNode], databases: Iterable[str]) -> str | None:
    """Why a parsed statement may not run on the BI connection, or None when it may.

    ``databases`` are the databases that exist: a dotted identifier starting with one of them that is
    not a BI database (``x IN system.tables``) is refused like a table of it.
    """
    if not nodes or nodes[0].kind not in SELECT_STATEMENTS:
        return f"only SELECT statements may run here, not {nodes[0].kind if nodes else 'an empty statement'}"
    other_databases = {d.lower() for d in databases} - BI_DATABASES
    for index, node in enumerate(nodes):
        name = node.name.lower()
        if node.kind == "Function" and name in DENIED_FUNCTIONS:
            return f"function {node.name}() is not allowed"
        if node.kind == "Set":
            return "SETTINGS clauses are not allowed"
        if node.kind == "TableExpression":
            source = next((n for n in nodes[index + 1:] if n.depth == node.depth + 1), None)
            if source is not None and source.kind == "Function":
                return f"table function {source.name}() is not allowed"
        if node.kind == "TableIdentifier" and "." in name and name.split(".", 1)[0] not in BI_DATABASES:
            return f"table {node.name} is outside the marts"
        if node.kind == "Identifier" and "." in name and name.split(".", 1)[0] in other_databases:
            return f"{node.name} is outside the marts"
    return None


class StatementChecker:
    """The statement check for one warehouse: caches the list of databases the checker compares with."""

    def __init__(self) -> None:
        self._databases: frozenset[str] | None = None

    def databases(self, client: Any) -> frozenset[str]:
        if self._databases is None:
            self._databases = frozenset(row[0] for row in client.query("SHOW DATABASES").result_rows)
        return self._databases

    def check(self, client: Any, sql: str) -> None:
        """Raise RefusedStatement unless ``sql`` may run on the BI connection (``client``: clickhouse-connect)."""
        dump = client.query(f"EXPLAIN AST {sql}").result_rows
        reason = refusal(parse_ast_dump(row[0] for row in dump), self.databases(client))
        if reason:
            raise RefusedStatement(f"Refused by ecomlytics' SQL guard: {reason}.")


_checker = StatementChecker()


def _is_internal(context: Any) -> bool:
    """SQLAlchemy reflection queries of clickhouse-connect's dialect (SHOW TABLES, DESCRIBE, system.tables
    lookups) carry a private execution option that users cannot set from SQL."""
    from clickhouse_connect.cc_sqlalchemy.inspector import _INTERNAL_QUERY_OPTION, _INTERNAL_QUERY_SENTINEL

    options = getattr(context, "execution_options", None) or {}
    return options.get(_INTERNAL_QUERY_OPTION) is _INTERNAL_QUERY_SENTINEL


def _before_cursor_execute(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
    if conn.dialect.name != "clickhousedb" or _is_internal(context):
        return statement, parameters
    from clickhouse_connect.driver.binding import finalize_query

    sql = finalize_query(statement, parameters) if parameters else statement
    _checker.check(cursor.client, sql.strip().rstrip(";"))
    return statement, parameters


def install_sqlalchemy_guard() -> None:
    """Check every statement sent through a ``clickhousedb`` SQLAlchemy engine in this process.

    Only Superset talks to the warehouse through SQLAlchemy (loaders and dbt use clickhouse-connect
    clients directly), so this guards exactly the BI connections.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "before_cursor_execute", _before_cursor_execute):
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute, retval=True)
