"""Fixtures of the report tests: a filled sample database (SQLite, and PostgreSQL where one is set up)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))  # report_samples (tests has no packages)

from report_samples import fill_sample_db  # noqa: E402

from tuning_db import TuningDB, open_db  # noqa: E402

PG_ENV = "OPFORGE_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield str(tmp_path / "tuning.db")
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (source .ci/postgres.sh to start a server)")
    schema = f"r_{uuid.uuid4().hex[:12]}"
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


@pytest.fixture
def sample_db(db_url: str) -> Iterator[TuningDB]:
    """The sample database of report_samples: four workloads on two fingerprints, 40 trials each."""
    db = open_db(db_url)
    fill_sample_db(db, np.random.default_rng(0))
    yield db
    db.close()


@pytest.fixture(scope="module")
def sample_db_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file of the sample database, shared by a module's tests (they only read it)."""
    path = tmp_path_factory.mktemp("report") / "tuning.db"
    with open_db(str(path)) as db:
        fill_sample_db(db, np.random.default_rng(0))
    return str(path)
