"""Scalar expressions of a stage's body: loads, constants, arithmetic, casts, selects, reductions.

Nodes are frozen dataclasses, so two bodies written the same way compare and hash equal.
Python numbers mixed into an expression take the other operand's dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

from .dtypes import BOOL, is_float, is_int
from .index import Affine, Axis, IndexLike, as_affine
from .sizes import Size

ExprLike = Union["Expr", int, float]

UNARY = ("neg", "exp", "log", "sqrt", "rsqrt", "tanh", "erf", "abs")
ARITH = ("add", "sub", "mul", "div", "max", "min")
COMPARE = ("lt", "le", "gt", "ge", "eq", "ne")
LOGIC = ("and", "or")
REDUCE = ("sum", "max", "min")


class Expr:
    """Base of scalar expressions, with arithmetic and comparison operators."""

    dtype: str

    def __add__(self, o: ExprLike) -> "Expr":
        return binary("add", self, o)

    def __radd__(self, o: ExprLike) -> "Expr":
        return binary("add", o, self)

    def __sub__(self, o: ExprLike) -> "Expr":
        return binary("sub", self, o)

    def __rsub__(self, o: ExprLike) -> "Expr":
        return binary("sub", o, self)

    def __mul__(self, o: ExprLike) -> "Expr":
        return binary("mul", self, o)

    def __rmul__(self, o: ExprLike) -> "Expr":
        return binary("mul", o, self)

    def __truediv__(self, o: ExprLike) -> "Expr":
        return binary("div", self, o)

    def __rtruediv__(self, o: ExprLike) -> "Expr":
        return binary("div", o, self)

    def __neg__(self) -> "Expr":
        return Unary("neg", self)

    def __lt__(self, o: ExprLike) -> "Expr":
        return binary("lt", self, o)

    def __le__(self, o: ExprLike) -> "Expr":
        return binary("le", self, o)

    def __gt__(self, o: ExprLike) -> "Expr":
        return binary("gt", self, o)

    def __ge__(self, o: ExprLike) -> "Expr":
        return binary("ge", self, o)

    def __and__(self, o: "Expr") -> "Expr":
        return binary("and", self, o)

    def __or__(self, o: "Expr") -> "Expr":
        return binary("or", self, o)


@dataclass(frozen=True)
class Tensor:
    """A named, typed tensor: an op input, or the result of a stage."""

    name: str
    shape: tuple[Size, ...]
    dtype: str

    def __getitem__(self, index: IndexLike | tuple[IndexLike, ...]) -> "Load":
        idx = index if isinstance(index, tuple) else (index,)
        return Load(self, tuple(as_affine(i) for i in idx))

    def padded(self, *index: IndexLike, value: float | int = 0) -> "Load":
        """A guarded read: ``value`` where any index falls outside the tensor (conv padding)."""
        return Load(self, tuple(as_affine(i) for i in index), pad=value)


@dataclass(frozen=True)
class Load(Expr):
    tensor: Tensor
    index: tuple[Affine, ...]
    pad: float | int | None = None

    @property
    def dtype(self) -> str:  # type: ignore[override]
        return self.tensor.dtype


@dataclass(frozen=True)
class Const(Expr):
    value: float | int
    dtype: str  # type: ignore[misc]


@dataclass(frozen=True)
class Unary(Expr):
    fn: str
    x: Expr

    @property
    def dtype(self) -> str:  # type: ignore[override]
        return self.x.dtype


@dataclass(frozen=True)
class Binary(Expr):
    fn: str
    a: Expr
    b: Expr

    @property
    def dtype(self) -> str:  # type: ignore[override]
        return BOOL if self.fn in COMPARE else self.a.dtype


@dataclass(frozen=True)
class Cast(Expr):
    dtype: str  # type: ignore[misc]
    x: Expr


@dataclass(frozen=True)
class Select(Expr):
    cond: Expr
    a: Expr
    b: Expr

    @property
    def dtype(self) -> str:  # type: ignore[override]
        return self.a.dtype


@dataclass(frozen=True)
class Reduce(Expr):
    """A reduction of ``body`` over ``axes``; allowed only as the whole body of a stage."""

    kind: str
    body: Expr
    axes: tuple[Axis, ...]

    @property
    def dtype(self) -> str:  # type: ignore[override]
        return self.body.dtype


def const(value: float | int, dtype: str) -> Const:
    if is_int(dtype) and isinstance(value, float):
        if not value.is_integer():
            raise TypeError(f"the literal {value!r} meets an {dtype} operand; cast the operand to a float dtype first")
        value = int(value)
    if is_float(dtype) and isinstance(value, int):
        value = float(value)
    return Const(value, dtype)


def as_expr(x: ExprLike, like: Expr | None = None) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        if like is None:
            dtype = "float32" if isinstance(x, float) else "int32"
        else:
            dtype = like.dtype
        return const(x, dtype)
    raise TypeError(f"expected a DSL expression or a number, got {x!r}")


def binary(fn: str, a: ExprLike, b: ExprLike) -> Expr:
    ea = a if isinstance(a, Expr) else None
    eb = b if isinstance(b, Expr) else None
    return Binary(fn, as_expr(a, eb), as_expr(b, ea))


# element-wise functions, named as numpy names them
def exp(x: Expr) -> Expr:
    return Unary("exp", x)


def log(x: Expr) -> Expr:
    return Unary("log", x)


def sqrt(x: Expr) -> Expr:
    return Unary("sqrt", x)


def rsqrt(x: Expr) -> Expr:
    return Unary("rsqrt", x)


def tanh(x: Expr) -> Expr:
    return Unary("tanh", x)


def erf(x: Expr) -> Expr:
    return Unary("erf", x)


def absolute(x: Expr) -> Expr:
    return Unary("abs", x)


def maximum(a: ExprLike, b: ExprLike) -> Expr:
    return binary("max", a, b)


def minimum(a: ExprLike, b: ExprLike) -> Expr:
    return binary("min", a, b)


def equal(a: ExprLike, b: ExprLike) -> Expr:
    return binary("eq", a, b)


def not_equal(a: ExprLike, b: ExprLike) -> Expr:
    return binary("ne", a, b)


def cast(x: ExprLike, dtype: str) -> Expr:
    return Cast(dtype, as_expr(x))


def where(cond: Expr, a: ExprLike, b: ExprLike) -> Expr:
    ea = a if isinstance(a, Expr) else None
    eb = b if isinstance(b, Expr) else None
    return Select(cond, as_expr(a, eb), as_expr(b, ea))


select = where


def relu(x: Expr) -> Expr:
    return maximum(x, 0)


def gelu(x: Expr) -> Expr:
    """Exact (erf) GELU, as ``torch.nn.functional.gelu`` computes it by default."""
    return x * 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def sigmoid(x: Expr) -> Expr:
    return 1.0 / (1.0 + exp(-x))


def _reduce(kind: str, body: ExprLike, over: Axis | Sequence[Axis]) -> Reduce:
    axes_ = (over,) if isinstance(over, Axis) else tuple(over)
    return Reduce(kind, as_expr(body), axes_)


def reduce_sum(body: ExprLike, over: Axis | Sequence[Axis]) -> Reduce:
    """Sum of ``body`` over the reduction axes ``over`` (initial value 0)."""
    return _reduce("sum", body, over)


def reduce_max(body: ExprLike, over: Axis | Sequence[Axis]) -> Reduce:
    """Maximum of ``body`` over ``over`` (initial value -inf, or the dtype's minimum)."""
    return _reduce("max", body, over)


def reduce_min(body: ExprLike, over: Axis | Sequence[Axis]) -> Reduce:
    """Minimum of ``body`` over ``over`` (initial value +inf, or the dtype's maximum)."""
    return _reduce("min", body, over)


def children(e: Expr) -> tuple[Expr, ...]:
    """The sub-expressions of ``e``, in evaluation order."""
    if isinstance(e, (Unary, Cast)):
        return (e.x,)
    if isinstance(e, Binary):
        return (e.a, e.b)
    if isinstance(e, Select):
        return (e.cond, e.a, e.b)
    if isinstance(e, Reduce):
        return (e.body,)
    return ()


def walk(e: Expr) -> list[Expr]:
    """Every node of ``e`` in post-order (children first), each distinct node once."""
    seen: dict[Expr, None] = {}

    def go(x: Expr) -> None:
        if x in seen:
            return
        for c in children(x):
            go(c)
        seen[x] = None

    go(e)
    return list(seen)
