"""Peak calibration: honest kernels, figures kept per fingerprint beside the database, used by `opforge tune`."""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from autotune.cli import cli
from targets import get_target
from targets.calibration import Calibration, calibration_path, load_calibrations, save_calibration, with_calibration


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _cal(fingerprint: str, float32: float = 100.0, bandwidth: float | None = 10.0) -> Calibration:
    return Calibration(fingerprint, "cpu", {"float32": float32, "int8": 4 * float32}, bandwidth, "2026-11-22T00:00:00+00:00", "testhost")


def test_calibrations_live_beside_a_sqlite_database(tmp_path):
    assert calibration_path(str(tmp_path / "db" / "t.db")) == tmp_path / "db" / "calibration.json"
    assert calibration_path(f"sqlite:///{tmp_path}/t.db") == tmp_path / "calibration.json"
    home = Path("~/.opforge/calibration.json").expanduser()
    assert calibration_path("postgresql+psycopg://u@h/db") == home and calibration_path("sqlite://") == home


def test_a_calibration_is_kept_per_fingerprint_and_replaced_by_a_new_one(tmp_path):
    path = tmp_path / "calibration.json"
    assert load_calibrations(path) == {}
    save_calibration(path, _cal("aaaa", 100.0))
    save_calibration(path, _cal("bbbb", 50.0))
    save_calibration(path, _cal("aaaa", 120.0))
    found = load_calibrations(path)
    assert set(found) == {"aaaa", "bbbb"} and found["aaaa"].gflops["float32"] == 120.0
    assert Calibration.from_dict(found["bbbb"].to_dict()) == found["bbbb"]


def test_a_corrupt_calibration_file_names_the_fix(tmp_path):
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


def test_calibrate_quick_stores_this_machines_figures_and_list_shows_them(tmp_path):
    db = tmp_path / "t.db"
    out = _invoke("targets", "calibrate", "--quick", "--db", str(db), "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    cpu = get_target("cpu")
    assert report["fingerprint"] == cpu.fingerprint() and report["path"] == str(tmp_path / "calibration.json")
    assert report["gflops"]["float32"] > 0 and report["bandwidth_gbs"] > 0
    assert "TVM kernel" in report["methods"]["float32"] and "triad" in report["methods"]["bandwidth"]
    listed = json.loads(_invoke("targets", "--db", str(db), "--json").output)
    (row,) = [r for r in listed if r["name"] == "cpu"]
    assert row["peaks"]["source"].startswith("calibrated") and row["peaks"]["gflops"]["float32"] == report["gflops"]["float32"]


def test_tune_reports_percent_of_peak_and_the_roofline_from_the_calibration(tmp_path):
    cpu = get_target("cpu")
    save_calibration(tmp_path / "calibration.json", _cal(cpu.fingerprint(), float32=100.0, bandwidth=10.0))
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
