"""Static facts about an op: operation counts and bytes moved, for GFLOP/s and rooflines."""

from __future__ import annotations

import math

from .dtypes import numpy_dtype
from .expr import Binary, Reduce, Unary, walk
from .op import Op
from .sizes import evaluate


def flop_count(op: Op) -> int:
    """Arithmetic operations of one evaluation: each unary/binary node once per loop point,
    plus one combine per point of a reduction (so matmul counts 2*M*N*K)."""
    sizes = op.sizes
    total = 0
    for st in op.stages:
        points = math.prod(int(evaluate(ax.extent, sizes) or 0) for ax in st.domain)
        per_point = sum(isinstance(x, (Unary, Binary)) for x in walk(st.body))
        per_point += isinstance(st.body, Reduce)
        total += points * per_point
    return total


def bytes_moved(op: Op) -> int:
    """Bytes of the op's inputs and outputs: the least traffic any schedule can reach."""
    total = 0
    for t in op.inputs + op.output_tensors:
        total += math.prod(op.shape_of(t)) * numpy_dtype(t.dtype).itemsize
    return total
