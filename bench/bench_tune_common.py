"""Shared by the bench_tune_* scripts: the workloads of issue 4 and a tuning run kept in memory."""

from __future__ import annotations

import math
from typing import Any

#: name -> (builder, sizes); ``--small`` sizes keep a smoke run under a few minutes on 2 cores
WORKLOADS = {
    "matmul": (lambda: _lib().matmul(), {"M": 1024, "N": 1024, "K": 1024}, {"M": 128, "N": 128, "K": 128}),
    "conv2d": (lambda: _lib().conv2d_nchw(padding=1), {"N": 1, "C": 64, "H": 56, "W": 56, "K": 64, "R": 3, "S": 3},
               {"N": 1, "C": 16, "H": 14, "W": 14, "K": 16, "R": 3, "S": 3}),
    "dense": (lambda: _lib().dense(bias=True, epilogue="relu"), {"M": 1024, "N": 1024, "K": 1024}, {"M": 128, "N": 128, "K": 128}),
}


def _lib() -> Any:
    import dsl.library

    return dsl.library


def workload(name: str, small: bool) -> Any:
    if name not in WORKLOADS:
        raise SystemExit(f"unknown workload {name!r}; expected one of {sorted(WORKLOADS)}")
    build, sizes, small_sizes = WORKLOADS[name]
    return build().bind(**(small_sizes if small else sizes))


def tune_in_memory(
    op: Any, target: Any, strategy: str, trials: int, seed: int, budget: Any = None, on_trial: Any = None, with_default: bool = True,
    **options: Any,
) -> Any:
    """One run with a fresh in-memory store (no warm start): the TuneResult with its history.

    ``budget`` replaces the plain ``trials`` budget (anything with ``max_trials`` and ``stop_reason``);
    ``with_default=False`` leaves out the rule-derived default Config the tuner measures first.
    """
    from autotune.session import TuneOptions, TuningSession
    from autotune.store import MemoryStore

    opts = TuneOptions(trials=trials, strategy=strategy, seed=seed, **options)
    with TuningSession(target, opts) as session:
        prepared = session.prepare(op)
        initial = None if with_default else ()
        return session.tuner(prepared, MemoryStore(), on_trial=on_trial, initial=initial).tune(budget or opts.budget())


def trials_to_reach(best_so_far: tuple[float, ...], goal: float) -> int | None:
    """1-based trial at which the best-so-far curve first reaches ``goal``; None if never."""
    for i, b in enumerate(best_so_far, 1):
        if b <= goal:
            return i
    return None


def gflops(op: Any, secs: float) -> float:
    return op.flops() / secs / 1e9 if math.isfinite(secs) and secs > 0 else 0.0
