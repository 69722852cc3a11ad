"""Engines for SQLite and PostgreSQL, and the retry that keeps 'database is locked' from users.

SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE``
so two writers wait for each other at the start instead of failing mid-transaction.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
RETRY_SECS = 120.0
_WRITE = "opforge_write"


def url_of(url_or_path: str) -> str:
    """A SQLAlchemy URL; a bare path (no ``://``) means a SQLite file, ``~`` expanded."""
    if "://" in url_or_path:
        return url_or_path
    return f"sqlite:///{Path(url_or_path).expanduser().resolve()}"


def shown(url_or_path: str) -> str:
    """A database name fit for messages and reports: the URL with any password hidden."""
    return make_url(url_of(url_or_path)).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///file``, ``sqlite://`` (memory) or ``postgresql+psycopg://...``."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, in_memory=parsed.database in (None, "", ":memory:"))
    if backend == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
    raise ValueError(f"unsupported database URL {url!r}; expected sqlite:///PATH, sqlite:// or postgresql+psycopg://...")


def _sqlite_engine(url: str, in_memory: bool) -> Engine:
    if in_memory:
        # one shared connection: each new connection to sqlite:// would be a new empty database
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        path = make_url(url).database
        assert path is not None
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let us issue BEGIN ourselves (pysqlite's implicit BEGIN is always DEFERRED)
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a committed trial survives power loss too, not only a killed process
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


def is_busy(error: OperationalError) -> bool:
    """Whether an error is SQLite's 'database is locked/busy', which waiting resolves."""
    text = str(error.orig).lower()
    return "database is locked" in text or "database is busy" in text


def write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one write transaction, committed on return; retry while SQLite is busy."""
    return _retrying(engine, work, {_WRITE: True})


def read(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one read transaction; retry while SQLite is busy (e.g. during WAL recovery)."""
    return _retrying(engine, work, {})


def _retrying(engine: Engine, work: Callable[[Connection], T], options: dict[str, Any]) -> T:
    deadline = time.monotonic() + RETRY_SECS
    jitter = random.Random()  # spreads waiting writers apart; not part of any result
    delay = 0.01
    while True:
        try:
            with engine.connect().execution_options(**options) as conn, conn.begin():
                return work(conn)
        except OperationalError as e:
            if not is_busy(e) or time.monotonic() > deadline:
                raise
            log.debug("database busy; retrying in %.3f s", delay)
            time.sleep(delay * (1 + jitter.random()))
            delay = min(delay * 2, 1.0)
