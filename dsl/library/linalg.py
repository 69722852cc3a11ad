"""Matrix products: matmul, batch_matmul and dense (a Linear layer with a fused epilogue)."""

from __future__ import annotations

from ..expr import Expr, cast, gelu, reduce_sum, relu
from ..index import axes
from ..op import Op, compute, tensor
from ..sizes import dims
from .common import FLOAT_DTYPES, NUMERIC_DTYPES, accumulation_dtype, check_dtype, rounded, widened

MATMUL_DTYPES = NUMERIC_DTYPES
BATCH_MATMUL_DTYPES = NUMERIC_DTYPES
DENSE_DTYPES = NUMERIC_DTYPES
EPILOGUES = (None, "relu", "gelu")


def matmul(*, dtype: str = "float32") -> Op:
    """``C[M, N] = A[M, K] @ B[K, N]``, accumulating in float32 for float16/bfloat16, else in ``dtype``.

    Dims M, N, K. For float16/bfloat16 the sum is stage C (float32) and C_out rounds it to
    ``dtype`` once, as cuBLAS does. Its float32 1024^3 workload key is pinned by a golden test:
    keep the float32 body as is.
    """
    check_dtype("matmul", dtype, MATMUL_DTYPES)
    M, N, K = dims("M N K")
    A = tensor("A", (M, K), dtype)
    B = tensor("B", (K, N), dtype)
    i, j, k = axes(i=M, j=N, k=K)
    C = compute("C", (i, j), reduce_sum(widened(A[i, k], dtype) * widened(B[k, j], dtype), k))
    return Op("matmul", [A, B], rounded(C, dtype))


def batch_matmul(*, dtype: str = "float32") -> Op:
    """``Z[B, M, N] = X[B, M, K] @ Y[B, K, N]``, one matmul per batch entry.

    Accumulates in float32 for float16/bfloat16 (stage Z, rounded to ``dtype`` by Z_out), else in
    ``dtype``. Dims B, M, N, K. The operands are named X and Y because the batch dim is named B.
    """
    check_dtype("batch_matmul", dtype, BATCH_MATMUL_DTYPES)
    B, M, N, K = dims("B M N K")
    X = tensor("X", (B, M, K), dtype)
    Y = tensor("Y", (B, K, N), dtype)
    b, i, j, k = axes(b=B, i=M, j=N, k=K)
    Z = compute("Z", (b, i, j), reduce_sum(widened(X[b, i, k], dtype) * widened(Y[b, k, j], dtype), k))
    return Op("batch_matmul", [X, Y], rounded(Z, dtype))


def dense(*, dtype: str = "float32", bias: bool = False, epilogue: str | None = None) -> Op:
    """``Y[M, N] = epilogue(X[M, K] @ W[N, K]^T + bias[N])``, a ``torch.nn.Linear`` layer.

    W is stored as Linear stores it, [out_features, in_features]. ``bias`` adds an input
    ``bias[N]``; ``epilogue`` is None, "relu" or "gelu" (exact, erf-based; float dtypes only).
    Bias and epilogue form one element-wise stage Y after the matmul stage C, so a schedule
    can fuse them. For float16/bfloat16, C accumulates in float32 and Y adds the bias and
    applies the epilogue in float32, rounding to ``dtype`` once at the end (with neither, a
    stage C_out only rounds), as cuBLAS and PyTorch do; other dtypes compute in ``dtype``.
    Dims M, N, K.
    """
    check_dtype("dense", dtype, DENSE_DTYPES)
    if epilogue not in EPILOGUES:
        raise ValueError(f"dense: unknown epilogue {epilogue!r}; expected one of {list(EPILOGUES)}")
    if epilogue == "gelu":
        check_dtype("dense with the gelu epilogue", dtype, FLOAT_DTYPES)
    M, N, K = dims("M N K")
    X = tensor("X", (M, K), dtype)
    W = tensor("W", (N, K), dtype)
    inputs = [X, W]
    i, j, k = axes(i=M, j=N, k=K)
    C = compute("C", (i, j), reduce_sum(widened(X[i, k], dtype) * widened(W[j, k], dtype), k))
    if not bias and epilogue is None:
        return Op("dense", inputs, rounded(C, dtype))
    y: Expr = C[i, j]
    if bias:
        b = tensor("bias", (N,), dtype)
        inputs.append(b)
        y = y + widened(b[j], dtype)
    if epilogue == "relu":
        y = relu(y)
    elif epilogue == "gelu":
        y = gelu(y)  # in float32 for 16-bit floats: TVM's llvm codegen has no 16-bit erf
    if accumulation_dtype(dtype) != dtype:
        y = cast(y, dtype)
    return Op("dense", inputs, [C, compute("Y", (i, j), y)])
