"""Peak calibration: honest kernels, figures kept per fingerprint in the tuning database, used by `opforge tune`."""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from autotune.cli import cli
from targets import get_target
from targets.calibration import Calibration, calibrations_of, legacy_path, load_calibrations, with_calibration
from tuning_db import open_db


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _cal(fingerprint: str, float32: float = 100.0, bandwidth: float | None = 10.0) -> Calibration:
    return Calibration(fingerprint, "cpu", {"float32": float32, "int8": 4 * float32}, bandwidth, "2026-11-22T00:00:00+00:00", "testhost")


def test_only_a_sqlite_database_can_have_an_old_calibration_file(tmp_path):
    assert legacy_path(str(tmp_path / "db" / "t.db")) == tmp_path / "db" / "calibration.json"
    assert legacy_path(f"sqlite:///{tmp_path}/t.db") == tmp_path / "calibration.json"
    assert legacy_path("postgresql+psycopg://u@h/db") is None and legacy_path("sqlite://") is None


@pytest.mark.parametrize("bandwidth", [10.0, None])
def test_a_calibration_round_trips_through_the_database_row(bandwidth):
    cal = _cal("aaaa", 100.0, bandwidth)
    assert Calibration.from_stored(cal.to_stored()) == cal
    only_fp32 = Calibration("bbbb", "cpu", {"float32": 5.0}, None, "2026-11-22T00:00:00+00:00", "h")
    assert only_fp32.to_stored().int8_gops is None and Calibration.from_stored(only_fp32.to_stored()) == only_fp32


def test_the_database_calibration_wins_over_an_old_file_beside_it(tmp_path):
    (tmp_path / "calibration.json").write_text(json.dumps({fp: _cal(fp, 50.0).to_dict() for fp in ("aaaa", "old0")}))
    with open_db(str(tmp_path / "t.db")) as db:
        db.save_calibration(_cal("aaaa", 120.0).to_stored())
        found = calibrations_of(db)
    assert found == {"aaaa": _cal("aaaa", 120.0), "old0": _cal("old0", 50.0)}


def test_a_corrupt_old_calibration_file_names_the_fix(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"not JSON .*run `opforge targets calibrate` again"):
        load_calibrations(path)


def test_calibrated_peaks_apply_only_to_their_fingerprint():
    cpu = get_target("cpu")
    calibrated = with_calibration(cpu, {cpu.fingerprint(): _cal(cpu.fingerprint())})
    assert calibrated.peak_gflops("float32") == 100.0 and calibrated.bandwidth_gbs == 10.0
    assert calibrated.peaks.source == "calibrated 2026-11-22 on testhost"
    other = get_target("cpu:1")
    assert with_calibration(other, {cpu.fingerprint(): _cal(cpu.fingerprint())}) == other


@pytest.mark.skipif(platform.machine() != "x86_64", reason="checks x86 assembly")
def test_the_fma_kernel_loop_is_nothing_but_register_fmas():
    from targets.calibrate import CHAINS, _fma_kernel, build

    target = get_target("cpu")
    asm = build(_fma_kernel(target.cores, target.vector_lanes(32), 1024), target).inspect_source("asm")
    loops = re.findall(r"^\.LBB\d+_\d+:\n((?:\t.*\n)+?)\t(?:jne|jb|jl)", asm, re.M)
    hot = [body for body in loops if "vfmadd" in body]
    assert hot, "no FMA loop found"
    fmas = [ln for ln in hot[0].splitlines() if "vfmadd" in ln]
    assert len(fmas) % CHAINS == 0  # LLVM may unroll the loop further
    assert all("(%" not in ln for ln in fmas) and "vmov" not in hot[0]  # accumulators stay in registers


def test_a_burst_of_load_in_one_round_does_not_become_the_peak(monkeypatch):
    from targets import calibrate

    class Scripted:
        """A module whose timings come from a script: round one ran at half speed."""

        def __init__(self, rounds):
            self.rounds = iter(rounds)

        def time_evaluator(self, *args, **kwargs):
            return lambda *a: type("Result", (), {"results": next(self.rounds)})()

    naps = []
    monkeypatch.setattr(calibrate.time, "sleep", naps.append)
    mod = Scripted([(2.0, 2.1), (1.0, 1.2), (1.1, 1.0)])
    assert calibrate._best_secs(mod, [], number=1, repeats=2, rounds=3, gap_secs=0.15) == 1.0
    assert naps == [0.15, 0.15]
    assert calibrate._best_secs(Scripted([(2.0, 2.1), (1.0,)]), [], number=1, repeats=2) == 2.0


def test_calibrate_quick_stores_this_machines_figures_and_list_shows_them(tmp_path):
    db = tmp_path / "t.db"
    out = _invoke("targets", "calibrate", "--quick", "--db", str(db), "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    cpu = get_target("cpu")
    assert report["fingerprint"] == cpu.fingerprint() and report["db"] == f"sqlite:///{db}"
    assert not (tmp_path / "calibration.json").exists()
    with open_db(str(db)) as stored:
        assert stored.calibration(cpu.fingerprint()).float32_gflops == report["gflops"]["float32"]
    assert report["gflops"]["float32"] > 0 and report["bandwidth_gbs"] > 0
    assert "TVM kernel" in report["methods"]["float32"] and "triad" in report["methods"]["bandwidth"]
    listed = json.loads(_invoke("targets", "--db", str(db), "--json").output)
    (row,) = [r for r in listed if r["name"] == "cpu"]
    assert row["peaks"]["source"].startswith("calibrated") and row["peaks"]["gflops"]["float32"] == report["gflops"]["float32"]


def test_tune_reports_percent_of_peak_and_the_roofline_from_the_calibration(tmp_path):
    cpu = get_target("cpu")
    with open_db(str(tmp_path / "t.db")) as db:
        db.save_calibration(_cal(cpu.fingerprint(), float32=100.0, bandwidth=10.0).to_stored())
    out = _invoke("tune", "matmul", "--shape", "M=16,N=16,K=16", "--trials", "2", "--repeats", "1", "--db", str(tmp_path / "t.db"), "--json")
    assert out.exit_code == 0, out.output
    (task,) = json.loads(out.output)["tasks"]
    assert task["peak_source"] == "calibrated 2026-11-22 on testhost"
    assert task["peak_percent"] == pytest.approx(task["gflops"])  # 100 GFLOP/s peak: % == GFLOP/s
    roof = task["roofline"]
    assert roof["peak_gflops"] == 100.0 and roof["bandwidth_gbs"] == 10.0 and roof["bound"] in ("memory", "compute")
    assert task["roofline_text"].startswith(roof["bound"]) and task["emulated"] is False


@pytest.mark.parametrize(
    "args, message",
    [
        (["targets", "calibrate", "--target", "aarch64"], "calibrate measures this machine's CPU (cpu or cpu:N); 'aarch64' is a aarch64 target"),
        (["targets", "list", "tpu"], "unknown target 'tpu'; expected one of ['aarch64', 'armv7', 'cpu', 'cuda', 'riscv64']"),
    ],
)
def test_bad_targets_input_is_one_line(args, message):
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 2 and message in out.output
