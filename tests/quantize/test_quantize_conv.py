"""conv2d NCHW tensorized with a dot-product instruction: the activation packed (NCHW4c, padding
materialized), the filter packed [K/16, C/4, R, S, 16, 4], the sums exactly those of the untensorized kernel."""

import numpy as np
import pytest

from dsl import library
from dsl.reference import reference
from schedules import apply, space_for
from schedules.prepack import prepacked
from schedules.quantize import activation_mode, quantized_op
from targets import get_target

from quantize_cases import calibrated_case, run_kernel
from test_quantize_prepack import _param_shapes, _run

WINDOWS = [
    ({"padding": 1}, dict(N=1, C=16, H=8, W=8, K=32, R=3, S=3)),
    ({"padding": 1, "stride": 2}, dict(N=1, C=32, H=9, W=9, K=32, R=3, S=3)),
    ({}, dict(N=2, C=16, H=6, W=7, K=16, R=3, S=3)),  # no padding: packed only
]


def _needs(cpu, flag):
    if flag not in cpu.features:
        pytest.skip(f"this CPU has no {flag}")


def _int8_inputs(op, rng):
    x = op.shape_of(op.inputs[0])
    f = op.shape_of(op.inputs[1])
    return [rng.integers(0, 256, x).astype("uint8"), rng.integers(-128, 128, f).astype("int8")]  # full range


@pytest.mark.parametrize("params,shape", WINDOWS)
def test_native_uint8_conv2d_with_vnni_is_exact(cpu, rng, params, shape):
    _needs(cpu, "avx512_vnni")
    op = library.get("conv2d_nchw_int8", dtype="uint8", **params).bind(**shape)
    space = space_for(op, cpu)
    assert "vnni" in space.knob("Y.tensorize").choices
    inputs = _int8_inputs(op, rng)
    want = reference(op, *inputs)
    np.testing.assert_array_equal(run_kernel(apply(op, space.default(), cpu), cpu, op, inputs), want)
    configs = [space.default()] + space.sample(2, rng)
    for cfg in configs:
        cfg = cfg.replace(**{"Y.tensorize": "vnni"})
        np.testing.assert_array_equal(run_kernel(apply(op, cfg, cpu), cpu, op, inputs), want, err_msg=cfg.to_json())


@pytest.mark.parametrize("write_at", [0, 1, 2])
def test_tensorized_conv2d_output_keeps_its_nchw_layout_for_every_write_at(cpu, rng, write_at):
    _needs(cpu, "avx512_vnni")
    op = library.get("conv2d_nchw_int8", dtype="uint8", padding=1).bind(N=1, C=16, H=8, W=8, K=32, R=3, S=3)
    cfg = space_for(op, cpu).default().replace(**{"Y.tensorize": "vnni", "Y.write_at": write_at})
    sch = apply(op, cfg, cpu)
    assert 'Y: T.Buffer((1, 32, 8, 8), "int32")' in sch.mod["main"].script()  # the signature, not the accumulator's layout
    inputs = _int8_inputs(op, rng)
    np.testing.assert_array_equal(run_kernel(sch, cpu, op, inputs), reference(op, *inputs))


def test_tensorized_conv2d_runs_vpdpbusd_on_packed_operands(cpu):
    _needs(cpu, "avx512_vnni")
    import tvm

    op = library.get("conv2d_nchw_int8", dtype="uint8", padding=1).bind(N=1, C=16, H=8, W=8, K=32, R=3, S=3)
    sch = apply(op, space_for(op, cpu).default().replace(**{"Y.tensorize": "vnni"}), cpu)
    text = sch.mod["main"].script()
    assert "X_pack" in text and "(1, 4, 10, 10, 4)" in text  # NCHW4c with the padding materialized
    assert "(2, 4, 3, 3, 16, 4)" in text  # the filter in the intrinsic's layout
    assert "if_then_else" not in text.split('T.sblock("Y_update_o")')[1].split("T.sblock(")[0]  # unguarded reads
    asm = tvm.compile(sch.mod, target=cpu.tvm_target()).mod.inspect_source("asm")
    assert "vpdpbusd" in asm


QUANTIZED = [("conv2d_nchw", *WINDOWS[0]), ("conv2d_nchw", *WINDOWS[1]), ("conv2d_nhwc", {"padding": 1}, WINDOWS[0][1])]


@pytest.mark.parametrize("name,params,shape", QUANTIZED)
@pytest.mark.parametrize("scheme", ["int8_per_tensor", "int8_per_channel"])
def test_quantized_conv2d_tensorized_equals_its_untensorized_kernel(cpu, rng, name, params, shape, scheme):
    op, func, calibration, inputs = calibrated_case(name, params, shape)
    space = space_for(func, cpu)
    offered = [v for v in ("vnni", "avx2") if v in space.knob("Y.tensorize").choices]
    if not offered:
        pytest.skip("this CPU offers neither vnni nor avx2")
    for cfg in [space.default(), space.sample(1, rng)[0]]:
        cfg = cfg.replace(quantize=scheme)
        plain = run_kernel(apply(func, cfg.replace(**{"Y.tensorize": "none"}), cpu), cpu, op, inputs)
        for value in offered:
            got = run_kernel(apply(func, cfg.replace(**{"Y.tensorize": value}), cpu), cpu, op, inputs)
            want = reference(quantized_op(op, scheme, calibration, activation_mode(value)), *inputs)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()), err_msg=value)
            if value == "vnni":  # 8-bit activations as without tensorize (zero point 128): the same int32 sums
                np.testing.assert_array_equal(got, plain)


@pytest.mark.parametrize("value", ["vnni", "avx2"])
def test_prepack_split_of_a_tensorized_conv2d_gives_the_whole_kernels_output(cpu, value):
    op, func, _, inputs = calibrated_case("conv2d_nchw", {"padding": 1, "stride": 2}, dict(N=1, C=16, H=9, W=9, K=32, R=3, S=3))
    space = space_for(func, cpu)
    if value not in space.knob("Y.tensorize").choices:
        pytest.skip(f"this CPU does not offer {value}")
    cfg = space.default().replace(quantize="int8_per_channel", **{"Y.tensorize": value})
    whole = run_kernel(apply(func, cfg, cpu), cpu, op, inputs)
    split = prepacked(func, cfg, cpu)
    X, F = inputs
    packed = _run(split.prepack, cpu, [F], _param_shapes(split.prepack.mod["main"])[1:])
    lanes = 16 if value == "vnni" else 8
    assert packed[0].shape == (32 // lanes, 16 // 4, 3, 3, lanes, 4)
    (got,) = _run(split.main, cpu, [X, *packed], [(whole.shape, "float32")])
    np.testing.assert_allclose(got, whole, rtol=1e-6, atol=1e-6)


def test_aarch64_int8_conv2d_compiles_to_sdot():
    import tvm

    target = get_target("aarch64")
    op = library.get("conv2d_nchw_int8", padding=1).bind(N=1, C=16, H=8, W=8, K=16, R=3, S=3)
    space = space_for(op, target)
    assert "sdot" in space.knob("Y.tensorize").choices
    asm = tvm.compile(apply(op, space.default().replace(**{"Y.tensorize": "sdot"}), target).mod, target=target.tvm_target()).mod.inspect_source("asm")
    assert "sdot" in asm
