"""Reductions over the last axis of X[M, N]: reduce_sum and reduce_max."""

from __future__ import annotations

from .. import expr as E
from ..index import axes
from ..op import Op, compute, tensor
from ..sizes import dims
from .common import ALL_DTYPES, NUMERIC_DTYPES, check_dtype

REDUCE_SUM_DTYPES = NUMERIC_DTYPES
REDUCE_MAX_DTYPES = ALL_DTYPES


def reduce_sum(*, dtype: str = "float32") -> Op:
    """``Y[M] = sum_n X[M, N]``, accumulating in ``dtype`` (int8 inputs would overflow: cast
    them in your own op). Dims M, N."""
    check_dtype("reduce_sum", dtype, REDUCE_SUM_DTYPES)
    M, N = dims("M N")
    X = tensor("X", (M, N), dtype)
    i, k = axes(i=M, k=N)
    return Op("reduce_sum", [X], [compute("Y", (i,), E.reduce_sum(X[i, k], k))])


def reduce_max(*, dtype: str = "float32") -> Op:
    """``Y[M] = max_n X[M, N]``. Dims M, N."""
    check_dtype("reduce_max", dtype, REDUCE_MAX_DTYPES)
    M, N = dims("M N")
    X = tensor("X", (M, N), dtype)
    i, k = axes(i=M, k=N)
    return Op("reduce_max", [X], [compute("Y", (i,), E.reduce_max(X[i, k], k))])
