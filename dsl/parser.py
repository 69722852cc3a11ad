"""parse(): read the MLIR-style text of ``print_op`` back into an equal ``Op``.

A tokenizer and a recursive-descent parser for exactly the printer's grammar::

    op      := 'opforge.op' SYMBOL 'dims' '{' [entry, ...] '}' '{' input* generic* return '}'
    entry   := NAME | NAME '=' INT | NAME ':=' size
    input   := %NAME '=' 'opforge.input' ':' TENSOR '{' 'shape' '=' '[' [size, ...] ']' '}'
    generic := %NAME '=' 'opforge.generic' '{' 'domain' '=' '[' [NAME ':' size, ...] ']'
               ',' 'indexing_maps' '=' '[' affine_map, ... ']' ',' 'iterator_types' '=' '[' [STRING, ...] ']'
               [',' 'padding' '=' '[' (literal | 'none'), ... ']'] [',' 'combiner' '=' STRING] '}'
               ['ins' '(' %NAME, ... ':' TENSOR, ... ')'] '->' TENSOR '{' '^bb0' ['(' arg, ... ')'] ':'
               (%ID '=' body_op)* 'opforge.yield' %ID ':' TYPE '}'
    return  := 'return' [%NAME, ... ':' TENSOR, ...]

The op is built from what the text says (names, sizes, maps, the SSA body); the facts the
printer derives from it (tensor and value types, op spellings, constant spellings, the order
of operands) are then checked by printing the op again and comparing token by token. So only
canonical text is accepted (whitespace and ``//`` comments aside), and a hand-edited text that
disagrees with itself gets an error at the first token that differs.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Callable, TypeVar

from .expr import ARITH, COMPARE, LOGIC, UNARY, Binary, Cast, Const, Expr, Load, Reduce, Select, Tensor, Unary
from .index import Affine, Axis
from .op import Op, Stage
from .printer import BARE_ID, CAST_MNEMONICS, ELEMENT_TYPES, binary_spelling, print_op, unary_mnemonic
from .sizes import SIZE_OPS, Dim, Size, SizeBin, SizeConst

T = TypeVar("T")


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
# op spelling -> DSL function, over every dtype the printer spells
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
            raise ParseError(*where(pos), f"unexpected character {text[pos]!r}")
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
        self.bound_only: set[str] = set()  # names so far seen only in bindings (a later := may define them)
        self.tensors: dict[str, Tensor] = {}

    # tokens -----------------------------------------------------------------
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
        return self.error(self.peek(), f"expected {what}, found {self.peek()}")

    def accept(self, text: str) -> Token | None:
        tok = self.peek()
        return self.next() if tok.text == text and tok.kind in ("punct", "ident") else None

    def expect(self, *texts: str) -> Token:
        """The next tokens must be ``texts``, in order; returns the last."""
        tok = self.peek()
        for text in texts:
            got = self.accept(text)
            if got is None:
                raise self.expected(repr(text))
            tok = got
        return tok

    def expect_kind(self, kind: str, what: str) -> Token:
        if self.peek().kind != kind:
            raise self.expected(what)
        return self.next()

    def listing(self, open_: str, close: str, item: Callable[[], T]) -> list[T]:
        """``open_ item, item, ... close``, possibly empty."""
        self.expect(open_)
        out: list[T] = []
        if self.accept(close):
            return out
        while True:
            out.append(item())
            if self.accept(close):
                return out
            if not self.accept(","):
                raise self.expected(f"',' or {close!r}")

    def name(self, what: str) -> Token:
        tok = self.expect_kind("ident", what)
        if not BARE_ID.match(tok.text):
            raise self.error(tok, f"{what} must match [A-Za-z_][A-Za-z0-9_]*, found {tok}")
        return tok

    def int_literal(self) -> int:
        neg = self.accept("-") is not None
        tok = self.expect_kind("number", "an integer")
        if not tok.text.isdigit():
            raise self.error(tok, f"expected an integer, found {tok}")
        return -int(tok.text) if neg else int(tok.text)

    def literal(self) -> float | int:
        """A constant: ``3``, ``-0.5``, ``1e-05``, ``inf``, ``-inf``, ``nan`` (as ``math.nan``)."""
        neg = self.accept("-") is not None
        tok = self.next()
        if tok.kind == "number":
            value: float | int = int(tok.text) if tok.text.isdigit() else float(tok.text)
        elif tok.kind == "ident" and tok.text in ("inf", "nan"):
            value = math.inf if tok.text == "inf" else math.nan
        else:
            raise self.error(tok, f"expected a number, inf or nan, found {tok}")
        return -value if neg and not (isinstance(value, float) and math.isnan(value)) else value

    def element_type(self) -> str:
        tok = self.expect_kind("ident", f"an element type ({', '.join(sorted(_FROM_ELEMENT))})")
        if tok.text not in _FROM_ELEMENT:
            raise self.error(tok, f"unknown element type {tok}; expected one of {sorted(_FROM_ELEMENT)}")
        return _FROM_ELEMENT[tok.text]

    def tensor_type(self) -> Token:
        return self.expect_kind("type", "a tensor type like tensor<4x?xf32>")

    def tensor_value(self) -> Tensor:
        tok = self.expect_kind("ssa", "a tensor value like %A")
        if tok.text[1:] not in self.tensors:
            raise self.error(tok, f"{tok.text} is not defined; defined so far: {sorted(self.tensors)}")
        return self.tensors[tok.text[1:]]

    def typed_tensors(self) -> list[Tensor]:
        """``%A, %B : tensor<..>, tensor<..>`` (the types are checked with the whole text)."""
        values = [self.tensor_value()]
        while self.accept(","):
            values.append(self.tensor_value())
        self.expect(":")
        for i in range(len(values)):
            if i:
                self.expect(",")
            self.tensor_type()
        return values

    # the op -----------------------------------------------------------------
    def op(self) -> Op:
        self.expect("opforge.op")
        sym = self.expect_kind("symbol", "the op's name like @matmul")
        name = json.loads(sym.text[1:]) if sym.text.startswith('@"') else sym.text[1:]
        self.expect("dims")
        self.listing("{", "}", self.dim_entry)
        self.expect("{")
        inputs: list[Tensor] = []
        stages: list[Stage] = []
        while not self.accept("return"):
            value = self.expect_kind("ssa", "a tensor definition like %A = ... or 'return'")
            if not BARE_ID.match(value.text[1:]):
                raise self.error(value, f"a tensor is named %NAME with NAME an identifier, found {value}")
            self.expect("=")
            kind = self.peek()
            if self.accept("opforge.input"):
                if stages:
                    raise self.error(kind, "inputs come before the first opforge.generic")
                inputs.append(self.input(value.text[1:]))
                self.tensors[value.text[1:]] = inputs[-1]
            elif self.accept("opforge.generic"):
                stages.append(self.generic(value.text[1:]))
                self.tensors[value.text[1:]] = stages[-1].tensor
            else:
                raise self.expected("'opforge.input' or 'opforge.generic'")
        outputs = [t.name for t in self.typed_tensors()] if self.peek().kind == "ssa" else []
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
                raise self.error(got, f"expected {want}, found {got}: the text must be the op's canonical form "
                                      "(types, spellings and operands as print_op writes them, no unused values)")

    def dim_entry(self) -> None:
        """``M = 4`` (a binding; declares M unless a later entry defines it), ``M``, or ``OH := size``."""
        tok = self.name("a dimension name")
        if tok.text == "floordiv":
            raise self.error(tok, "'floordiv' is an operator, not a dimension name")
        if self.accept("="):
            self.bindings.append((tok.text, self.int_literal()))
            if tok.text not in self.dims:
                self.dims[tok.text] = Dim(tok.text)
                self.bound_only.add(tok.text)
            return
        if tok.text in self.dims and (tok.text not in self.bound_only or self.peek().text != ":="):
            raise self.error(tok, f"dimension {tok.text} is declared twice")
        self.bound_only.discard(tok.text)
        self.dims[tok.text] = Dim(tok.text, self.size()) if self.accept(":=") else Dim(tok.text)

    # sizes and affine maps --------------------------------------------------
    def size(self, min_prec: int = 1) -> Size:
        """A size expression: + - * floordiv, left-associative, with parentheses."""
        lhs = self.size_atom()
        while True:
            tok = self.peek()
            prec = SIZE_OPS[tok.text][0] if tok.kind in ("punct", "ident") and tok.text in SIZE_OPS else 0
            if prec < min_prec:
                return lhs
            self.next()
            lhs = SizeBin(tok.text, lhs, self.size(prec + 1))  # type: ignore[arg-type]

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

    def affine_map(self, domain: list[Axis], axes: dict[str, Axis]) -> tuple[Affine, ...]:
        start = self.peek()
        self.expect("affine_map", "<")
        names = [t.text for t in self.listing("(", ")", lambda: self.name("an axis name"))]
        if names != [ax.name for ax in domain]:
            raise self.error(start, f"affine_map dims must be the domain's axes ({', '.join(ax.name for ax in domain)}), found ({', '.join(names)})")
        self.expect("->")
        results = self.listing("(", ")", lambda: self.affine(axes))
        self.expect(">")
        return tuple(results)

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
                terms.append((axes[tok.text], sign * (self.int_literal() if self.accept("*") else 1)))
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
        self.expect("{", "shape", "=")
        shape = self.listing("[", "]", self.size)
        self.expect("}")
        element = type_tok.text[len("tensor<"):-1].split("x")[-1]
        if element not in _FROM_ELEMENT:
            raise self.error(type_tok, f"unknown element type {element!r}; expected one of {sorted(_FROM_ELEMENT)}")
        return Tensor(name, tuple(shape), _FROM_ELEMENT[element])

    def generic(self, name: str) -> Stage:
        axes: dict[str, Axis] = {}

        def domain_entry() -> Axis:
            tok = self.name("an axis name")
            self.expect(":")
            ax = Axis(tok.text, self.size())
            if axes.setdefault(ax.name, ax) != ax:
                raise self.error(tok, f"axis {ax.name} appears twice in the domain with different extents")
            return ax

        self.expect("{", "domain", "=")
        domain = self.listing("[", "]", domain_entry)
        self.expect(",", "indexing_maps", "=")
        maps = self.listing("[", "]", lambda: self.affine_map(domain, axes))
        iter_tok = self.expect(",", "iterator_types")
        self.expect("=")
        kinds = self.listing("[", "]", lambda: self.expect_kind("string", '"parallel" or "reduction"').text)
        n_parallel = kinds.count('"parallel"')
        if kinds != ['"parallel"'] * n_parallel + ['"reduction"'] * (len(domain) - n_parallel):
            raise self.error(iter_tok, f"expected {len(domain)} iterator types, the \"parallel\" ones before the \"reduction\" ones")
        pads: list[float | int | None] = []
        combiner: str | None = None
        if self.accept(","):
            if self.peek().text == "padding":
                self.expect("padding", "=")
                pads = self.listing("[", "]", lambda: None if self.accept("none") else self.literal())
                if self.accept(","):
                    combiner = self.combiner()
            elif self.peek().text == "combiner":
                combiner = self.combiner()
            else:
                raise self.expected("'padding' or 'combiner'")
        self.expect("}")
        if n_parallel < len(domain) and combiner is None:
            raise self.error(iter_tok, 'reduction iterators need a combiner ("sum", "max" or "min")')

        ins_tok = self.peek()
        operands: list[Tensor] = []
        if self.accept("ins"):
            self.expect("(")
            operands = self.typed_tensors()
            self.expect(")")
        self.expect("->")
        self.tensor_type()
        if len(maps) != len(operands) + 1 or len(pads) not in (0, len(operands)):
            raise self.error(ins_tok, f"{len(operands)} operands need {len(operands) + 1} indexing maps (the last for the result) "
                                      f"and no or {len(operands)} padding values; found {len(maps)} and {len(pads)}")
        loads = [Load(t, index, pads[n] if pads else None) for n, (t, index) in enumerate(zip(operands, maps))]
        root = self.block(loads)
        out_axes = tuple(domain[:n_parallel])
        body: Expr = root if combiner is None else Reduce(combiner, root, tuple(domain[n_parallel:]))
        return Stage(name, out_axes, body)

    def combiner(self) -> str:
        self.expect("combiner", "=")
        return json.loads(self.expect_kind("string", 'a combiner like "sum"').text)

    # a stage's block --------------------------------------------------------
    def block(self, loads: list[Load]) -> Expr:
        self.expect("{")
        label = self.expect_kind("label", "the block label ^bb0")
        if label.text != "^bb0":
            raise self.error(label, f"expected ^bb0, found {label}")
        values: dict[str, Expr] = {}

        def argument() -> Token:
            tok = self.expect_kind("ssa", "a block argument like %in0")
            self.expect(":")
            self.element_type()
            return tok

        args = self.listing("(", ")", argument) if self.peek().text == "(" else []
        if len(args) != len(loads):
            raise self.error(label, f"{len(args)} block arguments for {len(loads)} operands")
        for tok, load in zip(args, loads):
            self.define(values, tok, load)
        self.expect(":")
        while not self.accept("opforge.yield"):
            name = self.expect_kind("ssa", "an SSA op like %0 = ... or opforge.yield")
            self.expect("=")
            self.define(values, name, self.body_op(values))
        result = self.value(values)
        self.expect(":")
        self.element_type()
        self.expect("}")
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

    def values(self, values: dict[str, Expr], n: int) -> list[Expr]:
        """``%a, %b : type``: ``n`` values (the type is checked with the whole text)."""
        out = [self.value(values)]
        for _ in range(n - 1):
            self.expect(",")
            out.append(self.value(values))
        self.expect(":")
        self.element_type()
        return out

    def body_op(self, values: dict[str, Expr]) -> Expr:
        tok = self.expect_kind("ident", "an op like arith.addf")
        m = tok.text
        if m == "arith.constant":
            value = self.literal()
            self.expect(":")
            return Const(value, self.element_type())
        if m in ("arith.cmpf", "arith.cmpi"):
            pred = self.expect_kind("ident", "a comparison predicate like olt or slt")
            if pred.text not in _PREDICATE_FN:
                raise self.error(pred, f"unknown predicate {pred}; expected one of {sorted(_PREDICATE_FN)}")
            self.expect(",")
            return Binary(_PREDICATE_FN[pred.text], *self.values(values, 2))
        if m == "arith.select":
            cond = self.value(values)
            self.expect(",")
            return Select(cond, *self.values(values, 2))
        if m in CAST_MNEMONICS:
            x = self.value(values)
            self.expect(":")
            self.element_type()
            self.expect("to")
            return Cast(self.element_type(), x)
        if m in _UNARY_FN:
            return Unary(_UNARY_FN[m], *self.values(values, 1))
        if m in _BINARY_FN:
            return Binary(_BINARY_FN[m], *self.values(values, 2))
        raise self.error(tok, f"unknown op {tok}; expected arith.constant, an arith or math op, arith.cmpf/cmpi, arith.select or a cast")
