"""Fixtures of the tuning-database tests: a database URL per engine (sample entries: db_samples.py).

``db_url`` runs a test on a SQLite file and, where OPFORGE_TEST_POSTGRES_URL is set
(`.ci/postgres.sh` sets it), on a fresh PostgreSQL schema that is dropped afterwards
(``pg_schema_url`` of tests/conftest.py).
"""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """A fresh database of each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tuning.db"
    return request.getfixturevalue("pg_schema_url")
