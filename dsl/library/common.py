"""Helpers the library's builders share: dtype checks, conv/pool parameters, output sizes."""

from __future__ import annotations

from typing import Sequence

from ..dtypes import DTypeError
from ..expr import Const, Expr, cast, const
from ..op import Stage, compute
from ..sizes import Dim, Size, derived

#: dtype sets the builders accept, in the order ``opforge ops`` lists them
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16")
NUMERIC_DTYPES: tuple[str, ...] = FLOAT_DTYPES + ("int32",)
ALL_DTYPES: tuple[str, ...] = FLOAT_DTYPES + ("int8", "uint8", "int32")
INT8_DTYPES: tuple[str, ...] = ("int8", "uint8")
#: 16-bit floats, whose sums of products accumulate in float32 (as cuBLAS and PyTorch do)
HALF_DTYPES: tuple[str, ...] = ("float16", "bfloat16")

IntOrPair = int | Sequence[int]


def check_dtype(op: str, dtype: str, accepted: Sequence[str]) -> str:
    """Return ``dtype`` if ``op`` accepts it, else raise naming the accepted ones."""
    if dtype not in accepted:
        raise DTypeError(f"{op} does not take dtype {dtype!r}; expected one of {list(accepted)}")
    return dtype


def accumulation_dtype(dtype: str) -> str:
    """The dtype a sum of ``dtype`` products accumulates in: float32 for float16/bfloat16, else ``dtype``.

    A float16 sum of 4096 terms loses most of its digits (the running sum's spacing outgrows the
    terms), so half-precision GEMMs and convolutions sum in float32 and round once at the end.
    """
    return "float32" if dtype in HALF_DTYPES else dtype


def widened(x: Expr, dtype: str) -> Expr:
    """``x`` (of ``dtype``) cast to ``accumulation_dtype(dtype)``; ``x`` itself where they agree,
    so float32 and integer ops are built exactly as before (their workload keys stay)."""
    acc = accumulation_dtype(dtype)
    return x if acc == dtype else cast(x, acc)


def rounded(acc: Stage, dtype: str) -> list[Stage]:
    """``[acc]``, followed by a stage ``<acc>_out`` rounding it to ``dtype`` when ``acc`` is wider.

    The rounding stage reads ``acc`` point for point, so a schedule fuses it as the reduction's
    epilogue (its write-back); ``acc`` keeps its name, and with it the names of its knobs.
    """
    if acc.dtype == dtype:
        return [acc]
    return [acc, compute(f"{acc.name}_out", acc.axes, cast(acc[acc.axes], dtype))]


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
