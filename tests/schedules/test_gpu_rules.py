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
    import tvm

    from dsl.dtypes import numpy_dtype
    from dsl.inputs import assert_close, random_inputs
    from dsl.reference import reference

    target = get_target("cuda")
    op = OPS[name]()
    space = space_for(op, target)
    rng = np.random.default_rng(5)
    dev = tvm.cuda()
    for cfg in [space.default()] + space.sample(5, rng):
        try:
            sch = apply(op, cfg, target)
        except ScheduleError:
            continue
        ex = tvm.compile(sch.mod, target=target.tvm_target())
        ins = random_inputs(op, rng)
        outs = [np.zeros(op.shape_of(t), numpy_dtype(t.dtype)) for t in op.output_tensors]
        args = [tvm.runtime.tensor(x, dev) for x in ins + outs]
        ex["main"](*args)
        assert_close(args[-1].numpy(), reference(op, *ins), op.output_tensors[-1].dtype, f"{name} under {cfg.to_json()}")
