"""opforge's operator language: tensors, stages and ops, their MLIR-style text, a numpy
oracle and lowering to TVM."""

from .dtypes import MLIR_NAMES as DTYPES, tolerance
from .expr import (
    Expr, Load, Tensor, absolute, cast, equal, erf, exp, gelu, log, maximum, minimum, not_equal,
    reduce_max, reduce_min, reduce_sum, relu, rsqrt, select, sigmoid, sqrt, tanh, where,
)
from .index import Affine, Axis, axes
from .op import Op, Stage, compute, tensor
from .sizes import Dim, derived, dims
from .verify import VerifyError, verify

__all__ = [
    "DTYPES", "Affine", "Axis", "Dim", "Expr", "Load", "Op", "Stage", "Tensor", "VerifyError",
    "absolute", "axes", "cast", "compute", "derived", "dims", "equal", "erf", "exp", "gelu",
    "log", "maximum", "minimum", "not_equal", "reduce_max", "reduce_min", "reduce_sum", "relu",
    "rsqrt", "select", "sigmoid", "sqrt", "tanh", "tensor", "tolerance", "verify", "where",
]
