"""Lowering: an Op becomes a TVM PrimFunc through ``tvm.te`` and ``te.create_prim_func``.

Each stage is one ``te.compute`` (one TIR block); guarded reads become ``if_then_else``.
The PrimFunc's parameters are the op's inputs, then its outputs, in order.
"""

from __future__ import annotations

import inspect
from typing import Any

from .expr import Binary, Cast, Const, Expr, Load, Reduce, Select, Unary
from .index import Affine
from .op import Op
from .sizes import evaluate
from .verify import verify


def lower(op: Op, guards: bool = True) -> Any:
    """The ``tvm.tirx.PrimFunc`` computing ``op``; every dim must be bound.

    ``guards=False`` reads padded tensors without their bounds test: a program with the same loops
    and stores that must never be built (it reads out of bounds), only described: the cost
    model's features of it come 3x faster than of the guarded one (``autotune.features``).
    """
    from tvm import te

    verify(op, require_bound=True)
    sizes = op.sizes
    tensors: dict[str, Any] = {}
    for t in op.inputs:
        tensors[t.name] = te.placeholder(op.shape_of(t), t.dtype, name=t.name)
    for st in op.stages:
        shape = op.shape_of(st.tensor)
        reduce_vars = {ax.name: te.reduce_axis((0, int(evaluate(ax.extent, sizes))), name=ax.name) for ax in st.reduce_axes}

        tensors[st.name] = te.compute(shape, _body(st, reduce_vars, tensors, op, guards), name=st.name)
    args = [tensors[t.name] for t in op.inputs] + [tensors[n] for n in op.outputs]
    func = te.create_prim_func(args)
    return func.with_attr("global_symbol", op.name)


def _body(st: Any, reduce_vars: dict[str, Any], tensors: dict[str, Any], op: Op, guards: bool) -> Any:
    def body(*out_vars: Any) -> Any:
        env = {ax.name: v for ax, v in zip(st.axes, out_vars)}
        env.update(reduce_vars)
        return _expr(st.body, env, tensors, op, guards)

    # te.compute names its loop variables after the parameters: keep the DSL's axis names
    params = [inspect.Parameter(ax.name, inspect.Parameter.POSITIONAL_ONLY) for ax in st.axes]
    body.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return body


def lower_module(op: Op) -> Any:
    """An IRModule with the lowered op as ``main``."""
    import tvm

    return tvm.IRModule({"main": lower(op)})


def _index(a: Affine, env: dict[str, Any]) -> Any:
    import tvm

    out: Any = None
    for ax, c in a.terms:
        term = env[ax.name] if c == 1 else env[ax.name] * c
        out = term if out is None else out + term
    if out is None:
        return tvm.tirx.const(a.offset, "int32")
    return out + a.offset if a.offset else out


def _expr(e: Expr, env: dict[str, Any], tensors: dict[str, Any], op: Op, guards: bool = True) -> Any:
    from tvm import te, tirx

    if isinstance(e, Const):
        return tirx.const(e.value, e.dtype)
    if isinstance(e, Load):
        t = tensors[e.tensor.name]
        idx = [_index(a, env) for a in e.index]
        if e.pad is None or not guards:
            return t[tuple(idx)]
        shape = op.shape_of(e.tensor)
        conds = [tirx.all(i >= 0, i < n) for i, n in zip(idx, shape)]
        return tirx.if_then_else(tirx.all(*conds), t[tuple(idx)], tirx.const(e.pad, e.dtype))
    if isinstance(e, Unary):
        x = _expr(e.x, env, tensors, op, guards)
        if e.fn == "neg":
            return -x
        if e.fn == "abs":
            return tirx.abs(x)
        if e.fn == "erf" and e.dtype in ("float16", "bfloat16"):
            return te.erf(x.astype("float32")).astype(e.dtype)  # LLVM has no 16-bit erf
        return getattr(te, e.fn)(x)
    if isinstance(e, Binary):
        a, b = _expr(e.a, env, tensors, op, guards), _expr(e.b, env, tensors, op, guards)
        return _BINARY[e.fn](a, b, e.a.dtype)
    if isinstance(e, Cast):
        return _expr(e.x, env, tensors, op, guards).astype(e.dtype)
    if isinstance(e, Select):
        return tirx.Select(_expr(e.cond, env, tensors, op, guards), _expr(e.a, env, tensors, op, guards), _expr(e.b, env, tensors, op, guards))
    if isinstance(e, Reduce):
        body = _expr(e.body, env, tensors, op, guards)
        rv = [env[ax.name] for ax in e.axes]
        return {"sum": te.sum, "max": te.max, "min": te.min}[e.kind](body, axis=rv)
    raise TypeError(f"cannot lower expression node {type(e).__name__}")


def _div(a: Any, b: Any, dtype: str) -> Any:
    from tvm import tirx

    from .dtypes import is_int

    return tirx.floordiv(a, b) if is_int(dtype) else tirx.Div(a, b)


def _bin(name: str):  # noqa: ANN202
    def f(a: Any, b: Any, dtype: str) -> Any:
        from tvm import tirx

        return getattr(tirx, name)(a, b)

    return f


_BINARY = {
    "add": lambda a, b, d: a + b,
    "sub": lambda a, b, d: a - b,
    "mul": lambda a, b, d: a * b,
    "div": _div,
    "max": _bin("max"),
    "min": _bin("min"),
    "lt": lambda a, b, d: a < b,
    "le": lambda a, b, d: a <= b,
    "gt": lambda a, b, d: a > b,
    "ge": lambda a, b, d: a >= b,
    "eq": _bin("EQ"),
    "ne": _bin("NE"),
    "and": _bin("And"),
    "or": _bin("Or"),
}
