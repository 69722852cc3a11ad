"""parse(): read the MLIR-style text of ``print_op`` back into an equal ``Op``.

A tokenizer and a recursive-descent parser for exactly the printer's grammar::

    op       := 'opforge.op' SYMBOL 'dims' '{' [entry (',' entry)*] '}' '{' input* generic* return '}'
    entry    := NAME | NAME '=' INT | NAME ':=' size
    input    := %NAME '=' 'opforge.input' ':' TENSOR '{' 'shape' '=' '[' sizes ']' '}'
    generic  := %NAME '=' 'opforge.generic' '{' 'domain' '=' '[' NAME ':' size, ... ']' ','
                'indexing_maps' '=' '[' affine_map, ... ']' ',' 'iterator_types' '=' '[' STRING, ... ']'
                [',' 'padding' '=' '[' (literal | 'none'), ... ']'] [',' 'combiner' '=' STRING] '}'
                ['ins' '(' %NAME, ... ':' TENSOR, ... ')'] '->' TENSOR '{' '^bb0' [args] ':' body_op* yield '}'
    return   := 'return' [%NAME, ... ':' TENSOR, ...]

Types in the text (tensor types, SSA value types) are derived facts; the parser checks each
against the op it rebuilds, so a hand-edited text that disagrees with itself is an error. It
accepts only canonical text (whitespace and ``//`` comments aside): after building the op it
compares the text with the op's printed form token by token, so one op has exactly one text.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass

from .expr import ARITH, COMPARE, LOGIC, UNARY, Binary, Cast, Const, Expr, Load, Reduce, Select, Tensor, Unary
from .index import Affine, Axis
from .op import Op, Stage
from .printer import (
    BARE_ID, CAST_MNEMONICS, ELEMENT_TYPES, binary_spelling, cast_mnemonic, format_scalar, print_op, tensor_type,
    unary_mnemonic,
)
from .sizes import SIZE_OPS, Dim, Size, SizeBin, SizeConst


class ParseError(ValueError):
    """The text is not an op's MLIR-style form; says where (line, column) and what was expected."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Token:
    kind: str  # ident, number, string, ssa, symbol, label, type, punct, eof
    text: str
    line: int
    column: int

    def __str__(self) -> str:
        return "end of input" if self.kind == "eof" else repr(self.text)


_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*)
  | (?P<type>tensor<[^<>]*>)
  | (?P<ssa>%[A-Za-z0-9_$.]+)
  | (?P<symbol>@(?:[A-Za-z_][A-Za-z0-9_$.]*|"(?:[^"\\\n]|\\.)*"))
  | (?P<label>\^[A-Za-z0-9_]+)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.$]*)
  | (?P<punct>:=|->|[{}()\[\]<>,:=*+\-?])
""", re.VERBOSE)

_FROM_ELEMENT = {v: k for k, v in ELEMENT_TYPES.items()}
# mnemonic -> DSL function, over every dtype the printer spells
_UNARY_FN = {unary_mnemonic(fn, dt): fn for fn in UNARY for dt in ("float32", "int32")}
_BINARY_FN = {binary_spelling(fn, dt)[0]: fn for fn in ARITH + LOGIC for dt in ELEMENT_TYPES}
_PREDICATE_FN = {binary_spelling(fn, dt)[1]: fn for fn in COMPARE for dt in ELEMENT_TYPES}


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``eof`` token; whitespace and ``//`` comments dropped."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(pos: int) -> tuple[int, int]:
        line = bisect_right(starts, pos)
        return line, pos - starts[line - 1] + 1

    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            line, col = where(pos)
            raise ParseError(line, col, f"unexpected character {text[pos]!r}")
        if m.lastgroup != "space":
            out.append(Token(m.lastgroup or "", m.group(), *where(pos)))
        pos = m.end()
    out.append(Token("eof", "", *where(len(text))))
    return out


def parse(text: str) -> Op:
    """The op whose ``print_op`` text is ``text``; raises ``ParseError`` naming line, column and what was expected."""
    return _Parser(text).op()


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.dims: dict[str, Dim] = {}
        self.bindings: list[tuple[str, int]] = []
        self.declared_by_binding: set[str] = set()  # a binding may name a derived dim verify rejects
        self.tensors: dict[str, Tensor] = {}

    # token helpers ----------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def error(self, tok: Token, message: str) -> ParseError:
        return ParseError(tok.line, tok.column, message)

    def expected(self, what: str) -> ParseError:
        tok = self.peek()
        return self.error(tok, f"expected {what}, found {tok}")

    def accept(self, text: str) -> Token | None:
        tok = self.peek()
        if tok.text == text and tok.kind in ("punct", "ident"):
            return self.next()
        return None

    def expect(self, text: str) -> Token:
        tok = self.accept(text)
        if tok is None:
            raise self.expected(repr(text))
        return tok

    def expect_kind(self, kind: str, what: str) -> Token:
        if self.peek().kind != kind:
            raise self.expected(what)
        return self.next()

    def comma_or(self, close: str) -> bool:
        """After a list item: True at ``,`` (more follow), False at ``close``."""
        if self.accept(","):
            return True
        if self.accept(close):
            return False
        raise self.expected(f"',' or {close!r}")

    def name(self, what: str) -> Token:
        tok = self.expect_kind("ident", what)
        if not BARE_ID.match(tok.text):
            raise self.error(tok, f"{what} must match [A-Za-z_][A-Za-z0-9_]*, found {tok}")
        return tok

    def tensor_name(self) -> Token:
        tok = self.expect_kind("ssa", "a tensor value like %A")
        if not BARE_ID.match(tok.text[1:]):
            raise self.error(tok, f"a tensor value must be %NAME with NAME an identifier, found {tok}")
        return tok

    def int_literal(self) -> int:
        neg = self.accept("-") is not None
        tok = self.expect_kind("number", "an integer")
        if not tok.text.isdigit():
            raise self.error(tok, f"expected an integer, found {tok}")
        return -int(tok.text) if neg else int(tok.text)

    def literal(self) -> tuple[float | int, str, Token]:
        """A constant: ``3``, ``-0.5``, ``1e-05``, ``inf``, ``-inf``, ``nan``; with its text."""
        start = self.peek()
        neg = self.accept("-") is not None
        tok = self.next()
        if tok.kind == "number":
            value: float | int = int(tok.text) if tok.text.isdigit() else float(tok.text)
        elif tok.kind == "ident" and tok.text in ("inf", "nan"):
            value = math.inf if tok.text == "inf" else math.nan
        else:
            raise self.error(tok, f"expected a number, inf or nan, found {tok}")
        if neg:
            value = -value
        return value, ("-" if neg else "") + tok.text, start

    def element_type(self) -> str:
        tok = self.expect_kind("ident", f"an element type ({', '.join(sorted(_FROM_ELEMENT))})")
        if tok.text not in _FROM_ELEMENT:
            raise self.error(tok, f"unknown element type {tok}; expected one of {sorted(_FROM_ELEMENT)}")
        return _FROM_ELEMENT[tok.text]

    def tensor_type(self) -> Token:
        return self.expect_kind("type", "a tensor type like tensor<4x?xf32>")

    def check_type(self, tok: Token, t: Tensor) -> None:
        want = tensor_type(t.shape, t.dtype, dict(self.bindings))
        if tok.text != want:
            raise self.error(tok, f"type of {t.name} is {want} (from its shape and the bound dims), found {tok.text}")

    # the op -----------------------------------------------------------------
    def op(self) -> Op:
        self.expect("opforge.op")
        sym = self.expect_kind("symbol", "the op's name like @matmul")
        name = json.loads(sym.text[1:]) if sym.text.startswith('@"') else sym.text[1:]
        self.expect("dims")
        self.expect("{")
        if not self.accept("}"):
            self.dim_entry()
            while self.comma_or("}"):
                self.dim_entry()
        self.expect("{")
        inputs: list[Tensor] = []
        stages: list[Stage] = []
        while not self.accept("return"):
            value = self.tensor_name()
            self.expect("=")
            tok = self.peek()
            if self.accept("opforge.input"):
                if stages:
                    raise self.error(tok, "inputs come before the first opforge.generic")
                t = self.input(value.text[1:])
                inputs.append(t)
                self.tensors[t.name] = t
            elif self.accept("opforge.generic"):
                st = self.generic(value.text[1:])
                stages.append(st)
                self.tensors[st.name] = st.tensor
            else:
                raise self.expected("'opforge.input' or 'opforge.generic'")
        outputs: list[str] = []
        if self.peek().kind == "ssa":
            outs = [self.known_tensor()]
            while self.accept(","):
                outs.append(self.known_tensor())
            self.expect(":")
            for i, (_, t) in enumerate(outs):
                if i:
                    self.expect(",")
                self.check_type(self.tensor_type(), t)
            outputs = [t.name for _, t in outs]
        self.expect("}")
        if self.peek().kind != "eof":
            raise self.expected("end of input")
        op = Op(name, tuple(inputs), tuple(stages), tuple(outputs), tuple(self.bindings))
        self.check_canonical(op)
        return op

    def check_canonical(self, op: Op) -> None:
        """The text must be the op's printed form (whitespace aside), so one op has one text."""
        try:
            canonical = tokenize(print_op(op))
        except ValueError as e:
            raise self.error(self.tokens[0], f"the text describes an op that cannot be printed: {e}") from None
        for got, want in zip(self.tokens, canonical):
            if (got.kind, got.text) != (want.kind, want.text):
                raise self.error(got, f"expected {want} as print_op writes this op, found {got} "
                                      "(a value computed but never used, a redundant sign or term?)")

    def dim_entry(self) -> None:
        """``M = 4`` (a binding; declares M unless a later entry defines it), ``M``, or ``OH := size``."""
        tok = self.name("a dimension name")
        if tok.text == "floordiv":
            raise self.error(tok, "'floordiv' is an operator, not a dimension name")
        if self.accept("="):
            self.bindings.append((tok.text, self.int_literal()))
            if tok.text not in self.dims:
                self.dims[tok.text] = Dim(tok.text)
                self.declared_by_binding.add(tok.text)
            return
        if tok.text in self.dims and tok.text not in self.declared_by_binding:
            raise self.error(tok, f"dimension {tok.text} is declared twice")
        if self.accept(":="):
            self.dims[tok.text] = Dim(tok.text, self.size())
            self.declared_by_binding.discard(tok.text)
        elif tok.text in self.dims:
            raise self.error(tok, f"dimension {tok.text} is declared twice")
        else:
            self.dims[tok.text] = Dim(tok.text)

    def known_tensor(self) -> tuple[Token, Tensor]:
        tok = self.tensor_name()
        if tok.text[1:] not in self.tensors:
            raise self.error(tok, f"{tok.text} is not defined; defined so far: {sorted(self.tensors)}")
        return tok, self.tensors[tok.text[1:]]

    # sizes and affine maps --------------------------------------------------
    def size(self, min_prec: int = 1) -> Size:
        """A size expression: + - * floordiv, left-associative, with parentheses."""
        lhs = self.size_atom()
        while True:
            tok = self.peek()
            op = tok.text if tok.kind in ("punct", "ident") else None
            if op not in SIZE_OPS or SIZE_OPS[op][0] < min_prec:  # type: ignore[index]
                return lhs
            self.next()
            prec = SIZE_OPS[op][0]  # type: ignore[index]
            lhs = SizeBin(op, lhs, self.size(prec + 1))  # type: ignore[arg-type]

    def size_atom(self) -> Size:
        tok = self.peek()
        if self.accept("("):
            inner = self.size()
            self.expect(")")
            return inner
        if tok.text == "-" or tok.kind == "number":
            return SizeConst(self.int_literal())
        if tok.kind == "ident":
            self.next()
            if tok.text not in self.dims:
                raise self.error(tok, f"unknown dimension {tok.text}; declared: {sorted(self.dims)}")
            return self.dims[tok.text]
        raise self.expected("a size (a dimension, an integer or '(')")

    def sizes(self) -> tuple[Size, ...]:
        self.expect("[")
        if self.accept("]"):
            return ()
        out = [self.size()]
        while self.comma_or("]"):
            out.append(self.size())
        return tuple(out)

    def affine_map(self, domain: list[Axis], axes: dict[str, Axis]) -> tuple[Token, tuple[Affine, ...]]:
        start = self.expect("affine_map")
        self.expect("<")
        self.expect("(")
        names: list[str] = []
        if not self.accept(")"):
            names.append(self.name("an axis name").text)
            while self.comma_or(")"):
                names.append(self.name("an axis name").text)
        if names != [ax.name for ax in domain]:
            raise self.error(start, f"affine_map dims must be the domain's axes ({', '.join(ax.name for ax in domain)}), found ({', '.join(names)})")
        self.expect("->")
        self.expect("(")
        results: list[Affine] = []
        if not self.accept(")"):
            results.append(self.affine(axes))
            while self.comma_or(")"):
                results.append(self.affine(axes))
        self.expect(">")
        return start, tuple(results)

    def affine(self, axes: dict[str, Axis]) -> Affine:
        """``h * 2 + r - 1``: terms kept in their written order, as ``format_affine`` writes them."""
        terms: list[tuple[Axis, int]] = []
        offset = 0
        sign = -1 if self.accept("-") else 1
        while True:
            tok = self.next()
            if tok.kind == "ident":
                if tok.text not in axes:
                    raise self.error(tok, f"unknown axis {tok.text}; the domain has {list(axes)}")
                coeff = self.int_literal() if self.accept("*") else 1
                terms.append((axes[tok.text], sign * coeff))
            elif tok.kind == "number" and tok.text.isdigit():
                offset += sign * int(tok.text)
            else:
                raise self.error(tok, f"expected an axis name or an integer, found {tok}")
            if self.accept("+"):
                sign = 1
            elif self.accept("-"):
                sign = -1
            else:
                return Affine(tuple(terms), offset)

    # statements -------------------------------------------------------------
    def input(self, name: str) -> Tensor:
        self.expect(":")
        type_tok = self.tensor_type()
        self.expect("{")
        self.expect("shape")
        self.expect("=")
        shape = self.sizes()
        self.expect("}")
        dtype_name = type_tok.text[len("tensor<"):-1].split("x")[-1]
        if dtype_name not in _FROM_ELEMENT:
            raise self.error(type_tok, f"unknown element type {dtype_name!r}; expected one of {sorted(_FROM_ELEMENT)}")
        t = Tensor(name, shape, _FROM_ELEMENT[dtype_name])
        self.check_type(type_tok, t)
        return t

    def generic(self, name: str) -> Stage:
        self.expect("{")
        self.expect("domain")
        self.expect("=")
        self.expect("[")
        domain: list[Axis] = []
        axes: dict[str, Axis] = {}
        if not self.accept("]"):
            while True:
                tok = self.name("an axis name")
                self.expect(":")
                ax = Axis(tok.text, self.size())
                if axes.setdefault(ax.name, ax) != ax:
                    raise self.error(tok, f"axis {ax.name} appears twice in the domain with different extents")
                domain.append(axes[ax.name])
                if not self.comma_or("]"):
                    break
        self.expect(",")
        self.expect("indexing_maps")
        self.expect("=")
        self.expect("[")
        maps = [self.affine_map(domain, axes)]
        while self.comma_or("]"):
            maps.append(self.affine_map(domain, axes))
        self.expect(",")
        iter_tok = self.expect("iterator_types")
        self.expect("=")
        self.expect("[")
        kinds: list[str] = []
        if not self.accept("]"):
            while True:
                tok = self.expect_kind("string", '"parallel" or "reduction"')
                if tok.text not in ('"parallel"', '"reduction"'):
                    raise self.error(tok, f'expected "parallel" or "reduction", found {tok.text}')
                kinds.append(tok.text.strip('"'))
                if not self.comma_or("]"):
                    break
        if len(kinds) != len(domain):
            raise self.error(iter_tok, f"{len(kinds)} iterator types for a domain of {len(domain)} axes")
        n_parallel = kinds.count("parallel")
        if kinds != ["parallel"] * n_parallel + ["reduction"] * (len(kinds) - n_parallel):
            raise self.error(iter_tok, "parallel iterators come before the reduction ones")
        pads: list[tuple[float | int, str, Token] | None] | None = None
        combiner: str | None = None
        pad_tok = iter_tok
        more = self.comma_or("}")
        if more and self.peek().text == "padding":
            pad_tok = self.next()
            self.expect("=")
            pads = self.padding()
            more = self.comma_or("}")
        if more:
            if self.peek().text != "combiner":
                raise self.expected("'combiner'" if pads is not None else "'padding' or 'combiner'")
            self.next()
            self.expect("=")
            combiner = json.loads(self.expect_kind("string", 'a combiner name like "sum"').text)
            self.expect("}")
        if n_parallel < len(domain) and combiner is None:
            raise self.error(iter_tok, "reduction iterators need a combiner (\"sum\", \"max\" or \"min\")")

        operands: list[Tensor] = []
        if self.accept("ins"):
            self.expect("(")
            operands.append(self.known_tensor()[1])
            while self.accept(","):
                operands.append(self.known_tensor()[1])
            self.expect(":")
            for i, t in enumerate(operands):
                if i:
                    self.expect(",")
                self.check_type(self.tensor_type(), t)
            self.expect(")")
        self.expect("->")
        result_tok = self.tensor_type()

        if len(maps) != len(operands) + 1:
            raise self.error(maps[-1][0], f"{len(maps)} indexing maps for {len(operands)} operands; expected one per operand and one for the result")
        out_axes = tuple(domain[:n_parallel])
        out_tok, out_map = maps[-1]
        if out_map != tuple(Affine(((ax, 1),), 0) for ax in out_axes):
            raise self.error(out_tok, f"the result's map must be the identity over the parallel axes ({', '.join(ax.name for ax in out_axes)})")
        if pads is None:
            pads = [None] * len(operands)
        elif len(pads) != len(operands):
            raise self.error(pad_tok, f"{len(pads)} padding values for {len(operands)} operands")
        elif all(p is None for p in pads):
            raise self.error(pad_tok, "padding with no guarded operand; leave the attribute out")
        loads: list[Load] = []
        for t, (_, index), pad in zip(operands, maps, pads):
            if pad is not None:
                self.check_literal(pad, t.dtype)
            loads.append(Load(t, index, None if pad is None else pad[0]))

        self.expect("{")
        root = self.block(loads)
        self.expect("}")
        body: Expr = root if combiner is None else Reduce(combiner, root, tuple(domain[n_parallel:]))
        st = Stage(name, out_axes, body)
        self.check_type(result_tok, st.tensor)
        return st

    def padding(self) -> list[tuple[float | int, str, Token] | None]:
        self.expect("[")
        out: list[tuple[float | int, str, Token] | None] = []
        while True:
            out.append(None if self.accept("none") else self.literal())
            if not self.comma_or("]"):
                return out

    def check_literal(self, literal: tuple[float | int, str, Token], dtype: str) -> None:
        """A constant must be spelled as the printer spells it, so one op has one text."""
        value, text, tok = literal
        if format_scalar(value, dtype) != text:
            raise self.error(tok, f"the {ELEMENT_TYPES[dtype]} constant {text} is not in canonical form; write {format_scalar(value, dtype)}")

    # a stage's block --------------------------------------------------------
    def block(self, loads: list[Load]) -> Expr:
        label = self.expect_kind("label", "the block label ^bb0")
        if label.text != "^bb0":
            raise self.error(label, f"expected ^bb0, found {label}")
        values: dict[str, Expr] = {}
        if self.accept("("):
            i = 0
            while True:
                arg = self.expect_kind("ssa", "a block argument like %in0")
                self.expect(":")
                type_tok = self.peek()
                dtype = self.element_type()
                if i >= len(loads):
                    raise self.error(arg, f"more block arguments than the {len(loads)} operands")
                if dtype != loads[i].dtype:
                    raise self.error(type_tok, f"block argument {arg.text} reads {loads[i].tensor.name} of type {ELEMENT_TYPES[loads[i].dtype]}, found {type_tok}")
                self.define(values, arg, loads[i])
                i += 1
                if not self.comma_or(")"):
                    break
            if i != len(loads):
                raise self.error(label, f"{i} block arguments for {len(loads)} operands")
        elif loads:
            raise self.expected(f"'(' and {len(loads)} block arguments")
        self.expect(":")
        while not self.accept("opforge.yield"):
            name = self.expect_kind("ssa", "an SSA op like %0 = ... or opforge.yield")
            self.expect("=")
            self.define(values, name, self.body_op(values))
        result = self.value(values)
        self.expect(":")
        self.check_dtype(self.peek(), self.element_type(), result.dtype)
        return result

    def define(self, values: dict[str, Expr], tok: Token, e: Expr) -> None:
        if tok.text in values:
            raise self.error(tok, f"{tok.text} is defined twice")
        values[tok.text] = e

    def value(self, values: dict[str, Expr]) -> Expr:
        tok = self.expect_kind("ssa", "an SSA value like %0")
        if tok.text not in values:
            raise self.error(tok, f"{tok.text} is used before it is defined")
        return values[tok.text]

    def check_dtype(self, tok: Token, written: str, actual: str) -> None:
        if written != actual:
            raise self.error(tok, f"type {ELEMENT_TYPES[written]} does not match the value's type {ELEMENT_TYPES[actual]}")

    def body_op(self, values: dict[str, Expr]) -> Expr:
        tok = self.expect_kind("ident", "an op like arith.addf")
        m = tok.text
        if m == "arith.constant":
            literal = self.literal()
            self.expect(":")
            dtype = self.element_type()
            self.check_literal(literal, dtype)
            return Const(literal[0], dtype)
        if m in ("arith.cmpf", "arith.cmpi"):
            pred = self.expect_kind("ident", "a comparison predicate like olt or slt")
            if pred.text not in _PREDICATE_FN:
                raise self.error(pred, f"unknown predicate {pred}; expected one of {sorted(_PREDICATE_FN)}")
            self.expect(",")
            fn = _PREDICATE_FN[pred.text]
            a, b, dtype_tok = self.operands(values, 2)
            if binary_spelling(fn, a.dtype) != (m, pred.text):
                want = "{} {}".format(*binary_spelling(fn, a.dtype))
                raise self.error(tok, f"{m} {pred.text} does not fit {ELEMENT_TYPES[a.dtype]} operands; expected {want}")
            return Binary(fn, a, b)
        if m == "arith.select":
            cond = self.value(values)
            self.expect(",")
            a, b, _ = self.operands(values, 2)
            return Select(cond, a, b)
        if m in CAST_MNEMONICS:
            x = self.value(values)
            self.expect(":")
            self.check_dtype(self.peek(), self.element_type(), x.dtype)
            self.expect("to")
            dst = self.element_type()
            if cast_mnemonic(x.dtype, dst) != m:
                raise self.error(tok, f"{m} does not convert {ELEMENT_TYPES[x.dtype]} to {ELEMENT_TYPES[dst]}; expected {cast_mnemonic(x.dtype, dst)}")
            return Cast(dst, x)
        if m in _UNARY_FN:
            (x, _) = self.operands(values, 1)
            if unary_mnemonic(_UNARY_FN[m], x.dtype) != m:
                raise self.error(tok, f"{m} does not fit a {ELEMENT_TYPES[x.dtype]} operand; expected {unary_mnemonic(_UNARY_FN[m], x.dtype)}")
            return Unary(_UNARY_FN[m], x)
        if m in _BINARY_FN:
            a, b, _ = self.operands(values, 2)
            fn = _BINARY_FN[m]
            if binary_spelling(fn, a.dtype)[0] != m:
                raise self.error(tok, f"{m} does not fit {ELEMENT_TYPES[a.dtype]} operands; expected {binary_spelling(fn, a.dtype)[0]}")
            return Binary(fn, a, b)
        raise self.error(tok, f"unknown op {tok}; expected arith.constant, a math/arith op, arith.cmpf/cmpi, arith.select or a cast")

    def operands(self, values: dict[str, Expr], n: int) -> tuple:
        """``%a, %b : type``: ``n`` values and the type token, checked against the first value."""
        out = [self.value(values)]
        for _ in range(n - 1):
            self.expect(",")
            out.append(self.value(values))
        self.expect(":")
        type_tok = self.peek()
        self.check_dtype(type_tok, self.element_type(), out[0].dtype)
        return (*out, type_tok)
