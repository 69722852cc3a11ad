"""Tuned CUDA kernels against PyTorch (cuBLAS / cuDNN), measured in the same run on the same GPU.

``python bench/bench_cuda.py --trials 64 --db sqlite:///cuda.db`` tunes each workload with
``opforge tune --target cuda`` and then times ``torch.matmul`` / ``torch.nn.functional.conv2d``
on the same shapes with CUDA events; it prints GFLOP/s of both and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Callable

WORKLOADS = [
    # (label, op, shape, dtype, param)
    ("matmul 4096^3 f32", "matmul", "M=4096,N=4096,K=4096", "float32", None),
    ("matmul 4096^3 f16", "matmul", "M=4096,N=4096,K=4096", "float16", None),
    ("conv2d r50 1x64x56x56->64 3x3 f32", "conv2d_nchw", "N=1,C=64,H=56,W=56,K=64,R=3,S=3", "float32", "padding=1"),
]


def tune(op: str, shape: str, dtype: str, param: str | None, trials: int, db: str, seed: int) -> dict:
    cmd = [sys.executable, "-m", "autotune.cli", "tune", op, "--shape", shape, "--dtype", dtype, "--target", "cuda",
           "--trials", str(trials), "--db", db, "--seed", str(seed), "--json"]
    if param:
        cmd += ["--param", param]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def torch_secs(op: str, shape: str, dtype: str, param: str | None) -> float:
    import torch

    sizes = dict((k, int(v)) for k, v in (x.split("=") for x in shape.split(",")))
    dt = getattr(torch, dtype)
    torch.backends.cuda.matmul.allow_tf32 = False  # opforge computes float32 in float32
    torch.backends.cudnn.allow_tf32 = False
    if op == "matmul":
        a = torch.randn(sizes["M"], sizes["K"], device="cuda", dtype=dt)
        b = torch.randn(sizes["K"], sizes["N"], device="cuda", dtype=dt)
        fn = lambda: torch.matmul(a, b)  # noqa: E731
    else:
        pad = int(param.split("=")[1]) if param else 0
        x = torch.randn(sizes["N"], sizes["C"], sizes["H"], sizes["W"], device="cuda", dtype=dt)
        w = torch.randn(sizes["K"], sizes["C"], sizes["R"], sizes["S"], device="cuda", dtype=dt)
        fn = lambda: torch.nn.functional.conv2d(x, w, padding=pad)  # noqa: E731
    return event_secs(fn)


def event_secs(fn: Callable[[], object]) -> float:
    """Median seconds of one call of ``fn`` on the GPU: 10 warm-up calls, then 20 rounds of 10 calls
    timed with CUDA events."""
    import torch

    for _ in range(10):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(20):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(10):
            fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 10 / 1e3)
    times.sort()
    return times[len(times) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--db", default="sqlite:///cuda_bench.db")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="substring of the workload labels to run")
    args = parser.parse_args()
    rows = []
    for label, op, shape, dtype, param in WORKLOADS:
        if args.only and args.only not in label:
            continue
        result = tune(op, shape, dtype, param, args.trials, args.db, args.seed)
        task = result["tasks"][0] if "tasks" in result else result
        if task["best_secs"] is None:
            print(f"{label}: no correct kernel in {task['trials']} trials ({task['failed_trials']} failed); see {args.db}", flush=True)
            continue
        best_secs = task["best_secs"]
        flops = task["gflops"] * 1e9 * best_secs
        peer = torch_secs(op, shape, dtype, param)
        rows.append((label, flops / best_secs / 1e9, flops / peer / 1e9, peer / best_secs, task.get("trials")))
        print(f"{label}: opforge {rows[-1][1]:.0f} GFLOP/s, torch {rows[-1][2]:.0f} GFLOP/s, ratio {rows[-1][3]:.2f}", flush=True)
    print("\n| workload | trials | opforge GFLOP/s | torch GFLOP/s | opforge / torch |")
    print("| --- | --- | --- | --- | --- |")
    for label, ours, theirs, ratio, trials in rows:
        print(f"| {label} | {trials} | {ours:.0f} | {theirs:.0f} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
