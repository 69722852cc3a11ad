"""A corrupt or hostile import file: each bad line is rejected with a reason, the rest is imported,
and nothing already stored changes. One test per kind of bad line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from db_samples import record, target, workload
from tuning_db import TuningDB
from tuning_db.jsonl import ImportReport, export_lines, import_file, line_of
from tuning_db.validate import check_trace

W, T = workload(0), target()
GOOD = record(W, T, 50, run_secs=(0.5,))


@pytest.fixture
def db(db_url: str) -> Iterator[TuningDB]:
    database = TuningDB(db_url)
    database.add_workload(W)
    database.add_target(T)
    database.add_records([record(W, T, i, run_secs=(0.1 * (i + 1),)) for i in range(3)])
    yield database
    database.close()


def _record_entry(**changes: Any) -> dict[str, Any]:
    entry = json.loads(line_of(record(W, T, 60)))
    entry.update(changes)
    return entry


def _compact(entry: dict[str, Any]) -> str:
    return json.dumps(entry, separators=(",", ":"))


def _import(db: TuningDB, tmp_path: Path, bad: str | bytes) -> tuple[ImportReport, list[str]]:
    """Import [workload, target, bad line, good record]; returns the report and the export before."""
    before = list(export_lines(db))
    path = tmp_path / "in.jsonl"
    with open(path, "wb") as f:
        for line in (line_of(W), line_of(T)):
            f.write(line.encode() + b"\n")
        f.write(bad if isinstance(bad, bytes) else bad.encode())
        f.write(b"\n" + line_of(GOOD).encode() + b"\n")
    return import_file(db, path), before


def _assert_only_good_added(db: TuningDB, report: ImportReport, before: list[str], reason: str) -> None:
    assert [where for where, _ in report.rejected] == ["line 3"]
    assert reason in report.rejected[0][1], report.rejected
    assert report.added["record"] == 1
    after = list(export_lines(db))
    assert after[: len(before)] == before  # what was stored is stored unchanged, in order
    assert after[len(before) :] == [line_of(GOOD)]


def test_truncated_line_is_rejected(db: TuningDB, tmp_path: Path) -> None:
    line = line_of(record(W, T, 70))
    report, before = _import(db, tmp_path, line[: len(line) // 2])
    _assert_only_good_added(db, report, before, "not valid JSON")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"run_secs": "fast"}, "run_secs must be a list"),
        ({"run_secs": [True]}, "is not a time"),
        ({"status": 1}, "unknown status"),
        ({"created_at": 1700000000}, "ISO 8601"),
        ({"created_at": "2025-01-01T00:00:00"}, "no time zone"),
        ({"config": {"C.unroll": 4}}, "config must be a string"),
        ({"config": '{"C.unroll": 4.5}'}, "float value"),
        ({"config": '["C.unroll", 4]'}, "JSON object"),
        ({"host": ["h"]}, "host must be a string"),
        ({"workload_key": "xyz"}, "does not match"),
        ({"speedup": 2.0}, "unknown fields ['speedup']"),
        ({"strategy": "Random Search"}, "strategy 'Random Search' does not match"),
        ({"strategy": "x" * 40}, "strategy is 40 chars; at most 32"),
        ({"strategy": ["random"]}, "strategy must be a string"),
        ({"calibration": '{"activation": "X", "absmax": -1, "batches": 1, "source": ""}'}, "absmax must be a finite number"),
        ({"calibration": '{"activation": "X", "absmax": 1.0}'}, "calibration must be an object of"),
        ({"calibration": '{"activation": "../x", "absmax": 1.0, "batches": 1, "source": ""}'}, "activation must be a tensor name"),
        ({"calibration": {"activation": "X"}}, "calibration must be a string"),
        ({"type": "script"}, "unknown entry type"),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}" for k in v),
)
def test_wrong_types_are_rejected(db: TuningDB, tmp_path: Path, changes: dict[str, Any], reason: str) -> None:
    report, before = _import(db, tmp_path, json.dumps(_record_entry(**changes)))
    _assert_only_good_added(db, report, before, reason)


def test_missing_field_is_rejected(db: TuningDB, tmp_path: Path) -> None:
    entry = _record_entry()
    del entry["status"]
    report, before = _import(db, tmp_path, json.dumps(entry))
    _assert_only_good_added(db, report, before, "lacks ['status']")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (_compact(_record_entry()).replace('"run_secs":[0.001,0.002,0.003]', '"run_secs":[1e400]'), "out of range"),
        (json.dumps(_record_entry(run_secs=[1e12])), "is not a time"),
        (json.dumps(_record_entry(config='{"C.unroll":1000000000000000000000000000000}')), "too large"),
        (json.dumps(_record_entry(config='{"C.unroll":4294967296}')), "out of range"),
        (json.dumps(_record_entry(run_secs=[0.1] * 5000)), "at most 1000"),
        (json.dumps(_record_entry(config=json.dumps({f"k{i}": i for i in range(1000)}))), "at most 256"),
        (json.dumps(_record_entry(max_abs_error=-1.0)), "non-negative"),
        (json.dumps({"type": "workload", **json.loads(line_of(workload(5))), "sizes": {"M": 2**50}}), "not an integer in"),
        ('{"type":"record","x":' + "[" * 5000 + "]" * 5000 + "}", "nested"),
        (_compact(_record_entry()).replace('"status":"ok"', '"status":NaN'), "NaN"),
    ],
    ids=["float_1e400", "run_secs_1e12", "int_30_digits", "knob_2_32", "5000_repeats", "1000_knobs", "negative_error", "size_2_50", "nesting_5000", "nan"],
)
def test_huge_numbers_are_rejected(db: TuningDB, tmp_path: Path, bad: str, reason: str) -> None:
    report, before = _import(db, tmp_path, bad)
    _assert_only_good_added(db, report, before, reason)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"trace": '[[["GetSBlock",[],["C","main"],["b0"]],["os.system",["rm -rf /"],[],[]]],[]]'}, "unknown schedule primitive 'os.system'"),
        ({"trace": '[[["PyFunc",[],[],[]]],[]]'}, "unknown schedule primitive 'PyFunc'"),
        ({"trace": '{"root_index":0,"nodes":[{"type":"ir.PrimFunc","data":{}}]}'}, "node type 'ir.PrimFunc' is not accepted"),
        ({"config": '{"__import__(\'os\')":1}'}, "unknown knob name form"),
    ],
    ids=["os_system", "pyfunc", "primfunc_node", "knob_name"],
)
def test_unknown_primitive_is_rejected(db: TuningDB, tmp_path: Path, changes: dict[str, Any], reason: str) -> None:
    report, before = _import(db, tmp_path, json.dumps(_record_entry(**changes)))
    _assert_only_good_added(db, report, before, reason)


def test_known_primitives_in_a_saved_trace_are_accepted(db: TuningDB, tmp_path: Path) -> None:
    # the form schedules/ stores: tvm.ir.save_json of trace.as_json(), numbers as IntImm nodes
    nodes = [
        {"type": "ffi.String", "data": "Split"},
        {"type": "ffi.String", "data": "l1"},
        {"type": "ir.PrimType", "data": {"dtype": "int32"}},
        {"type": "ir.IntImm", "data": {"ty": 2, "value": 11}},  # fields name nodes: value is node 11
        {"type": "ffi.Array", "data": [1, 3, 3]},
        {"type": "bool", "data": True},
        {"type": "ffi.Array", "data": [5]},
        {"type": "ffi.Array", "data": []},
        {"type": "ffi.Array", "data": [0, 4, 6, 7]},
        {"type": "ffi.Array", "data": [8]},
        {"type": "ffi.Array", "data": [9, 7]},
        {"type": "int", "data": 4},
    ]
    trace = json.dumps({"root_index": 10, "nodes": nodes})
    assert check_trace(trace) == [[["Split", ["l1", 4, 4], [True], []]], []]
    report, before = _import(db, tmp_path, json.dumps(_record_entry(trace=trace)))
    assert report.ok and report.added["record"] == 2


def test_sql_looking_strings_in_names_are_rejected(db: TuningDB, tmp_path: Path) -> None:
    hostile = json.dumps({**json.loads(line_of(workload(7))), "op_name": "x'; DROP TABLE records; --"})
    report, before = _import(db, tmp_path, hostile)
    _assert_only_good_added(db, report, before, "op_name")


def test_sql_looking_strings_in_free_text_are_stored_as_text(db: TuningDB, tmp_path: Path) -> None:
    text = "'); DROP TABLE records; DELETE FROM workloads; --"
    report, before = _import(db, tmp_path, json.dumps(_record_entry(status="run_error", run_secs=[], error=text)))
    assert report.ok and report.added["record"] == 2
    assert text in [r.error for r in db.records_for(W.key)]
    assert db.count_records() == 5 and db.workloads() == [W]


def test_100_megabyte_line_is_rejected_without_stopping_the_import(db: TuningDB, tmp_path: Path) -> None:
    before = list(export_lines(db))
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as f:
        f.write(line_of(W).encode() + b"\n" + line_of(T).encode() + b"\n")
        f.write(b'{"type":"record","error":"')
        chunk = b"A" * (1 << 20)
        for _ in range(100):
            f.write(chunk)
        f.write(b'"}\n' + line_of(GOOD).encode() + b"\n")
    report = import_file(db, path)
    _assert_only_good_added(db, report, before, "longer than")


def test_duplicate_with_a_different_result_is_rejected(db: TuningDB, tmp_path: Path) -> None:
    stored = record(W, T, 1, run_secs=(0.2,))
    forged = json.loads(line_of(stored))
    forged["run_secs"] = [0.000001]
    report, before = _import(db, tmp_path, json.dumps(forged))
    _assert_only_good_added(db, report, before, "stored with a different result")
    assert db.best(W.key, T.canonical, T.fingerprint).median_secs == pytest.approx(0.1)  # type: ignore[union-attr]


def test_duplicate_within_one_file_with_a_different_result_is_rejected(tmp_path: Path) -> None:
    db = TuningDB("sqlite://")
    first = record(W, T, 80, run_secs=(0.3,))
    second = json.loads(line_of(first))
    second["run_secs"] = [0.01]
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join([line_of(W), line_of(T), line_of(first), json.dumps(second)]) + "\n")
    report = import_file(db, path)
    assert report.rejected == [("line 4", f"record {first.uid} repeats line 3 with a different result")]
    assert db.records_for(W.key) == [first]


def test_record_before_its_workload_is_rejected(tmp_path: Path) -> None:
    db = TuningDB("sqlite://")
    path = tmp_path / "order.jsonl"
    path.write_text("\n".join([line_of(GOOD), line_of(W), line_of(T), line_of(GOOD)]) + "\n")
    report = import_file(db, path)
    assert [where for where, _ in report.rejected] == ["line 1"]
    assert "workload line must come first" in report.rejected[0][1]
    assert db.count_records() == 1
