"""Hypothesis strategies for random valid ops: dims (free, derived, constant), typed tensors,
affine reads (plain, constant, or guarded when they may leave the tensor), typed expression
trees with shared subexpressions, reductions, several stages and outputs, bound or not."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from dsl.dtypes import is_float
from dsl.expr import ARITH, COMPARE, REDUCE, UNARY, Binary, Cast, Const, Expr, Load, Reduce, Select, Tensor, Unary
from dsl.index import Affine, Axis, make_affine
from dsl.op import Op, Stage, tensor
from dsl.sizes import Dim, Size, SizeConst, derived

DTYPES = ("float32", "float16", "bfloat16", "int8", "uint8", "int32")
INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int32": (-(2**31), 2**31 - 1)}
AXIS_NAMES = ("i", "j", "k", "l", "m", "n")


def scalars(dtype: str) -> st.SearchStrategy[float | int]:
    """Constants of ``dtype``: any float (with the inf and math.nan spellings) or an in-range int."""
    if is_float(dtype):
        return st.one_of(st.floats(allow_nan=False), st.sampled_from([math.inf, -math.inf, math.nan, 0.5, -0.0]))
    lo, hi = INT_RANGES[dtype]
    return st.integers(lo, hi)


@st.composite
def sizes(draw: st.DrawFn) -> list[Size]:
    """1-3 free dims, maybe a derived one, and a constant extent."""
    free = [Dim(n) for n in ("M", "N", "K")[: draw(st.integers(1, 3))]]
    out: list[Size] = list(free)
    if draw(st.booleans()):
        base = draw(st.sampled_from(free))
        other = draw(st.sampled_from(free))
        definition = draw(st.sampled_from([base + 2, (base - 1) // 2 + 1, base * 2, base + other - 1,
                                           base - SizeConst(-1), (base + 2 - other) // 1 + other]))
        out.append(derived("D", definition))
    out.append(SizeConst(draw(st.integers(1, 4))))
    return out


@st.composite
def affines(draw: st.DrawFn, axes: list[Axis]) -> Affine:
    """``sum(c * axis) + offset``, normalized by make_affine or, at times, in a hand-built term order."""
    picked = draw(st.lists(st.sampled_from(axes), max_size=3, unique=True)) if axes else []
    coeffs = {ax: draw(st.integers(-3, 3).filter(bool)) for ax in picked}
    offset = draw(st.integers(-3, 3))
    if draw(st.booleans()):
        return Affine(tuple(coeffs.items()), offset)  # terms in drawn order, as a hand-built index may be
    return make_affine(coeffs, offset)


@st.composite
def loads(draw: st.DrawFn, t: Tensor, axes: list[Axis]) -> Load:
    """A read of ``t``: an axis of the same extent or index 0 stays in range; anything else is guarded."""
    index: list[Affine] = []
    guarded = False
    for size in t.shape:
        fitting = [ax for ax in axes if ax.extent == size]
        how = draw(st.sampled_from(["axis", "zero", "affine"] if fitting else ["zero", "affine"]))
        if how == "axis":
            index.append(Affine(((draw(st.sampled_from(fitting)), 1),), 0))
        elif how == "zero":
            index.append(Affine((), 0))
        else:
            index.append(draw(affines(axes)))
            guarded = True
    pad = draw(scalars(t.dtype).filter(lambda v: not (isinstance(v, float) and math.isnan(v)))) if guarded else None
    return Load(t, tuple(index), pad)


@st.composite
def exprs(draw: st.DrawFn, dtype: str, tensors: list[Tensor], axes: list[Axis], depth: int) -> Expr:
    """A well-typed expression of ``dtype`` reading ``tensors`` through ``axes``."""
    readable = [t for t in tensors if t.dtype == dtype]
    kinds = ["const"] + ["load"] * 2 * bool(readable)
    if depth > 0:
        kinds += ["unary", "binary", "binary", "cast", "select"]
    kind = draw(st.sampled_from(kinds))

    def sub(d: str = dtype) -> Expr:
        return draw(exprs(d, tensors, axes, depth - 1))

    if kind == "load":
        return draw(loads(draw(st.sampled_from(readable)), axes))
    if kind == "const":
        return Const(draw(scalars(dtype)), dtype)
    if kind == "unary":
        return Unary(draw(st.sampled_from(UNARY if is_float(dtype) else ("neg", "abs"))), sub())
    if kind == "binary":
        a = sub()
        b = a if draw(st.integers(0, 3)) == 0 else sub()  # a shared subexpression now and then
        return Binary(draw(st.sampled_from(ARITH)), a, b)
    if kind == "cast":
        return Cast(dtype, sub(draw(st.sampled_from(DTYPES))))
    cmp_dtype = draw(st.sampled_from(DTYPES))
    cond: Expr = Binary(draw(st.sampled_from(COMPARE)), sub(cmp_dtype), sub(cmp_dtype))
    if draw(st.booleans()):
        other = Binary(draw(st.sampled_from(COMPARE)), sub(cmp_dtype), sub(cmp_dtype))
        cond = Binary(draw(st.sampled_from(("and", "or"))), cond, other)
    return Select(cond, sub(), sub())


@st.composite
def ops(draw: st.DrawFn, max_stages: int = 3, depth: int = 3) -> Op:
    """A random op that passes ``verify``: 1-3 inputs, 1-``max_stages`` stages, 1-2 outputs."""
    extents = draw(sizes())
    inputs = [
        tensor(f"T{n}", [draw(st.sampled_from(extents)) for _ in range(draw(st.integers(0, 3)))], draw(st.sampled_from(DTYPES)))
        for n in range(draw(st.integers(1, 3)))
    ]
    tensors = list(inputs)
    stages: list[Stage] = []
    for n in range(draw(st.integers(1, max_stages))):
        names = draw(st.permutations(AXIS_NAMES))
        n_out, n_red = draw(st.integers(0, 3)), draw(st.integers(0, 2))
        domain = [Axis(names[q], draw(st.sampled_from(extents))) for q in range(n_out + n_red)]
        body = draw(exprs(draw(st.sampled_from(DTYPES)), tensors, domain, depth))
        if n_red:
            body = Reduce(draw(st.sampled_from(REDUCE)), body, tuple(domain[n_out:]))
        stage = Stage(f"S{n}", tuple(domain[:n_out]), body)
        stages.append(stage)
        tensors.append(stage.tensor)
    outputs = draw(st.lists(st.sampled_from([s.name for s in stages]), min_size=1, max_size=2, unique=True))
    op = Op("random_op", inputs, stages, outputs)
    if draw(st.booleans()):
        op = op.bind({d.name: draw(st.integers(1, 9)) for d in op.free_dims})
    return op
