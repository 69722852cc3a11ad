"""``opforge report`` and ``opforge tune --report`` as a person runs them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from autotune.cli import cli
from autotune.commands.errors import CliError


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_report_writes_the_page_and_says_what_it_holds(sample_db_path, tmp_path):
    out = tmp_path / "r.html"
    result = _invoke("report", "--db", sample_db_path, "--op", "matmul", "--op", "softmax", "--target", "fa11", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: 120 records, 3 workload/target pairs" in result.output
    page = out.read_text()
    assert "filtered by op: matmul, softmax; target: fa11" in page and "matmul_int8" not in page


def test_report_of_a_missing_database_is_a_one_line_error(tmp_path):
    with pytest.raises(CliError, match="no tuning database at"):
        CliRunner().invoke(cli, ["report", "--db", str(tmp_path / "typo.db"), "-o", str(tmp_path / "r.html")], catch_exceptions=False, standalone_mode=False)
    assert not (tmp_path / "typo.db").exists()


def test_report_that_cannot_be_written_is_a_one_line_error(sample_db_path, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(CliError, match="cannot write the report"):
        CliRunner().invoke(cli, ["report", "--db", sample_db_path, "-o", str(tmp_path / "file" / "r.html")], catch_exceptions=False, standalone_mode=False)


def test_report_warns_when_nothing_matches(sample_db_path, tmp_path):
    result = CliRunner().invoke(cli, ["report", "--db", sample_db_path, "--op", "conv2d_nchw", "-o", str(tmp_path / "r.html")], catch_exceptions=False)
    assert result.exit_code == 0 and "no records in" in result.output


def test_tune_report_writes_the_page_of_the_run_with_numpy(tmp_path):
    db, page = tmp_path / "t.db", tmp_path / "run.html"
    result = _invoke("tune", "matmul", "--shape", "M=32,N=32,K=32", "--trials", "3", "--repeats", "1", "--db", str(db), "--json", "--report", str(page))
    assert result.exit_code == 0, result.output
    (task,) = json.loads(result.output[result.output.index("{"):])["tasks"]
    html = page.read_text()
    assert task["workload_key"][:12] in html and "timed by the `opforge tune` run that wrote this page" in html
    # the run's numpy speed-up is in the table: best/numpy as the tune summary computed it
    assert f"{task['speedup_vs_numpy']:.2f}x" in html


def test_report_peaks_of_this_machine_come_from_the_databases_calibration(tmp_path):
    from targets import get_target
    from targets.calibration import Calibration

    from autotune.commands.report import host_peaks
    from tuning_db import open_db

    fp = get_target("cpu").fingerprint()
    with open_db(str(tmp_path / "t.db")) as db:
        assert all(not p.source.startswith("calibrated") for p in host_peaks(db).values())
        db.save_calibration(Calibration(fp, "cpu", {"float32": 123.0}, 9.0, "2026-11-22T00:00:00+00:00", "testhost").to_stored())
        peaks = host_peaks(db)[fp]
    assert (peaks.gflops["float32"], peaks.bandwidth_gbs, peaks.source) == (123.0, 9.0, "calibrated 2026-11-22 on testhost")
