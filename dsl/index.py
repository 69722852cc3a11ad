"""Iteration axes and the affine index expressions built from them (``h * 2 + r - 1``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .sizes import Size, SizeLike, as_size

IndexLike = Union["Axis", "Affine", int]


class _AffineOps:
    def __add__(self, other: IndexLike) -> "Affine":
        return as_affine(self) + as_affine(other)  # type: ignore[arg-type]

    def __radd__(self, other: int) -> "Affine":
        return as_affine(other) + as_affine(self)  # type: ignore[arg-type]

    def __sub__(self, other: IndexLike) -> "Affine":
        return as_affine(self) + as_affine(other).scaled(-1)  # type: ignore[arg-type]

    def __rsub__(self, other: int) -> "Affine":
        return as_affine(other) + as_affine(self).scaled(-1)  # type: ignore[arg-type]

    def __mul__(self, other: int) -> "Affine":
        if isinstance(other, bool) or not isinstance(other, int):
            raise TypeError(f"an index may only be scaled by an int (stride, dilation), got {other!r}")
        return as_affine(self).scaled(other)  # type: ignore[arg-type]

    __rmul__ = __mul__

    def __neg__(self) -> "Affine":
        return as_affine(self).scaled(-1)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Axis(_AffineOps):
    """An iteration variable over ``range(extent)``; parallel or reduction by how a stage uses it."""

    name: str
    extent: Size

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Affine(_AffineOps):
    """``sum(coeff * axis) + offset``, terms sorted by axis name so equal maps compare equal."""

    terms: tuple[tuple[Axis, int], ...]
    offset: int = 0

    def __add__(self, other: IndexLike) -> "Affine":  # type: ignore[override]
        o = as_affine(other)
        coeffs: dict[Axis, int] = dict(self.terms)
        for ax, c in o.terms:
            coeffs[ax] = coeffs.get(ax, 0) + c
        return make_affine(coeffs, self.offset + o.offset)

    def scaled(self, k: int) -> "Affine":
        return make_affine({ax: c * k for ax, c in self.terms}, self.offset * k)

    @property
    def axes(self) -> tuple[Axis, ...]:
        return tuple(ax for ax, _ in self.terms)

    def __repr__(self) -> str:
        return format_affine(self)


def make_affine(coeffs: dict[Axis, int], offset: int) -> Affine:
    terms = tuple(sorted(((ax, c) for ax, c in coeffs.items() if c != 0), key=lambda t: t[0].name))
    return Affine(terms, offset)


def as_affine(x: IndexLike) -> Affine:
    if isinstance(x, Affine):
        return x
    if isinstance(x, Axis):
        return Affine(((x, 1),), 0)
    if isinstance(x, int) and not isinstance(x, bool):
        return Affine((), x)
    raise TypeError(f"an index must be an axis, an affine expression of axes, or an int; got {x!r}")


def axes(**extents: SizeLike) -> tuple[Axis, ...]:
    """``i, j, k = axes(i=M, j=N, k=K)``: iteration axes with their extents."""
    return tuple(Axis(name, as_size(ext)) for name, ext in extents.items())


def format_affine(a: Affine) -> str:
    """``h * 2 + r - 1``; the same text the affine_map parser reads back."""
    parts: list[str] = []
    for ax, c in a.terms:
        mag = abs(c)
        term = ax.name if mag == 1 else f"{ax.name} * {mag}"
        if not parts:
            parts.append(term if c > 0 else f"-{term}")
        else:
            parts.append(f"+ {term}" if c > 0 else f"- {term}")
    if a.offset or not parts:
        if not parts:
            parts.append(str(a.offset))
        else:
            parts.append(f"+ {a.offset}" if a.offset > 0 else f"- {-a.offset}")
    return " ".join(parts)
