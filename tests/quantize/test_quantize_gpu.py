"""CUDA: int8 kernels with and without dp4a build to CUDA source here; on a GPU they run exact."""

import shutil

import numpy as np
import pytest

from dsl import library
from dsl.reference import reference
from schedules import ScheduleError, apply, space_for
from targets import get_target, has_cuda

from quantize_cases import calibrated_case

needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs the CUDA compiler (nvcc)")


@pytest.fixture(scope="module")
def cuda():
    return get_target("cuda:sm_90")


def _source(sch, target):
    import tvm

    return tvm.compile(sch.mod, target=target.tvm_target()).mod.imports[0].inspect_source()


@needs_nvcc
def test_native_int8_matmul_with_dp4a_builds_to_cuda_dp4a(cuda):
    op = library.get("matmul_int8").bind(M=128, N=128, K=128)
    src = _source(apply(op, space_for(op, cuda).default().replace(**{"C.tensorize": "dp4a"}), cuda), cuda)
    assert "__dp4a" in src


@needs_nvcc
@pytest.mark.parametrize("scheme", ["int8_per_tensor", "int8_per_channel"])
def test_quantized_dense_with_dp4a_builds_to_cuda_dp4a(cuda, scheme):
    _, func, _, _ = calibrated_case("dense", {"bias": True, "epilogue": "relu"}, dict(M=64, N=128, K=256))
    cfg = space_for(func, cuda).default().replace(quantize=scheme, **{"C.tensorize": "dp4a"})
    assert "__dp4a" in _source(apply(func, cfg, cuda), cuda)


def test_dp4a_on_a_guarded_tile_is_one_schedule_error(cuda):
    op = library.get("matmul_int8").bind(M=97, N=64, K=36)
    cfg = space_for(op, cuda).default().replace(**{"C.tensorize": "dp4a"})
    with pytest.raises(ScheduleError, match="unguarded tiles"):
        apply(op, cfg, cuda)


@needs_nvcc
def test_quantized_cuda_kernels_divide_exactly_despite_fast_math(cuda):
    # TVM builds CUDA with --use_fast_math; a weight scale 2 ulp off moved int8 weights at rounding ties on the H100
    from schedules.prepack import prepacked

    _, func, _, _ = calibrated_case("dense", {}, dict(M=16, N=32, K=64))
    cfg = space_for(func, cuda).default().replace(quantize="int8_per_channel")
    assert "__fdiv_rn" in _source(apply(func, cfg, cuda), cuda)
    assert "__fdiv_rn" in _source(prepacked(func, cfg, cuda).prepack, cuda)


def test_a_register_tile_that_can_only_spill_is_one_schedule_error(cuda):
    # 32 x 32 int32 accumulators per thread: NVRTC did not compile this kernel within 60 s on the H100
    _, func, _, _ = calibrated_case("matmul", {}, dict(M=128, N=128, K=256))
    cfg = space_for(func, cuda).default().replace(
        quantize="int8_per_tensor", **{"C.threads": (128, 1), "C.tile.i": (8, 4), "C.tile.j": (8, 4), "C.unroll": 1024})
    with pytest.raises(ScheduleError, match="bytes of registers per thread"):
        apply(func, cfg, cuda)
    apply(func, cfg.replace(**{"C.tile.i": (4, 4), "C.tile.j": (4, 4)}), cuda)  # 256 values still build


@pytest.mark.gpu
@pytest.mark.skipif(not has_cuda(), reason="needs an NVIDIA GPU")
def test_dp4a_kernels_are_exact_on_the_gpu(rng):
    import tvm

    target = get_target("cuda")
    op = library.get("matmul_int8").bind(M=256, N=256, K=256)
    space = space_for(op, target)
    inputs = [rng.integers(-128, 128, op.shape_of(t)).astype("int8") for t in op.inputs]
    want = reference(op, *inputs)
    dev = tvm.cuda(0)
    for cfg in [space.default(), *space.sample(3, rng)]:
        try:
            sch = apply(op, cfg.replace(**{"C.tensorize": "dp4a"}), target)
        except ScheduleError:
            continue
        ex = tvm.compile(sch.mod, target=target.tvm_target())
        args = [tvm.runtime.tensor(x, dev) for x in inputs] + [tvm.runtime.tensor(np.zeros(want.shape, "int32"), dev)]
        ex["main"](*args)
        np.testing.assert_array_equal(args[-1].numpy(), want)


@needs_nvcc
@pytest.mark.parametrize("case", ["matmul_int8", "quantized_dense"])
def test_mma_builds_to_tensor_core_instructions(cuda, case):
    if case == "matmul_int8":
        func = library.get("matmul_int8").bind(M=128, N=128, K=128)
        cfg = space_for(func, cuda).default().replace(**{"C.tensorize": "mma"})
    else:
        _, func, _, _ = calibrated_case("dense", {"bias": True}, dict(M=64, N=128, K=256))
        cfg = space_for(func, cuda).default().replace(quantize="int8_per_channel", **{"C.tensorize": "mma"})
    src = _source(apply(func, cfg, cuda), cuda)
    assert "mma.sync" in src and "ldmatrix" in src


def test_mma_needs_whole_tensor_core_tiles(cuda):
    op = library.get("matmul_int8").bind(M=48, N=64, K=48)
    with pytest.raises(ScheduleError, match="16 x 16 x 32"):
        apply(op, space_for(op, cuda).default().replace(**{"C.tensorize": "mma"}), cuda)
