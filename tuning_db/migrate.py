"""Schema migrations (Alembic, configured in code): create, check and upgrade a database.

A new, empty database is created at the newest revision when first opened; a database at an
older revision is left alone until ``opforge db upgrade`` (``upgrade(engine)``) moves it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from . import engine as engines

MIGRATIONS = Path(__file__).parent / "migrations"
# PostgreSQL: one migrating process at a time (any number of 64-bit keys works; this one is ours)
_PG_LOCK_KEY = 0x6F70666F726765


class SchemaError(RuntimeError):
    """The database's schema is not the one this opforge expects."""


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration: our migrations folder, running on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this opforge knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision a database is at; ``None`` for a database Alembic never touched."""
    return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Create an empty database at the newest revision; refuse one at another revision."""
    head = head_revision()
    if engines.read(engine, current_revision) == head:
        return

    def check_or_create(conn: Connection) -> None:
        _lock(conn)
        revision = current_revision(conn)  # again: another process may have created it meanwhile
        if revision == head:
            return
        if revision is None and not inspect(conn).has_table("workloads"):
            command.upgrade(alembic_config(conn), head)
            return
        raise SchemaError(_mismatch(revision, head, engine))

    engines.write(engine, check_or_create)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate a database to ``revision``; returns (revision before, revision after)."""

    def run(conn: Connection) -> tuple[str | None, str | None]:
        _lock(conn)
        before = current_revision(conn)
        if before is None and inspect(conn).has_table("workloads"):
            raise SchemaError("the database has opforge tables but no alembic_version; it was not made by opforge")
        command.upgrade(alembic_config(conn), revision)
        return before, current_revision(conn)

    return engines.write(engine, run)


def _lock(conn: Connection) -> None:
    # SQLite write transactions already hold the database lock (BEGIN IMMEDIATE)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _mismatch(revision: str | None, head: str, engine: Engine) -> str:
    where = engine.url.render_as_string(hide_password=True)
    if revision is None:
        return f"{where} has opforge tables but no schema revision; it was not made by opforge"
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if revision in known:
        return f"{where} is at schema revision {revision}, this opforge needs {head}; run `opforge db upgrade --db {where}`"
    return f"{where} is at schema revision {revision}, newer than this opforge knows ({head}); upgrade opforge"
