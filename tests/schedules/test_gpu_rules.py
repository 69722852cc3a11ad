"""The CUDA rule set: knobs, limits, and configs that build to CUDA source (no GPU needed; they
skip where no CUDA compiler is installed). Running them needs a GPU (``-m gpu``)."""

import math
import shutil

import numpy as np
import pytest

from dsl import library
from schedules import ScheduleError, apply, space_for
from schedules.gpu import thread_shapes
from targets import get_target, has_cuda

needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs the CUDA compiler (nvcc)")

OPS = {
    "matmul": lambda: library.get("matmul").bind(M=128, N=96, K=64),
    "conv2d": lambda: library.get("conv2d_nchw", padding=1).bind(N=1, C=8, H=14, W=14, K=16, R=3, S=3),
    "softmax": lambda: library.get("softmax").bind(M=33, N=97),
    "dense_relu": lambda: library.get("dense", bias=True, epilogue="relu").bind(M=32, N=64, K=48),
    "matmul_f16": lambda: library.get("matmul", dtype="float16").bind(M=128, N=96, K=64),
}


@pytest.fixture(scope="module")
def cuda():
    return get_target("cuda:sm_90")


def test_matmul_gpu_space_has_thread_shared_and_tile_knobs(cuda):
    names = space_for(OPS["matmul"](), cuda).names
    for knob in ("C.threads", "C.tile.i", "C.tile.k", "C.shared.A", "C.shared.B", "C.fetch_vector", "C.unroll", "C.tensorize"):
        assert knob in names


def test_every_thread_shape_fits_a_block():
    for shape in thread_shapes([128, 96, 3], 1024):
        assert 32 <= math.prod(shape) <= 1024


def test_reduction_tiles_have_three_levels(cuda):
    space = space_for(OPS["conv2d"](), cuda)
    assert {len(v) for v in space.knob("Y.tile.c").choices} == {3}


def test_softmax_rows_are_computed_per_block_with_a_cross_thread_reduction(cuda):
    op = OPS["softmax"]()
    text = apply(op, space_for(op, cuda).default(), cuda).mod["main"].script()
    assert text.count('thread="blockIdx.x"') == 1  # one kernel: the row stages sit under the row's block
    assert 'scope="shared"' in text


def test_a_config_past_the_shared_memory_limit_is_one_schedule_error(cuda):
    op = library.get("matmul").bind(M=1024, N=1024, K=1024)
    space = space_for(op, cuda)
    big = space.default().replace(**{"C.threads": (32, 32), "C.tile.i": (8, 8), "C.tile.j": (8, 8), "C.tile.k": (64, 1, 16)})
    with pytest.raises(ScheduleError, match="shared memory"):
        apply(op, big, cuda)


@needs_nvcc
@pytest.mark.parametrize("name", sorted(OPS))
def test_gpu_configs_build_to_cuda_source(cuda, name):
    import tvm

    op = OPS[name]()
    space = space_for(op, cuda)
    built = 0
    for cfg in [space.default()] + space.sample(3, np.random.default_rng(3)):
        try:
            sch = apply(op, cfg, cuda)
        except ScheduleError as e:
            assert "exceeds the limits" in str(e)
            continue
        ex = tvm.compile(sch.mod, target=cuda.tvm_target())
        source = ex.mod.imports[0].inspect_source()
        assert "__global__" in source and "threadIdx.x" in source
        built += 1
    assert built >= 1


@pytest.mark.gpu
@pytest.mark.skipif(not has_cuda(), reason="needs an NVIDIA GPU")
@pytest.mark.parametrize("name", sorted(OPS))
def test_gpu_configs_run_and_match_the_reference(name):
    target = get_target("cuda")
    op = OPS[name]()
    space = space_for(op, target)
    rng = np.random.default_rng(5)
    for cfg in [space.default()] + space.sample(5, rng):
        try:
            sch = apply(op, cfg, target)
        except ScheduleError:
            continue
        _run_and_check(op, sch, target, rng, f"{name} under {cfg.to_json()}")


def _run_and_check(op, sch, target, rng, label):
    """Build ``sch``, run it on GPU 0 on random inputs and compare its output with ``dsl.reference``."""
    import tvm

    from dsl.dtypes import numpy_dtype
    from dsl.inputs import assert_close, random_inputs
    from dsl.reference import reference

    ex = tvm.compile(sch.mod, target=target.tvm_target())
    ins = random_inputs(op, rng)
    outs = [np.zeros(op.shape_of(t), numpy_dtype(t.dtype)) for t in op.output_tensors]
    args = [tvm.runtime.tensor(x, tvm.cuda()) for x in ins + outs]
    ex["main"](*args)
    assert_close(args[-1].numpy(), reference(op, *ins), op.output_tensors[-1].dtype, label)


TENSOR_CORE_OPS = {
    "matmul_f16": lambda: library.get("matmul", dtype="float16").bind(M=128, N=64, K=96),
    "dense_f16_bias_relu": lambda: library.get("dense", dtype="float16", bias=True, epilogue="relu").bind(M=64, N=128, K=64),
}


def _mma_configs(op, target, n):
    """The default Config and ``n`` sampled ones, each with tensorize mma."""
    space = space_for(op, target)
    return [c.replace(**{"C.tensorize": "mma"}) for c in [space.default(), *space.sample(n, np.random.default_rng(11))]]


@needs_nvcc
@pytest.mark.parametrize("name", sorted(TENSOR_CORE_OPS))
def test_float16_products_default_to_tensor_cores_and_build_to_mma_instructions(cuda, name):
    import tvm

    op = TENSOR_CORE_OPS[name]()
    assert space_for(op, cuda).knob("C.tensorize").default == "mma"  # tensor cores unless a Config says otherwise
    source = tvm.compile(apply(op, _mma_configs(op, cuda, 0)[0], cuda).mod, target=cuda.tvm_target()).mod.imports[0].inspect_source()
    assert "mma.sync.aligned.m16n8k16" in source and ".f16.f16.f32" in source and "ldmatrix" in source


def test_float16_mma_needs_whole_16_deep_steps(cuda):
    op = library.get("matmul", dtype="float16").bind(M=64, N=64, K=40)
    space = space_for(op, cuda)
    assert space.knob("C.tensorize").choices == ("none",)
    with pytest.raises(ScheduleError, match="16 x 16 x 16"):
        apply(op, space.default().replace(**{"C.tensorize": "mma"}), cuda)


def test_most_random_tensor_core_configs_fit_a_block(cuda):
    # each tile knob keeps a block's staged tiles and a warp's accumulators near the limits: before, 93
    # of 100 random Configs of this op asked for more than 48 KiB of shared memory or the registers
    op = library.get("matmul", dtype="float16").bind(M=4096, N=4096, K=4096)
    fitting = 0
    for cfg in _mma_configs(op, cuda, 20)[1:]:
        try:
            apply(op, cfg, cuda)
            fitting += 1
        except ScheduleError as e:
            assert "exceeds the limits" in str(e)
    assert fitting >= 15


@pytest.mark.gpu
@pytest.mark.skipif(not has_cuda(), reason="needs an NVIDIA GPU")
@pytest.mark.parametrize("name", sorted(TENSOR_CORE_OPS))
def test_float16_tensor_core_kernels_match_the_reference(name):
    target = get_target("cuda")
    op = TENSOR_CORE_OPS[name]()
    rng = np.random.default_rng(7)
    for cfg in _mma_configs(op, target, 4):
        _run_and_check(op, apply(op, cfg, target), target, rng, f"{name} under {cfg.to_json()}")
