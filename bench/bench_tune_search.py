"""Sample efficiency: model-guided (evolutionary + XGBoost) against random search, same run.

For each workload and seed, both searches tune from scratch (in-memory store, no warm start)
for ``--trials`` trials; the table gives each one's best GFLOP/s at 64 and 128 trials, the
ratio guided/random at 128 (goal >= 1.2), and the trials guided search needs to reach random
search's best after all its trials (goal: within one third of them).

Run: ``python bench/bench_tune_search.py`` (issue 4's workloads, 256 trials, seeds 0 1 2: hours
on a 2-core machine) or ``--small --trials 64`` for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from bench_tune_common import gflops, trials_to_reach, tune_in_memory, workload  # noqa: E402


def _best_at(result: object, n: int) -> float:
    curve = result.best_so_far  # type: ignore[attr-defined]
    return curve[min(n, len(curve)) - 1] if curve else float("inf")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="matmul,conv2d,dense")
    p.add_argument("--trials", type=int, default=256)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--small", action="store_true", help="small shapes, for a smoke run")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    from targets import get_target

    target = get_target("cpu")
    rows = []
    for name in a.workloads.split(","):
        op = workload(name, a.small)
        for seed in (int(s) for s in a.seeds.split(",")):
            guided = tune_in_memory(op, target, "evolutionary", a.trials, seed)
            rand = tune_in_memory(op, target, "random", a.trials, seed)
            goal = rand.best_secs
            need = trials_to_reach(guided.best_so_far, goal)
            rows.append({
                "workload": name, "seed": seed, "trials": a.trials,
                "guided_gflops_64": gflops(op, _best_at(guided, 64)), "random_gflops_64": gflops(op, _best_at(rand, 64)),
                "guided_gflops_128": gflops(op, _best_at(guided, 128)), "random_gflops_128": gflops(op, _best_at(rand, 128)),
                "guided_trials_to_random_best": need,
                "guided_wall_secs": guided.elapsed_secs, "random_wall_secs": rand.elapsed_secs,
            })
            r = rows[-1]
            r["ratio_128"] = r["guided_gflops_128"] / r["random_gflops_128"] if r["random_gflops_128"] else None
            print(json.dumps(r) if a.json else
                  f"{name:7s} seed {seed}: guided {r['guided_gflops_64']:8.1f} / {r['guided_gflops_128']:8.1f} GFLOP/s at 64 / 128, "
                  f"random {r['random_gflops_64']:8.1f} / {r['random_gflops_128']:8.1f}; ratio at 128 {r['ratio_128'] or 0:.2f}x; "
                  f"guided reaches random's {a.trials}-trial best at trial {need}", flush=True)
    if not a.json:
        for name in a.workloads.split(","):
            mine = [r for r in rows if r["workload"] == name]
            ratios = [r["ratio_128"] for r in mine if r["ratio_128"]]
            needs = [r["guided_trials_to_random_best"] or float("inf") for r in mine]
            print(f"{name}: median ratio at 128 = {statistics.median(ratios):.2f}x (goal >= 1.2); "
                  f"median trials to random's best = {statistics.median(needs)} of {a.trials} (goal <= {a.trials // 3})")


if __name__ == "__main__":
    main()
