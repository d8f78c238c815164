"""Publish a refresh all at once: dbt builds the marts into a shadow database, then they are swapped in.

Readers (dashboards, SQL Lab, exports) read ``marts``. A refresh changes ~30 marts one after the
other over seconds, so a reader of several marts in place would see some refreshed and some not,
and a killed refresh would leave them so. Instead (blue/green, as dbt deployments on other warehouses
do with a schema swap):

- ``ecomlytics build`` / ``run`` / the serving process's scheduled refresh build with
  ``SHADOW_VARS``: every model of a published database (``marts``) goes to ``marts__next``
  (macros/generate_schema_name.sql); staging and intermediate stay where they are (no reader).
- ``marts__next`` is the *previous* generation of the marts. Incremental models catch up from their
  own watermarks, so they work on a copy one refresh behind as on one a day behind (each refresh
  rewrites what changed since that copy was last built); no copy is made per refresh.
- When the build succeeded (every model and test), ``publish`` swaps each table it built with the
  one in ``marts`` (``EXCHANGE TABLES``, a rename of metadata, no data copied), and (re)creates the
  views in ``marts`` over the published tables. A failed or killed build publishes nothing: ``marts``
  stays as it was, whole, and the next refresh completes the shadow and publishes it.
- ClickHouse exchanges several pairs one after the other, not atomically. Readers in this process
  (Superset in the serving process, which also runs the scheduled refreshes) hold ``PUBLISH_LOCK``
  shared for each statement and the swap holds it alone, so every statement sees the marts wholly
  before or wholly after. Readers in other processes (a ClickHouse server's other clients) can meet
  the swap's few milliseconds.

A plain ``dbt build`` (without the vars) still builds ``marts`` in place, as dbt alone does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

PUBLISHED_SCHEMAS = ("marts",)
SHADOW_SUFFIX = "__next"
# dbt vars that send the published schemas' models to their shadow (macros/generate_schema_name.sql).
SHADOW_VARS = {"shadow_suffix": SHADOW_SUFFIX, "published_schemas": list(PUBLISHED_SCHEMAS)}
BUILT_STATUSES = {"success"}
TABLE_MATERIALIZATIONS = {"table", "incremental"}
VERIFIED_CHECKS = "dbt_verified_checks"  # in intermediate: macros/verified_checks.sql


class ReadWriteLock:
    """Many readers or one writer; a waiting writer holds back new readers, so a swap is never starved
    by a steady stream of dashboard queries."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    def acquire_read(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and not self._writers_waiting)
            self._readers += 1

    def release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    @contextmanager
    def reading(self) -> Iterator[None]:
        self.acquire_read()
        try:
            yield
        finally:
            self.release_read()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not self._writer and not self._readers)
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


PUBLISH_LOCK = ReadWriteLock()


def shadow_of(schema: str) -> str:
    return schema + SHADOW_SUFFIX


@dataclass(frozen=True)
class Built:
    """A relation a dbt run built in a shadow database."""

    schema: str  # the published database, e.g. marts
    name: str
    materialized: str  # table, incremental, view


def built_relations(results: Iterable[Any]) -> list[Built]:
    """The models of a dbt run's results that were built into a shadow database."""
    shadows = {shadow_of(schema): schema for schema in PUBLISHED_SCHEMAS}
    built = []
    for result in results:
        node = result.node
        if node.resource_type != "model" or str(result.status) not in BUILT_STATUSES or node.schema not in shadows:
            continue
        built.append(Built(shadows[node.schema], node.alias or node.name, node.config.materialized))
    return built


def _tables(client: Any, database: str) -> dict[str, str]:
    """Name -> engine of every table and view in ``database``."""
    rows = client.query("SELECT name, engine FROM system.tables WHERE database = {db:String}",
                        parameters={"db": database}).result_rows
    return dict(rows)


def _view_select(client: Any, database: str, name: str) -> str:
    return client.query("SELECT as_select FROM system.tables WHERE database = {db:String} AND name = {n:String}",
                        parameters={"db": database, "n": name}).result_rows[0][0]


def _rebased(select: str, shadow: str, live: str) -> str:
    """A shadow view's query over the published tables instead of the shadow's."""
    return select.replace(f"`{shadow}`.", f"`{live}`.").replace(f"{shadow}.", f"{live}.")


def publish(client: Any, built: list[Built], *, refill_shadow: bool = False) -> list[str]:
    """Swap the built tables into their published databases and point the published views at them.

    Tables new to a published database are moved there and copied back into the shadow (hard links),
    so the next refresh finds its previous generation there. ``refill_shadow`` (after a full refresh)
    replaces every shadow table by a copy of the published one: the old generation may hold rows
    built by older model code, which an incremental catch-up would not rewrite. Returns what changed.
    """
    done: list[str] = []
    for live in sorted({b.schema for b in built}):
        shadow = shadow_of(live)
        ours = [b for b in built if b.schema == live]
        client.command(f"CREATE DATABASE IF NOT EXISTS `{live}`")
        existing = _tables(client, live)
        tables = [b.name for b in ours if b.materialized in TABLE_MATERIALIZATIONS]
        swap = [name for name in tables if name in existing and existing[name] != "View"]
        new = [name for name in tables if name not in existing]
        views = [(b.name, _rebased(_view_select(client, shadow, b.name), shadow, live))
                 for b in ours if b.materialized == "view"]
        changed_views = [(name, select) for name, select in views
                         if existing.get(name) != "View" or _view_select(client, live, name) != select]
        with PUBLISH_LOCK.writing():
            if swap:
                client.command("EXCHANGE TABLES " + ", ".join(
                    f"`{shadow}`.`{name}` AND `{live}`.`{name}`" for name in swap))
            for name in new:
                client.command(f"RENAME TABLE `{shadow}`.`{name}` TO `{live}`.`{name}`")
            for name, select in changed_views:
                client.command(f"CREATE OR REPLACE VIEW `{live}`.`{name}` AS {select}")
        done += [f"{live}.{name}" for name in [*swap, *new, *(name for name, _ in changed_views)]]
        for name in new if not refill_shadow else tables:
            _copy_back(client, live, shadow, name)
    return done


def drop_shadow_twins(client: Any, results: Iterable[Any]) -> None:
    """After a full refresh built in place (a selection): the shadow's copies of those tables hold rows
    of the model code before it, which an incremental catch-up would not rewrite; without them the
    next refresh builds those tables whole."""
    for result in results:
        node = result.node
        if (node.resource_type == "model" and str(result.status) in BUILT_STATUSES
                and node.schema in PUBLISHED_SCHEMAS and node.config.materialized in TABLE_MATERIALIZATIONS):
            client.command(f"DROP TABLE IF EXISTS `{shadow_of(node.schema)}`.`{node.alias or node.name}` SYNC")


def _copy_back(client: Any, live: str, shadow: str, name: str) -> None:
    """The published table, copied into the shadow as the generation the next refresh starts from.
    A copy shares the data files (hard links). Where it cannot be made, the shadow goes without the
    table and the next refresh builds it whole."""
    client.command(f"DROP TABLE IF EXISTS `{shadow}`.`{name}` SYNC")
    try:
        client.command(f"CREATE TABLE `{shadow}`.`{name}` CLONE AS `{live}`.`{name}`")
    except Exception:  # noqa: BLE001 - e.g. unapplied patch parts: the next refresh builds it whole
        client.command(f"DROP TABLE IF EXISTS `{shadow}`.`{name}` SYNC")
        return
    # The copy holds the rows the published table's key tests checked: it inherits their watermarks
    # (macros/verified_checks.sql), so its next refresh checks only what it writes.
    if _tables(client, "intermediate").get(VERIFIED_CHECKS) is not None:
        client.command(
            f"INSERT INTO intermediate.{VERIFIED_CHECKS} (check_key, table_uuid, watermark) "
            "SELECT check_key, (SELECT uuid FROM system.tables WHERE database = {shadow:String} "
            "AND name = {name:String}), "
            f"watermark FROM intermediate.{VERIFIED_CHECKS} WHERE table_uuid = "
            "(SELECT uuid FROM system.tables WHERE database = {live:String} AND name = {name:String})",
            parameters={"live": live, "shadow": shadow, "name": name})


def _reads_hold_the_lock(dbapi_connection: Any, connection_record: Any) -> None:  # noqa: ARG001
    """Pool ``connect`` listener: every query of a new ClickHouse DB-API connection holds ``PUBLISH_LOCK``
    shared. Superset runs chart and SQL Lab statements on a raw DB-API cursor (``db_engine_spec.execute``),
    past SQLAlchemy's execute events, so the lock sits on the connection's client: ``Client.query`` is
    what every cursor ``execute`` (Superset's and SQLAlchemy's) calls, and it returns the whole result."""
    from clickhouse_connect.dbapi.connection import Connection

    if not isinstance(dbapi_connection, Connection):
        return
    client = dbapi_connection.client
    query = client.query

    def query_holding_the_read_lock(*args: Any, **kwargs: Any) -> Any:
        with PUBLISH_LOCK.reading():
            return query(*args, **kwargs)

    client.query = query_holding_the_read_lock


def install_reader_lock() -> None:
    """Every statement of a ``clickhousedb`` connection pool in this process (Superset's) holds
    ``PUBLISH_LOCK`` shared while it runs, so a publish swaps the marts between statements, never
    during one. A chDB or HTTP query has its whole result by the time ``query`` returns."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    if not event.contains(Pool, "connect", _reads_hold_the_lock):
        event.listen(Pool, "connect", _reads_hold_the_lock)
