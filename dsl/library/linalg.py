"""Matrix products: matmul, batch_matmul and dense (a Linear layer with a fused epilogue)."""

from __future__ import annotations

from ..expr import Expr, cast, gelu, reduce_sum, relu
from ..index import axes
from ..op import Op, compute, tensor
from ..sizes import dims
from .common import FLOAT_DTYPES, NUMERIC_DTYPES, check_dtype

MATMUL_DTYPES = NUMERIC_DTYPES
BATCH_MATMUL_DTYPES = NUMERIC_DTYPES
DENSE_DTYPES = NUMERIC_DTYPES
EPILOGUES = (None, "relu", "gelu")


def matmul(*, dtype: str = "float32") -> Op:
    """``C[M, N] = A[M, K] @ B[K, N]``, accumulating in ``dtype``.

    Dims M, N, K. Its float32 1024^3 workload key is pinned by a golden test: keep this body as is.
    """
    check_dtype("matmul", dtype, MATMUL_DTYPES)
    M, N, K = dims("M N K")
    A = tensor("A", (M, K), dtype)
    B = tensor("B", (K, N), dtype)
    i, j, k = axes(i=M, j=N, k=K)
    C = compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k))
    return Op("matmul", [A, B], [C])


def batch_matmul(*, dtype: str = "float32") -> Op:
    """``Z[B, M, N] = X[B, M, K] @ Y[B, K, N]``, one matmul per batch entry.

    Dims B, M, N, K. The operands are named X and Y because the batch dim is named B.
    """
    check_dtype("batch_matmul", dtype, BATCH_MATMUL_DTYPES)
    B, M, N, K = dims("B M N K")
    X = tensor("X", (B, M, K), dtype)
    Y = tensor("Y", (B, K, N), dtype)
    b, i, j, k = axes(b=B, i=M, j=N, k=K)
    Z = compute("Z", (b, i, j), reduce_sum(X[b, i, k] * Y[b, k, j], k))
    return Op("batch_matmul", [X, Y], [Z])


def dense(*, dtype: str = "float32", bias: bool = False, epilogue: str | None = None) -> Op:
    """``Y[M, N] = epilogue(X[M, K] @ W[N, K]^T + bias[N])``, a ``torch.nn.Linear`` layer.

    W is stored as Linear stores it, [out_features, in_features]. ``bias`` adds an input
    ``bias[N]``; ``epilogue`` is None, "relu" or "gelu" (exact, erf-based; float dtypes only,
    computed in float32 for float16/bfloat16 as PyTorch does).
    Bias and epilogue form one element-wise stage Y after the matmul stage C, so a schedule
    can fuse them. Dims M, N, K.
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
    C = compute("C", (i, j), reduce_sum(X[i, k] * W[j, k], k))
    stages = [C]
    if bias or epilogue is not None:
        y: Expr = C[i, j]
        if bias:
            b = tensor("bias", (N,), dtype)
            inputs.append(b)
            y = y + b[j]
        if epilogue == "relu":
            y = relu(y)
        elif epilogue == "gelu" and dtype != "float32":
            y = cast(gelu(cast(y, "float32")), dtype)  # TVM's llvm codegen has no 16-bit erf
        elif epilogue == "gelu":
            y = gelu(y)
        stages.append(compute("Y", (i, j), y))
    return Op("dense", inputs, stages)
