"""``opforge db ...``: export/import/merge/best/stats/upgrade through the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from autotune.cli import cli
from db_samples import record, target, workload
from tuning_db import TargetInfo, Workload, open_db


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def filled(tmp_path: Path) -> str:
    path = str(tmp_path / "filled.db")
    db = open_db(path)
    w, t = workload(0), target()
    db.add_workload(w)
    db.add_target(t)
    db.add_records([record(w, t, i, run_secs=(0.001 * (i + 1),)) for i in range(4)] + [record(w, t, 9, status="timeout")])
    db.close()
    return path


def test_stats_counts_and_shows_best_per_pair(filled: str) -> None:
    result = _run("db", "stats", "--db", filled)
    assert result.exit_code == 0
    assert "1 workloads, 1 targets, 5 records (4 ok, 1 timeout)" in result.output
    assert "matmul" in result.output and "1.0000" in result.output


def test_db_option_reads_opforge_db_from_the_environment(filled: str) -> None:
    result = _run("db", "stats", env={"OPFORGE_DB": filled})
    assert "5 records" in result.output


def test_export_import_round_trip_and_second_import_adds_nothing(filled: str, tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    assert _run("db", "export", "--db", filled, "-o", str(out)).exit_code == 0
    assert len(out.read_text().splitlines()) == 7
    dst = str(tmp_path / "dst.db")
    first = _run("db", "import", "--db", dst, str(out))
    assert first.exit_code == 0 and "added 1 workloads, 1 targets, 0 tvm_modules, 5 records" in first.output
    second = _run("db", "import", "--db", dst, str(out))
    assert "added 0 workloads, 0 targets, 0 tvm_modules, 0 records; 7 already present" in second.output


def test_export_since_filters_records(filled: str) -> None:
    result = _run("db", "export", "--db", filled, "--since", "2025-03-01T12:00:02.5+00:00")
    kinds = [json.loads(line)["type"] for line in result.output.splitlines()]
    assert kinds.count("record") == 2


def test_import_with_bad_lines_reports_them_and_exits_2(filled: str, tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    _run("db", "export", "--db", filled, "-o", str(out))
    out.write_text(out.read_text() + '{"type":"record","status":\n')
    result = CliRunner().invoke(cli, ["db", "import", "--db", str(tmp_path / "x.db"), str(out)])
    assert result.exit_code == 2
    assert "rejected line 8: line: not valid JSON" in result.output
    assert "1 entries" in result.output and "5 records" in result.output


def test_merge_adds_the_other_database(filled: str, tmp_path: Path) -> None:
    dst = str(tmp_path / "dst.db")
    result = _run("db", "merge", "--db", dst, filled)
    assert result.exit_code == 0 and "5 records" in result.output
    missing = CliRunner().invoke(cli, ["db", "merge", "--db", dst, str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def _store_best(path: str, fingerprint_of: Any) -> tuple[Workload, TargetInfo]:
    from dsl.key import canonical_text, workload_key
    from dsl.library import matmul
    from targets import get_target

    op = matmul().bind(M=16, N=16, K=16)
    cpu = get_target("cpu")
    w = Workload(workload_key(op), canonical_text(op), "matmul", {"M": 16, "N": 16, "K": 16}, ("float32",))
    t = TargetInfo("cpu", cpu.canonical(), fingerprint_of(cpu), dict(cpu.hardware))
    db = open_db(path)
    db.add_workload(w)
    db.add_target(t)
    db.add_records([record(w, t, 0, run_secs=(0.004,), config='{"C.unroll":16}'), record(w, t, 1, run_secs=(0.002,), config='{"C.unroll":64}')])
    db.close()
    return w, t


def test_best_prints_the_fastest_record_of_this_machine(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    _store_best(path, lambda cpu: cpu.fingerprint())
    result = _run("db", "best", "matmul", "--shape", "M=16,N=16,K=16", "--db", path)
    assert result.exit_code == 0, result.output
    assert "2.0000 ms" in result.output and '{"C.unroll":64}' in result.output
    as_json = json.loads(_run("db", "best", "matmul", "--shape", "M=16,N=16,K=16", "--db", path, "--json").output)
    assert as_json["config"] == '{"C.unroll":64}'


def test_best_of_other_hardware_needs_any_fingerprint(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    _store_best(path, lambda cpu: "someoneelse")
    refused = CliRunner().invoke(cli, ["db", "best", "matmul", "--shape", "M=16,N=16,K=16", "--db", path])
    assert refused.exit_code == 2 and "--any-fingerprint" in refused.output
    result = _run("db", "best", "matmul", "--shape", "M=16,N=16,K=16", "--db", path, "--any-fingerprint")
    assert result.exit_code == 0 and "(other hardware)" in result.output


def test_best_with_a_wrong_shape_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["db", "best", "matmul", "--shape", "M=16,Q=2", "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 2 and "Q" in result.output


def test_import_ms_command_imports_metaschedule_files(tmp_path: Path) -> None:
    pytest.importorskip("tvm")
    from tvm.s_tir import meta_schedule as ms

    from test_metaschedule import _matmul, _record

    database = ms.database.JSONDatabase(work_dir=str(tmp_path))
    mod = _matmul()
    database.commit_tuning_record(_record(mod, database.commit_workload(mod), 4, 1e-3))
    result = _run(
        "db", "import-ms", "--db", str(tmp_path / "t.db"),
        str(tmp_path / "database_workload.json"), str(tmp_path / "database_tuning_record.json"),
    )
    assert result.exit_code == 0 and "1 records" in result.output


def test_unreachable_postgres_is_a_one_line_error() -> None:
    result = CliRunner().invoke(cli, ["db", "stats", "--db", "postgresql+psycopg://nobody:x@127.0.0.1:1/none"])
    assert result.exit_code == 2 and "cannot open the tuning database" in result.output
