"""opforge's operator language: tensors, stages and ops, their MLIR-style text, a numpy
oracle and lowering to TVM."""

from .dtypes import MLIR_NAMES as DTYPES, tolerance
from .expr import (
    Expr, Load, Tensor, absolute, cast, equal, erf, exp, gelu, log, maximum, minimum, not_equal,
    reduce_max, reduce_min, reduce_sum, relu, rsqrt, select, sigmoid, sqrt, tanh, where,
)
from .index import Affine, Axis, axes
from .key import canonical_text, workload_key
from .inputs import assert_close, random_inputs
from .op import Op, Stage, compute, tensor
from .parser import ParseError, parse
from .printer import print_op
from .reference import reference
from .sizes import Dim, derived, dims
from .verify import VerifyError, verify

__all__ = [
    "DTYPES", "Affine", "Axis", "Dim", "Expr", "Load", "Op", "Stage", "Tensor", "VerifyError",
    "absolute", "assert_close", "axes", "cast", "compute", "derived", "dims", "equal", "erf", "exp", "gelu",
    "log", "maximum", "minimum", "not_equal", "random_inputs", "reduce_max", "reduce_min", "reduce_sum", "reference", "relu",
    "rsqrt", "select", "sigmoid", "sqrt", "tanh", "tensor", "tolerance", "verify", "where",
    "ParseError", "canonical_text", "parse", "print_op", "workload_key",
]
