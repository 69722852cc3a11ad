"""Helpers the library's builders share: dtype checks, conv/pool parameters, output sizes."""

from __future__ import annotations

from typing import Sequence

from ..dtypes import DTypeError
from ..expr import Const, const
from ..sizes import Dim, Size, derived

#: dtype sets the builders accept, in the order ``opforge ops`` lists them
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16")
NUMERIC_DTYPES: tuple[str, ...] = FLOAT_DTYPES + ("int32",)
ALL_DTYPES: tuple[str, ...] = FLOAT_DTYPES + ("int8", "uint8", "int32")
INT8_DTYPES: tuple[str, ...] = ("int8", "uint8")

IntOrPair = int | Sequence[int]


def check_dtype(op: str, dtype: str, accepted: Sequence[str]) -> str:
    """Return ``dtype`` if ``op`` accepts it, else raise naming the accepted ones."""
    if dtype not in accepted:
        raise DTypeError(f"{op} does not take dtype {dtype!r}; expected one of {list(accepted)}")
    return dtype


def pair(op: str, what: str, value: IntOrPair, least: int) -> tuple[int, int]:
    """``stride=2`` or ``stride=(2, 1)`` as a (height, width) pair of ints ``>= least``."""
    vals = (value, value) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else ()
    ok = len(vals) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= least for v in vals)
    if not ok:
        raise ValueError(f"{op}: {what} must be an int >= {least} or a pair of them, got {value!r}")
    return vals  # type: ignore[return-value]


def window_params(op: str, stride: IntOrPair, padding: IntOrPair,
                  dilation: IntOrPair) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(stride, padding, dilation) of a sliding-window op, each as a (height, width) pair."""
    return pair(op, "stride", stride, 1), pair(op, "padding", padding, 0), pair(op, "dilation", dilation, 1)


def out_dim(name: str, size: Size, window: Size, stride: int, pad: int, dilation: int) -> Dim:
    """The output extent of a sliding window: ``(size + 2*pad - dilation*(window-1) - 1)//stride + 1``.

    Trivial factors are left out (no ``* 1``, ``+ 0``, ``// 1``) so the printed op stays readable.
    """
    span = window - 1 if dilation == 1 else dilation * (window - 1)
    padded = size if pad == 0 else size + 2 * pad
    if stride == 1:  # (x - 1) // 1 + 1 == x
        return derived(name, padded - span)
    return derived(name, (padded - span - 1) // stride + 1)


def one(dtype: str) -> Const:
    """The constant 1 in ``dtype``: counting a window's points to divide by its size."""
    return const(1, dtype)
