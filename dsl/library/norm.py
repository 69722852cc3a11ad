"""Normalizations over the last axis of X[M, N]: softmax and layer norm."""

from __future__ import annotations

from ..expr import exp, reduce_max, reduce_sum, rsqrt
from ..index import axes
from ..op import Op, compute, tensor
from ..sizes import dims
from .common import FLOAT_DTYPES, check_dtype, one

SOFTMAX_DTYPES = FLOAT_DTYPES
LAYER_NORM_DTYPES = FLOAT_DTYPES


def softmax(*, dtype: str = "float32") -> Op:
    """``Y[M, N] = exp(X - max_n X) / sum_n exp(X - max_n X)``, row by row (the last axis).

    Four stages: row_max, shifted exp, row_sum, divide; subtracting the row maximum keeps
    exp from overflowing. Dims M, N.
    """
    check_dtype("softmax", dtype, SOFTMAX_DTYPES)
    M, N = dims("M N")
    X = tensor("X", (M, N), dtype)
    i, j, k = axes(i=M, j=N, k=N)
    row_max = compute("row_max", (i,), reduce_max(X[i, k], k))
    e = compute("E", (i, j), exp(X[i, j] - row_max[i]))
    row_sum = compute("row_sum", (i,), reduce_sum(e[i, k], k))
    Y = compute("Y", (i, j), e[i, j] / row_sum[i])
    return Op("softmax", [X], [row_max, e, row_sum, Y])


def layer_norm(*, dtype: str = "float32", eps: float = 1e-5) -> Op:
    """``Y[M, N] = (X - mean) / sqrt(var + eps) * gamma[N] + beta[N]``, mean and biased
    variance over the last axis (``torch.nn.LayerNorm(N)``).

    Stages: mean, var (each a sum of terms divided by N), normalize. An expression cannot
    read a dim's value, so N is counted by a rank-0 stage ``count = sum_n 1``. Dims M, N.
    """
    check_dtype("layer_norm", dtype, LAYER_NORM_DTYPES)
    if not (isinstance(eps, float) and eps >= 0):
        raise ValueError(f"layer_norm: eps must be a float >= 0, got {eps!r}")
    M, N = dims("M N")
    X = tensor("X", (M, N), dtype)
    gamma = tensor("gamma", (N,), dtype)
    beta = tensor("beta", (N,), dtype)
    i, j, k = axes(i=M, j=N, k=N)
    count = compute("count", (), reduce_sum(one(dtype), k))
    mean = compute("mean", (i,), reduce_sum(X[i, k] / count[()], k))
    centered = X[i, k] - mean[i]
    var = compute("var", (i,), reduce_sum(centered * centered / count[()], k))
    Y = compute("Y", (i, j), (X[i, j] - mean[i]) * rsqrt(var[i] + eps) * gamma[j] + beta[j])
    return Op("layer_norm", [X, gamma, beta], [count, mean, var, Y])
