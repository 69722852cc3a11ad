"""Element-wise ops on X[M, N] (add, mul, relu) and the transpose [M, N] -> [N, M]."""

from __future__ import annotations

from ..expr import relu as relu_of
from ..index import axes
from ..op import Op, compute, tensor
from ..sizes import dims
from .common import ALL_DTYPES, check_dtype

ELEMENTWISE_DTYPES = ALL_DTYPES


def add(*, dtype: str = "float32") -> Op:
    """``C[M, N] = A[M, N] + B[M, N]`` (integers wrap around, as numpy's do). Dims M, N."""
    check_dtype("add", dtype, ELEMENTWISE_DTYPES)
    M, N = dims("M N")
    A, B = tensor("A", (M, N), dtype), tensor("B", (M, N), dtype)
    i, j = axes(i=M, j=N)
    return Op("add", [A, B], [compute("C", (i, j), A[i, j] + B[i, j])])


def mul(*, dtype: str = "float32") -> Op:
    """``C[M, N] = A[M, N] * B[M, N]`` (integers wrap around, as numpy's do). Dims M, N."""
    check_dtype("mul", dtype, ELEMENTWISE_DTYPES)
    M, N = dims("M N")
    A, B = tensor("A", (M, N), dtype), tensor("B", (M, N), dtype)
    i, j = axes(i=M, j=N)
    return Op("mul", [A, B], [compute("C", (i, j), A[i, j] * B[i, j])])


def relu(*, dtype: str = "float32") -> Op:
    """``Y[M, N] = max(X[M, N], 0)``. Dims M, N."""
    check_dtype("relu", dtype, ELEMENTWISE_DTYPES)
    M, N = dims("M N")
    X = tensor("X", (M, N), dtype)
    i, j = axes(i=M, j=N)
    return Op("relu", [X], [compute("Y", (i, j), relu_of(X[i, j]))])


def transpose(*, dtype: str = "float32") -> Op:
    """``Y[N, M] = X[M, N]`` swapped: ``Y[j, i] = X[i, j]``. Dims M, N."""
    check_dtype("transpose", dtype, ELEMENTWISE_DTYPES)
    M, N = dims("M N")
    X = tensor("X", (M, N), dtype)
    j, i = axes(j=N, i=M)
    return Op("transpose", [X], [compute("Y", (j, i), X[i, j])])
