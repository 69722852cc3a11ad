"""opforge against TVM MetaSchedule (``tune_tir``, its default XGBoost model), same trial budgets.

For each workload and budget, both tuners start from nothing on this CPU; the table gives each
one's best GFLOP/s (its best kernel re-measured here by opforge's runner for both, so the clock
is the same) and its tuning wall time, and the ratios (goals: opforge's GFLOP/s >= MetaSchedule's,
opforge's wall time <= MetaSchedule's). MetaSchedule's first import of its tensor intrinsics
(30-45 s) is paid before its clock starts.

Run: ``python bench/bench_tune_metaschedule.py [--budgets 64,256] [--workloads matmul,conv2d,dense] [--seeds 0,1,2] [--small]``
(about 27 minutes per seed for the three workloads on a 2-core machine). After the rows it prints,
per workload and budget, the median ratios over the seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_tune_common import gflops, tune_in_memory, workload  # noqa: E402


# MetaSchedule's build imports ``tvm.s_tir.tensor_intrin`` in each fresh worker (it starts a new pool
# every batch), inside the build's timeout, 30 s by default. On a loaded 2-core machine that import
# alone takes 45 s and every build timed out; 120 s lets its builds finish and costs it nothing else.
METASCHEDULE_BUILD_TIMEOUT_SECS = 120.0


def metaschedule_best_secs(op: object, target: object, trials: int, seed: int) -> tuple[float, float]:
    """(best seconds of MetaSchedule's chosen kernel re-measured by opforge's runner, tuning wall secs)."""
    import tvm
    from tvm.s_tir import meta_schedule as ms

    from autotune.measure.check import arg_specs, make_check
    from autotune.measure.result import BuildResult
    from autotune.measure.runner import Runner
    from dsl.lower import lower
    import numpy as np

    func = lower(op)
    mod = tvm.IRModule({"main": func})
    tvm_target = target.tvm_target()  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as work:
        start = time.monotonic()
        builder = ms.builder.LocalBuilder(timeout_sec=METASCHEDULE_BUILD_TIMEOUT_SECS)
        database = ms.tune_tir(mod, tvm_target, work, max_trials_global=trials, num_trials_per_iter=min(64, trials), seed=seed, builder=builder)
        wall = time.monotonic() - start
        sch = ms.tir_integration.compile_tir(database, mod, tvm_target)
        if sch is None:
            return float("inf"), wall
        lib_path = os.path.join(work, "best.so")
        tvm.compile(sch.mod, target=tvm_target).export_library(lib_path)
        check = make_check(op, np.random.default_rng(seed), work)
        with Runner(env={"TVM_NUM_THREADS": str(target.cores)}) as runner:  # type: ignore[attr-defined]
            (res,) = runner.run([BuildResult(artifact=lib_path)], arg_specs(op), check)
        return res.median_secs, wall


def opforge_runs(op: object, target: object, budgets: list[int], seed: int) -> dict[int, tuple[float, float]]:
    """{budget: (best seconds re-measured, wall secs to that trial)} from one guided run of the largest budget.

    The first ``b`` trials of a run do not depend on the run's length (batches of 8), so one run
    gives every smaller budget's best Config and the wall time it took to get there.
    """
    from autotune.session import TuneOptions, TuningSession

    marks: dict[int, tuple[object, float]] = {}
    best: list[object] = [None, float("inf")]

    def on_trial(ev: object) -> None:
        if ev.result.ok and ev.result.median_secs < best[1]:  # type: ignore[attr-defined]
            best[:] = [ev.config, ev.result.median_secs]  # type: ignore[attr-defined]
        if ev.index in budgets:  # type: ignore[attr-defined]
            marks[ev.index] = (best[0], ev.elapsed_secs)  # type: ignore[attr-defined]

    start = time.monotonic()
    tune_in_memory(op, target, "evolutionary", max(budgets), seed, on_trial=on_trial)
    total = time.monotonic() - start
    last_trial = max(marks.values(), key=lambda m: m[1])[1] if marks else total
    startup = total - last_trial  # session start-up and shut-down, which the trial clock does not see
    out = {}
    with TuningSession(target, TuneOptions(seed=seed)) as session:
        prepared = session.prepare(op)
        for b in budgets:
            config, at = marks.get(b, (best[0], last_trial))
            secs = session.measure(prepared, config).median_secs if config is not None else float("inf")
            out[b] = (secs, at + startup)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="matmul,conv2d,dense")
    p.add_argument("--budgets", default="64,256")
    p.add_argument("--seeds", default="0,1,2", help="both tuners run once per seed")
    p.add_argument("--small", action="store_true")
    p.add_argument("--out", default=None, help="append each row as a JSON line to this file as it is measured")
    a = p.parse_args()
    import tvm.s_tir.tensor_intrin  # noqa: F401  (paid once, before any clock starts)
    from targets import get_target

    target = get_target("cpu")
    budgets = sorted(int(b) for b in a.budgets.split(","))
    seeds = [int(s) for s in a.seeds.split(",")]
    rows = []
    for name in a.workloads.split(","):
        op = workload(name, a.small)
        for seed in seeds:
            mine = opforge_runs(op, target, budgets, seed)
            for trials in budgets:
                my_secs, my_wall = mine[trials]
                ms_secs, ms_wall = metaschedule_best_secs(op, target, trials, seed)
                row = {
                    "workload": name, "seed": seed, "trials": trials,
                    "opforge_gflops": gflops(op, my_secs), "metaschedule_gflops": gflops(op, ms_secs),
                    "opforge_wall_secs": my_wall, "metaschedule_wall_secs": ms_wall,
                }
                row["gflops_ratio"] = row["opforge_gflops"] / row["metaschedule_gflops"] if row["metaschedule_gflops"] else None
                row["wall_ratio"] = my_wall / ms_wall if ms_wall else None
                rows.append(row)
                print(json.dumps(row), flush=True)
                if a.out:
                    with open(a.out, "a") as f:
                        f.write(json.dumps(row) + "\n")
    for name in a.workloads.split(","):
        for trials in budgets:
            mine = [r for r in rows if r["workload"] == name and r["trials"] == trials]
            ratios = [r["gflops_ratio"] for r in mine if r["gflops_ratio"] is not None]
            walls = [r["wall_ratio"] for r in mine if r["wall_ratio"] is not None]
            if ratios and walls:
                print(f"{name} @{trials}: median GFLOP/s ratio {statistics.median(ratios):.2f} (goal >= 1), "
                      f"median wall ratio {statistics.median(walls):.2f} (goal <= 1) over seeds {a.seeds}")

if __name__ == "__main__":
    main()
