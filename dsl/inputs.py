"""Test inputs for an op and the comparison of a kernel's output with the reference."""

from __future__ import annotations

import numpy as np

from .dtypes import check_dtype, is_float, numpy_dtype, scaled_atol, tolerance
from .op import Op
from .verify import verify

#: inclusive value ranges of random integer inputs, small so integer arithmetic stays exact
INT_RANGES: dict[str, tuple[int, int]] = {"int8": (-8, 8), "uint8": (0, 16), "int32": (-100, 100)}


def random_inputs(op: Op, rng: np.random.Generator) -> list[np.ndarray]:
    """One array per input of the bound ``op``: floats uniform in [-1, 1], integers in ``INT_RANGES``."""
    verify(op, require_bound=True)
    out = []
    for t in op.inputs:
        shape = op.shape_of(t)
        if is_float(t.dtype):
            values = rng.uniform(-1.0, 1.0, size=shape)
        else:
            lo, hi = INT_RANGES[t.dtype]
            values = rng.integers(lo, hi, size=shape, endpoint=True)
        out.append(np.asarray(values).astype(numpy_dtype(t.dtype)))
    return out


def assert_close(got: np.ndarray, want: np.ndarray, dtype: str, what: str = "") -> None:
    """Assert ``got`` matches ``want`` within ``tolerance(dtype)`` (exactly for integers); the
    absolute tolerance is scaled by the output's magnitude (``dsl.dtypes.scaled_atol``).

    The message names ``what``, the worst element (index, both values) and how many are off.
    """
    check_dtype(dtype, "assert_close")
    label = what or "result"
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError(f"{label}: shape {got.shape} but the reference has shape {want.shape}")
    rtol, atol = tolerance(dtype)
    if not is_float(dtype):
        g, w = got.astype(np.int64), want.astype(np.int64)
        bad = g != w
        err = np.abs(g - w).astype(np.float64)
    else:
        g, w = got.astype(np.float64), want.astype(np.float64)
        atol = scaled_atol(atol, w)
        bad = ~np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
        err = np.where(np.isnan(g - w), np.inf, np.abs(g - w))
    if not bad.any():
        return
    worst = np.unravel_index(int(np.argmax(np.where(bad, err, -1.0))), bad.shape) if bad.ndim else ()
    msg = (f"{label} ({dtype}): {int(bad.sum())} of {bad.size} elements differ beyond rtol={rtol}, atol={atol}; "
           f"worst at index {tuple(int(i) for i in worst)}: got {g[worst].item()!r}, want {w[worst].item()!r}")
    if is_float(dtype):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=msg)
    else:
        np.testing.assert_array_equal(g, w, err_msg=msg)
