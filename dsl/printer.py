"""print_op(): the canonical MLIR-style text of an op, in the spirit of ``linalg.generic``.

Each stage is one ``opforge.generic``: its iteration domain, one affine indexing map per
operand plus the identity map of its result, iterator types, and its body as SSA ops in a
block. The text is a pure function of the op (no versions, no addresses, floats by their
shortest round-trip spelling), so its hash can name the workload; ``dsl.parser.parse``
reads it back to an equal op.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from typing import Mapping, Sequence

from .dtypes import is_float, to_mlir
from .expr import ARITH, COMPARE, LOGIC, UNARY, Binary, Cast, Const, Expr, Load, Reduce, Select, Tensor, Unary, walk
from .index import Affine, Axis, format_affine
from .op import Op, Stage
from .sizes import Dim, Size, evaluate, format_size

#: names the text can carry bare: tensors (``%A``), dims, axes and the op's symbol
BARE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = {"floordiv"}  # an operator of size expressions, so no dim or axis may take it

#: bit widths, to tell a widening cast from a narrowing one
WIDTH = {"float32": 32, "float16": 16, "bfloat16": 16, "int8": 8, "uint8": 8, "int32": 32, "bool": 1}
UNSIGNED = frozenset({"uint8", "bool"})
ELEMENT_TYPES = {dt: to_mlir(dt) for dt in WIDTH}

_ARITH_F = {"add": "arith.addf", "sub": "arith.subf", "mul": "arith.mulf", "div": "arith.divf",
            "max": "arith.maximumf", "min": "arith.minimumf"}
_ARITH_SI = {"add": "arith.addi", "sub": "arith.subi", "mul": "arith.muli", "div": "arith.floordivsi",
             "max": "arith.maxsi", "min": "arith.minsi"}
_ARITH_UI = {**_ARITH_SI, "div": "arith.divui", "max": "arith.maxui", "min": "arith.minui"}
_LOGIC = {"and": "arith.andi", "or": "arith.ori"}
# ne is unordered for floats: NaN != x holds, as in numpy
_PRED_F = {"lt": "olt", "le": "ole", "gt": "ogt", "ge": "oge", "eq": "oeq", "ne": "une"}
_PRED_SI = {"lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge", "eq": "eq", "ne": "ne"}
_PRED_UI = {"lt": "ult", "le": "ule", "gt": "ugt", "ge": "uge", "eq": "eq", "ne": "ne"}

CAST_MNEMONICS = frozenset({"arith.bitcast", "arith.extf", "arith.truncf", "arith.fptosi", "arith.fptoui",
                            "arith.sitofp", "arith.uitofp", "arith.extsi", "arith.extui", "arith.trunci"})


def element_type(dtype: str) -> str:
    """``float32`` -> ``f32``; an unknown dtype cannot be printed."""
    try:
        return ELEMENT_TYPES[dtype]
    except KeyError:
        raise ValueError(f"cannot print dtype {dtype!r}; expected one of {sorted(ELEMENT_TYPES)}") from None


def unary_mnemonic(fn: str, dtype: str) -> str:
    """The op spelling ``fn`` of a ``dtype`` operand: ``math.exp``, ``arith.negf``, ``math.absi``."""
    if fn == "neg":
        return "arith.negf" if is_float(dtype) else "opforge.negi"  # arith has no integer negation
    if fn == "abs":
        return "math.absf" if is_float(dtype) else "math.absi"
    return f"math.{fn}"


def binary_spelling(fn: str, dtype: str) -> tuple[str, str | None]:
    """(op, comparison predicate or None) of binary ``fn`` on ``dtype`` operands."""
    if fn in _LOGIC:
        return _LOGIC[fn], None
    if is_float(dtype):
        arith, preds = _ARITH_F, _PRED_F
    elif dtype in UNSIGNED:
        arith, preds = _ARITH_UI, _PRED_UI
    else:
        arith, preds = _ARITH_SI, _PRED_SI
    if fn in COMPARE:
        return ("arith.cmpf" if is_float(dtype) else "arith.cmpi"), preds[fn]
    return arith[fn], None


def cast_mnemonic(src: str, dst: str) -> str:
    """The ``arith`` conversion from ``src`` to ``dst`` (``arith.bitcast`` when only the type name changes)."""
    if src == dst:
        return "arith.bitcast"
    if is_float(src) and is_float(dst):
        return "arith.extf" if WIDTH[dst] > WIDTH[src] else "arith.truncf"
    if is_float(src):
        return "arith.fptoui" if dst in UNSIGNED else "arith.fptosi"
    if is_float(dst):
        return "arith.uitofp" if src in UNSIGNED else "arith.sitofp"
    if WIDTH[dst] > WIDTH[src]:
        return "arith.extui" if src in UNSIGNED else "arith.extsi"
    if WIDTH[dst] < WIDTH[src]:
        return "arith.trunci"
    return "arith.bitcast"  # int8 <-> uint8: same bits, another reading


def format_scalar(value: float | int, dtype: str) -> str:
    """A constant as text that parses back to an equal Python value, spelled by ``dtype``.

    Float dtypes print floats (``1.0``, ``1e-05``, ``inf``, ``-inf``, ``nan``), integer dtypes
    ints, so ``Const(1, "float32")`` and ``Const(1.0, "float32")``, which compare equal, print alike.
    """
    if isinstance(value, numbers.Integral):
        v = int(value)
        if is_float(dtype):
            try:
                f = float(v)
            except OverflowError:
                return str(v)
            if f == v:
                return _float_text(f)
        return str(v)
    if isinstance(value, numbers.Real):
        f = float(value)
        if not is_float(dtype) and f.is_integer():
            return str(int(f))
        return _float_text(f)
    raise ValueError(f"cannot print the constant {value!r}; expected an int or a float")


def _float_text(f: float) -> str:
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return float.__repr__(f)  # shortest round-trip digits, the same on every Python since 3.1


def tensor_type(shape: Sequence[Size], dtype: str, sizes: Mapping[str, int]) -> str:
    """``tensor<17x9xf32>``; a dim whose value is not known under ``sizes`` prints ``?``."""
    return "tensor<" + "".join(f"{_extent(s, sizes)}x" for s in shape) + element_type(dtype) + ">"


def _extent(size: Size, sizes: Mapping[str, int]) -> str:
    try:
        v = evaluate(size, sizes)
    except ZeroDivisionError:
        v = None
    return "?" if v is None else str(v)


def symbol(name: str) -> str:
    """``@matmul``, or a quoted ``@"..."`` for a name that is not a bare identifier."""
    return f"@{name}" if BARE_ID.match(name) else f"@{json.dumps(name)}"


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not BARE_ID.match(name) or name in _RESERVED:
        raise ValueError(f"cannot print {what} name {name!r}: it must match [A-Za-z_][A-Za-z0-9_]* and not be 'floordiv'")
    return name


def print_op(op: Op) -> str:
    """The canonical MLIR-style text of ``op``; ``parse`` gives back an equal op.

    Raises ``ValueError`` for an op the text cannot express (a reduction nested inside a body,
    a read of an undeclared tensor or by an axis outside the stage's domain, two dims sharing a
    name); ``verify`` rejects all of those too.
    """
    sizes = dict(op.bindings)  # later bindings win, as Op.sizes reads them
    lines = [f"opforge.op {symbol(op.name)} dims {{{_dims_header(op)}}} {{"]
    known: dict[str, Tensor] = {}
    for t in op.inputs:
        shape = ", ".join(format_size(s) for s in t.shape)
        lines.append(f"  %{_check_name(t.name, 'tensor')} = opforge.input : {tensor_type(t.shape, t.dtype, sizes)} {{shape = [{shape}]}}")
        known[t.name] = t
    for st in op.stages:
        lines.extend(_stage_lines(st, known, sizes))
        known[st.name] = st.tensor
    for name in op.outputs:
        if name not in known:
            raise ValueError(f"cannot print op {op.name}: output {name!r} is not a stage; stages are {[s.name for s in op.stages]}")
    if op.outputs:
        values = ", ".join(f"%{n}" for n in op.outputs)
        types = ", ".join(tensor_type(known[n].shape, known[n].dtype, sizes) for n in op.outputs)
        lines.append(f"  return {values} : {types}")
    else:
        lines.append("  return")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dims_header(op: Op) -> str:
    """``M = 1024, N = 1024, H, OH := H - R + 1``: the bindings in order, then the other dims.

    The parser reads each ``NAME = value`` as one binding (the first one also declares NAME),
    so ``op.bindings`` comes back exactly, repeats and conflicts included. Unbound free dims and
    derived dims follow in ``op.dims`` order, which puts every dim before the definitions using it.
    """
    by_name: dict[str, Dim] = {}
    for d in op.dims:  # op.dims holds every dim a definition uses, too
        _check_name(d.name, "dimension")
        if by_name.setdefault(d.name, d) != d:
            raise ValueError(f"cannot print op {op.name}: two different dimensions are named {d.name}")
    entries: list[str] = []
    for name, value in op.bindings:
        _check_name(name, "dimension")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"cannot print op {op.name}: dimension {name} is bound to {value!r}; expected an int")
        entries.append(f"{name} = {value}")
    bound = {name for name, _ in op.bindings}
    for d in op.dims:
        if d.definition is not None:
            entries.append(f"{d.name} := {format_size(d.definition)}")
        elif d.name not in bound:
            entries.append(d.name)
    return ", ".join(entries)


def _stage_lines(st: Stage, known: Mapping[str, Tensor], sizes: Mapping[str, int]) -> list[str]:
    _check_name(st.name, "stage")
    reduce = st.body if isinstance(st.body, Reduce) else None
    root = reduce.body if reduce is not None else st.body
    domain = st.domain
    by_name: dict[str, Axis] = {}
    for ax in domain:
        _check_name(ax.name, "axis")
        if by_name.setdefault(ax.name, ax) != ax:
            raise ValueError(f"cannot print stage {st.name}: axis {ax.name} has two extents "
                             f"({format_size(by_name[ax.name].extent)} and {format_size(ax.extent)})")
    nodes = walk(root)
    if any(isinstance(e, Reduce) for e in nodes):
        raise ValueError(f"cannot print stage {st.name}: a reduction must be the whole body of a stage; split it into its own stage")
    operands = [e for e in nodes if isinstance(e, Load)]
    for ld in operands:
        _check_operand(st, ld, known, by_name)

    dim_list = ", ".join(ax.name for ax in domain)
    maps = [f"affine_map<({dim_list}) -> ({', '.join(format_affine(a) for a in ld.index)})>" for ld in operands]
    maps.append(f"affine_map<({dim_list}) -> ({', '.join(ax.name for ax in st.axes)})>")
    iterators = ['"parallel"'] * len(st.axes) + ['"reduction"'] * len(st.reduce_axes)
    domain_text = ", ".join(f"{ax.name} : {format_size(ax.extent)}" for ax in domain)
    tail = f"iterator_types = [{', '.join(iterators)}]"
    if any(ld.pad is not None for ld in operands):
        pads = ", ".join("none" if ld.pad is None else format_scalar(ld.pad, ld.dtype) for ld in operands)
        tail += f", padding = [{pads}]"
    if reduce is not None:
        tail += f", combiner = {json.dumps(reduce.kind)}"
    result = tensor_type(st.shape, st.dtype, sizes)
    if operands:
        names = ", ".join(f"%{ld.tensor.name}" for ld in operands)
        types = ", ".join(tensor_type(ld.tensor.shape, ld.dtype, sizes) for ld in operands)
        signature = f"ins({names} : {types}) -> {result} {{"
    else:
        signature = f"-> {result} {{"
    lines = [
        f"  %{st.name} = opforge.generic {{domain = [{domain_text}],",
        f"      indexing_maps = [{', '.join(maps)}],",
        f"      {tail}}}",
        f"      {signature}",
    ]
    args = ", ".join(f"%in{n}: {element_type(ld.dtype)}" for n, ld in enumerate(operands))
    lines.append(f"  ^bb0({args}):" if operands else "  ^bb0:")
    values: dict[Expr, str] = {ld: f"%in{n}" for n, ld in enumerate(operands)}
    for e in nodes:
        if isinstance(e, Load):
            continue
        name = f"%{len(values) - len(operands)}"
        lines.append(f"    {name} = {_body_op(st, e, values)}")
        values[e] = name
    lines.append(f"    opforge.yield {values[root]} : {element_type(root.dtype)}")
    lines.append("  }")
    return lines


def _check_operand(st: Stage, ld: Load, known: Mapping[str, Tensor], by_name: Mapping[str, Axis]) -> None:
    name = ld.tensor.name
    if name not in known:
        raise ValueError(f"cannot print stage {st.name}: it reads tensor {name!r}, which is neither an input "
                         f"nor an earlier stage; known: {sorted(known)}")
    if known[name] != ld.tensor:
        raise ValueError(f"cannot print stage {st.name}: it reads {name} as {ld.tensor!r}, "
                         f"but {name} is declared as {known[name]!r}")
    for a in ld.index:
        if not isinstance(a, Affine):
            raise ValueError(f"cannot print stage {st.name}: an index of {name} is {a!r}; build loads with tensor[...]")
        for ax, _ in a.terms:
            if by_name.get(ax.name) != ax:
                raise ValueError(f"cannot print stage {st.name}: {name} is indexed by axis {ax.name}, "
                                 f"which is not in the stage's domain {list(by_name)}")


def _body_op(st: Stage, e: Expr, values: Mapping[Expr, str]) -> str:
    """One SSA op of a stage's block, e.g. ``arith.mulf %in0, %in1 : f32``."""
    if isinstance(e, Const):
        return f"arith.constant {format_scalar(e.value, e.dtype)} : {element_type(e.dtype)}"
    if isinstance(e, Unary):
        if e.fn not in UNARY:
            raise ValueError(f"cannot print stage {st.name}: unknown function {e.fn!r}; expected one of {list(UNARY)}")
        return f"{unary_mnemonic(e.fn, e.x.dtype)} {values[e.x]} : {element_type(e.x.dtype)}"
    if isinstance(e, Binary):
        if e.fn not in ARITH + COMPARE + LOGIC:
            raise ValueError(f"cannot print stage {st.name}: unknown operator {e.fn!r}; expected one of {list(ARITH + COMPARE + LOGIC)}")
        mnemonic, pred = binary_spelling(e.fn, e.a.dtype)
        lhs = f"{pred}, {values[e.a]}" if pred else values[e.a]
        return f"{mnemonic} {lhs}, {values[e.b]} : {element_type(e.a.dtype)}"
    if isinstance(e, Cast):
        src, dst = element_type(e.x.dtype), element_type(e.dtype)
        return f"{cast_mnemonic(e.x.dtype, e.dtype)} {values[e.x]} : {src} to {dst}"
    if isinstance(e, Select):
        return f"arith.select {values[e.cond]}, {values[e.a]}, {values[e.b]} : {element_type(e.a.dtype)}"
    raise ValueError(f"cannot print stage {st.name}: unknown expression node {type(e).__name__}")
