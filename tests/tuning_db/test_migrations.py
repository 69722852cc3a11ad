"""Migrations: the newest revision builds ``schema.metadata``; a first-revision database upgrades without loss."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from autotune.cli import cli
from tuning_db import SchemaError, TuningDB, head_revision, upgrade
from tuning_db.engine import make_engine
from tuning_db.migrate import alembic_config
from tuning_db.schema import metadata

FIXTURE = Path(__file__).parent / "data" / "schema_0001.sqlite"
V1_TABLES = ("workloads", "targets", "records")
# columns later revisions add to records (NULL in an upgraded database)
ADDED_COLUMNS = ("max_abs_error", "rel_l2_error", "strategy", "calibration")


def _rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        out = {}
        for table in V1_TABLES:
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})") if c[1] not in ADDED_COLUMNS]
            out[table] = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall()
    return out


@pytest.fixture
def v1_file(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE, path)
    return path


def test_newest_revision_builds_the_schema_module(db_url: str) -> None:
    db = TuningDB(db_url)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    db.close()
    assert diff == []


def test_fixture_was_made_by_the_first_revision() -> None:
    with sqlite3.connect(FIXTURE) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT count(*) FROM records").fetchone() == (42,)


def test_old_database_is_refused_with_the_upgrade_command(v1_file: Path) -> None:
    with pytest.raises(SchemaError, match="opforge db upgrade"):
        TuningDB(f"sqlite:///{v1_file}")


def test_first_revision_database_upgrades_without_loss(v1_file: Path) -> None:
    before = _rows(v1_file)
    engine = make_engine(f"sqlite:///{v1_file}")
    assert upgrade(engine) == ("0001", head_revision())
    engine.dispose()
    assert _rows(v1_file) == before

    db = TuningDB(f"sqlite:///{v1_file}")
    records = [r for w in db.workloads() for r in db.records_for(w.key)]
    assert len(records) == 42
    assert all(r.max_abs_error is None and r.rel_l2_error is None and r.strategy is None and r.calibration is None for r in records)
    # every stored uid is still the identity of the record read back
    with sqlite3.connect(v1_file) as conn:
        assert {u for (u,) in conn.execute("SELECT uid FROM records")} == {r.uid for r in records}
    best = db.best(f"{1:064x}", records[0].target, "fp0000000000000a")
    assert best is not None and best.status == "ok"
    assert db.calibrations() == []  # 0004 adds the table, empty
    db.close()


def test_upgrade_command_migrates_and_then_reports_nothing_to_do(v1_file: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "upgrade", "--db", str(v1_file)])
    assert first.exit_code == 0, first.output
    assert f"0001 -> {head_revision()}" in first.output
    again = runner.invoke(cli, ["db", "upgrade", "--db", str(v1_file)])
    assert again.exit_code == 0 and "already at" in again.output
    assert TuningDB(f"sqlite:///{v1_file}").count_records() == 42


@pytest.mark.postgres
def test_first_revision_upgrades_without_loss_on_postgres(pg_schema_url: str) -> None:
    engine = create_engine(pg_schema_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    source = _rows(FIXTURE)
    with sqlite3.connect(FIXTURE) as lite, engine.begin() as conn:
        for table in V1_TABLES:
            columns = [c[1] for c in lite.execute(f"PRAGMA table_info({table})")]
            rows = [dict(zip(columns, row)) for row in lite.execute(f"SELECT * FROM {table} ORDER BY id")]
            placeholders = ", ".join(f":{c}" for c in columns)
            conn.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"), rows)
    engine.dispose()

    with pytest.raises(SchemaError, match="opforge db upgrade"):
        TuningDB(pg_schema_url)
    migrate_engine = make_engine(pg_schema_url)
    assert upgrade(migrate_engine) == ("0001", head_revision())
    migrate_engine.dispose()

    db = TuningDB(pg_schema_url)
    records = [r for w in db.workloads() for r in db.records_for(w.key)]
    assert len(records) == len(source["records"]) == 42
    stored = {(r.uid, r.config, r.run_secs, r.status, r.error, r.team, r.created_at.replace(tzinfo=None).isoformat(" ")) for r in records}
    with sqlite3.connect(FIXTURE) as lite:
        lite.row_factory = sqlite3.Row
        expected = {
            (row["uid"], row["config"], tuple(json.loads(row["run_secs"])), row["status"], row["error"], row["team"], row["created_at"])
            for row in lite.execute("SELECT * FROM records")
        }
    assert stored == expected
    db.close()


def test_a_newer_database_than_this_opforge_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    TuningDB(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="newer than this opforge"):
        TuningDB(url)
