"""Tuned float32 matmul against numpy (its BLAS), measured in one run on this CPU.

Tunes ``--trials`` trials of matmul MxNxK (default 1024^3, evolutionary search), then times the
best kernel and ``a @ b`` on the same inputs, each in a worker process of its own (numpy's BLAS
threads never share a process with the tuner's XGBoost and TVM thread pools), interleaving rounds
so that load from other users hits both alike; prints the GFLOP/s of each and the ratio (goal >= 1.0).
Run: ``python bench/bench_tune_numpy.py [--trials 256] [--size 1024] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import os
import statistics

THREADS = os.environ.setdefault("TVM_NUM_THREADS", str(len(os.sched_getaffinity(0))))
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)


def blas_in_use() -> str:
    """numpy's BLAS and, for OpenBLAS, the kernels it picked for this CPU (a Haswell core type on an
    AVX-512 CPU means numpy runs AVX2 code: worth knowing beside the ratio)."""
    import ctypes
    import glob

    import numpy as np

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    text = f"numpy {np.__version__}, {blas.get('name')} {blas.get('version')}"
    for path in glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*")):
        lib = ctypes.CDLL(path)
        for symbol in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(lib, symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return f"{text}, core type {fn().decode()}"
    return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=256)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    from autotune.baselines import NumpyTimer
    from autotune.session import TuneOptions, TuningSession
    from autotune.store import MemoryStore
    from dsl.library import matmul
    from targets import get_target

    op = matmul().bind(M=a.size, N=a.size, K=a.size)
    target = get_target("cpu")
    opts = TuneOptions(trials=a.trials, seed=a.seed)
    with TuningSession(target, opts) as session:
        prepared = session.prepare(op)
        result = session.tuner(prepared, MemoryStore()).tune(opts.budget())
        if result.best_config is None:
            raise SystemExit("no working kernel was found")
        mine, theirs = [], []
        with NumpyTimer(target.cores) as time_numpy:  # a process of its own, as the kernel's runner is
            for _ in range(a.rounds):
                mine.append(session.measure(prepared, result.best_config).median_secs)
                theirs.append(time_numpy("matmul", "a @ b", prepared.check.path, len(prepared.inputs)))
    t_mine, t_np = statistics.median(mine), statistics.median(theirs)
    flops = op.flops()
    print(f"matmul {a.size}^3 float32, {a.trials} trials, seed {a.seed}, {THREADS} threads")
    print(f"opforge tuned: {t_mine * 1e3:.3f} ms  {flops / t_mine / 1e9:.1f} GFLOP/s")
    print(f"numpy a @ b:   {t_np * 1e3:.3f} ms  {flops / t_np / 1e9:.1f} GFLOP/s")
    print(f"numpy's BLAS: {blas_in_use()}")
    print(f"ratio opforge/numpy (GFLOP/s): {t_np / t_mine:.2f}x (goal >= 1.0)")
    print(f"config: {result.best_config.to_json()}")


if __name__ == "__main__":
    main()
