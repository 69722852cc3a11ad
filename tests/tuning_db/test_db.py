"""TuningDB behaviour on each engine: idempotent adds, best, fingerprints, resume sets, stats."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from db_samples import record, target, workload
from tuning_db import Calibration, ConflictError, TuningDB, UnknownReferenceError, open_db


@pytest.fixture
def db(db_url: str) -> Iterator[TuningDB]:
    database = TuningDB(db_url)
    yield database
    database.close()


def _stored(db: TuningDB, *targets_: object) -> None:
    db.add_workload(workload(0))
    for t in targets_ or (target(),):
        db.add_target(t)  # type: ignore[arg-type]


def test_adding_workload_and_target_twice_stores_each_once(db: TuningDB) -> None:
    w, t = workload(), target()
    for _ in range(2):
        db.add_workload(w)
        db.add_target(t)
    assert db.workloads() == [w]
    assert db.targets() == [t]


def test_best_orders_by_median_time(db: TuningDB) -> None:
    w, t = workload(), target()
    _stored(db, t)
    db.add_records(
        [
            record(w, t, 0, run_secs=(5.0, 5.0, 5.0)),
            record(w, t, 1, run_secs=(0.1, 9.0, 2.0)),  # median 2.0: the best although its mean is worst
            record(w, t, 2, run_secs=(3.0,)),
        ]
    )
    best = db.best(w.key, t.canonical, t.fingerprint)
    assert best is not None and best.config == record(w, t, 1).config
    assert [r.median_secs for r in db.top_k(w.key, t.canonical, t.fingerprint, k=3)] == [2.0, 3.0, 5.0]


def test_best_ignores_failed_trials(db: TuningDB) -> None:
    w, t = workload(), target()
    _stored(db, t)
    db.add_records([record(w, t, i, status=s) for i, s in enumerate(["build_error", "run_error", "timeout", "wrong_result"])])
    assert db.best(w.key, t.canonical, t.fingerprint) is None
    db.add_record(record(w, t, 9, run_secs=(7.0,)))
    assert db.best(w.key, t.canonical, t.fingerprint).median_secs == 7.0  # type: ignore[union-attr]


def test_other_hardware_is_kept_but_best_only_when_asked(db: TuningDB) -> None:
    w, here, there = workload(), target("fp_here"), target("fp_there")
    _stored(db, here, there)
    db.add_records([record(w, here, 0, run_secs=(2.0,)), record(w, there, 1, run_secs=(1.0,))])
    assert db.best(w.key, here.canonical, "fp_here").fingerprint == "fp_here"  # type: ignore[union-attr]
    assert db.best(w.key, here.canonical, "fp_here", any_fingerprint=True).fingerprint == "fp_there"  # type: ignore[union-attr]
    assert {r.fingerprint for r in db.records_for(w.key)} == {"fp_here", "fp_there"}
    assert [r.fingerprint for r in db.records_for(w.key, fingerprint="fp_there")] == ["fp_there"]


def test_best_needs_a_fingerprint_or_any(db: TuningDB) -> None:
    with pytest.raises(ValueError, match="any_fingerprint=True"):
        db.best(workload().key, target().canonical)


def test_best_of_unknown_workload_is_none(db: TuningDB) -> None:
    assert db.best("f" * 64, target().canonical, "fp") is None


def test_measured_configs_include_failures_of_that_target_only(db: TuningDB) -> None:
    w, here, there = workload(), target("fp_here"), target("fp_there")
    _stored(db, here, there)
    db.add_records([record(w, here, 0), record(w, here, 1, status="timeout"), record(w, there, 2)])
    assert db.measured_configs(w.key, here.canonical, "fp_here") == {record(w, here, 0).config, record(w, here, 1).config}


def test_adding_the_same_record_twice_stores_it_once(db: TuningDB) -> None:
    w, t = workload(), target()
    _stored(db, t)
    assert db.add_records([record(w, t, 0), record(w, t, 1)]) == 2
    assert db.add_records([record(w, t, 0), record(w, t, 1)]) == 0
    assert db.count_records() == 2


def test_same_trial_with_another_result_is_a_conflict_and_adds_nothing(db: TuningDB) -> None:
    w, t = workload(), target()
    _stored(db, t)
    db.add_record(record(w, t, 0, run_secs=(1.0,)))
    with pytest.raises(ConflictError, match="different result"):
        db.add_records([record(w, t, 5), record(w, t, 0, run_secs=(0.5,))])
    assert db.records_for(w.key) == [record(w, t, 0, run_secs=(1.0,))]


def test_record_of_unknown_workload_or_target_names_the_fix(db: TuningDB) -> None:
    w, t = workload(), target()
    with pytest.raises(UnknownReferenceError, match="add_workload first"):
        db.add_record(record(w, t, 0))
    db.add_workload(w)
    with pytest.raises(UnknownReferenceError, match="add_target first"):
        db.add_record(record(w, t, 0))


def test_workload_key_with_other_content_is_a_conflict(db: TuningDB) -> None:
    db.add_workload(workload(0))
    changed = workload(0, op_name="conv2d")
    with pytest.raises(ConflictError):
        db.add_workload(changed)
    assert db.workloads() == [workload(0)]


def test_stats_count_records_and_best_per_pair(db: TuningDB) -> None:
    w, t = workload(), target()
    _stored(db, t)
    db.add_records([record(w, t, 0, run_secs=(2.0,)), record(w, t, 1, run_secs=(1.0,)), record(w, t, 2, status="timeout")])
    stats = db.stats()
    assert (stats.workloads, stats.targets, stats.records) == (1, 1, 3)
    assert stats.by_status == {"ok": 2, "timeout": 1}
    (pair,) = stats.pairs
    assert (pair.op_name, pair.records, pair.ok, pair.best_secs) == ("matmul", 3, 2, 1.0)


def test_open_db_takes_a_bare_path_as_a_sqlite_file(tmp_path: object) -> None:
    path = f"{tmp_path}/sub/dir/t.db"
    db = open_db(path)
    db.add_workload(workload())
    db.close()
    db = open_db(f"sqlite:///{path}")
    assert db.workloads() == [workload()]
    db.close()


def test_in_memory_database_keeps_data_across_calls() -> None:
    db = open_db("sqlite://")
    db.add_workload(workload())
    db.add_target(target())
    db.add_record(record(workload(), target(), 0))
    assert db.count_records() == 1


def test_unsupported_url_names_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="postgresql\\+psycopg"):
        open_db("mysql://x/y")


def test_sqlite_file_runs_in_wal_mode_with_a_busy_timeout(tmp_path: object) -> None:
    db = open_db(f"{tmp_path}/t.db")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    db.close()


def test_best_query_uses_the_best_index(tmp_path: object) -> None:
    db = open_db(f"{tmp_path}/t.db")
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM records WHERE workload_id = 1 AND target_id = 1 AND status = 'ok' "
            "AND median_secs IS NOT NULL ORDER BY median_secs, id LIMIT 1"
        ).all()
    db.close()
    text = " ".join(str(row[-1]) for row in plan)
    assert "ix_records_best" in text and "TEMP B-TREE" not in text


def _calibration(fingerprint: str, float32: float | None, day: int) -> Calibration:
    return Calibration(fingerprint, "cpu", float32, None, 12.5, datetime(2026, 11, day, tzinfo=timezone.utc), "h", {"bandwidth": "triad"})


def test_a_calibration_is_kept_per_fingerprint_and_replaced_by_a_new_one(db: TuningDB) -> None:
    assert db.calibration("aaaa") is None and db.calibrations() == []
    db.save_calibration(_calibration("aaaa", 100.0, 1))
    db.save_calibration(_calibration("bbbb", None, 2))
    db.save_calibration(_calibration("aaaa", 120.0, 3))
    assert db.calibration("aaaa") == _calibration("aaaa", 120.0, 3)
    assert db.calibrations() == [_calibration("aaaa", 120.0, 3), _calibration("bbbb", None, 2)]
