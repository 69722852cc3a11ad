"""opforge against TVM MetaSchedule (``tune_tir``, its default XGBoost model), same trial budgets.

For each workload, seed and budget, both tuners start from nothing on this CPU; the table gives each
one's best GFLOP/s and its tuning wall time, and the ratios (goals: opforge's GFLOP/s >=
MetaSchedule's, opforge's wall time <= MetaSchedule's). Both best kernels are re-timed at the end by
opforge's runner in interleaved rounds, so the clock and the machine's load are the same for both.
MetaSchedule's first import of its tensor intrinsics (30-45 s) is paid before its clock starts.

Run: ``python bench/bench_tune_metaschedule.py [--budgets 64,256] [--workloads matmul,conv2d,dense] [--seeds 0,1,2] [--small]``
(on a 2-core machine 30 minutes per seed for the three workloads when it is quiet, about 55 when it
is loaded). After the rows it prints, per workload and budget, the median ratios over the seeds.
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


def metaschedule_best(op: object, target: object, trials: int, seed: int, out_dir: str) -> tuple[str | None, float]:
    """(MetaSchedule's chosen kernel exported under ``out_dir`` or None, tuning wall secs)."""
    import tvm
    from tvm.s_tir import meta_schedule as ms

    from schedules import padding, program_of

    # the padding in a stage of its own, as TOPI writes conv2d: MetaSchedule's rules keep a stage with
    # a bounds test out of its consumer (AutoInline's disallow_if_then_else) and place it themselves
    mod = tvm.IRModule({"main": padding.separated(program_of(op))})
    tvm_target = target.tvm_target()  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as work:
        start = time.monotonic()
        builder = ms.builder.LocalBuilder(timeout_sec=METASCHEDULE_BUILD_TIMEOUT_SECS)
        database = ms.tune_tir(mod, tvm_target, work, max_trials_global=trials, num_trials_per_iter=min(64, trials), seed=seed, builder=builder)
        wall = time.monotonic() - start
        sch = ms.tir_integration.compile_tir(database, mod, tvm_target)
    if sch is None:
        return None, wall
    lib_path = os.path.join(out_dir, f"metaschedule_{trials}.so")
    tvm.compile(sch.mod, target=tvm_target).export_library(lib_path)
    return lib_path, wall


def opforge_runs(op: object, target: object, budgets: list[int], seed: int) -> dict[int, tuple[object, float]]:
    """{budget: (best Config, wall secs to that trial)} from one guided run of the largest budget.

    The first ``b`` trials of a run do not depend on the run's length (batches of 8), so one run
    gives every smaller budget's best Config and the wall time it took to get there.
    """
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
    for b in budgets:
        config, at = marks.get(b, (best[0], last_trial))
        out[b] = (config, at + startup)
    return out


def retime(op: object, target: object, seed: int, configs: dict[str, object], libs: dict[str, str | None], rounds: int) -> dict[str, float]:
    """Median seconds of each kernel over ``rounds`` rounds that time every kernel once, in turn.

    Interleaved, so a change of the machine's load between the two tuners' runs reaches both alike.
    ``configs``: opforge Configs (built here once); ``libs``: exported libraries (None: no kernel).
    """
    from autotune.measure.result import BuildResult
    from autotune.session import TuneOptions, TuningSession
    from autotune.tuner import discard_build

    with TuningSession(target, TuneOptions(seed=seed)) as session:
        prepared = session.prepare(op)
        labels = [k for k, c in configs.items() if c is not None]
        builds = dict(zip(labels, session.builder.build(prepared.func, [configs[k] for k in labels], target)))  # type: ignore[arg-type]
        builds.update({k: BuildResult(artifact=p) for k, p in libs.items() if p is not None})
        times: dict[str, list[float]] = {k: [] for k in builds}
        for _ in range(rounds):
            for label, build in builds.items():
                (res,) = session.runner.run([build], prepared.args, prepared.check)
                times[label].append(res.median_secs)
        for label in labels:
            discard_build(builds[label])
    out = {k: statistics.median(v) for k, v in times.items()}
    return {k: out.get(k, float("inf")) for k in list(configs) + list(libs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="matmul,conv2d,dense")
    p.add_argument("--budgets", default="64,256")
    p.add_argument("--seeds", default="0,1,2", help="both tuners run once per seed")
    p.add_argument("--small", action="store_true")
    p.add_argument("--rounds", type=int, default=5, help="interleaved re-timings of both tuners' best kernels")
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
            with tempfile.TemporaryDirectory() as out_dir:
                theirs = {trials: metaschedule_best(op, target, trials, seed, out_dir) for trials in budgets}
                secs = retime(op, target, seed, {f"opforge_{t}": mine[t][0] for t in budgets},
                              {f"metaschedule_{t}": theirs[t][0] for t in budgets}, a.rounds)
            for trials in budgets:
                my_wall, ms_wall = mine[trials][1], theirs[trials][1]
                row = {
                    "workload": name, "seed": seed, "trials": trials,
                    "opforge_gflops": gflops(op, secs[f"opforge_{trials}"]), "metaschedule_gflops": gflops(op, secs[f"metaschedule_{trials}"]),
                    "opforge_wall_secs": my_wall, "metaschedule_wall_secs": ms_wall,
                    "opforge_config": mine[trials][0].to_json() if mine[trials][0] is not None else None,  # type: ignore[attr-defined]
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
            seed_rows = [r for r in rows if r["workload"] == name and r["trials"] == trials]
            ratios = [r["gflops_ratio"] for r in seed_rows if r["gflops_ratio"] is not None]
            walls = [r["wall_ratio"] for r in seed_rows if r["wall_ratio"] is not None]
            if ratios and walls:
                print(f"{name} @{trials}: median GFLOP/s ratio {statistics.median(ratios):.2f} (goal >= 1), "
                      f"median wall ratio {statistics.median(walls):.2f} (goal <= 1) over seeds {a.seeds}")


if __name__ == "__main__":
    main()
