"""Writes landscape_784.json: a recorded-timings file for the search tests (run once; kept in git).

A synthetic but structured landscape over 784 configs (tile sizes with an optimum, an unroll
sweet spot, vectorize and order interacting, noise per config, some failures), so that a guided
search has something to learn and a test can tell it from random search.
Run: python tests/autotune/data/make_landscape.py
"""

import itertools
import json
import math
from pathlib import Path

import numpy as np

KNOBS = {
    "tile_i": [1, 2, 4, 8, 16, 32, 64],
    "tile_j": [1, 2, 4, 8, 16, 32, 64],
    "unroll": [0, 4, 16, 64],
    "vectorize": [False, True],
    "order": ["ij", "ji"],
}


def main() -> None:
    rng = np.random.default_rng(1234)
    trials = {}
    for values in itertools.product(*KNOBS.values()):
        cfg = dict(zip(KNOBS, values))
        key = json.dumps(cfg, sort_keys=True, separators=(",", ":"))
        ti, tj = math.log2(cfg["tile_i"]), math.log2(cfg["tile_j"])
        if cfg["tile_i"] * cfg["tile_j"] > 1024:
            trials[key] = {"status": "build_error", "error": "build: tile exceeds the register budget"}
            continue
        if cfg["unroll"] == 64 and cfg["tile_j"] == 1 and cfg["order"] == "ji":
            trials[key] = {"status": "wrong_result", "error": "wrong result: max abs error 3.2"}
            continue
        secs = 1e-3 * (1 + 0.15 * (ti - 3) ** 2 + 0.25 * (tj - 4) ** 2)
        secs *= {0: 1.4, 4: 1.1, 16: 1.0, 64: 1.25}[cfg["unroll"]]
        secs *= 0.55 if cfg["vectorize"] and cfg["order"] == "ij" else 0.9 if cfg["vectorize"] else 1.0
        secs *= math.exp(rng.normal(0, 0.05))
        trials[key] = {"status": "ok", "run_secs": [round(secs * math.exp(rng.normal(0, 0.01)), 9) for _ in range(3)]}
    out = {"knobs": KNOBS, "trials": trials}
    Path(__file__).with_name("landscape_784.json").write_text(json.dumps(out, indent=0, sort_keys=True))


if __name__ == "__main__":
    main()
