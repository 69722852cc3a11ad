"""Domain values and their rows: one tested conversion each way."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from tuning_db import Calibration, Record, TargetInfo, TuningDB, Workload
from tuning_db.records import STRATEGY_NAME

from db_samples import record, target, workload


@pytest.mark.parametrize("status", ["ok", "build_error", "run_error", "timeout", "wrong_result"])
def test_record_from_row_inverts_to_row(status: str) -> None:
    rec = record(workload(), target(), 3, status=status)
    assert Record.from_row(rec.to_row()) == rec


@pytest.mark.parametrize("strategy", [None, "random", "evolutionary"])
def test_record_with_a_strategy_round_trips_through_rows(strategy: str | None) -> None:
    rec = record(workload(), target(), 2, strategy=strategy)
    assert rec.to_row()["strategy"] == strategy
    assert Record.from_row(rec.to_row()) == rec


def test_record_with_nones_and_infinite_error_round_trips() -> None:
    rec = record(workload(), target(), 1, trace=None, team=None, max_abs_error=math.inf, rel_l2_error=None)
    assert Record.from_row(rec.to_row()) == rec


def test_workload_and_target_round_trip_through_rows() -> None:
    w, t = workload(2), target()
    assert Workload.from_row(w.to_row()) == w
    assert TargetInfo.from_row(t.to_row()) == t


def test_record_round_trips_through_each_engine(db_url: str) -> None:
    w, t = workload(), target()
    recs = [record(w, t, i, run_secs=(0.1 + i / 3, 1 / 7)) for i in range(3)] + [record(w, t, 9, status="timeout")]
    recs += [record(w, t, 10, strategy="random"), record(w, t, 11, status="build_error", strategy="evolutionary")]
    db = TuningDB(db_url)
    try:
        db.add_workload(w)
        db.add_target(t)
        db.add_records(recs)
        assert db.records_for(w.key) == recs
        assert db.workloads() == [w]
        assert db.targets() == [t]
    finally:
        db.close()


def test_median_secs_is_the_median_and_infinite_without_runs() -> None:
    w, t = workload(), target()
    assert record(w, t, 0, run_secs=(3.0, 1.0, 2.0, 10.0)).median_secs == 2.5
    assert record(w, t, 0, status="build_error").median_secs == math.inf


def test_uid_names_the_trial_not_its_result() -> None:
    w, t = workload(), target()
    a = record(w, t, 0, run_secs=(1.0,))
    assert record(w, t, 0, run_secs=(2.0,)).uid == a.uid
    assert record(w, t, 1, run_secs=(1.0,)).uid != a.uid
    assert record(w, t, 0, run_secs=(1.0,), host="other").uid != a.uid


def test_uid_of_a_record_without_strategy_is_the_one_before_schema_0003() -> None:
    # computed by the Record of schema 0002 (no strategy field): stored uids stay valid
    assert record(workload(), target(), 0).uid == "9893318749c16fe8ae689d8b12e975912d1a69b16efcae21ca04d98207eaa434"
    # a recorded strategy is part of the trial's provenance, so of its identity
    assert record(workload(), target(), 0, strategy="random").uid == "5a8de88ec09bbb2a1d871f081557e6f62643da1c6b8c75a9a0d2dee937bf7be5"


@pytest.mark.parametrize("bad", ["Random", "random search", "", "x" * 33, "1st", 7])
def test_strategy_that_is_not_a_name_is_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match=r"is not a strategy name; expected None or \^\[a-z\]"):
        record(workload(), target(), 0, strategy=bad)


def test_every_registered_strategy_name_can_be_stored() -> None:
    from autotune.strategies import STRATEGIES

    assert STRATEGIES and all(STRATEGY_NAME.match(name) for name in STRATEGIES)


def test_unknown_status_names_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="expected one of .*'ok'"):
        record(workload(), target(), 0, status="fast")


def test_naive_created_at_is_rejected() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        record(workload(), target(), 0, created_at=datetime(2025, 1, 1))


def test_target_info_of_a_real_target() -> None:
    from targets import get_target

    cpu = get_target("cpu")
    info = TargetInfo.of(cpu)
    assert (info.name, info.canonical, info.fingerprint) == ("cpu", cpu.canonical(), cpu.fingerprint())
    assert TargetInfo.from_row(info.to_row()) == info


@pytest.mark.parametrize("figures", [(100.0, 400.0, 10.0), (100.0, None, None), (None, None, None)])
def test_calibration_round_trips_through_rows(figures: tuple) -> None:
    float32, int8, bandwidth = figures
    c = Calibration("ab12", "cpu", float32, int8, bandwidth, datetime(2026, 11, 22, 6, 0, tzinfo=timezone.utc), "host",
                    {"float32": "TVM kernel"} if float32 else {})
    row = c.to_row()
    assert row["measured_at"].tzinfo is None and Calibration.from_row(row) == c


def test_calibration_with_a_naive_measured_at_is_rejected() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        Calibration("ab12", "cpu", 1.0, None, None, datetime(2026, 11, 22), "host")
