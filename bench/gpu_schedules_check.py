"""Run random GPU configs of the CUDA rule set on a real GPU and check each against dsl.reference.

Run on a machine with TVM and an NVIDIA GPU: ``python bench/gpu_schedules_check.py --configs 30``.
Prints one line per (op, size) with how many configs built, ran and matched, and any mismatch.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def cases():
    from dsl import library

    return {
        "matmul 128x96x64": library.get("matmul").bind(M=128, N=96, K=64),
        "matmul 97x61x33": library.get("matmul").bind(M=97, N=61, K=33),
        "matmul 1024^3": library.get("matmul").bind(M=1024, N=1024, K=1024),
        "matmul f16 256x192x4096": library.get("matmul", dtype="float16").bind(M=256, N=192, K=4096),
        "conv2d 1x8x14x14->16 3x3 p1": library.get("conv2d_nchw", padding=1).bind(N=1, C=8, H=14, W=14, K=16, R=3, S=3),
        "conv2d 1x64x56x56->64 3x3 p1": library.get("conv2d_nchw", padding=1).bind(N=1, C=64, H=56, W=56, K=64, R=3, S=3),
        "conv2d 1x3x17x17->5 3x3 s2": library.get("conv2d_nchw", stride=2).bind(N=1, C=3, H=17, W=17, K=5, R=3, S=3),
        "softmax 33x97": library.get("softmax").bind(M=33, N=97),
        "softmax 1024x1024": library.get("softmax").bind(M=1024, N=1024),
        "dense+relu 32x64x48": library.get("dense", bias=True, epilogue="relu").bind(M=32, N=64, K=48),
        "layer_norm 64x257": library.get("layer_norm").bind(M=64, N=257),
    }


def main() -> int:
    import tvm

    from dsl.dtypes import numpy_dtype
    from dsl.inputs import assert_close, random_inputs
    from dsl.reference import reference
    from schedules import ScheduleError, apply, space_for
    from targets import get_target

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="run the cases whose label contains this text")
    args = parser.parse_args()
    target = get_target("cuda")
    dev = tvm.cuda()
    failures = 0
    for name, op in cases().items():
        if args.only and args.only not in name:
            continue
        rng = np.random.default_rng(args.seed)
        space = space_for(op, target)
        built = matched = rejected = 0
        t0 = time.time()
        ins = random_inputs(op, rng)
        want = reference(op, *ins)
        for cfg in [space.default()] + space.sample(args.configs - 1, rng):
            try:
                sch = apply(op, cfg, target)
            except ScheduleError:
                rejected += 1
                continue
            ex = tvm.compile(sch.mod, target=target.tvm_target())
            built += 1
            outs = [np.zeros(op.shape_of(t), numpy_dtype(t.dtype)) for t in op.output_tensors]
            tensors = [tvm.runtime.tensor(x, dev) for x in ins + outs]
            ex["main"](*tensors)
            dev.sync()
            try:
                assert_close(tensors[-1].numpy(), want, op.output_tensors[-1].dtype, name)
                matched += 1
            except AssertionError as e:
                failures += 1
                print(f"MISMATCH {name} {cfg.to_json()}: {str(e).splitlines()[0]}")
        print(f"{name:32s} space {space.size:.3g}  configs {args.configs}  rejected(limits) {rejected}  built+ran {built}  matched {matched}  ({time.time() - t0:.1f} s)")
        sys.stdout.flush()
    print(f"mismatches: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
