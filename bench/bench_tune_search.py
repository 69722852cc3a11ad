"""Sample efficiency: model-guided (evolutionary + XGBoost) against random search, same run.

For each workload and seed, both searches tune from scratch (in-memory store, no warm start, both
measuring the rule-derived default schedule first): random search for ``--trials`` trials, then
guided search until it reaches random's best (never fewer than half the trials, never more than
all). The table gives each one's best GFLOP/s at 64 and 128 trials, the ratio guided/random at 128
(goal >= 1.2), and the trials guided search needs to reach random search's best after all its
trials (goal: within one third of them).

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
from bench_tune_common import UntilReached, gflops, trials_to_reach, tune_in_memory, workload  # noqa: E402


def _best_at(result: object, n: int) -> float:
    curve = result.best_so_far  # type: ignore[attr-defined]
    return curve[min(n, len(curve)) - 1] if curve else float("inf")


def compare(name: str, op: object, target: object, trials: int, seed: int) -> dict[str, object]:
    """Random search for ``trials``, then guided search until it matches random's best (at least half the trials)."""
    rand = tune_in_memory(op, target, "random", trials, seed)
    half = trials // 2
    guided = tune_in_memory(op, target, "evolutionary", trials, seed, budget=UntilReached(half, trials, rand.best_secs))
    r: dict[str, object] = {
        "workload": name, "seed": seed, "trials": trials,
        "guided_gflops_64": gflops(op, _best_at(guided, 64)), "random_gflops_64": gflops(op, _best_at(rand, 64)),
        f"guided_gflops_{half}": gflops(op, _best_at(guided, half)), f"random_gflops_{half}": gflops(op, _best_at(rand, half)),
        f"random_gflops_{trials}": gflops(op, rand.best_secs), "guided_trials_run": guided.trials,
        "guided_trials_to_random_best": trials_to_reach(guided.best_so_far, rand.best_secs),
        "default_gflops": gflops(op, rand.history_secs[0]) if rand.history_secs else 0.0,
        "guided_wall_secs": guided.elapsed_secs, "random_wall_secs": rand.elapsed_secs,
    }
    g, rr = r[f"guided_gflops_{half}"], r[f"random_gflops_{half}"]
    r[f"ratio_{half}"] = g / rr if rr else None  # type: ignore[operator]
    return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="matmul,conv2d,dense")
    p.add_argument("--trials", type=int, default=256)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--small", action="store_true", help="small shapes, for a smoke run")
    p.add_argument("--out", default=None, help="append each row as a JSON line to this file as it is measured")
    a = p.parse_args()
    from targets import get_target

    target = get_target("cpu")
    half = a.trials // 2
    rows = []
    for name in a.workloads.split(","):
        op = workload(name, a.small)
        for seed in (int(s) for s in a.seeds.split(",")):
            r = compare(name, op, target, a.trials, seed)
            rows.append(r)
            if a.out:
                with open(a.out, "a") as f:
                    f.write(json.dumps(r) + "\n")
            need = r["guided_trials_to_random_best"]
            print(f"{name:7s} seed {seed}: guided {r['guided_gflops_64']:7.1f} / {r[f'guided_gflops_{half}']:7.1f} GFLOP/s at 64 / {half}, "
                  f"random {r['random_gflops_64']:7.1f} / {r[f'random_gflops_{half}']:7.1f} (/ {r[f'random_gflops_{a.trials}']:.1f} at {a.trials}); "
                  f"ratio at {half} {r[f'ratio_{half}'] or 0:.2f}x; guided reaches random's {a.trials}-trial best at trial "
                  f"{need if need else 'never (ran ' + str(r['guided_trials_run']) + ')'}; default schedule {r['default_gflops']:.1f}", flush=True)
    for name in a.workloads.split(","):
        mine = [r for r in rows if r["workload"] == name]
        ratios = [r[f"ratio_{half}"] for r in mine if r[f"ratio_{half}"]]
        needs = [r["guided_trials_to_random_best"] or float("inf") for r in mine]
        print(f"{name}: median ratio at {half} = {statistics.median(ratios):.2f}x (goal >= 1.2); "
              f"median trials to random's {a.trials}-trial best = {statistics.median(needs)} (goal <= {a.trials // 3})")


if __name__ == "__main__":
    main()
