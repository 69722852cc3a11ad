"""Where the space offers quantize and tensorize, and the errors of values that do not apply."""

import dataclasses
import math

import pytest

from dsl import library
from schedules import ScheduleError, apply, space_for
from targets import get_target

from quantize_cases import calibrated_case


def _no_vnni(cpu):
    return dataclasses.replace(cpu, features=tuple(f for f in cpu.features if "vnni" not in f))


def test_an_uncalibrated_float_op_offers_only_float(cpu):
    op = library.get("matmul").bind(M=16, N=16, K=16)
    space = space_for(op, cpu)
    assert space.knob("quantize").choices == ("none",)
    assert space.knob("C.tensorize").choices == ("none",)
    with pytest.raises(ScheduleError, match="calibration"):
        apply(op, space.default().replace(quantize="int8_per_tensor"), cpu)


def test_a_calibrated_float_op_offers_both_schemes(cpu):
    _, func, _, _ = calibrated_case("dense", {"bias": True, "epilogue": "relu"}, dict(M=8, N=32, K=64))
    space = space_for(func, cpu)
    assert space.knob("quantize").choices == ("none", "int8_per_tensor", "int8_per_channel")
    assert space.default()["quantize"] == "none"


def test_an_int8_op_is_not_quantized_again(cpu):
    op = library.get("matmul_int8").bind(M=16, N=16, K=16)
    space = space_for(op, cpu)
    assert space.knob("quantize").choices == ("none",)
    with pytest.raises(ScheduleError, match="already quantized"):
        apply(op, space.default().replace(quantize="int8_per_channel"), cpu)


def test_vnni_is_offered_only_where_the_cpu_has_it(cpu):
    op = library.get("matmul_int8", dtype="uint8").bind(M=16, N=32, K=16)
    plain = _no_vnni(cpu)
    assert "vnni" not in space_for(op, plain).knob("C.tensorize").choices
    cfg = space_for(op, plain).default().replace(**{"C.tensorize": "vnni"})
    with pytest.raises(ScheduleError, match="C.tensorize: 'vnni' does not apply: .*no AVX512-VNNI"):
        apply(op, cfg, plain)


@pytest.mark.parametrize("name,params,shape,value,why", [
    ("matmul_int8", {"dtype": "uint8"}, dict(M=16, N=24, K=16), "vnni", "not multiples"),
    ("matmul_int8", {"dtype": "int8"}, dict(M=16, N=32, K=16), "vnni", "multiplies uint8 by int8; C reads int8 by int8"),
    ("matmul_int8", {"dtype": "uint8"}, dict(M=16, N=32, K=16), "avx2", "saturates"),
    ("conv2d_nchw_int8", {"dtype": "uint8"}, dict(N=1, C=4, H=6, W=6, K=24, R=3, S=3), "vnni", "16 k x 4 c; extents 24 x 4 are not multiples"),
    ("conv2d_nchw_int8", {"dtype": "uint8"}, dict(N=1, C=6, H=6, W=6, K=16, R=3, S=3), "vnni", "extents 16 x 6 are not multiples"),
    ("conv2d_nchw_int8", {"dtype": "int8"}, dict(N=1, C=4, H=6, W=6, K=16, R=3, S=3), "vnni", "multiplies uint8 by int8; Y reads int8 by int8"),
    ("conv2d_nchw_int8", {"dtype": "uint8"}, dict(N=1, C=4, H=6, W=6, K=16, R=3, S=3), "dp4a", "CUDA instruction"),
    ("matmul", {}, dict(M=16, N=32, K=16), "vnni", "quantize it"),
    ("matmul_int8", {}, dict(M=16, N=32, K=16), "dp4a", "CUDA instruction"),
])
def test_a_tensorize_value_that_does_not_apply_names_why(cpu, name, params, shape, value, why):
    if value == "vnni" and "avx512_vnni" not in cpu.features:
        cpu = dataclasses.replace(cpu, features=cpu.features + ("avx512_vnni",))
    op = library.get(name, **params).bind(**shape)
    space = space_for(op, cpu)
    assert value not in space.knob(f"{op.stages[0].name}.tensorize").choices
    with pytest.raises(ScheduleError, match=why):
        apply(op, space.default().replace(**{f"{op.stages[0].name}.tensorize": value}), cpu)


def test_sdot_is_offered_for_aarch64_and_dp4a_for_cuda():
    op = library.get("matmul_int8").bind(M=16, N=32, K=16)
    assert space_for(op, get_target("aarch64")).knob("C.tensorize").choices == ("none", "sdot")
    assert space_for(op, get_target("cuda:sm_90")).knob("C.tensorize").choices == ("none", "dp4a")


def test_tensorized_blocks_get_tile_knobs_in_intrinsic_units(cpu):
    cpu = dataclasses.replace(cpu, features=tuple(set(cpu.features) | {"avx512_vnni"}))
    op = library.get("matmul_int8", dtype="uint8").bind(M=16, N=64, K=32)
    space = space_for(op, cpu)
    assert {tuple(c[1:]) for c in space.knob("C.dot.tile.k").choices} <= {(1,), (2,), (4,), (8,)}
    assert all(c[0] * c[1] * c[2] * c[3] >= 64 // 16 for c in space.knob("C.dot.tile.j").choices)


def test_conv2d_is_tensorized_on_cpus_only():
    op = library.get("conv2d_nchw_int8", padding=1).bind(N=1, C=16, H=8, W=8, K=32, R=3, S=3)
    cuda = get_target("cuda:sm_90")
    assert space_for(op, cuda).knob("Y.tensorize").choices == ("none",)
    with pytest.raises(ScheduleError, match="Y.tensorize: 'dp4a' does not apply: .*conv2d is tensorized on CPUs only"):
        apply(op, space_for(op, cuda).default().replace(**{"Y.tensorize": "dp4a"}), cuda)


def test_conv2d_offers_vnni_with_tile_knobs_over_its_channels(cpu):
    cpu = dataclasses.replace(cpu, features=tuple(set(cpu.features) | {"avx512_vnni"}))
    op = library.get("conv2d_nchw_int8", dtype="uint8", padding=1).bind(N=1, C=16, H=8, W=8, K=64, R=3, S=3)
    space = space_for(op, cpu)
    assert space.knob("Y.tensorize").choices == ("none", "vnni")
    assert all(math.prod(c) >= 64 // 16 for c in space.knob("Y.dot.tile.k").choices)
    assert all(math.prod(c) >= 16 // 4 for c in space.knob("Y.dot.tile.c").choices)
