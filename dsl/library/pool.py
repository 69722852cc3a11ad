"""2-D pooling over NCHW inputs: max and average, the window R x S given as dims."""

from __future__ import annotations

import numpy as np

from ..dtypes import is_float
from ..expr import Expr, Tensor, reduce_max, reduce_sum
from ..index import IndexLike, axes
from ..op import Op, compute, tensor
from ..sizes import dims
from .common import ALL_DTYPES, FLOAT_DTYPES, IntOrPair, check_dtype, one, out_dim, pair

MAX_POOL_DTYPES = ALL_DTYPES
AVG_POOL_DTYPES = FLOAT_DTYPES


def _read(X: Tensor, index: tuple[IndexLike, ...], padding: tuple[int, int], pad_value: float | int) -> Expr:
    return X.padded(*index, value=pad_value) if any(padding) else X[index]


def _lowest(dtype: str) -> float | int:
    """The value padding contributes nothing to a max with: -inf, or the integer type's minimum."""
    return float("-inf") if is_float(dtype) else int(np.iinfo(np.dtype(dtype)).min)


def max_pool2d(*, dtype: str = "float32", stride: IntOrPair = 1, padding: IntOrPair = 0) -> Op:
    """``Y[N, C, OH, OW] = max_{r,s} X[N, C, oh*sh + r - ph, ow*sw + s - pw]`` over an R x S window.

    Input X[N, C, H, W]. Padding reads -inf (the dtype's minimum for integers), so it never
    wins. The window is the dims R, S, so unlike PyTorch the stride defaults to 1, not to the
    window. Dims N, C, H, W, R, S.
    """
    check_dtype("max_pool2d", dtype, MAX_POOL_DTYPES)
    sh, sw = pair("max_pool2d", "stride", stride, 1)
    ph, pw = pair("max_pool2d", "padding", padding, 0)
    N, C, H, W, R, S = dims("N C H W R S")
    OH, OW = out_dim("OH", H, R, sh, ph, 1), out_dim("OW", W, S, sw, pw, 1)
    X = tensor("X", (N, C, H, W), dtype)
    n, c, oh, ow, r, s = axes(n=N, c=C, oh=OH, ow=OW, r=R, s=S)
    x = _read(X, (n, c, oh * sh + r - ph, ow * sw + s - pw), (ph, pw), _lowest(dtype))
    Y = compute("Y", (n, c, oh, ow), reduce_max(x, (r, s)))
    return Op("max_pool2d", [X], [Y])


def avg_pool2d(*, dtype: str = "float32", stride: IntOrPair = 1, padding: IntOrPair = 0) -> Op:
    """``Y[N, C, OH, OW] = sum_{r,s} X[N, C, oh*sh + r - ph, ow*sw + s - pw] / (R*S)``.

    Input X[N, C, H, W]. Padding reads 0 and every window divides by R*S, padded points
    included (PyTorch's ``count_include_pad=True``). An expression cannot read a dim's value,
    so the window size R*S is counted by a rank-0 stage ``count = sum_{r,s} 1``. Stride
    defaults to 1, as in max_pool2d. Dims N, C, H, W, R, S.
    """
    check_dtype("avg_pool2d", dtype, AVG_POOL_DTYPES)
    sh, sw = pair("avg_pool2d", "stride", stride, 1)
    ph, pw = pair("avg_pool2d", "padding", padding, 0)
    N, C, H, W, R, S = dims("N C H W R S")
    OH, OW = out_dim("OH", H, R, sh, ph, 1), out_dim("OW", W, S, sw, pw, 1)
    X = tensor("X", (N, C, H, W), dtype)
    n, c, oh, ow, r, s = axes(n=N, c=C, oh=OH, ow=OW, r=R, s=S)
    count = compute("count", (), reduce_sum(one(dtype), (r, s)))
    x = _read(X, (n, c, oh * sh + r - ph, ow * sw + s - pw), (ph, pw), 0)
    Y = compute("Y", (n, c, oh, ow), reduce_sum(x / count[()], (r, s)))
    return Op("avg_pool2d", [X], [count, Y])
