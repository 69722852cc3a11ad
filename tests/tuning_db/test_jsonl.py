"""Export, import and merge as JSON lines: round trips, filters, idempotence, union with best recomputed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from db_samples import T0, record, target, workload
from tuning_db import TuningDB, open_db
from tuning_db.jsonl import export_lines, import_file, line_of, merge
from tuning_db.records import Record, TvmModule
from tuning_db.validate import parse_line


def _filled(url: str) -> TuningDB:
    db = TuningDB(url)
    w0, w1 = workload(0), workload(1, op_name="conv2d")
    here, there = target("fp_here"), target("fp_there")
    for w in (w0, w1):
        db.add_workload(w)
    for t in (here, there):
        db.add_target(t)
    db.link_tvm_module(TvmModule(w0.key, "123", '{"root_index":0,"nodes":[{"type":"None"}]}'))
    db.add_records(
        [record(w0, here, i, run_secs=(0.1 * (i + 1),)) for i in range(5)]
        + [record(w0, there, 10, status="timeout", strategy="evolutionary"), record(w1, here, 11, trace=None, team=None, strategy="random")]
    )
    return db


@pytest.fixture
def src(tmp_path: Path) -> Iterator[TuningDB]:
    db = _filled(f"sqlite:///{tmp_path}/src.db")
    yield db
    db.close()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.mark.parametrize("entry", [workload(3), target("fp9"), record(workload(), target(), 4), TvmModule("a" * 64, "-17", '{"nodes":[]}')])
def test_parse_line_inverts_line_of(entry: object) -> None:
    assert parse_line(line_of(entry)) == entry  # type: ignore[arg-type]


def test_a_record_without_strategy_is_exported_as_before_schema_0003() -> None:
    plain, tagged = record(workload(), target(), 4), record(workload(), target(), 4, strategy="random")
    assert '"strategy"' not in line_of(plain)  # an older opforge still imports the line
    assert '"strategy":"random"' in line_of(tagged)
    assert parse_line(line_of(tagged)) == tagged and parse_line(line_of(plain)) == plain
    assert parse_line(line_of(plain).replace('{"config"', '{"strategy":null,"config"')) == plain


def test_a_quantized_record_carries_its_calibration_through_export_and_import() -> None:
    cal = '{"absmax": 3.25, "activation": "X", "batches": 1, "source": "random inputs, seed [0, 1]"}'
    plain, quantized = record(workload(), target(), 4), record(workload(), target(), 4, calibration=cal)
    assert '"calibration"' not in line_of(plain) and parse_line(line_of(quantized)) == quantized
    assert quantized.uid != plain.uid and Record.from_row({**quantized.to_row(), "workload_key": quantized.workload_key,
                                                           "target": quantized.target, "fingerprint": quantized.fingerprint}) == quantized


def test_export_then_import_reproduces_the_database(src: TuningDB, db_url: str, tmp_path: Path) -> None:
    dst = TuningDB(db_url)
    report = import_file(dst, _write(tmp_path / "all.jsonl", list(export_lines(src))))
    assert report.ok and report.added == {"workload": 2, "target": 2, "tvm_module": 1, "record": 7}
    assert list(export_lines(dst)) == list(export_lines(src))
    dst.close()


def test_importing_twice_adds_nothing(src: TuningDB, tmp_path: Path) -> None:
    path = _write(tmp_path / "all.jsonl", list(export_lines(src)))
    dst = open_db(str(tmp_path / "dst.db"))
    import_file(dst, path)
    again = import_file(dst, path)
    assert again.ok and sum(again.added.values()) == 0 and again.present == 12
    assert dst.count_records() == 7


def test_export_filters_by_op_target_and_time(src: TuningDB) -> None:
    conv = [parse_line(line) for line in export_lines(src, op="conv2d")]
    assert [type(e).__name__ for e in conv] == ["Workload", "TargetInfo", "TargetInfo", "Record"]
    by_key = [parse_line(line) for line in export_lines(src, op=workload(0).key)]
    assert sum(type(e).__name__ == "Record" for e in by_key) == 6
    recent = [parse_line(line) for line in export_lines(src, since=T0 + timedelta(seconds=3))]
    assert sorted(e.created_at for e in recent if type(e).__name__ == "Record") == [T0 + timedelta(seconds=s) for s in (3, 4, 10, 11)]  # type: ignore[union-attr]
    assert not [line for line in export_lines(src, target="gpu") if '"type":"record"' in line]


def test_merge_takes_the_union_and_recomputes_best(src: TuningDB, db_url: str) -> None:
    w, here = workload(0), target("fp_here")
    dst = TuningDB(db_url)
    dst.add_workload(w)
    dst.add_target(here)
    dst.add_records([record(w, here, 100, run_secs=(0.25,)), record(w, here, 101, run_secs=(0.5,))])
    assert dst.best(w.key, here.canonical, "fp_here").median_secs == 0.25  # type: ignore[union-attr]

    report = merge(dst, src.url)
    assert report.ok and report.added["record"] == 7
    assert dst.count_records() == 9
    assert dst.best(w.key, here.canonical, "fp_here").median_secs == pytest.approx(0.1)  # type: ignore[union-attr]
    assert merge(dst, src.url).added["record"] == 0
    dst.close()


def test_merge_from_a_missing_file_is_an_error(tmp_path: Path) -> None:
    dst = open_db("sqlite://")
    with pytest.raises(ValueError, match="does not exist"):
        merge(dst, str(tmp_path / "nope.db"))
    with pytest.raises(ValueError, match="does not exist"):
        merge(dst, f"sqlite:///{tmp_path}/nope.db")
