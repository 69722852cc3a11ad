"""The schedule space holds fast kernels: two ratios measured in one run on this CPU.

1. float32 matmul 1024^3 under a hand-picked Config, against numpy's ``a @ b`` (GFLOP/s ratio;
   the goal is >= 0.60).
2. dense + bias + relu fused into one kernel (the epilogue computed inside the matmul tile),
   against the same three ops run unfused as separate kernels: dense, a bias add, a relu
   (time ratio unfused / fused; the goal is > 1).

Run: ``python bench/bench_schedules.py`` (sets TVM_NUM_THREADS=2 unless already set; numpy's
BLAS gets the same thread count). Timings are medians, TVM's and numpy's rounds interleaved
so that load from other users of the machine hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

THREADS = os.environ.setdefault("TVM_NUM_THREADS", "2")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)

import numpy as np  # noqa: E402  (after the thread counts are set)

#: the hand-picked matmul 1024^3 config (knobs the rule set does not list keep their defaults)
MATMUL_1024 = {
    "C.tile.i": [16, 16, 1, 4],  # 4 rows x 32 columns (two zmm registers) per register tile
    "C.tile.j": [4, 1, 8, 32],
    "C.tile.k": [128, 8],
    "C.pack.B": 1,  # a packed B panel per outer j tile
    "C.write_at": 2,
    "C.parallel": 2,
    "C.vectorize": True,
    "C.unroll": 64,
}

#: dense + bias + relu: the same matmul tiling; write_at 2 fuses the epilogue into the tile
DENSE_SHAPE = dict(M=1024, N=1024, K=128)
DENSE_TILES = {"C.tile.i": [16, 16, 1, 4], "C.tile.j": [8, 1, 4, 32], "C.tile.k": [16, 8]}


def _config(space, overrides):  # noqa: ANN001, ANN202
    return space.default().replace(**overrides)


def _build(op, overrides, target):  # noqa: ANN001, ANN202
    import tvm

    import schedules

    space = schedules.space_for(op, target)
    cfg = _config(space, {k: v for k, v in overrides.items() if k in space.names})
    return tvm.compile(schedules.apply(op, cfg, target).mod, target=target.tvm_target()), cfg


def _tensors(op, rng, dev):  # noqa: ANN001, ANN202
    import tvm

    from dsl.dtypes import numpy_dtype
    from dsl.inputs import random_inputs

    ins = random_inputs(op, rng)
    outs = [np.zeros(op.shape_of(t), numpy_dtype(t.dtype)) for t in op.output_tensors]
    return ins, [tvm.runtime.tensor(x, dev) for x in ins + outs]


def _check(op, ex, ins, args):  # noqa: ANN001, ANN202
    from dsl.inputs import assert_close
    from dsl.reference import reference

    ex["main"](*args)
    assert_close(args[-1].numpy(), reference(op, *ins), op.output_tensors[-1].dtype, op.name)


def _median_secs(fn, number: int, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return float(np.median(times))


def bench_matmul(target, number: int, repeat: int, overrides: dict) -> float:  # noqa: ANN001
    import tvm

    from dsl import library

    n = 1024
    op = library.get("matmul").bind(M=n, N=n, K=n)
    ex, cfg = _build(op, {**MATMUL_1024, **overrides}, target)
    dev = tvm.cpu()
    ins, args = _tensors(op, np.random.default_rng(0), dev)
    _check(op, ex, ins, args)
    a, b = ins
    evaluator = ex.mod.time_evaluator("main", dev, number=number, repeat=1)
    tvm_times, np_times = [], []
    a @ b  # warm-up
    for _ in range(repeat):  # interleave so machine load hits both alike
        tvm_times.append(evaluator(*args).mean)
        np_times.append(_median_secs(lambda: a @ b, number, 1))
    flops = 2.0 * n**3
    tvm_gflops, np_gflops = flops / np.median(tvm_times) / 1e9, flops / np.median(np_times) / 1e9
    ratio = tvm_gflops / np_gflops
    print(f"matmul 1024^3 float32   opforge {tvm_gflops:7.1f} GFLOP/s   numpy {np_gflops:7.1f} GFLOP/s   ratio {ratio:.2f}  (goal >= 0.60)")
    print(f"  config {cfg.to_json()}")
    return ratio


def _bias_add_op(dtype: str = "float32"):  # noqa: ANN202
    """``Y[M, N] = C[M, N] + bias[N]``: the bias add of an unfused dense layer, in the DSL."""
    from dsl import Op, axes, compute, dims, tensor

    M, N = dims("M N")
    C, bias = tensor("C", (M, N), dtype), tensor("bias", (N,), dtype)
    i, j = axes(i=M, j=N)
    return Op("bias_add", [C, bias], [compute("Y", (i, j), C[i, j] + bias[j])])


def bench_fusion(target, number: int, repeat: int) -> float:  # noqa: ANN001
    import tvm

    from dsl import library

    dev = tvm.cpu()
    rng = np.random.default_rng(1)
    m, n = DENSE_SHAPE["M"], DENSE_SHAPE["N"]
    fused_op = library.get("dense", bias=True, epilogue="relu").bind(**DENSE_SHAPE)
    fused_ex, fused_cfg = _build(fused_op, {**DENSE_TILES, "C.write_at": 2}, target)
    ins, fused_args = _tensors(fused_op, rng, dev)
    _check(fused_op, fused_ex, ins, fused_args)
    x, w, bias = ins

    dense_op = library.get("dense").bind(**DENSE_SHAPE)
    bias_op = _bias_add_op().bind(M=m, N=n)
    relu_op = library.get("relu").bind(M=m, N=n)
    dense_ex, _ = _build(dense_op, DENSE_TILES, target)
    bias_ex, _ = _build(bias_op, {}, target)
    relu_ex, _ = _build(relu_op, {}, target)
    t = lambda a: tvm.runtime.tensor(a, dev)  # noqa: E731
    c, y1, y2 = (t(np.zeros((m, n), np.float32)) for _ in range(3))
    stages = [(dense_ex, [t(x), t(w), c]), (bias_ex, [c, t(bias), y1]), (relu_ex, [y1, y2])]
    for ex, args in stages:
        ex["main"](*args)
    np.testing.assert_allclose(y2.numpy(), fused_args[-1].numpy(), rtol=1e-4, atol=1e-4)

    fused_eval = fused_ex.mod.time_evaluator("main", dev, number=number, repeat=1)
    evals = [(ex.mod.time_evaluator("main", dev, number=number, repeat=1), args) for ex, args in stages]
    fused_times, unfused_times = [], []
    for _ in range(repeat):
        fused_times.append(fused_eval(*fused_args).mean)
        unfused_times.append(sum(ev(*args).mean for ev, args in evals))
    fused, unfused = float(np.median(fused_times)), float(np.median(unfused_times))
    ratio = unfused / fused
    shape = "x".join(str(DENSE_SHAPE[d]) for d in "MNK")
    print(f"dense+bias+relu {shape}   fused {fused * 1e3:7.3f} ms   unfused (3 kernels) {unfused * 1e3:7.3f} ms   speed-up {ratio:.2f}  (goal > 1)")
    print(f"  config {fused_cfg.to_json()}")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=5, help="runs per timing round")
    parser.add_argument("--repeat", type=int, default=7, help="timing rounds (the median is reported)")
    parser.add_argument("--matmul-config", default="{}", help="JSON knob overrides for the matmul config")
    args = parser.parse_args(argv)

    from targets import get_target

    target = get_target("cpu")
    print(f"target {target.name} ({target.hardware.get('model')}, {target.vector_bits}-bit vectors), TVM_NUM_THREADS={THREADS}")
    matmul_ratio = bench_matmul(target, args.number, args.repeat, json.loads(args.matmul_config))
    fusion_ratio = bench_fusion(target, args.number, args.repeat)
    ok = matmul_ratio >= 0.60 and fusion_ratio > 1.0
    print(f"matmul/numpy {matmul_ratio:.2f}   unfused/fused {fusion_ratio:.2f}   {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
