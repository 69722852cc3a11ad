"""The MLIR-style text of an op: what it shows, and parse(print_op(op)) == op for every op."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from op_strategies import ops

from dsl import (
    Op, ParseError, VerifyError, absolute, axes, cast, compute, derived, dims, erf, exp, log, maximum, minimum, not_equal,
    parse, print_op, reduce_max, reduce_min, reduce_sum, rsqrt, sqrt, tanh, tensor, verify, where,
)
from dsl.expr import ARITH, COMPARE, Binary, Const, Reduce
from dsl.parser import tokenize

DTYPES = ("float32", "float16", "bfloat16", "int8", "uint8", "int32")


# hand-built ops -------------------------------------------------------------------------
def matmul(dtype: str = "float32") -> Op:
    M, N, K = dims("M N K")
    A, B = tensor("A", (M, K), dtype), tensor("B", (K, N), dtype)
    i, j, k = axes(i=M, j=N, k=K)
    return Op("matmul", [A, B], [compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k))])


def conv2d() -> Op:
    """NCHW, stride 2, dilation 2, padding 1: guarded reads and derived output dims."""
    N, C, H, W, F, R, S = dims("N C H W F R S")
    OH = derived("OH", (H + 2 - 2 * (R - 1) - 1) // 2 + 1)
    OW = derived("OW", (W + 2 - 2 * (S - 1) - 1) // 2 + 1)
    X, Wt = tensor("X", (N, C, H, W)), tensor("Wt", (F, C, R, S))
    n, f, y, x, c, r, s = axes(n=N, f=F, y=OH, x=OW, c=C, r=R, s=S)
    body = X.padded(n, c, y * 2 + r * 2 - 1, x * 2 + s * 2 - 1, value=0.0) * Wt[f, c, r, s]
    return Op("conv2d", [X, Wt], [compute("Y", (n, f, y, x), reduce_sum(body, (c, r, s)))])


def softmax() -> Op:
    M, N = dims("M N")
    X = tensor("X", (M, N))
    i, j = axes(i=M, j=N)
    mx = compute("mx", (i,), reduce_max(X[i, j], j))
    e = compute("e", (i, j), exp(X[i, j] - mx[i]))
    total = compute("total", (i,), reduce_sum(e[i, j], j))
    return Op("softmax", [X], [mx, e, total, compute("Y", (i, j), e[i, j] / total[i])])


def layer_norm() -> Op:
    M, N = dims("M N")
    X, g, b = tensor("X", (M, N)), tensor("gamma", (N,)), tensor("beta", (N,))
    i, j = axes(i=M, j=N)
    mean = compute("mean", (i,), reduce_sum(X[i, j] * (1.0 / 64), j))
    var = compute("var", (i,), reduce_sum((X[i, j] - mean[i]) * (X[i, j] - mean[i]) * (1.0 / 64), j))
    y = (X[i, j] - mean[i]) * rsqrt(var[i] + 1e-05) * g[j] + b[j]
    return Op("layer_norm", [X, g, b], [mean, var, compute("Y", (i, j), y)])


def int8_matmul() -> Op:
    M, N, K = dims("M N K")
    A, B = tensor("A", (M, K), "int8"), tensor("B", (K, N), "uint8")
    i, j, k = axes(i=M, j=N, k=K)
    acc = compute("acc", (i, j), reduce_sum(cast(A[i, k], "int32") * cast(B[k, j], "int32"), k))
    scaled = compute("Y", (i, j), cast(minimum(maximum(cast(acc[i, j], "float32") * 0.05, -128.0), 127.0), "int8"))
    return Op("int8_matmul", [A, B], [acc, scaled])


def select_op() -> Op:
    (M,) = dims("M")
    X, T = tensor("X", (M,)), tensor("T", (M,), "int32")
    (i,) = axes(i=M)
    cond = (X[i] > 0.5) & not_equal(T[i], 3) | (X[i] <= -1.0)
    return Op("select", [X, T], [compute("Y", (i,), where(cond, X[i], X[i] * 0.25))])


def unary_op(fn) -> Op:
    (M,) = dims("M")
    X = tensor("X", (M,))
    (i,) = axes(i=M)
    return Op("unary", [X], [compute("Y", (i,), fn(X[i]))])


def binary_op(fn: str, dtype: str) -> Op:
    (M,) = dims("M")
    X, Z = tensor("X", (M,), dtype), tensor("Z", (M,), dtype)
    (i,) = axes(i=M)
    e = Binary(fn, X[i], Z[i])
    return Op("binary", [X, Z], [compute("Y", (i,), where(e, X[i], Z[i]) if fn in COMPARE else e)])


def dtype_op(dtype: str) -> Op:
    """Every dtype as input, constant, cast source and target, and reduction."""
    M, N = dims("M N")
    X = tensor("X", (M, N), dtype)
    i, j = axes(i=M, j=N)
    row = compute("row", (i,), reduce_min(X[i, j] + 1, j))
    return Op("dtypes", [X], [row, compute("Y", (i,), cast(cast(row[i], "float32") * 2.0, dtype))])


def multi_output() -> Op:
    M, N = dims("M N")
    X = tensor("X", (M, N))
    i, j = axes(i=M, j=N)
    s = compute("s", (i,), reduce_sum(X[i, j], j))
    m = compute("m", (i,), reduce_max(X[i, j], j))
    return Op("sum_and_max", [X], [s, m], outputs=["s", "m"])


UNARIES = {"neg": lambda x: -x, "exp": exp, "log": log, "sqrt": sqrt, "rsqrt": rsqrt, "tanh": tanh, "erf": erf, "abs": absolute}

CASES = {
    "matmul": matmul(),
    "matmul_bound": matmul().bind(M=1024, N=1024, K=1024),
    "matmul_partly_bound": matmul().bind(K=9),
    "conv2d": conv2d(),
    "conv2d_bound": conv2d().bind(N=1, C=3, H=17, W=33, F=8, R=3, S=3),
    "softmax": softmax().bind(M=17, N=33),
    "layer_norm": layer_norm().bind(M=4, N=64),
    "int8_matmul": int8_matmul().bind(M=17, N=33, K=9),
    "select": select_op(),
    "multi_output": multi_output().bind(N=5, M=3),
    **{f"unary_{fn}": unary_op(f) for fn, f in UNARIES.items()},
    **{f"binary_{fn}_{dt}": binary_op(fn, dt) for fn in ARITH + COMPARE for dt in ("float32", "int8", "uint8")},
    **{f"dtype_{dt}": dtype_op(dt).bind(M=2, N=3) for dt in DTYPES},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_parse_of_printed_op_gives_back_an_equal_op(name: str) -> None:
    op = verify(CASES[name])
    text = print_op(op)
    back = parse(text)
    assert back == op
    assert print_op(back) == text


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(ops())
def test_random_ops_round_trip(op: Op) -> None:
    verify(op)  # the strategy builds valid ops only
    text = print_op(op)
    assert parse(text) == op
    assert print_op(parse(text)) == text


def library_ops() -> list[tuple[str, Op]]:
    from dsl.library import DTYPES as LIBRARY_DTYPES, LIBRARY

    return [(f"{name}_{dt}", LIBRARY[name](dtype=dt)) for name in sorted(LIBRARY) for dt in LIBRARY_DTYPES[name]]


@pytest.mark.parametrize("name, op", library_ops(), ids=[n for n, _ in library_ops()])
def test_every_library_op_round_trips_unbound_and_bound(name: str, op: Op) -> None:
    bound = op.bind({d.name: 3 for d in op.free_dims})
    for o in (op, bound):
        assert parse(print_op(o)) == o


def test_op_without_dims_and_with_scalars_round_trips() -> None:
    X = tensor("X", (4,))
    (i,) = axes(i=4)
    total = compute("total", (), reduce_sum(X[i], i))
    op = Op("total", [X], [total, compute("in0", (i,), X[i] / total[()])], outputs=["in0"])
    text = print_op(op)
    assert text.startswith("opforge.op @total dims {} {")
    assert "-> tensor<f32>" in text and "affine_map<(i) -> ()>" in text
    assert parse(text) == op


def test_a_name_that_is_no_identifier_is_quoted() -> None:
    op = Op("my op", matmul().inputs, matmul().stages)
    assert print_op(op).startswith('opforge.op @"my op" dims')
    assert parse(print_op(op)) == op


def test_str_of_an_op_is_its_text() -> None:
    assert str(CASES["softmax"]) == print_op(CASES["softmax"])


# what the text shows ------------------------------------------------------------------------
def test_matmul_text_has_types_maps_iterators_and_an_ssa_body() -> None:
    assert print_op(matmul().bind(M=1024, N=1024, K=1024)) == """\
opforge.op @matmul dims {M = 1024, N = 1024, K = 1024} {
  %A = opforge.input : tensor<1024x1024xf32> {shape = [M, K]}
  %B = opforge.input : tensor<1024x1024xf32> {shape = [K, N]}
  %C = opforge.generic {domain = [i : M, j : N, k : K],
      indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"], combiner = "sum"}
      ins(%A, %B : tensor<1024x1024xf32>, tensor<1024x1024xf32>) -> tensor<1024x1024xf32> {
  ^bb0(%in0: f32, %in1: f32):
    %0 = arith.mulf %in0, %in1 : f32
    opforge.yield %0 : f32
  }
  return %C : tensor<1024x1024xf32>
}
"""


def test_unbound_dims_print_as_question_marks() -> None:
    text = print_op(matmul().bind(K=9))
    assert "dims {K = 9, M, N}" in text
    assert "%A = opforge.input : tensor<?x9xf32> {shape = [M, K]}" in text


def test_conv_text_shows_derived_dims_strided_maps_and_padding() -> None:
    text = print_op(CASES["conv2d_bound"])
    assert "OH := (H + 2 - 2 * (R - 1) - 1) floordiv 2 + 1" in text
    assert "affine_map<(n, f, y, x, c, r, s) -> (n, c, r * 2 + y * 2 - 1, s * 2 + x * 2 - 1)>" in text
    assert "padding = [0.0, none]" in text
    assert "-> tensor<1x8x8x16xf32>" in text
    assert '"parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"' in text


def test_int8_matmul_text_spells_integer_ops_and_casts() -> None:
    text = print_op(CASES["int8_matmul"])
    for piece in ("arith.extsi %in0 : i8 to i32", "arith.extui %in1 : ui8 to i32", "arith.muli %0, %1 : i32",
                  "arith.sitofp %in0 : i32 to f32", "arith.maximumf", "arith.minimumf", "arith.fptosi %6 : f32 to i8",
                  "arith.constant -128.0 : f32", "tensor<17x9xi8>", "tensor<9x33xui8>"):
        assert piece in text


def test_select_text_spells_comparisons_and_logic() -> None:
    text = print_op(CASES["select"])
    for piece in ("arith.cmpf ogt, %in0, %0 : f32", "arith.cmpi ne, %in1, %2 : i32", "arith.andi", "arith.ori",
                  "arith.cmpf ole", "arith.select"):
        assert piece in text


def test_common_subexpressions_print_once() -> None:
    text = print_op(layer_norm())
    var_block = text.split("%var = ")[1].split("%Y = ")[0]
    assert var_block.count("arith.subf") == 1  # (X - mean) * (X - mean) shares the subtraction


def test_multi_output_op_returns_every_output() -> None:
    assert "return %s, %m : tensor<3xf32>, tensor<3xf32>" in print_op(CASES["multi_output"])


def test_equal_ops_print_the_same_text() -> None:
    (M,) = dims("M")
    X = tensor("X", (M,))
    (i,) = axes(i=M)
    one_int = Op("c", [X], [compute("Y", (i,), Binary("add", X[i], Const(1, "float32")))])
    one_float = Op("c", [X], [compute("Y", (i,), X[i] + 1.0)])
    assert one_int == one_float
    assert print_op(one_int) == print_op(one_float)
    assert "arith.constant 1.0 : f32" in print_op(one_int)


@pytest.mark.parametrize("value", [0.1, 1e-05, -2.5e-300, 1.7976931348623157e308, math.inf, -math.inf, math.nan, -0.0, 3.0])
def test_float_constants_come_back_as_the_identical_value(value: float) -> None:
    (M,) = dims("M")
    X = tensor("X", (M,), "float16")
    (i,) = axes(i=M)
    op = Op("c", [X], [compute("Y", (i,), X.padded(i + 1, value=value) + Const(value, "float16"))])
    back = parse(print_op(op))
    assert back == op
    got = back.stages[0].body.b.value
    assert got is value if math.isnan(value) else (got == value and math.copysign(1, got) == math.copysign(1, value))


def test_integer_constants_keep_every_digit() -> None:
    (M,) = dims("M")
    X = tensor("X", (M,), "int32")
    (i,) = axes(i=M)
    op = Op("c", [X], [compute("Y", (i,), X[i] * -(2**31) + Const(10**40, "int32"))])
    assert parse(print_op(op)) == op
    inexact = Op("c", [X], [compute("Y", (i,), cast(X[i], "float32") + Const(10**40 + 1, "float32"))])
    assert "arith.constant 10000000000000000000000000000000000000001 : f32" in print_op(inexact)
    assert parse(print_op(inexact)) == inexact


def test_bindings_come_back_in_order_with_repeats_and_conflicts() -> None:
    op = Op("matmul", matmul().inputs, matmul().stages, bindings=(("N", 2), ("M", 3), ("M", 3), ("M", 5)))
    text = print_op(op)
    assert "dims {N = 2, M = 3, M = 3, M = 5, K}" in text
    back = parse(text)
    assert back.bindings == op.bindings
    with pytest.raises(VerifyError, match="dimension M bound twice to different values: 3 and 5"):
        verify(back)


def test_invalid_but_printable_ops_round_trip_so_verify_still_rejects_them() -> None:
    M, N = dims("M N")
    X = tensor("X", (M, N))
    i, j = axes(i=M, j=N)
    no_axis = Op("bad", [X], [compute("Y", (i,), Reduce("sum", X[i, 0], ()))])
    mixed = Op("bad", [X], [compute("Y", (i, j), Binary("add", X[i, j], Const(1, "int32")))])
    derived_bound = Op("bad", conv2d().inputs, conv2d().stages, bindings=(("OH", 4),))
    for op in (no_axis, mixed, derived_bound):
        assert parse(print_op(op)) == op
        with pytest.raises(VerifyError):
            verify(parse(print_op(op)))


def test_unprintable_op_is_a_clear_error() -> None:
    M, N = dims("M N")
    X = tensor("X", (M, N))
    i, j = axes(i=M, j=N)
    nested = Op("bad", [X], [compute("Y", (i,), reduce_sum(X[i, j], j) + 1.0)])
    with pytest.raises(ValueError, match="a reduction must be the whole body of a stage"):
        print_op(nested)
    ghost = tensor("G", (M,))
    with pytest.raises(ValueError, match="reads tensor 'G', which is neither an input nor an earlier stage"):
        print_op(Op("bad", [X], [compute("Y", (i,), ghost[i])]))


# parse errors ----------------------------------------------------------------------------
GOOD = print_op(CASES["int8_matmul"])


@pytest.mark.parametrize("old, new, where, message", [
    ("opforge.op @int8_matmul", "opforge.oops @int8_matmul", (1, 1), "expected 'opforge.op', found 'opforge.oops'"),
    ("dims {M = 17, N = 33, K = 9}", "dims {M = 17 N = 33, K = 9}", (1, 38), "expected ',' or '}', found 'N'"),
    ("tensor<17x9xi8> {shape", "tensor<17x8xi8> {shape", (2, 24), "expected 'tensor<17x9xi8>', found 'tensor<17x8xi8>'"),
    ("{shape = [M, K]}", "{shape = [M, Q]}", (2, 53), "unknown dimension Q"),
    ("arith.muli %0, %1 : i32", "arith.mulf %0, %1 : i32", (11, 10), "expected 'arith.muli', found 'arith.mulf'"),
    ("arith.muli %0, %1 : i32", "arith.muli %0, %7 : i32", (11, 25), "%7 is used before it is defined"),
    ('"reduction"], combiner = "sum"}', '"reduction"]}', (6, 7), "reduction iterators need a combiner"),
    ("arith.constant -128.0 : f32", "arith.constant -128 : f32", (22, 26), "expected '128.0', found '128'"),
    ("return %Y", "return %Z", (29, 10), "%Z is not defined"),
    ("(i, j, k) -> (i, k)", "(i, k, j) -> (i, k)", (5, 24), "affine_map dims must be the domain's axes (i, j, k)"),
])
def test_malformed_text_names_line_column_and_what_was_expected(old, new, where, message) -> None:
    assert old in GOOD
    with pytest.raises(ParseError) as info:
        parse(GOOD.replace(old, new, 1))
    assert (info.value.line, info.value.column) == where, str(info.value)
    assert message in str(info.value)
    assert str(info.value).startswith(f"line {where[0]}, column {where[1]}: ")


def test_text_that_is_not_the_canonical_form_is_rejected() -> None:
    dead = GOOD.replace("    %2 = arith.muli", "    %9 = arith.constant 1 : i32\n    %2 = arith.muli", 1)
    with pytest.raises(ParseError, match=r"line 11, column 5: expected '%2', found '%9': the text must be the op's canonical form"):
        parse(dead)
    with pytest.raises(ParseError, match=r"line 5, column 54: expected '\)', found '\+'"):
        parse(GOOD.replace("-> (i, k)>", "-> (i, k + 0)>", 1))


def test_whitespace_and_comments_do_not_matter() -> None:
    spaced = "// int8 matmul\n" + GOOD.replace("\n      ", " ").replace(", ", " ,  ")
    assert parse(spaced) == CASES["int8_matmul"]


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(ops(max_stages=2), st.data())
def test_a_mangled_text_is_a_parse_error_or_the_same_text(op: Op, data: st.DataObject) -> None:
    words = print_op(op).split(" ")
    at = data.draw(st.integers(0, len(words) - 1))
    how = data.draw(st.sampled_from(["drop", "copy", "insert"]))
    if how == "drop":
        del words[at]
    elif how == "copy":
        words[at] = data.draw(st.sampled_from(words))
    else:
        words.insert(at, data.draw(st.sampled_from(["(", ")", ",", "%0", "-", "x", "1.5", "f32", "{", "}", ">", "none"])))
    text = " ".join(words)
    try:
        back = parse(text)
    except ParseError:
        return
    assert [t.text for t in tokenize(print_op(back))] == [t.text for t in tokenize(text)]


def test_truncated_text_expects_more() -> None:
    with pytest.raises(ParseError, match=r"expected .*, found end of input"):
        parse(GOOD[: GOOD.index("return")])


def test_stray_character_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"line 1, column 1: unexpected character '#'"):
        parse("#" + GOOD)


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(ParseError, ValueError)
