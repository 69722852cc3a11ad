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
