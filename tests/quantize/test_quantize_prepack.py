"""Prepacking: the weight's stages split off and run once; main gives what the tuned kernel gives."""

import numpy as np
import pytest

from schedules import ScheduleError, apply, space_for
from schedules.prepack import prepacked

from quantize_cases import calibrated_case, run_kernel


def _run(sch, target, arrays, out_shapes):
    import tvm

    ex = tvm.compile(sch.mod, target=target.tvm_target())
    dev = tvm.cpu()
    args = [tvm.runtime.tensor(np.array(a, order="C"), dev) for a in arrays]  # ascontiguousarray makes 0-d 1-d
    outs = [tvm.runtime.tensor(np.zeros(shape, dtype), dev) for shape, dtype in out_shapes]
    ex["main"](*args, *outs)
    return [o.numpy() for o in outs]


@pytest.mark.parametrize("scheme,value", [("int8_per_channel", "none"), ("int8_per_tensor", "vnni"), ("int8_per_channel", "vnni"), ("int8_per_channel", "avx2")])
def test_prepack_then_main_gives_the_tuned_kernels_output(cpu, scheme, value):
    op, func, _, inputs = calibrated_case("dense", {"bias": True, "epilogue": "relu"}, dict(M=8, N=32, K=64))
    space = space_for(func, cpu)
    if value not in space.knob("C.tensorize").choices:
        pytest.skip(f"this CPU does not offer {value}")
    cfg = space.default().replace(quantize=scheme, **{"C.tensorize": value})
    whole = run_kernel(apply(func, cfg, cpu), cpu, op, inputs)
    split = prepacked(func, cfg, cpu)
    X, W, bias = inputs
    shapes = _param_shapes(split.prepack.mod["main"])
    packed = _run(split.prepack, cpu, [W], shapes[1:])
    (got,) = _run(split.main, cpu, [X, bias, *packed], [((8, 32), "float32")])
    np.testing.assert_allclose(got, whole, rtol=1e-6, atol=1e-6)
    if value != "none":
        assert packed[0].ndim == 4  # the weight arrives in the intrinsic's layout


def _param_shapes(func):
    from tvm import s_tir

    sch = s_tir.Schedule(func)
    shapes = {}
    for rv in sch.get_child_blocks(sch.get_sblock("root")):
        blk = sch.get(rv)
        for region in (*blk.reads, *blk.writes):
            shapes[str(region.source.name)] = (tuple(int(x) for x in region.source.shape), str(region.source.dtype))
    return [shapes[str(p.name)] for p in func.params]


def test_a_float_config_has_nothing_to_prepack(cpu):
    _, func, _, _ = calibrated_case("dense", {}, dict(M=8, N=32, K=64))
    with pytest.raises(ScheduleError, match="nothing to prepack"):
        prepacked(func, space_for(func, cpu).default(), cpu)


def test_prepacked_functions_build_for_cuda():
    import shutil

    import tvm

    from targets import get_target

    if shutil.which("nvcc") is None:
        pytest.skip("needs the CUDA compiler (nvcc)")
    cuda = get_target("cuda:sm_90")
    _, func, _, _ = calibrated_case("dense", {"bias": True}, dict(M=64, N=64, K=128))
    for value in ("none", "dp4a", "mma"):
        cfg = space_for(func, cuda).default().replace(quantize="int8_per_channel", **{"C.tensorize": value})
        split = prepacked(func, cfg, cuda)
        for sch in (split.prepack, split.main):
            tvm.compile(sch.mod, target=cuda.tvm_target())
