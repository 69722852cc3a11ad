"""Quantized and tensorized kernels compiled and run on this CPU (aarch64: compiled, its assembly read)."""

import dataclasses
import math

import numpy as np
import pytest

from dsl import library
from dsl.inputs import random_inputs
from dsl.reference import reference
from schedules import apply, space_for
from schedules.quantize import activation_mode, quantized_op
from targets import get_target

from quantize_cases import calibrated_case, run_kernel


def _needs(cpu, flag):
    if flag not in cpu.features:
        pytest.skip(f"this CPU has no {flag}")


def _full(extent, inner):
    return (math.ceil(extent / math.prod(inner)),) + tuple(inner)


@pytest.mark.parametrize("shape", [dict(M=16, N=32, K=16), dict(M=17, N=64, K=36)])
def test_native_uint8_matmul_with_vnni_is_exact(cpu, rng, shape):
    _needs(cpu, "avx512_vnni")
    op = library.get("matmul_int8", dtype="uint8").bind(**shape)
    space = space_for(op, cpu)
    inputs = random_inputs(op, rng)
    inputs[0] = rng.integers(0, 256, inputs[0].shape).astype("uint8")  # full range: no saturation allowed
    inputs[1] = rng.integers(-128, 128, inputs[1].shape).astype("int8")
    want = reference(op, *inputs)
    configs = [space.default().replace(**{"C.tensorize": "vnni"})] + [c.replace(**{"C.tensorize": "vnni"}) for c in space.sample(3, rng)]
    for cfg in configs:
        np.testing.assert_array_equal(run_kernel(apply(op, cfg, cpu), cpu, op, inputs), want, err_msg=cfg.to_json())


def test_native_int8_conv_tunes_as_it_is_and_is_exact(cpu, rng):
    op = library.get("conv2d_nchw_int8", padding=1).bind(N=1, C=3, H=7, W=5, K=4, R=3, S=3)
    space = space_for(op, cpu)
    inputs = random_inputs(op, rng)
    for cfg in [space.default(), *space.sample(2, rng)]:
        np.testing.assert_array_equal(run_kernel(apply(op, cfg, cpu), cpu, op, inputs), reference(op, *inputs))


CASES = [
    ("matmul", {}, dict(M=16, N=32, K=64)),
    ("dense", {"bias": True, "epilogue": "gelu"}, dict(M=9, N=32, K=48)),
    ("conv2d_nchw", {"padding": 1}, dict(N=1, C=4, H=6, W=6, K=8, R=3, S=3)),
]


@pytest.mark.parametrize("name,params,shape", CASES)
@pytest.mark.parametrize("scheme", ["int8_per_tensor", "int8_per_channel"])
def test_quantized_kernels_compute_their_quantized_reference(cpu, rng, name, params, shape, scheme):
    op, func, calibration, inputs = calibrated_case(name, params, shape)
    space = space_for(func, cpu)
    values = [v for v in space.knob(f"{op.stages[0].name}.tensorize").choices]
    float_ref = reference(op, *inputs)
    for value in values:
        cfg = space.default().replace(**{"quantize": scheme, f"{op.stages[0].name}.tensorize": value})
        got = run_kernel(apply(func, cfg, cpu), cpu, op, inputs)
        want = reference(quantized_op(op, scheme, calibration, activation_mode(value)), *inputs)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()), err_msg=value)
        assert np.linalg.norm(got - float_ref) / np.linalg.norm(float_ref) < 1e-2


def test_avx2_tensorized_quantized_dense_matches_its_reference(cpu, rng):
    _needs(cpu, "avx2")
    op, func, calibration, inputs = calibrated_case("dense", {"bias": True, "epilogue": "relu"}, dict(M=7, N=32, K=64))
    space = space_for(func, cpu)
    for cfg in [space.default(), *space.sample(2, rng)]:
        cfg = cfg.replace(quantize="int8_per_channel", **{"C.tensorize": "avx2"})
        got = run_kernel(apply(func, cfg, cpu), cpu, op, inputs)
        want = reference(quantized_op(op, "int8_per_channel", calibration, activation_mode("avx2")), *inputs)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))


def test_vnni_kernel_runs_vpdpbusd(cpu):
    _needs(cpu, "avx512_vnni")
    import tvm

    op = library.get("matmul_int8", dtype="uint8").bind(M=16, N=32, K=16)
    sch = apply(op, space_for(op, cpu).default().replace(**{"C.tensorize": "vnni"}), cpu)
    asm = tvm.compile(sch.mod, target=cpu.tvm_target()).mod.inspect_source("asm")
    assert "vpdpbusd" in asm


def test_aarch64_sdot_kernel_compiles_to_sdot():
    import tvm

    target = get_target("aarch64")
    op = library.get("matmul_int8").bind(M=8, N=16, K=32)
    space = space_for(op, target)
    sch = apply(op, space.default().replace(**{"C.tensorize": "sdot"}), target)
    asm = tvm.compile(sch.mod, target=target.tvm_target()).mod.inspect_source("asm")
    assert "sdot" in asm


def test_aarch64_quantized_dense_compiles_to_sdot():
    import tvm

    target = get_target("aarch64")
    _, func, _, _ = calibrated_case("dense", {}, dict(M=8, N=16, K=32))
    cfg = space_for(func, target).default().replace(quantize="int8_per_channel", **{"C.tensorize": "sdot"})
    asm = tvm.compile(apply(func, cfg, target).mod, target=target.tvm_target()).mod.inspect_source("asm")
    assert "sdot" in asm
