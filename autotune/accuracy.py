"""The accuracy budget of a ``--quantize`` run: which candidates count, and what they are checked against.

A float candidate (``quantize`` none) passes the usual gate: the float tolerance on the task's
check inputs. A quantized candidate is run on two input sets, the held-out check inputs and the
calibration inputs its activation scale came from; on each its outputs must lie within the
per-element error bound of a correct int8 computation (``measure.check.quantized_error_bound``),
and its relative L2 error, the worse of the two, within ``max_rel_error``. Both errors are kept
with the record either way; a candidate past the budget is a ``wrong_result`` trial saying so.

The gate wraps a session's builder and runner (it needs each build's Config, which the runner
does not see) and changes nothing else: the same Tuner, strategies and store.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .measure.result import WRONG_RESULT, MeasureResult

logger = logging.getLogger(__name__)

#: the relative L2 error a --quantize run accepts when no --max-rel-error is given
DEFAULT_MAX_REL_ERROR = 1e-2


@dataclass(frozen=True)
class QuantizedChecks:
    """The two checks a quantized candidate of one task must pass."""

    held_out: Any  # measure.runner.Check
    calibration: Any


def quantized_target(target: Any, max_rel_error: float) -> Any:
    """``target`` tagged with the numerics a quantize run allows, so its records (int8 kernels among
    them) stay apart from float-only runs': those never resume or report a quantized kernel."""
    return target.with_hardware(numerics=f"int8 allowed, rel L2 <= {max_rel_error:g}")


def calibration_inputs(op: Any, seed: int) -> list[np.ndarray]:
    """The calibration batch of a run with ``seed``: random inputs drawn apart from the check's."""
    from dsl.inputs import random_inputs

    return random_inputs(op, np.random.default_rng([seed, 1]))


def prepare_quantized(prepared: Any, target: Any, seed: int, directory: str, calibration: Any = None) -> tuple[Any, QuantizedChecks | None]:
    """``prepared`` with a calibrated program (its space offers quantize) and the checks of its
    quantized candidates; unchanged, with None, for an op that cannot be quantized.

    ``calibration`` (a ``schedules.quantize.Calibration``, e.g. a stored record's) is used as given;
    without one, the activation is calibrated on the run's calibration inputs (``calibration_inputs``).
    """
    from schedules import ScheduleError, space_for
    from schedules.quantize import calibrate, calibrated

    from .measure.check import make_quantized_checks

    op = prepared.op
    batch = calibration_inputs(op, seed)
    try:
        if calibration is None:
            calibration = calibrate(op, [batch], source=f"random inputs, seed [{seed}, 1]")
        func = calibrated(op, calibration)
    except ScheduleError as e:
        logger.info("%s is tuned in float only: %s", op.name, e)
        return prepared, None
    os.makedirs(directory, exist_ok=True)
    held_out, calib = make_quantized_checks(op, calibration, batch, list(prepared.inputs), directory)
    task = dataclasses.replace(prepared.task, calibration=calibration.to_json())
    return dataclasses.replace(prepared, func=func, space=space_for(func, target), task=task), QuantizedChecks(held_out, calib)


class AccuracyGate:
    """Shared by a gated builder and runner: each build's Config, each task's quantized checks."""

    def __init__(self, builder: Any, runner: Any, max_rel_error: float) -> None:
        if not max_rel_error > 0:
            raise ValueError(f"max_rel_error must be positive, got {max_rel_error}")
        self.max_rel_error = max_rel_error
        self.builder = GatedBuilder(builder, self)
        self.runner = GatedRunner(runner, self)
        self.configs: dict[str, str] = {}
        self.checks: dict[str, QuantizedChecks] = {}

    def add_task(self, check: Any, checks: QuantizedChecks) -> None:
        """Quantized candidates of the task whose float check is ``check`` use ``checks``."""
        self.checks[check.path] = checks


class GatedBuilder:
    """The wrapped builder, remembering which Config each artifact was built from."""

    def __init__(self, inner: Any, gate: AccuracyGate) -> None:
        self.inner, self.gate = inner, gate

    def build(self, func: Any, configs: Sequence[Any], target: Any) -> list[Any]:
        results = self.inner.build(func, configs, target)
        for cfg, res in zip(configs, results):
            if res.artifact:
                self.gate.configs[res.artifact] = cfg.to_json()
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class GatedRunner:
    """The wrapped runner: float candidates as before, quantized ones against their error budget."""

    def __init__(self, inner: Any, gate: AccuracyGate) -> None:
        self.inner, self.gate = inner, gate

    def run(self, builds: Sequence[Any], args: Sequence[Any], check: Any, cutoff_secs: float | None = None) -> list[MeasureResult]:
        return [self._one(b, args, check, cutoff_secs) for b in builds]

    def _one(self, build: Any, args: Sequence[Any], check: Any, cutoff_secs: float | None) -> MeasureResult:
        config = self.gate.configs.pop(build.artifact, None) if build.artifact else None
        scheme = json.loads(config).get("quantize", "none") if config else "none"
        checks = self.gate.checks.get(check.path) if check is not None else None
        if scheme == "none" or checks is None:
            return self.inner.run([build], args, check, cutoff_secs=cutoff_secs)[0]
        held = self.inner.run([build], args, checks.held_out, cutoff_secs=cutoff_secs)[0]
        if not held.ok:
            return _labelled(held, "held-out inputs")
        calib = self.inner.run([build], args, checks.calibration)[0]
        if not calib.ok:
            return _labelled(calib, "calibration inputs")
        max_abs = max(held.max_abs_error or 0.0, calib.max_abs_error or 0.0)
        rel = max(held.rel_l2_error or 0.0, calib.rel_l2_error or 0.0)
        if rel > self.gate.max_rel_error:
            return MeasureResult(
                run_secs=(), status=WRONG_RESULT, trace=held.trace, build_secs=held.build_secs, max_abs_error=max_abs, rel_l2_error=rel,
                error=f"accuracy: relative L2 error {rel:.3g} exceeds the budget {self.gate.max_rel_error:g} (--max-rel-error)",
            )
        return dataclasses.replace(held, max_abs_error=max_abs, rel_l2_error=rel)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _labelled(result: MeasureResult, inputs: str) -> MeasureResult:
    if result.status == WRONG_RESULT and result.error:
        return dataclasses.replace(result, error=f"{result.error} on {inputs}, beyond the int8 error bound")
    return result


def gate_session(session: Any, prepared: Sequence[Any], max_rel_error: float, seed: int) -> list[Any]:
    """Calibrate every prepared op and put the accuracy gate around ``session``'s builder and runner.

    Returns the prepared ops to tune (calibrated where they can be quantized).
    """
    gate = AccuracyGate(session.builder, session.runner, max_rel_error)
    out = []
    for p in prepared:
        folder = os.path.join(os.path.dirname(p.check.path), "quantized")
        q, checks = prepare_quantized(p, session.target, seed, folder)
        if checks is not None:
            gate.add_task(q.check, checks)
        out.append(q)
    session.builder, session.runner = gate.builder, gate.runner
    return out
