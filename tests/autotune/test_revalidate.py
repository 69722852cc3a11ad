"""``opforge db revalidate``: records of other TVM/opforge versions are measured again as new records."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from click.testing import CliRunner

from autotune.cli import cli
from autotune.revalidate import revalidate
from autotune.session import TuneOptions, TuningSession
from autotune.store import DBStore, Task, current_versions
from tuning_db import Record, TargetInfo, Workload, open_db

OLD = ("0.0.9", "0.26.0")  # (opforge, TVM) of the records a previous install made
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=timezone.utc)
# a knob no current space has: the schedules of this version reject the Config
BROKEN = '{"C.tile.i":[1,4,2,4],"C.retired_knob":1}'


def _record(task: Task, config: str, i: int, versions: tuple[str, str] = OLD, secs: float = 1e-3) -> Record:
    return Record(
        workload_key=task.workload_key, target=task.target.canonical(), fingerprint=task.target.fingerprint(),
        config=config, trace=None, run_secs=(secs, secs), status="ok", error=None, max_abs_error=0.0,
        rel_l2_error=0.0, opforge_version=versions[0], tvm_version=versions[1], host="oldhost", team="kernels",
        created_at=T0 + timedelta(seconds=i),
    )


def _fill(url: str, op, target, n_old: int = 2, broken: bool = True) -> tuple[Task, list[str], str]:
    """A database with ``n_old`` old-version records (default Config first), one current-version record
    and optionally a broken old one; returns the task, the old configs and the current one."""
    from dsl.lower import lower
    from schedules import space_for

    task = Task.of(op, target)
    space = space_for(lower(op), target)
    samples = [c.to_json() for c in space.sample(8, np.random.default_rng(1)) if c != space.default()]
    old = [space.default().to_json(), *samples[: n_old - 1]]
    current = samples[n_old - 1]
    with open_db(url) as db:
        db.add_workload(Workload(task.workload_key, task.workload_text, task.op_name, task.sizes, task.dtypes))
        db.add_target(TargetInfo.of(target))
        rows = [_record(task, c, i) for i, c in enumerate(old)]
        rows.append(_record(task, current, 10, versions=current_versions()))
        if broken:
            rows.append(_record(task, BROKEN, 11))
        db.add_records(rows)
    return task, old, current


@pytest.fixture
def options() -> TuneOptions:
    return TuneOptions(seed=0, build_workers=2, repeats=2, min_repeat_ms=5, run_timeout_secs=20, build_timeout_secs=60)


def test_old_version_records_get_new_records_and_current_ones_are_left_alone(matmul_32, cpu1, options, tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    task, old, current = _fill(url, matmul_32, cpu1)
    with open_db(url) as db:
        before = {r.uid: r for r in db.records_for(task.workload_key)}
    store = DBStore.open(url, team="perf")
    with TuningSession(cpu1, options) as session:
        report = revalidate(store, session)
        assert report.current_records == 1 and report.measured == 3 and len(report.rows) == 3
        after = store.db.records_for(task.workload_key)
        # the old records are all still there, unchanged (provenance)
        assert {r.uid: r for r in after if r.uid in before} == before
        new = [r for r in after if r.uid not in before]
        assert sorted(r.config for r in new) == sorted([*old, BROKEN])
        assert all((r.opforge_version, r.tvm_version) == current_versions() and r.team == "perf" for r in new)
        ok = [r for r in new if r.config in old]
        assert all(r.status == "ok" and r.median_secs > 0 and r.max_abs_error < 1e-3 for r in ok)
        assert sum(r.config == current for r in after) == 1, "a current-version record is not measured again"
        by_config = {row.old.config: row for row in report.rows}
        assert by_config[old[0]].old_secs == pytest.approx(1e-3) and by_config[old[0]].new_secs > 0

        # a second run finds nothing left to measure
        again = revalidate(store, session)
        assert again.rows == () and again.already_revalidated == 3 and again.current_records == 4
        assert len(store.db.records_for(task.workload_key)) == len(after)
    store.close()


def test_a_config_that_no_longer_applies_becomes_a_failed_record_and_the_run_goes_on(matmul_32, cpu1, options, tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    task, old, _ = _fill(url, matmul_32, cpu1, n_old=2)
    store = DBStore.open(url)
    seen = []
    with TuningSession(cpu1, options) as session:
        report = revalidate(store, session, [task.workload_key], on_row=seen.append)
    (broken,) = [r for r in report.rows if r.old.config == BROKEN]
    assert broken.new is not None and broken.new.status == "build_error" and "retired_knob" in broken.new.error
    assert broken.new_secs is None and broken.ratio is None
    stored = [r for r in store.db.records_for(task.workload_key) if r.config == BROKEN and r.tvm_version != OLD[1]]
    assert len(stored) == 1 and stored[0].status == "build_error" and "retired_knob" in stored[0].error
    # the good ones around it were measured
    assert all(r.new is not None and r.new.ok for r in report.rows if r.old.config in old)
    assert [r.old.config for r in seen] == [r.old.config for r in report.rows]
    store.close()


def test_a_workload_that_no_longer_lowers_is_reported_not_stored(matmul_32, cpu1, options, tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with open_db(url) as db:
        w = Workload("f" * 64, "op nonsense {", "ghost", {"M": 4}, ("float32",))
        db.add_workload(w)
        db.add_target(TargetInfo.of(cpu1))
        task = Task(w.key, w.text, w.op_name, cpu1)
        db.add_record(_record(task, BROKEN, 0))
    store = DBStore.open(url)
    with TuningSession(cpu1, options) as session:
        report = revalidate(store, session)
    (row,) = report.rows
    assert row.new is None and row.skipped.startswith("workload no longer lowers") and report.measured == 0
    assert len(store.db.records_for(w.key)) == 1
    store.close()


def test_cli_revalidate_prints_old_and_new_medians(tmp_path):
    from dsl.library import matmul
    from targets import get_target

    path = tmp_path / "r.db"
    task, old, _ = _fill(str(path), matmul().bind(M=16, N=16, K=16), get_target("cpu"), n_old=1, broken=False)
    out = CliRunner().invoke(
        cli, ["db", "revalidate", "--op", "matmul", "--shape", "M=16,N=16,K=16", "--target", "cpu", "--repeats", "1", "--db", str(path)],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    assert "1 records of other versions measured again as 1 new records" in out.output
    assert "old ms" in out.output and "new ms" in out.output and "TVM 0.26.0" in out.output and "1.0000" in out.output

    # --all --json: nothing left, so no rows
    out = CliRunner().invoke(cli, ["db", "revalidate", "--all", "--json", "--db", str(path)], catch_exceptions=False)
    assert out.exit_code == 0 and out.output.strip() == ""
    with open_db(str(path)) as db:
        assert len(db.records_for(task.workload_key)) == 3


def test_cli_revalidate_json_gives_one_line_per_old_record(tmp_path):
    from dsl.library import matmul
    from targets import get_target

    path = tmp_path / "r.db"
    _fill(str(path), matmul().bind(M=16, N=16, K=16), get_target("cpu"), n_old=1, broken=True)
    out = CliRunner().invoke(cli, ["db", "revalidate", "--all", "--json", "--repeats", "1", "--db", str(path)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert sorted(r["new_status"] for r in rows) == ["build_error", "ok"]
    assert all(r["old_versions"] == {"opforge": OLD[0], "tvm": OLD[1]} for r in rows)


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "--op OP --shape"),
        (["--all", "--op", "matmul", "--shape", "M=8,N=8,K=8"], "not both"),
        (["--op", "matmul"], "--shape is required"),
        (["--all", "--shape", "M=8"], "go with --op"),
        (["--all", "--target", "tpu"], "unknown target 'tpu'"),
    ],
)
def test_cli_revalidate_bad_selection_is_a_one_line_error(args, message, tmp_path):
    from autotune.commands.errors import CliError

    with pytest.raises(CliError, match=message):
        CliRunner().invoke(cli, ["db", "revalidate", *args, "--db", str(tmp_path / "r.db")], catch_exceptions=False, standalone_mode=False)


def test_int8_records_of_a_quantize_run_are_rebuilt_with_their_calibration(tmp_path):
    """A --quantize run's records, as an older install made them: each int8 Config is measured again on
    the program its record's calibration gives, within the run's error budget, and keeps that calibration."""
    import dataclasses

    tuned = tmp_path / "tuned.db"
    args = ["tune", "dense", "--shape", "M=8,N=32,K=64", "--target", "cpu:1", "--trials", "6", "--repeats", "1",
            "--quantize", "int8", "--db", str(tuned), "--json", "--build-workers", "1"]
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    old_url = str(tmp_path / "old.db")
    with open_db(str(tuned)) as src, open_db(old_url) as dst:
        for w in src.workloads():
            dst.add_workload(w)
        for t in src.targets():
            dst.add_target(t)
        dst.add_records(dataclasses.replace(r, opforge_version=OLD[0], tvm_version=OLD[1]) for w in src.workloads() for r in src.records_for(w.key))
    int8_configs = {r.config: r.calibration for r in _all_records(old_url) if json.loads(r.config)["quantize"] != "none" and r.status == "ok"}
    assert int8_configs

    out = CliRunner().invoke(cli, ["db", "revalidate", "--op", "dense", "--shape", "M=8,N=32,K=64", "--target", "cpu:1",
                                   "--quantize", "int8", "--repeats", "1", "--db", old_url, "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.output.splitlines() if line.startswith("{")]
    assert {r["config"] for r in rows if r["old_status"] == "ok"} >= set(int8_configs)
    assert all(r["new_status"] == "ok" for r in rows if r["config"] in int8_configs)
    new = {r.config: r for r in _all_records(old_url) if r.opforge_version != OLD[0]}
    for config, calibration in int8_configs.items():
        assert new[config].calibration == calibration and 0 < new[config].rel_l2_error <= 1e-2


def _all_records(url):
    with open_db(url) as db:
        return [r for w in db.workloads() for r in db.records_for(w.key)]
