"""Symbolic sizes: named dimensions, derived dimensions and the arithmetic between them.

A ``Dim`` is a name a user binds to a number (``M``), or a name defined by an expression of
other sizes (``OH = (H + 2 - R) // 1 + 1``), so conv output sizes follow their inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

SizeLike = Union["Size", int]

# binary size operators: symbol in the text, precedence, python function
SIZE_OPS: dict[str, tuple[int, object]] = {
    "+": (1, lambda a, b: a + b),
    "-": (1, lambda a, b: a - b),
    "*": (2, lambda a, b: a * b),
    "floordiv": (2, lambda a, b: a // b),
}


class Size:
    """Base of size expressions; supports + - * and // with ints and other sizes."""

    def __add__(self, other: SizeLike) -> "Size":
        return SizeBin("+", self, as_size(other))

    def __radd__(self, other: int) -> "Size":
        return SizeBin("+", as_size(other), self)

    def __sub__(self, other: SizeLike) -> "Size":
        return SizeBin("-", self, as_size(other))

    def __rsub__(self, other: int) -> "Size":
        return SizeBin("-", as_size(other), self)

    def __mul__(self, other: SizeLike) -> "Size":
        return SizeBin("*", self, as_size(other))

    def __rmul__(self, other: int) -> "Size":
        return SizeBin("*", as_size(other), self)

    def __floordiv__(self, other: SizeLike) -> "Size":
        return SizeBin("floordiv", self, as_size(other))


@dataclass(frozen=True)
class Dim(Size):
    """A named dimension; ``definition`` is set for a derived one (not bindable)."""

    name: str
    definition: "Size | None" = None

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SizeConst(Size):
    value: int

    def __repr__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class SizeBin(Size):
    op: str
    lhs: Size
    rhs: Size

    def __repr__(self) -> str:
        return format_size(self)


def as_size(x: SizeLike) -> Size:
    if isinstance(x, Size):
        return x
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"a size must be an int or a Dim, got {x!r}")
    return SizeConst(x)


def dims(names: str) -> tuple[Dim, ...]:
    """``M, N, K = dims("M N K")``: free dimensions, bound later with ``op.bind``."""
    return tuple(Dim(n) for n in names.split())


def derived(name: str, definition: SizeLike) -> Dim:
    """A dimension defined by other sizes, e.g. a convolution's output height."""
    return Dim(name, as_size(definition))


def evaluate(size: Size, bindings: Mapping[str, int]) -> int | None:
    """The value of ``size`` under ``bindings``, or None while a free dim in it is unbound."""
    if isinstance(size, SizeConst):
        return size.value
    if isinstance(size, Dim):
        if size.definition is not None:
            return evaluate(size.definition, bindings)
        return bindings.get(size.name)
    assert isinstance(size, SizeBin)
    a, b = evaluate(size.lhs, bindings), evaluate(size.rhs, bindings)
    if a is None or b is None:
        return None
    if size.op == "floordiv" and b == 0:
        raise ZeroDivisionError(f"size {format_size(size)} divides by zero")
    return SIZE_OPS[size.op][1](a, b)  # type: ignore[operator]


def free_dims(size: Size) -> list[Dim]:
    """The free (bindable) dims ``size`` depends on, in order of appearance."""
    out: list[Dim] = []

    def walk(s: Size) -> None:
        if isinstance(s, Dim):
            if s.definition is None:
                if s not in out:
                    out.append(s)
            else:
                walk(s.definition)
        elif isinstance(s, SizeBin):
            walk(s.lhs)
            walk(s.rhs)

    walk(size)
    return out


def named_dims(size: Size) -> list[Dim]:
    """Every named dim (free or derived) that appears in ``size`` itself, in order."""
    out: list[Dim] = []

    def walk(s: Size) -> None:
        if isinstance(s, Dim):
            if s not in out:
                out.append(s)
        elif isinstance(s, SizeBin):
            walk(s.lhs)
            walk(s.rhs)

    walk(size)
    return out


def format_size(size: Size, parent_prec: int = 0, right: bool = False) -> str:
    """Text of a size with the fewest parentheses that still parse back to the same tree."""
    if isinstance(size, SizeConst):
        return str(size.value) if size.value >= 0 else f"({size.value})"
    if isinstance(size, Dim):
        return size.name
    assert isinstance(size, SizeBin)
    prec = SIZE_OPS[size.op][0]
    text = f"{format_size(size.lhs, prec)} {size.op} {format_size(size.rhs, prec, right=True)}"
    if prec < parent_prec or (right and prec == parent_prec):
        return f"({text})"
    return text
