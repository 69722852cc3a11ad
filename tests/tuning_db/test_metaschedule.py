"""TVM interoperability: the database as a MetaSchedule Database, and importing MetaSchedule's JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

tvm = pytest.importorskip("tvm")

from tvm import te  # noqa: E402
from tvm.s_tir import meta_schedule as ms  # noqa: E402

from tuning_db import TargetInfo, TuningDB, open_db  # noqa: E402
from tuning_db.metaschedule import MetaScheduleDatabase  # noqa: E402
from tuning_db.ms_import import MS_FINGERPRINT, import_metaschedule, ms_target  # noqa: E402
from tuning_db.validate import INSTRUCTIONS  # noqa: E402

TVM_TARGET = {"kind": "llvm", "num-cores": 2}


def _matmul(n: int = 16) -> Any:
    a = te.placeholder((n, n), name="A")
    b = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    c = te.compute((n, n), lambda i, j: te.sum(a[i, k] * b[k, j], axis=k), name="C")
    return tvm.IRModule({"main": te.create_prim_func([a, b, c])})


def _record(mod: Any, workload: Any, inner: int, secs: float) -> Any:
    sch = tvm.s_tir.Schedule(mod)
    i, _, _ = sch.get_loops(sch.get_sblock("C"))
    sch.split(i, [None, inner])
    return ms.database.TuningRecord(sch.trace, workload, [secs], tvm.target.Target(TVM_TARGET), ms.arg_info.ArgInfo.from_prim_func(mod["main"]))


def _split_factors(sch: Any) -> list[int]:
    """Extents of the two loops the split made (the first two loops of block C)."""
    loops = sch.get_loops(sch.get_sblock("C"))
    return [int(sch.get(loop).extent) for loop in loops[:2]]


def test_every_accepted_primitive_is_a_tvm_instruction() -> None:
    for name in sorted(INSTRUCTIONS):
        assert tvm.s_tir.schedule.InstructionKind.get(name).name == name


def test_adapter_commits_and_answers_queries(db_url: str) -> None:
    db = TuningDB(db_url)
    info = TargetInfo("cpu", json.dumps({"name": "cpu", "tvm": TVM_TARGET}), "fp_here", {})
    adapter = MetaScheduleDatabase(db, info, TVM_TARGET)
    mod = _matmul()
    assert not adapter.has_workload(mod)
    workload = adapter.commit_workload(mod)
    assert adapter.has_workload(mod)
    adapter.commit_tuning_record(_record(mod, workload, 4, 2e-3))
    adapter.commit_tuning_record(_record(mod, workload, 8, 1e-3))
    adapter.commit_tuning_record(_record(mod, workload, 2, 1e10))  # MetaSchedule's mark of a failed run

    assert len(adapter) == 2
    assert [float(r.run_secs[0]) for r in adapter.get_top_k(workload, 5)] == [1e-3, 2e-3]
    sch = adapter.query_schedule(mod, tvm.target.Target(TVM_TARGET), "main")
    assert _split_factors(sch) == [2, 8]
    # the stored records are plain opforge records: one failed, kept but never best
    stored = db.records_for(db.workloads()[0].key)
    assert sorted(r.status for r in stored) == ["ok", "ok", "run_error"]
    db.close()


def test_adapter_finds_an_opforge_workload_once_its_module_is_linked(matmul_16: Any) -> None:
    from dsl.key import canonical_text, workload_key
    from dsl.lower import lower_module
    from tuning_db import Workload

    from db_samples import record

    db = open_db("sqlite://")
    info = TargetInfo("cpu", json.dumps({"name": "cpu", "tvm": TVM_TARGET}), "fp_here", {})
    w = Workload(workload_key(matmul_16), canonical_text(matmul_16), "matmul", {"M": 16, "N": 16, "K": 16}, ("float32",))
    db.add_workload(w)
    adapter = MetaScheduleDatabase(db, info, TVM_TARGET)
    mod = lower_module(matmul_16)
    sch = tvm.s_tir.Schedule(mod)
    i = sch.get_loops(sch.get_sblock("C"))[0]  # the library matmul's stage is C
    sch.split(i, [None, 4])
    trace = tvm.ir.save_json(sch.trace.as_json())  # the form schedules/ stores
    db.add_record(record(w, info, 0, run_secs=(1e-4,), config='{"x.tile":4}', trace=trace))

    assert not adapter.has_workload(mod)
    adapter.link(w.key, mod)
    assert adapter.has_workload(mod)
    found = adapter.query_schedule(mod, tvm.target.Target(TVM_TARGET), "main")
    assert found is not None and _split_factors(found) == [4, 4]


@pytest.fixture
def ms_files(tmp_path: Path) -> tuple[Path, Path]:
    work = tmp_path / "ms"
    work.mkdir()
    database = ms.database.JSONDatabase(work_dir=str(work))
    mod = _matmul()
    workload = database.commit_workload(mod)
    database.commit_tuning_record(_record(mod, workload, 4, 3e-3))
    database.commit_tuning_record(_record(mod, workload, 8, 2e-3))
    return work / "database_workload.json", work / "database_tuning_record.json"


def test_metaschedule_json_database_imports_once(ms_files: tuple[Path, Path], db_url: str) -> None:
    db = TuningDB(db_url)
    report = import_metaschedule(db, *ms_files)
    assert report.ok and report.added == {"workload": 1, "target": 1, "tvm_module": 1, "record": 2}
    assert sum(import_metaschedule(db, *ms_files).added.values()) == 0

    target_json = json.loads(ms_files[1].read_text().splitlines()[0])[1][2]
    info = ms_target(target_json)
    (w,) = db.workloads()
    assert db.best(w.key, info.canonical, "fp_here") is None  # unknown hardware is not this machine's
    best = db.best(w.key, info.canonical, any_fingerprint=True)
    assert best is not None and best.median_secs == pytest.approx(2e-3) and best.fingerprint == MS_FINGERPRINT

    adapter = MetaScheduleDatabase(db, info, target_json)
    sch = adapter.query_schedule(_matmul(), tvm.target.Target(target_json), "main")
    assert _split_factors(sch) == [2, 8]
    db.close()


def test_bad_metaschedule_lines_are_rejected_one_by_one(ms_files: tuple[Path, Path]) -> None:
    workloads, records = ms_files
    with open(workloads, "a") as f:
        f.write('["123", "not base64!"]\n["123", "AAAAAAAAAAB7fQ=="]\n')
    good = records.read_text().splitlines()[0]
    with open(records, "a") as f:
        f.write(good.replace("[0,", "[7,", 1) + "\n")
        f.write(good.replace("[0,", "[1,", 1) + "\n")
        f.write(good.replace('"GetSBlock"', '"os.system"') + "\n")
    db = open_db("sqlite://")
    report = import_metaschedule(db, workloads, records)
    reasons = dict(report.rejected)
    assert "not base64" in reasons["database_workload.json:2"]
    assert "length header" in reasons["database_workload.json:3"]
    assert "lacks" in reasons["database_tuning_record.json:3"]
    assert "was rejected" in reasons["database_tuning_record.json:4"]
    assert "unknown schedule primitive 'os.system'" in reasons["database_tuning_record.json:5"]
    assert report.added["record"] == 2
