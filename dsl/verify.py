"""verify(): reject a wrong op with one message that names the tensor and the axis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dtypes import BOOL, MLIR_NAMES, is_float, is_int
from .expr import ARITH, COMPARE, LOGIC, REDUCE, UNARY, Binary, Cast, Const, Expr, Load, Reduce, Select, Unary, walk
from .sizes import Dim, evaluate, format_size

if TYPE_CHECKING:
    from .op import Op, Stage


class VerifyError(ValueError):
    """The op is malformed; the message names the tensor, stage or axis at fault."""


def check(cond: bool, message: str) -> None:
    if not cond:
        raise VerifyError(message)


def verify(op: "Op", require_bound: bool = False) -> "Op":
    """Check ``op``; return it unchanged or raise ``VerifyError``.

    With ``require_bound`` every free dim must have a value (as lowering and evaluation need).
    """
    check(bool(op.name) and op.name.isidentifier(), f"op name {op.name!r} must be an identifier")
    check_bindings(op)
    _check_names(op)
    _check_dtypes(op)
    known = {t.name: t for t in op.inputs}
    for st in op.stages:
        _check_stage(op, st, known)
        known[st.name] = st.tensor
    for name in op.outputs:
        check(any(st.name == name for st in op.stages), f"op {op.name}: output {name!r} is not a stage; stages are {[s.name for s in op.stages]}")
    check(bool(op.stages), f"op {op.name} has no stage")
    if require_bound:
        missing = [d.name for d in op.free_dims if d.name not in op.sizes]
        if missing:
            raise VerifyError(f"op {op.name}: dimension {', '.join(missing)} is unbound; bind it, e.g. op.bind({missing[0]}=64)")
    _check_ranges(op)
    return op


def check_bindings(op: "Op") -> None:
    """Bindings name free dims, agree with each other, and give every size a positive value."""
    dims = {d.name: d for d in op.dims}
    seen: dict[str, int] = {}
    for name, value in op.bindings:
        check(name in dims, f"op {op.name} has no dimension {name!r}; its dimensions are {[d.name for d in op.free_dims]}")
        definition = dims[name].definition
        if definition is not None:
            raise VerifyError(f"dimension {name} is derived ({name} = {format_size(definition)}); bind the dims it is made of")
        check(isinstance(value, int) and not isinstance(value, bool), f"dimension {name} must be bound to an int, got {value!r}")
        if name in seen:
            check(seen[name] == value, f"dimension {name} bound twice to different values: {seen[name]} and {value}")
        seen[name] = value
    for d in op.dims:
        v = evaluate(d, seen)
        if v is not None:
            where = _first_user(op, d)
            what = f"dimension {d.name}" + (f" = {format_size(d.definition)}" if d.definition is not None else "")
            check(v > 0, f"{what} has extent {v} (must be positive); used by {where}")
    for t in list(op.inputs) + [st.tensor for st in op.stages]:
        for axis, s in enumerate(t.shape):
            v = evaluate(s, seen)
            check(v is None or v > 0, f"tensor {t.name} axis {axis}: extent {format_size(s)} = {v} must be positive")


def _first_user(op: "Op", d: Dim) -> str:
    from .sizes import named_dims

    for t in list(op.inputs) + [st.tensor for st in op.stages]:
        for axis, s in enumerate(t.shape):
            if d in named_dims(s):
                return f"tensor {t.name} axis {axis}"
    return f"op {op.name}"


def _check_names(op: "Op") -> None:
    seen: set[str] = set()
    for t in list(op.inputs) + list(op.stages):
        check(t.name.isidentifier(), f"tensor name {t.name!r} must be an identifier")
        check(t.name not in seen, f"duplicate name {t.name!r}: two tensors or stages of op {op.name} share it")
        seen.add(t.name)
    dim_names = {d.name for d in op.dims}
    clash = dim_names & seen
    if clash:
        raise VerifyError(f"duplicate name {sorted(clash)[0]!r}: used for a dimension and a tensor")


def _check_dtypes(op: "Op") -> None:
    for t in op.inputs:
        check(t.dtype in MLIR_NAMES, f"tensor {t.name}: unknown dtype {t.dtype!r}; expected one of {sorted(MLIR_NAMES)}")
    for st in op.stages:
        for e in walk(st.body):
            if isinstance(e, (Cast, Const)):
                check(e.dtype in MLIR_NAMES, f"stage {st.name}: unknown dtype {e.dtype!r} in {type(e).__name__.lower()}; expected one of {sorted(MLIR_NAMES)}")
        check(st.dtype in MLIR_NAMES, f"stage {st.name}: its result has dtype {st.dtype!r}; a stage must produce one of {sorted(MLIR_NAMES)} (wrap a comparison in where())")


def _check_stage(op: "Op", st: "Stage", known: dict) -> None:
    out_names = [ax.name for ax in st.axes]
    check(len(set(out_names)) == len(out_names), f"stage {st.name}: output axis repeated in {out_names}")
    for e in walk(st.body):
        check(not (isinstance(e, Reduce) and e is not st.body), f"stage {st.name}: a reduction must be the whole body of a stage; split it into its own stage")
        _check_node(st, e)
    if isinstance(st.body, Reduce):
        r = st.body
        check(r.kind in REDUCE, f"stage {st.name}: unknown reduction {r.kind!r}; expected one of {list(REDUCE)}")
        check(len(r.axes) > 0, f"stage {st.name}: reduction {r.kind} has no reduction axis; name the axes it reduces over")
        rnames = [ax.name for ax in r.axes]
        check(len(set(rnames)) == len(rnames), f"stage {st.name}: reduction axis repeated in {rnames}")
        for ax in r.axes:
            check(ax.name not in out_names, f"stage {st.name}: reduction axis {ax.name} is also in the output index {out_names}; an output index must be a parallel axis")
    domain = {ax.name: ax for ax in st.domain}
    for e in walk(st.body):
        if not isinstance(e, Load):
            continue
        t = e.tensor
        check(t.name in known, f"stage {st.name} reads tensor {t.name!r}, which is neither an input nor an earlier stage; known: {sorted(known)}")
        decl = known[t.name]
        check(len(e.index) == len(decl.shape), f"operand shape mismatch: stage {st.name} indexes {t.name} with {len(e.index)} indices but {t.name} has rank {len(decl.shape)}")
        check(tuple(t.shape) == tuple(decl.shape) and t.dtype == decl.dtype,
              f"operand shape mismatch: stage {st.name} reads {t.name} as {_ty(t)} but it is declared {_ty(decl)}")
        for axis, a in enumerate(e.index):
            for ax, _ in a.terms:
                check(ax.name in domain, f"stage {st.name}: {t.name} axis {axis} is indexed by {ax.name}, which is neither an output axis nor a reduction axis of the stage")
                check(domain[ax.name] == ax, f"stage {st.name}: axis {ax.name} is used with two extents ({format_size(domain[ax.name].extent)} and {format_size(ax.extent)})")


def _ty(t) -> str:  # noqa: ANN001
    return f"tensor<{'x'.join(format_size(s) for s in t.shape)}x{t.dtype}>"


def _check_node(st: "Stage", e: Expr) -> None:
    where = f"stage {st.name}"
    if isinstance(e, Unary):
        check(e.fn in UNARY, f"{where}: unknown function {e.fn!r}; expected one of {list(UNARY)}")
        if e.fn not in ("neg", "abs"):
            check(is_float(e.x.dtype), f"{where}: {e.fn} needs a float operand, got {e.x.dtype}; cast it first")
    elif isinstance(e, Binary):
        check(e.fn in ARITH + COMPARE + LOGIC, f"{where}: unknown operator {e.fn!r}")
        if e.fn in LOGIC:
            check(e.a.dtype == BOOL and e.b.dtype == BOOL, f"{where}: {e.fn} needs two conditions, got {e.a.dtype} and {e.b.dtype}")
        else:
            check(e.a.dtype == e.b.dtype, f"{where}: mixed dtypes without a cast in {e.fn}: {_operand(e.a)} is {e.a.dtype} but {_operand(e.b)} is {e.b.dtype}; insert cast()")
            check(e.a.dtype != BOOL, f"{where}: {e.fn} of two conditions; use & or |")
    elif isinstance(e, Select):
        check(e.cond.dtype == BOOL, f"{where}: where() needs a comparison as its condition, got {e.cond.dtype}")
        check(e.a.dtype == e.b.dtype, f"{where}: mixed dtypes without a cast in where(): {e.a.dtype} and {e.b.dtype}; insert cast()")
    elif isinstance(e, Cast):
        check(e.x.dtype != BOOL or is_int(e.dtype) or is_float(e.dtype), f"{where}: cannot cast {e.x.dtype}")
    elif isinstance(e, Load) and e.pad is not None:
        check(not (is_int(e.dtype) and isinstance(e.pad, float) and not float(e.pad).is_integer()), f"{where}: pad value {e.pad!r} does not fit {e.tensor.name}'s dtype {e.dtype}")


def _operand(e: Expr) -> str:
    if isinstance(e, Load):
        return f"tensor {e.tensor.name}"
    if isinstance(e, Const):
        return f"constant {e.value!r}"
    return f"a {type(e).__name__.lower()} ({getattr(e, 'fn', '')})".replace(" ()", "")


def _check_ranges(op: "Op") -> None:
    """Every unguarded read stays inside its tensor, for the sizes that are bound."""
    sizes = op.sizes
    for st in op.stages:
        ext = {ax.name: evaluate(ax.extent, sizes) for ax in st.domain}
        for e in walk(st.body):
            if not isinstance(e, Load) or e.pad is not None:
                continue
            for axis, (a, size) in enumerate(zip(e.index, e.tensor.shape)):
                n = evaluate(size, sizes)
                if n is None or any(ext.get(ax.name) is None for ax, _ in a.terms):
                    continue
                lo = a.offset + sum(c * (ext[ax.name] - 1) for ax, c in a.terms if c < 0)  # type: ignore[operator]
                hi = a.offset + sum(c * (ext[ax.name] - 1) for ax, c in a.terms if c > 0)  # type: ignore[operator]
                check(lo >= 0 and hi < n,
                      f"index out of range: stage {st.name} reads {e.tensor.name} axis {axis} at [{a!r}] "
                      f"over [{lo}, {hi}], but {e.tensor.name} axis {axis} has size {n} ({format_size(size)}); "
                      f"use a guarded read (.padded) or fix the extents")
