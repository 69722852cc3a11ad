"""2-D convolutions: NCHW, NHWC and depthwise NCHW, with stride, padding and dilation.

Output sizes are derived dims (OH, OW) of the input and window sizes; zero padding is a
guarded read (``X.padded(...)``), used only when the padding is not zero. float16/bfloat16
convolutions accumulate in float32 (the reduction stage Y) and round to their dtype once (Y_out),
as cuDNN and PyTorch do; other dtypes accumulate in their own.
"""

from __future__ import annotations

from ..expr import Expr, Tensor, reduce_sum
from ..index import IndexLike, axes
from ..op import Op, compute, tensor
from ..sizes import dims
from .common import NUMERIC_DTYPES, IntOrPair, check_dtype, out_dim, rounded, widened, window_params

CONV_DTYPES = NUMERIC_DTYPES


def _read(X: Tensor, index: tuple[IndexLike, ...], padding: tuple[int, int]) -> Expr:
    """``X[index]``, guarded to read 0 outside X when there is padding."""
    return X.padded(*index, value=0) if any(padding) else X[index]


def conv2d_nchw(*, dtype: str = "float32", stride: IntOrPair = 1, padding: IntOrPair = 0, dilation: IntOrPair = 1) -> Op:
    """``Y[N, K, OH, OW] = sum_{c,r,s} X[N, C, oh*sh + r*dh - ph, ow*sw + s*dw - pw] * F[K, C, R, S]``.

    Input X[N, C, H, W], filter F[K, C, R, S] (PyTorch's layouts); zero padding. ``stride``,
    ``padding`` and ``dilation`` are ints or (height, width) pairs. Sums in float32 for
    float16/bfloat16 (Y, then Y_out rounds), else in ``dtype``. Dims N, C, H, W, K, R, S.
    """
    check_dtype("conv2d_nchw", dtype, CONV_DTYPES)
    (sh, sw), (ph, pw), (dh, dw) = window_params("conv2d_nchw", stride, padding, dilation)
    N, C, H, W, K, R, S = dims("N C H W K R S")
    OH, OW = out_dim("OH", H, R, sh, ph, dh), out_dim("OW", W, S, sw, pw, dw)
    X = tensor("X", (N, C, H, W), dtype)
    F = tensor("F", (K, C, R, S), dtype)
    n, k, oh, ow, c, r, s = axes(n=N, k=K, oh=OH, ow=OW, c=C, r=R, s=S)
    x = _read(X, (n, c, oh * sh + r * dh - ph, ow * sw + s * dw - pw), (ph, pw))
    Y = compute("Y", (n, k, oh, ow), reduce_sum(widened(x, dtype) * widened(F[k, c, r, s], dtype), (c, r, s)))
    return Op("conv2d_nchw", [X, F], rounded(Y, dtype))


def conv2d_nhwc(*, dtype: str = "float32", stride: IntOrPair = 1, padding: IntOrPair = 0, dilation: IntOrPair = 1) -> Op:
    """``Y[N, OH, OW, K] = sum_{r,s,c} X[N, oh*sh + r*dh - ph, ow*sw + s*dw - pw, C] * F[R, S, C, K]``.

    Input X[N, H, W, C], filter F[R, S, C, K] (TensorFlow's layouts); zero padding. Sums in
    float32 for float16/bfloat16 (Y, then Y_out rounds), else in ``dtype``.
    Dims N, H, W, C, R, S, K (the same names as conv2d_nchw).
    """
    check_dtype("conv2d_nhwc", dtype, CONV_DTYPES)
    (sh, sw), (ph, pw), (dh, dw) = window_params("conv2d_nhwc", stride, padding, dilation)
    N, C, H, W, K, R, S = dims("N C H W K R S")
    OH, OW = out_dim("OH", H, R, sh, ph, dh), out_dim("OW", W, S, sw, pw, dw)
    X = tensor("X", (N, H, W, C), dtype)
    F = tensor("F", (R, S, C, K), dtype)
    n, oh, ow, k, r, s, c = axes(n=N, oh=OH, ow=OW, k=K, r=R, s=S, c=C)
    x = _read(X, (n, oh * sh + r * dh - ph, ow * sw + s * dw - pw, c), (ph, pw))
    Y = compute("Y", (n, oh, ow, k), reduce_sum(widened(x, dtype) * widened(F[r, s, c, k], dtype), (r, s, c)))
    return Op("conv2d_nhwc", [X, F], rounded(Y, dtype))


def depthwise_conv2d_nchw(*, dtype: str = "float32", stride: IntOrPair = 1, padding: IntOrPair = 0,
                          dilation: IntOrPair = 1) -> Op:
    """``Y[N, C, OH, OW] = sum_{r,s} X[N, C, oh*sh + r*dh - ph, ow*sw + s*dw - pw] * F[C, R, S]``.

    One filter per channel (depth multiplier 1): input X[N, C, H, W], filter F[C, R, S];
    zero padding. Sums in float32 for float16/bfloat16 (Y, then Y_out rounds), else in ``dtype``.
    Dims N, C, H, W, R, S.
    """
    name = "depthwise_conv2d_nchw"
    check_dtype(name, dtype, CONV_DTYPES)
    (sh, sw), (ph, pw), (dh, dw) = window_params(name, stride, padding, dilation)
    N, C, H, W, R, S = dims("N C H W R S")
    OH, OW = out_dim("OH", H, R, sh, ph, dh), out_dim("OW", W, S, sw, pw, dw)
    X = tensor("X", (N, C, H, W), dtype)
    F = tensor("F", (C, R, S), dtype)
    n, c, oh, ow, r, s = axes(n=N, c=C, oh=OH, ow=OW, r=R, s=S)
    x = _read(X, (n, c, oh * sh + r * dh - ph, ow * sw + s * dw - pw), (ph, pw))
    Y = compute("Y", (n, c, oh, ow), reduce_sum(widened(x, dtype) * widened(F[c, r, s], dtype), (r, s)))
    return Op(name, [X, F], rounded(Y, dtype))
