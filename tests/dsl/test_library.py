"""The op library: every op, compiled with no schedule for llvm, matches the numpy reference at
two sizes (one with odd extents); a few ops also match textbook numpy formulas, so the library
means what its docstrings say; and the registry names what it accepts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dsl import Op, axes, compute, dims, reduce_sum, tensor, verify
from dsl import assert_close, random_inputs, reference
from dsl.dtypes import DTypeError, numpy_dtype
from dsl.library import DTYPES, LIBRARY, UnknownOpError, describe, get
from dsl.library.reduce import reduce_max as reduce_max_op

SMALL_MN = {"M": 16, "N": 16}
ODD_MN = {"M": 17, "N": 33}
SMALL_CONV = {"N": 1, "C": 4, "H": 8, "W": 8, "K": 8, "R": 3, "S": 3}
ODD_CONV = {"N": 2, "C": 3, "H": 17, "W": 13, "K": 5, "R": 3, "S": 2}
SMALL_WINDOW = {"N": 1, "C": 4, "H": 8, "W": 8, "R": 2, "S": 2}
ODD_WINDOW = {"N": 2, "C": 3, "H": 17, "W": 13, "R": 3, "S": 2}
CONV_PARAMS = [{}, {"stride": 2, "padding": 1}, {"stride": (1, 2), "padding": (2, 1), "dilation": (2, 1)}]
POOL_PARAMS = [{}, {"stride": 2, "padding": 1}]


def _cases() -> list:
    """(name, builder params, sizes) for every op at a small and an odd size, plus variants."""
    out = []

    def add(name: str, sizes: list[dict], params: dict | None = None) -> None:
        params = params or {}
        tag = ",".join(f"{k}={v}" for k, v in params.items())
        for sz in sizes:
            shape = "x".join(str(v) for v in sz.values())
            out.append(pytest.param(name, params, sz, id=f"{name}[{tag}]{shape}"))

    add("matmul", [{"M": 16, "N": 16, "K": 16}, {"M": 17, "N": 9, "K": 33}])
    add("matmul", [{"M": 16, "N": 16, "K": 16}, {"M": 17, "N": 9, "K": 33}], {"dtype": "float16"})
    add("batch_matmul", [{"B": 2, "M": 8, "N": 8, "K": 8}, {"B": 3, "M": 17, "N": 5, "K": 33}])
    for params in [{}, {"bias": True}, {"bias": True, "epilogue": "relu"}, {"epilogue": "gelu"},
                   {"dtype": "float16", "bias": True, "epilogue": "relu"}, {"dtype": "float16", "bias": True, "epilogue": "gelu"},
                   {"dtype": "bfloat16", "bias": True, "epilogue": "gelu"}]:
        add("dense", [{"M": 16, "N": 16, "K": 16}, {"M": 17, "N": 9, "K": 33}], params)
    for name in ("conv2d_nchw", "conv2d_nhwc"):
        for params in CONV_PARAMS:
            add(name, [SMALL_CONV, ODD_CONV], params)
    for params in CONV_PARAMS:
        add("depthwise_conv2d_nchw", [{k: v for k, v in sz.items() if k != "K"} for sz in (SMALL_CONV, ODD_CONV)], params)
    for name in ("max_pool2d", "avg_pool2d"):
        for params in POOL_PARAMS:
            add(name, [SMALL_WINDOW, ODD_WINDOW], params)
    add("max_pool2d", [ODD_WINDOW], {"dtype": "int8", "padding": 1})
    for name in ("softmax", "layer_norm", "add", "mul", "relu", "reduce_sum", "reduce_max", "transpose"):
        add(name, [SMALL_MN, ODD_MN])
    for name in ("add", "relu", "reduce_max"):
        add(name, [ODD_MN], {"dtype": "int8"})
    for dtype in ("int8", "uint8"):
        add("matmul_int8", [{"M": 16, "N": 16, "K": 16}, {"M": 17, "N": 9, "K": 33}], {"dtype": dtype})
        add("conv2d_nchw_int8", [SMALL_CONV, ODD_CONV], {"dtype": dtype, "stride": 2, "padding": 1})
    add("conv2d_nchw_int8", [ODD_CONV], {"dilation": 2})
    return out


CASES = _cases()


@pytest.mark.parametrize("name, params, sizes", CASES)
def test_library_op_compiled_for_llvm_matches_reference(name, params, sizes, rng, build_and_run):
    op = get(name, **params).bind(**sizes)
    arrays = random_inputs(op, rng)
    (got,) = build_and_run(op, arrays)
    out = op.output_tensors[0]
    assert_close(got, reference(op, *arrays), out.dtype, what=f"{name} {sizes}")


ODD_SIZES = {"M": 17, "N": 9, "K": 33, "B": 2, "C": 3, "H": 11, "W": 13, "R": 3, "S": 2}
DTYPE_SWEEP_PARAMS = {"dense": {"bias": True, "epilogue": "relu"}, "conv2d_nchw": {"padding": 1},
                      "max_pool2d": {"padding": 1}, "avg_pool2d": {"padding": 1}}


@pytest.mark.parametrize("name, dtype", [(n, d) for n, dts in DTYPES.items() for d in dts])
def test_every_accepted_dtype_compiles_and_matches_reference(name, dtype, rng, build_and_run):
    op = get(name, dtype=dtype, **DTYPE_SWEEP_PARAMS.get(name, {}))
    op = op.bind(**{d.name: ODD_SIZES[d.name] for d in op.free_dims})
    arrays = random_inputs(op, rng)
    (got,) = build_and_run(op, arrays)
    assert_close(got, reference(op, *arrays), op.output_tensors[0].dtype, what=f"{name} {dtype}")


def test_every_op_is_covered_at_two_sizes_one_odd():
    by_op: dict[str, list[dict]] = {}
    for case in CASES:
        name, _, sizes = case.values
        by_op.setdefault(name, []).append(sizes)
    assert set(by_op) == set(LIBRARY)
    for name, sizes in by_op.items():
        assert len({tuple(s.items()) for s in sizes}) >= 2, name
        assert any(v % 2 == 1 and v > 1 for s in sizes for v in s.values()), name


# the library means what its docstrings say: checks against numpy written independently ------
def _conv_nchw(x, f, stride, padding, dilation):
    """Direct convolution: for each filter tap, a strided slice of the zero-padded input."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, c, h, w = x.shape
    k, _, r, s = f.shape
    xp = np.pad(x.astype(np.int64 if x.dtype.kind in "iu" else np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (h + 2 * ph - dh * (r - 1) - 1) // sh + 1, (w + 2 * pw - dw * (s - 1) - 1) // sw + 1
    out = np.zeros((n, k, oh, ow), xp.dtype)
    for a in range(r):
        for b in range(s):
            patch = xp[:, :, a * dh: a * dh + sh * (oh - 1) + 1: sh, b * dw: b * dw + sw * (ow - 1) + 1: sw]
            out += np.einsum("nchw,kc->nkhw", patch, f[:, :, a, b].astype(xp.dtype))
    return out


def _pool_windows(x, r, s, stride, padding, fill):
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (xp.shape[2] - r) // sh + 1, (xp.shape[3] - s) // sw + 1
    return np.stack([xp[:, :, a: a + sh * (oh - 1) + 1: sh, b: b + sw * (ow - 1) + 1: sw] for a in range(r) for b in range(s)])


CONV_SEMANTICS = [((1, 1), (0, 0), (1, 1)), ((2, 1), (1, 2), (1, 2)), ((2, 2), (1, 1), (2, 2))]


@pytest.mark.parametrize("stride, padding, dilation", CONV_SEMANTICS)
def test_conv2d_layouts_match_a_direct_numpy_convolution(stride, padding, dilation, rng, build_and_run):
    x, f = rng.standard_normal((2, 3, 11, 13)).astype("float32"), rng.standard_normal((5, 3, 3, 2)).astype("float32")
    want = _conv_nchw(x, f, stride, padding, dilation)
    p = {"stride": stride, "padding": padding, "dilation": dilation}
    sizes = {"N": 2, "C": 3, "H": 11, "W": 13, "K": 5, "R": 3, "S": 2}
    (nchw,) = build_and_run(get("conv2d_nchw", **p).bind(**sizes), [x, f])
    np.testing.assert_allclose(nchw, want, rtol=1e-4, atol=1e-4)
    (nhwc,) = build_and_run(get("conv2d_nhwc", **p).bind(**sizes), [x.transpose(0, 2, 3, 1), f.transpose(2, 3, 1, 0)])
    np.testing.assert_allclose(nhwc, want.transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-4)
    fd = rng.standard_normal((3, 3, 2)).astype("float32")
    (dw,) = build_and_run(get("depthwise_conv2d_nchw", **p).bind(**{k: v for k, v in sizes.items() if k != "K"}), [x, fd])
    want_dw = np.concatenate([_conv_nchw(x[:, c:c + 1], fd[c][None, None], stride, padding, dilation) for c in range(3)], axis=1)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype, low", [("int8", -128), ("uint8", 0)])
def test_int8_conv2d_and_matmul_accumulate_full_range_inputs_exactly_in_int32(dtype, low, rng, build_and_run):
    x = rng.integers(low, low + 256, (2, 3, 11, 13)).astype(dtype)
    f = rng.integers(-128, 128, (5, 3, 3, 2)).astype("int8")
    op = get("conv2d_nchw_int8", dtype=dtype, stride=2, padding=1).bind(N=2, C=3, H=11, W=13, K=5, R=3, S=2)
    (got,) = build_and_run(op, [x, f])
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, _conv_nchw(x, f, (2, 2), (1, 1), (1, 1)))
    a, b = rng.integers(low, low + 256, (17, 64)).astype(dtype), rng.integers(-128, 128, (64, 9)).astype("int8")
    (mm,) = build_and_run(get("matmul_int8", dtype=dtype).bind(M=17, N=9, K=64), [a, b])
    np.testing.assert_array_equal(mm, a.astype(np.int64) @ b.astype(np.int64))


def test_max_pool_pads_with_minus_infinity_and_avg_pool_counts_the_padding(rng, build_and_run):
    x = rng.standard_normal((2, 3, 11, 13)).astype("float32") - 10.0  # all negative: a 0 pad would win the max
    sizes = {"N": 2, "C": 3, "H": 11, "W": 13, "R": 3, "S": 2}
    (mx,) = build_and_run(get("max_pool2d", stride=2, padding=1).bind(**sizes), [x])
    np.testing.assert_allclose(mx, _pool_windows(x, 3, 2, (2, 2), (1, 1), -np.inf).max(0), rtol=1e-6)
    (avg,) = build_and_run(get("avg_pool2d", stride=2, padding=1).bind(**sizes), [x])
    np.testing.assert_allclose(avg, _pool_windows(x, 3, 2, (2, 2), (1, 1), 0.0).sum(0) / 6, rtol=1e-5)
    assert avg[0, 0, 0, 0] == pytest.approx(x[0, 0, :2, :1].sum() / 6, rel=1e-5)  # count_include_pad


def test_softmax_layer_norm_and_dense_gelu_match_their_formulas(rng, build_and_run):
    x = (rng.standard_normal((17, 33)) * 4).astype("float32")
    (sm,) = build_and_run(get("softmax").bind(M=17, N=33), [x])
    e = np.exp(x.astype(np.float64) - x.max(1, keepdims=True))
    np.testing.assert_allclose(sm, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-7)
    g, b = rng.standard_normal(33).astype("float32"), rng.standard_normal(33).astype("float32")
    (ln,) = build_and_run(get("layer_norm", eps=1e-3).bind(M=17, N=33), [x, g, b])
    x64 = x.astype(np.float64)
    want = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-3) * g + b
    np.testing.assert_allclose(ln, want, rtol=1e-4, atol=1e-4)
    w, bias = rng.standard_normal((9, 33)).astype("float32"), rng.standard_normal(9).astype("float32")
    (y,) = build_and_run(get("dense", bias=True, epilogue="gelu").bind(M=17, N=9, K=33), [x, w, bias])
    z = x64 @ w.T.astype(np.float64) + bias
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(y, z * 0.5 * (1 + erf(z / math.sqrt(2))), rtol=1e-4, atol=1e-3)


def test_transpose_and_reductions_match_numpy(rng, build_and_run):
    x = rng.standard_normal((17, 33)).astype("float32")
    assert np.array_equal(build_and_run(get("transpose").bind(M=17, N=33), [x])[0], x.T)
    np.testing.assert_allclose(build_and_run(get("reduce_sum").bind(M=17, N=33), [x])[0], x.sum(1), rtol=1e-5, atol=1e-5)
    assert np.array_equal(build_and_run(reduce_max_op().bind(M=17, N=33), [x])[0], x.max(1))


LONG_SUMS = [
    pytest.param("matmul", {}, {"M": 8, "N": 8, "K": 4096}, id="matmul"),
    pytest.param("batch_matmul", {}, {"B": 2, "M": 4, "N": 8, "K": 4096}, id="batch_matmul"),
    pytest.param("dense", {"bias": True, "epilogue": "relu"}, {"M": 8, "N": 8, "K": 4096}, id="dense_bias_relu"),
    pytest.param("conv2d_nchw", {"padding": 1}, {"N": 1, "C": 512, "H": 4, "W": 4, "K": 4, "R": 3, "S": 3}, id="conv2d_nchw"),
    pytest.param("conv2d_nhwc", {}, {"N": 1, "C": 512, "H": 4, "W": 4, "K": 4, "R": 3, "S": 3}, id="conv2d_nhwc"),
    pytest.param("depthwise_conv2d_nchw", {}, {"N": 1, "C": 4, "H": 66, "W": 66, "R": 64, "S": 64}, id="depthwise"),
]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name, params, sizes", LONG_SUMS)
def test_half_precision_sums_of_about_4096_products_accumulate_in_float32(name, params, sizes, dtype, rng, build_and_run):
    """Regression (H100, matmul 4096^3 float16): summing in float16 lost 3.1 in absolute error,
    so no schedule passed the correctness gate. Non-negative inputs (post-ReLU activations) make
    a 16-bit running sum stall once its spacing outgrows the terms: float16 sums were ~90 off in
    ~1000 at 8x8x4096, bfloat16 ones ~800 (every case but bfloat16 dense failed before the fix)."""
    op = get(name, dtype=dtype, **params).bind(**sizes)
    arrays = [rng.uniform(0.0, 1.0, op.shape_of(t)).astype(numpy_dtype(t.dtype)) for t in op.inputs]
    (got,) = build_and_run(op, arrays)
    assert got.dtype == numpy_dtype(dtype)
    assert_close(got, reference(op, *arrays), dtype, what=f"{name} {dtype} {sizes}")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_matmul_rounds_the_exact_product_once(dtype, rng, build_and_run):
    a = rng.uniform(0.0, 1.0, (8, 4096)).astype(numpy_dtype(dtype))
    b = rng.uniform(0.0, 1.0, (4096, 8)).astype(numpy_dtype(dtype))
    (got,) = build_and_run(get("matmul", dtype=dtype).bind(M=8, N=8, K=4096), [a, b])
    exact = a.astype(np.float64) @ b.astype(np.float64)
    # float32 sums of 4096 terms near 1000 are off by ~1e-4 relative: the result is exact up to one
    # rounding to the 16-bit dtype (half a unit in its last place: 2**-11 or 2**-8 relative)
    rel = 2.0**-11 if dtype == "float16" else 2.0**-8
    np.testing.assert_allclose(got.astype(np.float64), exact, rtol=rel + 1e-4)


def test_build_and_run_runs_the_tiny_matmul_and_names_a_wrong_input_count(matmul_16, rng, build_and_run):
    a, b = rng.standard_normal((16, 16)).astype("float32"), rng.standard_normal((16, 16)).astype("float32")
    np.testing.assert_allclose(build_and_run(matmul_16, [a, b])[0], a @ b, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"op matmul takes 2 inputs \['A', 'B'\], got 1 arrays"):
        build_and_run(matmul_16, [a])


# structure --------------------------------------------------------------------------------
def test_matmul_is_built_exactly_as_its_pinned_workload_expects():
    M, N, K = dims("M N K")
    A = tensor("A", (M, K), "float32")
    B = tensor("B", (K, N), "float32")
    i, j, k = axes(i=M, j=N, k=K)
    C = compute("C", (i, j), reduce_sum(A[i, k] * B[k, j], k))
    assert get("matmul") == Op("matmul", [A, B], [C])


@pytest.mark.parametrize("name, params, stages", [
    ("matmul", {}, ["C", "C_out"]),
    ("batch_matmul", {}, ["Z", "Z_out"]),
    ("dense", {}, ["C", "C_out"]),
    ("dense", {"bias": True, "epilogue": "gelu"}, ["C", "Y"]),
    ("conv2d_nchw", {"padding": 1}, ["Y", "Y_out"]),
    ("conv2d_nhwc", {}, ["Y", "Y_out"]),
    ("depthwise_conv2d_nchw", {}, ["Y", "Y_out"]),
])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_products_sum_in_a_float32_stage_then_round_once(name, params, stages, dtype):
    from dsl.expr import Cast, Reduce, walk

    op = get(name, dtype=dtype, **params)
    assert [st.name for st in op.stages] == stages
    acc, out = op.stages
    assert isinstance(acc.body, Reduce) and acc.dtype == "float32"
    assert out.dtype == dtype and op.outputs == (out.name,)
    assert isinstance(out.body, Cast) and out.body.dtype == dtype  # one rounding, at the end
    assert not any(isinstance(e, Cast) and e.dtype == dtype for e in walk(out.body.x))
    # the same knob names as the float32 op: its reduction stage keeps its name
    assert acc.name == get(name, **params).stages[0].name


@pytest.mark.parametrize("name", ["matmul", "batch_matmul", "dense", "conv2d_nchw", "conv2d_nhwc", "depthwise_conv2d_nchw"])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_float32_and_int32_products_sum_in_their_own_dtype_without_casts(name, dtype):
    from dsl.expr import Cast, walk

    op = get(name, dtype=dtype)
    assert len(op.stages) == 1 and op.stages[0].dtype == dtype
    assert not any(isinstance(e, Cast) for e in walk(op.stages[0].body))


def test_conv_output_sizes_are_derived_dims_following_pytorch():
    op = get("conv2d_nchw", stride=(2, 3), padding=(1, 2), dilation=(2, 1)).bind(N=1, C=2, H=17, W=13, K=4, R=3, S=2)
    oh, ow = (17 + 2 - 2 * 2 - 1) // 2 + 1, (13 + 4 - 1 - 1) // 3 + 1
    assert op.shape_of(op.output_tensors[0]) == (1, 4, oh, ow)
    assert {d.name for d in op.dims if d.definition is not None} == {"OH", "OW"}


def test_unpadded_conv_reads_without_a_guard_and_padded_conv_guards_its_reads():
    from dsl.expr import Load, walk

    def pads(op: Op) -> set:
        return {e.pad for st in op.stages for e in walk(st.body) if isinstance(e, Load) and e.tensor.name == "X"}

    assert pads(get("conv2d_nchw")) == {None}
    assert pads(get("conv2d_nchw", padding=(0, 1))) == {0}
    assert pads(get("max_pool2d", padding=1)) == {-math.inf}
    assert pads(get("max_pool2d", dtype="int8", padding=1)) == {-128}


def test_guard_free_lowering_keeps_the_loops_and_drops_only_the_bounds_tests():
    from dsl.lower import lower

    op = get("conv2d_nchw", padding=1).bind(N=1, C=2, H=6, W=6, K=2, R=3, S=3)
    guarded, free = lower(op).script(), lower(op, guards=False).script()
    assert "if_then_else" in guarded and "if_then_else" not in free
    loops = [line.strip() for line in guarded.splitlines() if line.strip().startswith("for ")]
    assert loops and loops == [line.strip() for line in free.splitlines() if line.strip().startswith("for ")]


def test_dense_epilogue_is_one_stage_after_the_matmul():
    op = get("dense", bias=True, epilogue="relu")
    assert [st.name for st in op.stages] == ["C", "Y"] and [t.name for t in op.inputs] == ["X", "W", "bias"]
    assert [st.name for st in get("dense").stages] == ["C"]
    assert [st.name for st in get("softmax").stages] == ["row_max", "E", "row_sum", "Y"]


# registry ---------------------------------------------------------------------------------
EXPECTED_DIMS = {
    "matmul": "M N K", "batch_matmul": "B M N K", "dense": "M N K", "conv2d_nchw": "N C H W K R S",
    "conv2d_nhwc": "N C H W K R S", "depthwise_conv2d_nchw": "N C H W R S", "max_pool2d": "N C H W R S",
    "avg_pool2d": "N C H W R S", "softmax": "M N", "layer_norm": "M N", "add": "M N", "mul": "M N", "relu": "M N",
    "reduce_sum": "M N", "reduce_max": "M N", "transpose": "M N", "matmul_int8": "M N K", "conv2d_nchw_int8": "N C H W K R S",
}


def test_every_builder_returns_an_unbound_verified_op_named_after_itself_with_a_docstring():
    assert set(LIBRARY) == set(EXPECTED_DIMS)
    for name, builder in LIBRARY.items():
        op = builder()
        verify(op)
        assert op.name == name == builder.__name__
        assert not op.is_bound
        assert builder.__doc__ and len(builder.__doc__.strip()) > 20, name


def test_describe_lists_free_dims_in_order_and_dtypes():
    info = describe()
    assert set(info) == set(LIBRARY)
    for name, i in info.items():
        assert set(i.dims) == set(EXPECTED_DIMS[name].split()), name
        assert i.dims == tuple(d.name for d in get(name).free_dims)
        assert i.dtypes == DTYPES[name] and i.summary
    assert info["matmul"].dims == ("M", "K", "N")
    assert info["conv2d_nchw"].params == (("stride", 1), ("padding", 0), ("dilation", 1))
    assert info["softmax"].dtypes == ("float32", "float16", "bfloat16")
    assert info["matmul_int8"].dtypes == ("int8", "uint8")


def test_every_listed_dtype_builds_and_others_are_refused_naming_the_accepted_ones():
    for name, dtypes in DTYPES.items():
        for dtype in dtypes:
            op = get(name, dtype=dtype)
            assert op.inputs[0].dtype == dtype
    with pytest.raises(DTypeError, match=r"softmax does not take dtype 'int8'; expected one of \['float32', 'float16', 'bfloat16'\]"):
        get("softmax", dtype="int8")
    with pytest.raises(DTypeError, match="matmul_int8 does not take dtype 'float32'"):
        get("matmul_int8", dtype="float32")
    with pytest.raises(DTypeError, match="dense with the gelu epilogue does not take dtype 'int32'"):
        get("dense", dtype="int32", epilogue="gelu")


def test_get_unknown_op_raises_a_key_error_listing_the_library():
    with pytest.raises(UnknownOpError) as err:
        get("matmull")
    assert isinstance(err.value, KeyError)
    assert str(err.value) == f"unknown op 'matmull'; expected one of {sorted(LIBRARY)}"


def test_get_passes_parameters_and_rejects_unknown_ones():
    assert get("dense", bias=True).inputs[-1].name == "bias"
    with pytest.raises(TypeError, match="strides"):
        get("conv2d_nchw", strides=2)


@pytest.mark.parametrize("params, message", [
    ({"stride": 0}, r"conv2d_nchw: stride must be an int >= 1 or a pair of them, got 0"),
    ({"padding": -1}, r"padding must be an int >= 0"),
    ({"dilation": (1, 2, 3)}, r"dilation must be an int >= 1 or a pair of them, got \(1, 2, 3\)"),
    ({"stride": True}, r"stride must be an int"),
    ({"padding": 1.5}, r"padding must be an int >= 0 or a pair of them, got 1.5"),
])
def test_bad_window_parameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        get("conv2d_nchw", **params)


def test_bad_dense_epilogue_and_eps_are_refused():
    with pytest.raises(ValueError, match=r"unknown epilogue 'tanh'; expected one of \[None, 'relu', 'gelu'\]"):
        get("dense", epilogue="tanh")
    with pytest.raises(ValueError, match="eps must be a float >= 0"):
        get("layer_norm", eps=-1.0)


def test_a_window_larger_than_its_input_is_a_verify_error_naming_the_output_dim():
    from dsl import VerifyError

    with pytest.raises(VerifyError, match="OH"):
        get("max_pool2d").bind(N=1, C=1, H=2, W=4, R=3, S=1)
