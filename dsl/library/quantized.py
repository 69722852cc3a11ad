"""int8 forms of matmul and conv2d NCHW: 8-bit inputs, products and sums in int32.

Symmetric quantization: no zero points, and the int32 result is not requantized (scaling
back to int8 is a later stage or a schedule's job). Activations may be int8 or uint8
(``dtype``, as x86 VNNI's u8 x s8 dot product wants); weights are always int8.
"""

from __future__ import annotations

from ..expr import cast, reduce_sum
from ..index import axes
from ..op import Op, compute, tensor
from ..sizes import dims
from .common import INT8_DTYPES, IntOrPair, check_dtype, out_dim, window_params

QUANTIZED_DTYPES = INT8_DTYPES


def matmul_int8(*, dtype: str = "int8") -> Op:
    """``C[M, N] = int32(A[M, K]) @ int32(B[K, N])``: A is int8 or uint8 (``dtype``), B int8,
    C int32. Dims M, N, K."""
    check_dtype("matmul_int8", dtype, QUANTIZED_DTYPES)
    M, N, K = dims("M N K")
    A = tensor("A", (M, K), dtype)
    B = tensor("B", (K, N), "int8")
    i, j, k = axes(i=M, j=N, k=K)
    C = compute("C", (i, j), reduce_sum(cast(A[i, k], "int32") * cast(B[k, j], "int32"), k))
    return Op("matmul_int8", [A, B], [C])


def conv2d_nchw_int8(*, dtype: str = "int8", stride: IntOrPair = 1, padding: IntOrPair = 0,
                     dilation: IntOrPair = 1) -> Op:
    """conv2d_nchw on X[N, C, H, W] (int8 or uint8, ``dtype``) and F[K, C, R, S] (int8),
    giving Y[N, K, OH, OW] in int32; padding reads 0. Dims N, C, H, W, K, R, S."""
    name = "conv2d_nchw_int8"
    check_dtype(name, dtype, QUANTIZED_DTYPES)
    (sh, sw), (ph, pw), (dh, dw) = window_params(name, stride, padding, dilation)
    N, C, H, W, K, R, S = dims("N C H W K R S")
    OH, OW = out_dim("OH", H, R, sh, ph, dh), out_dim("OW", W, S, sw, pw, dw)
    X = tensor("X", (N, C, H, W), dtype)
    F = tensor("F", (K, C, R, S), "int8")
    n, k, oh, ow, c, r, s = axes(n=N, k=K, oh=OH, ow=OW, c=C, r=R, s=S)
    index = (n, c, oh * sh + r * dh - ph, ow * sw + s * dw - pw)
    x = X.padded(*index, value=0) if ph or pw else X[index]
    Y = compute("Y", (n, k, oh, ow), reduce_sum(cast(x, "int32") * cast(F[k, c, r, s], "int32"), (c, r, s)))
    return Op(name, [X, F], [Y])
