"""Fakes for the search tests: a Space over recorded timings, and a builder and runner that replay them.

``landscape_784.json`` maps each Config JSON to its status and run seconds (see
``data/make_landscape.py``); the replaying runner measures nothing and remembers every config it
was asked for, so a test can check that none is measured twice.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from autotune.measure.result import BuildResult, MeasureResult
from schedules.space import Knob, Space

DATA = Path(__file__).parent / "data"


def load_landscape(name: str = "landscape_784.json") -> tuple[Space, dict[str, dict[str, Any]]]:
    d = json.loads((DATA / name).read_text())
    space = Space(tuple(Knob(k, tuple(v)) for k, v in d["knobs"].items()))
    return space, d["trials"]


class ReplayBuilder:
    """Builds nothing: the 'artifact' is the Config JSON; recorded build errors come back as such."""

    def __init__(self, trials: dict[str, dict[str, Any]]) -> None:
        self.trials = trials
        self.built: Counter[str] = Counter()

    def build(self, func: Any, configs: Sequence[Any], target: Any) -> list[BuildResult]:
        out = []
        for c in configs:
            self.built[c.to_json()] += 1
            rec = self.trials[c.to_json()]
            if rec["status"] == "build_error":
                out.append(BuildResult(artifact=None, status="build_error", error=rec["error"]))
            else:
                out.append(BuildResult(artifact=None, trace=c.to_json()))
        return out


class ReplayRunner:
    """Answers with the recorded result of each config; counts how often each was measured."""

    def __init__(self, trials: dict[str, dict[str, Any]], interrupt_after: int | None = None, scale: float = 1.0) -> None:
        self.trials = trials
        self.scale = scale
        self.measured: Counter[str] = Counter()
        self.interrupt_after = interrupt_after
        self.cutoffs: list[float | None] = []

    def run(self, builds: Sequence[BuildResult], args: Any, check: Any, cutoff_secs: float | None = None) -> list[MeasureResult]:
        self.cutoffs.append(cutoff_secs)
        out = []
        for b in builds:
            if not b.ok:
                out.append(MeasureResult.failed(b.status, b.error or ""))
                continue
            if self.interrupt_after is not None and sum(self.measured.values()) >= self.interrupt_after:
                raise KeyboardInterrupt
            key = b.trace
            self.measured[key] += 1
            rec = self.trials[key]
            if rec["status"] == "ok":
                out.append(MeasureResult(run_secs=tuple(self.scale * s for s in rec["run_secs"]), trace=key))
            else:
                out.append(MeasureResult.failed(rec["status"], rec["error"], trace=key))
        return out

    def best_secs(self) -> float:
        import statistics

        return self.scale * min(statistics.median(r["run_secs"]) for r in self.trials.values() if r["status"] == "ok")
