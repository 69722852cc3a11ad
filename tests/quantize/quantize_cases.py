"""Small calibrated workloads and a kernel runner shared by the quantize tests."""

from __future__ import annotations

import numpy as np


def calibrated_case(name: str, params: dict, shape: dict, seed: int = 0):
    """(op, calibrated PrimFunc, calibration, held-out inputs) of a library op."""
    from dsl import library
    from dsl.inputs import random_inputs
    from schedules.quantize import calibrate, calibrated

    op = library.get(name, **params).bind(**shape)
    calib_inputs = random_inputs(op, np.random.default_rng([seed, 1]))
    calibration = calibrate(op, [calib_inputs])
    return op, calibrated(op, calibration), calibration, random_inputs(op, np.random.default_rng(seed))


def run_kernel(sch, target, op, inputs):
    """Compile a scheduled module for ``target`` (the host), run it on ``inputs``, return its output."""
    import tvm

    from dsl.dtypes import numpy_dtype

    ex = tvm.compile(sch.mod, target=target.tvm_target())
    dev = tvm.cpu()
    out = op.output_tensors[0]
    args = [tvm.runtime.tensor(np.ascontiguousarray(x), dev) for x in inputs]
    args.append(tvm.runtime.tensor(np.zeros(op.shape_of(out), numpy_dtype(out.dtype)), dev))
    ex["main"](*args)
    return args[-1].numpy()
