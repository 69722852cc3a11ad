"""Stages and operators: what a user builds, prints, verifies, binds and lowers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from .expr import Expr, ExprLike, Load, Reduce, Tensor, as_expr
from .index import Axis, IndexLike, as_affine
from .sizes import Dim, Size, SizeLike, as_size, evaluate, named_dims


@dataclass(frozen=True)
class Stage:
    """One ``linalg.generic``-like step: ``out[axes] = body``, ``body`` possibly a reduction."""

    name: str
    axes: tuple[Axis, ...]
    body: Expr

    @property
    def tensor(self) -> Tensor:
        return Tensor(self.name, tuple(ax.extent for ax in self.axes), self.body.dtype)

    @property
    def reduce_axes(self) -> tuple[Axis, ...]:
        return self.body.axes if isinstance(self.body, Reduce) else ()

    @property
    def domain(self) -> tuple[Axis, ...]:
        """Output axes, then reduction axes: the loop nest of this stage."""
        return self.axes + self.reduce_axes

    @property
    def shape(self) -> tuple[Size, ...]:
        return self.tensor.shape

    @property
    def dtype(self) -> str:
        return self.body.dtype

    def __getitem__(self, index: IndexLike | tuple[IndexLike, ...]) -> Load:
        return self.tensor[index]

    def padded(self, *index: IndexLike, value: float | int = 0) -> Load:
        return self.tensor.padded(*index, value=value)


def tensor(name: str, shape: Sequence[SizeLike], dtype: str = "float32") -> Tensor:
    """An input tensor: ``A = tensor("A", (M, K), "float32")``."""
    return Tensor(name, tuple(as_size(s) for s in shape), dtype)


def compute(name: str, out_axes: Sequence[Axis], body: ExprLike) -> Stage:
    """A stage ``name[out_axes] = body``; ``body`` may be one reduction (``reduce_sum``)."""
    return Stage(name, tuple(out_axes), as_expr(body))


@dataclass(frozen=True)
class Op:
    """A named operator: inputs, stages in order, which stages are outputs, bound sizes.

    ``outputs`` defaults to the last stage. ``bindings`` keep the order they were given in,
    so a conflicting second binding stays visible to ``verify``.
    """

    name: str
    inputs: tuple[Tensor, ...]
    stages: tuple[Stage, ...]
    outputs: tuple[str, ...] = ()
    bindings: tuple[tuple[str, int], ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "stages", tuple(self.stages))
        outs = tuple(o.name if isinstance(o, Stage) else o for o in self.outputs)
        if not outs and self.stages:
            outs = (self.stages[-1].name,)
        object.__setattr__(self, "outputs", outs)
        object.__setattr__(self, "bindings", tuple((str(k), v) for k, v in self.bindings))

    # sizes ------------------------------------------------------------------
    @property
    def dims(self) -> tuple[Dim, ...]:
        """Every named dim (free and derived) in order of first appearance."""
        found: list[Dim] = []

        def add(s: Size) -> None:
            for d in named_dims(s):
                if d.definition is not None:
                    add(d.definition)
                if d not in found:
                    found.append(d)

        for t in self.inputs:
            for s in t.shape:
                add(s)
        for st in self.stages:
            for ax in st.domain:
                add(ax.extent)
        return tuple(found)

    @property
    def free_dims(self) -> tuple[Dim, ...]:
        return tuple(d for d in self.dims if d.definition is None)

    @property
    def sizes(self) -> dict[str, int]:
        """The bound value of every dim whose value is known (derived ones included)."""
        out = dict(self.bindings)
        for d in self.dims:
            if d.definition is not None:
                v = evaluate(d.definition, out)
                if v is not None:
                    out[d.name] = v
        return out

    def bind(self, sizes: Mapping[str, int] | None = None, **kw: int) -> "Op":
        """A copy with sizes bound: ``op.bind(M=1024, N=1024, K=1024)``; checked by verify."""
        from .verify import check_bindings

        new = dict(sizes or {}, **kw)
        op = Op(self.name, self.inputs, self.stages, self.outputs, self.bindings + tuple(new.items()))
        check_bindings(op)
        return op

    def shape_of(self, t: Tensor) -> tuple[int, ...]:
        """The concrete shape of tensor ``t``; every dim must be bound."""
        sizes = self.sizes
        out = []
        for axis, s in enumerate(t.shape):
            v = evaluate(s, sizes)
            if v is None:
                from .verify import VerifyError

                missing = [d.name for d in self.free_dims if d.name not in sizes]
                raise VerifyError(f"tensor {t.name} axis {axis}: size {s!r} is unbound; bind {', '.join(missing)}")
            out.append(v)
        return tuple(out)

    # tensors ----------------------------------------------------------------
    @property
    def output_tensors(self) -> tuple[Tensor, ...]:
        by_name = {st.name: st for st in self.stages}
        return tuple(by_name[n].tensor for n in self.outputs if n in by_name)

    def stage(self, name: str) -> Stage:
        for st in self.stages:
            if st.name == name:
                return st
        raise KeyError(f"op {self.name} has no stage {name!r}; stages: {[s.name for s in self.stages]}")

    @property
    def is_bound(self) -> bool:
        sizes = self.sizes
        return all(d.name in sizes for d in self.free_dims)

    def flops(self) -> int:
        """Arithmetic operations of one evaluation: 2 per multiply-add, 1 per other op."""
        from .analysis import flop_count

        return flop_count(self)

    def __str__(self) -> str:
        from .printer import print_op

        return print_op(self)


def loads(e: Expr) -> Iterable[Load]:
    from .expr import walk

    return (x for x in walk(e) if isinstance(x, Load))


def index_axes(load: Load) -> tuple[Axis, ...]:
    out: list[Axis] = []
    for a in load.index:
        for ax in as_affine(a).axes:
            if ax not in out:
                out.append(ax)
    return tuple(out)
