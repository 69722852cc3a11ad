"""The correctness gate's data for an op: random inputs, the numpy reference's outputs, tolerance.

Computed once per workload in the tuner's process with ``dsl.reference`` (numpy only, no kernel
runs here) and handed to the runner as an ``.npz`` file.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .runner import ArgSpec, Check, write_check


def arg_specs(op: Any) -> tuple[ArgSpec, ...]:
    """The kernel's parameters for a bound ``dsl.Op``: its inputs, then its outputs (as ``lower`` orders them)."""
    ins = tuple(ArgSpec(tuple(op.shape_of(t)), t.dtype, False) for t in op.inputs)
    outs = tuple(ArgSpec(tuple(op.shape_of(t)), t.dtype, True) for t in op.output_tensors)
    return ins + outs


def make_check(op: Any, rng: np.random.Generator, directory: str) -> Check:
    """Random inputs for ``op``, the reference outputs, and the tolerance of the output dtype."""
    from dsl.dtypes import tolerance
    from dsl.inputs import random_inputs
    from dsl.reference import reference

    inputs = list(random_inputs(op, rng))
    out = reference(op, *inputs)
    expected = [out] if isinstance(out, np.ndarray) else list(out)
    rtol, atol = max((tolerance(t.dtype) for t in op.output_tensors), default=(0.0, 0.0))
    return write_check(os.path.join(directory, "check.npz"), inputs, expected, rtol, atol)


def quantized_error_bound(op: Any, calibration: Any, inputs: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """The largest error any correct int8 computation of ``op`` may have on ``inputs``, per element.

    Every quantize scheme's error per product is at most ``|a| dw + (|w| + dw) da`` (``dw``, ``da``:
    half a weight / activation step; ``da`` grows by what the inputs exceed the calibrated range,
    and is taken for 7-bit activations, the coarsest mode), summed over the reduction and scaled
    by the epilogue's Lipschitz constant (1.13 with GELU's erf, 1 for bias and ReLU). A kernel
    outside it is wrong, not merely inaccurate.
    """
    import math

    from dsl.expr import Unary, walk
    from dsl.sizes import evaluate
    from schedules.quantize import UNSIGNED_7BIT, WEIGHT_QMAX, plan

    p = plan(op)
    names = [t.name for t in op.inputs]
    a_max = float(np.max(np.abs(inputs[names.index(p.activation)]))) if inputs[names.index(p.activation)].size else 0.0
    w_max = float(np.max(np.abs(inputs[names.index(p.weight)]))) if inputs[names.index(p.weight)].size else 0.0
    step_a = calibration.scale(UNSIGNED_7BIT) / 2
    da = step_a + max(0.0, a_max - calibration.absmax)
    dw = w_max / WEIGHT_QMAX / 2
    first = op.stage(p.stage)
    n_red = math.prod(int(evaluate(ax.extent, op.sizes) or 1) for ax in first.reduce_axes)
    lipschitz = 1.13 if any(isinstance(e, Unary) and e.fn == "erf" for st in op.stages for e in walk(st.body)) else 1.0
    slack = 1e-4 * (1.0 + max((float(np.max(np.abs(x))) for x in expected if x.size), default=0.0))
    return lipschitz * n_red * (a_max * dw + (w_max + dw) * da) + slack


def make_quantized_checks(op: Any, calibration: Any, calibration_inputs: list[np.ndarray], held_out: list[np.ndarray],
                          directory: str) -> tuple[Check, Check]:
    """(held-out, calibration) checks for quantized candidates: the float reference's outputs on
    each input set, with the per-element ``quantized_error_bound`` as the tolerance."""
    from dsl.reference import reference

    checks = []
    for name, inputs in (("held_out", held_out), ("calibration", calibration_inputs)):
        out = reference(op, *inputs)
        expected = [out] if isinstance(out, np.ndarray) else list(out)
        bound = quantized_error_bound(op, calibration, list(inputs), expected)
        checks.append(write_check(os.path.join(directory, f"check_{name}.npz"), list(inputs), expected, 0.0, bound))
    return checks[0], checks[1]
