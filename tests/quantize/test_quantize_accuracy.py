"""The accuracy budget of a --quantize run: the gate, the stored errors, the command and its table."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from autotune.accuracy import AccuracyGate, QuantizedChecks, gate_session, quantized_target
from autotune.measure.result import MeasureResult
from autotune.measure.runner import BuildResult, Check
from autotune.session import TuneOptions, TuningSession
from dsl import library
from schedules import Config
from targets import get_target


class FakeBuilder:
    def build(self, func, configs, target):
        return [BuildResult(artifact=f"lib{n}.so") for n, _ in enumerate(configs)]


class FakeRunner:
    """Answers by the check it is given: ``errors[check path] = (max abs, rel L2)``."""

    def __init__(self, errors):
        self.errors, self.calls = errors, []

    def run(self, builds, args, check, cutoff_secs=None):
        self.calls.append(check.path)
        max_abs, rel = self.errors[check.path]
        return [MeasureResult(run_secs=(1e-3,), max_abs_error=max_abs, rel_l2_error=rel) for _ in builds]


FLOAT, HELD, CALIB = Check("float.npz", 1e-4, 1e-4), Check("held.npz", 0.0, 9.0), Check("calib.npz", 0.0, 9.0)


def _gate(budget, errors):
    runner = FakeRunner(errors)
    gate = AccuracyGate(FakeBuilder(), runner, budget)
    gate.add_task(FLOAT, QuantizedChecks(HELD, CALIB))
    return gate, runner


def _measure(gate, quantize):
    cfg = Config.of({"quantize": quantize})
    (build,) = gate.builder.build(None, [cfg], None)
    return gate.runner.run([build], [], FLOAT)[0]


def test_float_candidates_keep_the_float_check():
    gate, runner = _gate(1e-2, {"float.npz": (1e-6, 1e-7)})
    r = _measure(gate, "none")
    assert r.ok and runner.calls == ["float.npz"] and r.rel_l2_error == 1e-7


def test_a_quantized_candidate_is_checked_on_held_out_and_calibration_inputs_and_keeps_the_worse():
    gate, runner = _gate(1e-2, {"held.npz": (0.05, 0.004), "calib.npz": (0.07, 0.003)})
    r = _measure(gate, "int8_per_channel")
    assert r.ok and runner.calls == ["held.npz", "calib.npz"]
    assert (r.max_abs_error, r.rel_l2_error) == (0.07, 0.004)


def test_a_quantized_candidate_past_the_budget_is_a_wrong_result_with_its_errors_kept():
    gate, _ = _gate(1e-3, {"held.npz": (0.05, 0.004), "calib.npz": (0.07, 0.003)})
    r = _measure(gate, "int8_per_tensor")
    assert r.status == "wrong_result" and "exceeds the budget 0.001" in r.error
    assert r.rel_l2_error == 0.004 and r.cost == float("inf")


def test_quantize_runs_keep_their_records_apart_from_float_runs():
    cpu = get_target("cpu:1")
    tagged = quantized_target(cpu, 1e-2)
    assert tagged.fingerprint() != cpu.fingerprint() != quantized_target(cpu, 1e-3).fingerprint()


def test_real_quantized_candidates_are_measured_within_budget_and_rejected_past_it(tmp_path):
    cpu = get_target("cpu:1")
    op = library.get("dense", bias=True, epilogue="relu").bind(M=8, N=32, K=64)
    options = TuneOptions(build_workers=1, repeats=1, min_repeat_ms=1, seed=0)
    for budget, status in ((1e-2, "ok"), (1e-4, "wrong_result")):
        with TuningSession(quantized_target(cpu, budget), options) as session:
            (prepared,) = gate_session(session, [session.prepare(op)], budget, seed=0)
            space = prepared.space
            configs = [space.default(), space.default().replace(quantize="int8_per_channel")]
            plain, quantized = list(session.measure_each(prepared, configs))
        assert plain.ok and plain.rel_l2_error < 1e-6
        assert quantized.status == status and 1e-4 < quantized.rel_l2_error < 1e-2, quantized.error


def test_tune_quantize_reports_speed_and_accuracy_side_by_side(tmp_path):
    from autotune.cli import cli

    args = ["tune", "dense", "--shape", "M=8,N=32,K=64", "--target", "cpu:1", "--trials", "6", "--repeats", "1",
            "--quantize", "int8", "--max-rel-error", "1e-2", "--db", str(tmp_path / "t.db"), "--json", "--build-workers", "1"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    task = json.loads(result.output[result.output.index("{"):])["tasks"][0]
    kinds = {v["quantize"] for v in task["variants"]}
    assert "none" in kinds and task["accuracy"]["rel_l2_error"] is not None
    assert all(v["rel_l2_error"] <= 1e-2 for v in task["variants"])


def test_max_rel_error_without_quantize_is_a_usage_error(tmp_path):
    from autotune.cli import cli

    result = CliRunner().invoke(cli, ["tune", "matmul", "--shape", "M=4,N=4,K=4", "--max-rel-error", "1e-2", "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 2 and "add --quantize int8" in result.output
