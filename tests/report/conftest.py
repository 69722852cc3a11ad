"""Fixtures of the report tests: a filled sample database (SQLite, and PostgreSQL where one is set up)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # report_samples (tests has no packages)

from report_samples import fill_sample_db  # noqa: E402

from tuning_db import TuningDB, open_db  # noqa: E402


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards (``pg_schema_url``)."""
    if request.param == "sqlite":
        return str(tmp_path / "tuning.db")
    return request.getfixturevalue("pg_schema_url")


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
