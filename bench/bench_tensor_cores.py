"""float16 products on CUDA tensor cores (``C.tensorize = mma``) against opforge's SIMT schedule and PyTorch.

For each workload: the space's default Config (SIMT, float32 accumulation in registers), the same
with ``mma``, and ``--samples`` random Configs with ``mma`` (random tile knobs), each built, checked
on random inputs against the same product computed by torch in float32 and rounded to float16 once
(what ``dsl.reference`` computes; numpy would take minutes at 4096^3; the tests check small sizes
against ``dsl.reference`` itself) and timed with TVM's time_evaluator; then ``torch.matmul`` / ``torch.nn.functional.linear`` (cuBLAS, float16 with float32
accumulation) timed with CUDA events in the same run. Prints GFLOP/s and the ratio to torch.
A Config past the GPU's limits is skipped (ScheduleError), as the tuner would.

Needs TVM with CUDA, numpy and torch. Run: ``python bench/bench_tensor_cores.py [--size 4096] [--samples 8]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from bench_cuda import event_secs  # noqa: E402


def workloads(size: int) -> dict[str, Any]:
    from dsl import library

    return {
        f"matmul {size}^3 f16": library.get("matmul", dtype="float16").bind(M=size, N=size, K=size),
        f"dense {size}x{size}x{size} f16 + bias + relu": library.get("dense", dtype="float16", bias=True, epilogue="relu").bind(M=size, N=size, K=size),
    }


def expected(name: str, inputs: list[np.ndarray]) -> np.ndarray:
    """The float16 result of ``name`` on ``inputs``: float32 arithmetic, rounded once."""
    import torch

    t = [torch.from_numpy(x).cuda().float() for x in inputs]
    out = torch.matmul(t[0], t[1]) if name.startswith("matmul") else torch.relu(torch.nn.functional.linear(t[0], t[1], t[2]))
    return out.half().cpu().numpy()


def torch_secs(name: str, inputs: list[np.ndarray]) -> float:
    import torch

    t = [torch.from_numpy(x).cuda() for x in inputs]
    fn = (lambda: torch.matmul(t[0], t[1])) if name.startswith("matmul") else (lambda: torch.relu(torch.nn.functional.linear(t[0], t[1], t[2])))
    return event_secs(fn)


def main() -> int:
    import tvm

    from dsl.dtypes import numpy_dtype
    from dsl.inputs import assert_close, random_inputs
    from schedules import ScheduleError, apply, space_for
    from targets import get_target

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    target = get_target("cuda")
    dev = tvm.cuda()
    rng = np.random.default_rng(a.seed)
    failures = 0
    for name, op in workloads(a.size).items():
        space = space_for(op, target)
        default = space.default()
        configs = [("SIMT default", default), ("mma default", default.replace(**{"C.tensorize": "mma"}))]
        configs += [(f"mma sample {i}", c.replace(**{"C.tensorize": "mma"})) for i, c in enumerate(space.sample(a.samples, rng))]
        ins = random_inputs(op, rng)
        want = expected(name, ins)
        flops = 2.0 * a.size**3
        best: dict[str, tuple[float, Any]] = {}
        for label, cfg in configs:
            try:
                sch = apply(op, cfg, target)
            except ScheduleError as e:
                print(f"{name} | {label}: skipped ({str(e)[:100]})", flush=True)
                continue
            t0 = time.monotonic()
            ex = tvm.compile(sch.mod, target=target.tvm_target())
            built = time.monotonic() - t0
            outs = [np.zeros(op.shape_of(t), numpy_dtype(t.dtype)) for t in op.output_tensors]
            args = [tvm.runtime.tensor(x, dev) for x in ins + outs]
            ex["main"](*args)
            try:
                assert_close(args[-1].numpy(), want, op.output_tensors[-1].dtype, f"{name} {label}")
            except AssertionError as e:
                failures += 1
                print(f"{name} | {label}: WRONG {str(e)[:200]}", flush=True)
                continue
            secs = float(np.median(ex.mod.time_evaluator("main", dev, number=5, repeat=5)(*args).results))
            kind = label.split()[0]
            if secs < best.get(kind, (np.inf,))[0]:
                best[kind] = (secs, cfg)
            print(f"{name} | {label}: {secs * 1e3:.3f} ms, {flops / secs / 1e9:,.0f} GFLOP/s (built in {built:.1f} s) {cfg.to_json() if kind == 'mma' else ''}", flush=True)
        peer = torch_secs(name, ins)
        print(f"{name} | torch: {peer * 1e3:.3f} ms, {flops / peer / 1e9:,.0f} GFLOP/s", flush=True)
        for kind, (secs, _) in sorted(best.items()):
            print(f"{name} | best {kind}: {flops / secs / 1e9:,.0f} GFLOP/s = {peer / secs:.2f}x torch", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
