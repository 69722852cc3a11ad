"""Fixtures of the tuning-database tests: a database URL per engine (sample entries: db_samples.py).

``db_url`` runs a test on a SQLite file and, where OPFORGE_TEST_POSTGRES_URL is set
(`.ci/postgres.sh` sets it), on a fresh PostgreSQL schema that is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

PG_ENV = "OPFORGE_TEST_POSTGRES_URL"


def pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections use a new, empty PostgreSQL schema (dropped after the test)."""
    base = pg_url()
    if base is None:
        pytest.skip(f"{PG_ENV} is not set (source .ci/postgres.sh to start a server)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """A fresh database of each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tuning.db"
    return request.getfixturevalue("pg_schema_url")
