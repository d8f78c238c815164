"""Reuse embedded-engine connection handles inside the serving process.

Superset opens a new SQLAlchemy connection for every chart query (NullPool), plus one for its
default-schema check, and clickhouse-connect's chDB backend opens a fresh chDB handle for each. On
the marts a chart query takes milliseconds, so opening handles was most of a chart request's time.
`install()` makes closed handles go back to a small pool and new clients take one from there.
A handle still serialises its own calls (clickhouse-connect's per-handle lock) and keeps its USE
state with it, so reuse is invisible to clients. Embedded (chDB) connections only; http clients
are untouched. Hooks two private functions of clickhouse-connect's chDB backend (1.12): `install()`
refuses other versions (ecomlytics/compat.py) and leaves the backend as it is if they are missing.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)

MAX_FREE_PER_ENGINE = 16  # about Superset's worker threads: enough to never open handles when warm

_lock = threading.Lock()
_free: dict[str, list[Any]] = {}  # connection string -> idle handles
_engine_of: dict[int, str] = {}  # id(handle) -> connection string, for handles opened through the pool


def install() -> bool:
    """Pool chDB handles in this process; True when the backend could be hooked."""
    try:
        from clickhouse_connect.driver._backend import chdb_backend as backend
    except ImportError:
        return False
    if getattr(backend, "_ecomlytics_pooled", False):
        return True
    from ecomlytics.compat import check

    check("clickhouse-connect")
    open_handle = getattr(backend, "_open_handle", None)
    close_handle = getattr(backend, "_close_handle", None)
    if open_handle is None or close_handle is None:
        logger.warning("clickhouse-connect's chDB backend changed: handles are not pooled")
        return False

    def pooled_open(conn_str: str) -> Any:
        with _lock:
            idle = _free.get(conn_str)
            if idle:
                handle = idle.pop()
                handle.close_pending = False
                return handle
        handle = open_handle(conn_str)
        with _lock:
            _engine_of[id(handle)] = conn_str
        return handle

    def pooled_close(handle: Any, blocking: bool = False) -> None:
        conn_str = _engine_of.get(id(handle))
        if conn_str is None or handle.conn is None or handle.stream_owner is not None:
            close_handle(handle, blocking)  # not ours, already closed, or a stream still reads it
            return
        if not handle.lock.acquire(blocking=blocking):
            handle.close_pending = True  # the stream's finalizer calls us again when it ends
            return
        handle.lock.release()
        with _lock:
            idle = _free.setdefault(conn_str, [])
            if len(idle) < MAX_FREE_PER_ENGINE and handle not in idle:
                handle.close_pending = False
                idle.append(handle)
                return
            _engine_of.pop(id(handle), None)
        close_handle(handle, blocking)

    backend._open_handle = pooled_open
    backend._close_handle = pooled_close
    backend._ecomlytics_pooled = True
    return True


def close_idle() -> None:
    """Close every pooled handle (before the engine is to be released)."""
    from clickhouse_connect.driver._backend import chdb_backend as backend

    with _lock:
        handles = [h for idle in _free.values() for h in idle]
        _free.clear()
        for handle in handles:
            _engine_of.pop(id(handle), None)
    for handle in handles:
        backend._close_handle(handle, True)
