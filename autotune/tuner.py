"""The tuning loop: propose, build, run, store, learn; until the budget says stop.

Collaborators come in from outside (space, strategy, builder, runner, cost model, store,
features), so tests swap any of them. Every measured trial is written to the store as soon as
it is measured; on start the stored trials of this (workload, target, fingerprint) are given to
the strategy (never measured again) and to the cost model (warm start), with stored trials of
other workloads on the same target when ``other_features`` can describe them; a ``screen`` (a
cheap second model that ranks the search's populations) learns this workload's trials alone. ``initial``
Configs (the untuned default schedule, as a baseline) are measured first unless stored.
Ctrl-C ends the run between trials: what was measured is kept and the result says why it stopped.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .budget import Budget
from .cost_model import CostModel
from .features import FeatureExtractor
from .interrupts import sigint_deferred
from .measure.result import MeasureResult
from .store import Store, StoredTrial, Task

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialEvent:
    """One measured trial, as a progress display sees it (``index`` counts from 1 in this run)."""

    index: int
    max_trials: int
    config: Any
    result: MeasureResult
    best_secs: float
    elapsed_secs: float


@dataclass(frozen=True)
class TuneResult:
    """The outcome of one run: the best Config over stored and new trials, and how it went."""

    task: Task
    best_config: Any | None
    best_secs: float
    trials: int
    resumed_trials: int
    failed_trials: int
    stop_reason: str
    history_secs: tuple[float, ...]
    elapsed_secs: float
    #: stored trials (this workload's and others' on the same target) the cost model learned before the run
    warm_start_records: int = 0

    @property
    def best_so_far(self) -> tuple[float, ...]:
        """Best seconds after each trial of this run (inf until one succeeds)."""
        return tuple(np.minimum.accumulate(np.asarray(self.history_secs, dtype=float))) if self.history_secs else ()


def model_score(cost_model: CostModel, features: FeatureExtractor) -> Callable[[Sequence[Any]], np.ndarray | None]:
    """The strategy's view of the cost model: scores of Configs, None while it is untrained."""

    def score(configs: Sequence[Any]) -> np.ndarray | None:
        if not cost_model.trained:
            return None
        return cost_model.predict(features(configs))

    return score


@dataclass(frozen=True)
class Screen:
    """A second cost model over cheap features (the space's own encoding), for this workload alone:
    the search ranks its populations with it and rescores only a shortlist with the main model."""

    model: CostModel
    features: FeatureExtractor

    def score(self) -> Callable[[Sequence[Any]], np.ndarray | None]:
        return model_score(self.model, self.features)


class Tuner:
    def __init__(
        self,
        task: Task,
        func: Any,
        space: Any,
        strategy: Any,
        builder: Any,
        runner: Any,
        cost_model: CostModel | None,
        store: Store,
        features: FeatureExtractor | None,
        args: Sequence[Any],
        check: Any = None,
        batch_size: int = 8,
        on_trial: Callable[[TrialEvent], None] | None = None,
        other_features: Callable[[str, str], FeatureExtractor | None] | None = None,
        warm_start_limit: int = 512,
        initial: Sequence[Any] = (),
        strategy_name: str | None = None,
        slow_cutoff: float | None = None,
        screen: Screen | None = None,
    ) -> None:
        """``strategy_name``: the registered name of ``strategy``, written on every stored trial (so a
        report can tell the random-search curve from the guided one); None leaves it unrecorded.
        ``slow_cutoff``: a candidate slower than this many times the best so far is timed once, not
        repeated (None: every candidate gets the runner's full repeats)."""
        if slow_cutoff is not None and slow_cutoff <= 1:
            raise ValueError(f"slow_cutoff must be > 1 (a multiple of the best time), got {slow_cutoff}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.task = task
        self.func = func
        self.space = space
        self.strategy = strategy
        self.strategy_name = strategy_name
        self.builder = builder
        self.runner = runner
        self.cost_model = cost_model
        self.store = store
        self.features = features
        self.args = tuple(args)
        self.check = check
        self.batch_size = batch_size
        self.on_trial = on_trial
        self.other_features = other_features
        self.warm_start_limit = warm_start_limit
        self.initial = tuple(initial)
        self.slow_cutoff = slow_cutoff
        self.screen = screen
        self._measured: dict[str, float] = {}
        self._configs: dict[str, Any] = {}
        self._resumed = 0
        self._warm = 0
        self._started = False
        self._start = time.monotonic()
        self.history: list[float] = []
        self.since_improvement = 0

    # -- start ----------------------------------------------------------------------------

    def resume(self) -> int:
        """Give stored trials to the strategy and the cost model; returns how many there were."""
        if self._started:
            return self._resumed
        self._started = True
        self.store.begin(self.task)
        stored = self.store.trials(self.task)
        configs, results = self._parse(stored)
        for c, r in zip(configs, results):
            self._note(c, r)
        if configs:
            self.strategy.observe(configs, results)
        self._warm = self._warm_other_workloads()
        if configs:
            self._warm += self._learn(self.task.workload_key, self.features, configs, results)
            self._learn_screen(configs, results)
        self._resumed = len(configs)
        if configs:
            logger.info("resumed %d stored trials of %s", len(configs), self.task.op_name)
        return self._resumed

    def _parse(self, stored: Sequence[StoredTrial]) -> tuple[list[Any], list[MeasureResult]]:
        from schedules.config import Config

        configs, results = [], []
        for t in stored:
            try:
                cfg = Config.from_json(t.config)
            except ValueError as e:  # a record this version cannot read: keep it, do not learn from it
                logger.warning("skipping stored config %s: %s", t.config[:80], e)
                continue
            configs.append(cfg)
            results.append(t.result)
        return configs, results

    def _warm_other_workloads(self) -> int:
        if self.cost_model is None or self.other_features is None or self.warm_start_limit <= 0:
            return 0
        learned = 0
        by_workload: dict[tuple[str, str], list[StoredTrial]] = defaultdict(list)
        for text, op_name, trial in self.store.target_trials(self.task, self.warm_start_limit):
            by_workload[(text, op_name)].append(trial)
        for (text, op_name), trials in by_workload.items():
            try:
                extractor = self.other_features(text, op_name)
            except Exception as e:  # noqa: BLE001 - an unreadable workload only loses its warm start
                logger.info("no warm start from %s: %s", op_name, e)
                continue
            if extractor is None:
                continue
            configs, results = self._parse(trials)
            if configs:
                learned += self._learn(trials[0].workload_key, extractor, configs, results)
        return learned

    # -- loop -----------------------------------------------------------------------------

    def _note(self, cfg: Any, result: MeasureResult) -> None:
        key = cfg.to_json()
        self._configs[key] = cfg
        self._measured[key] = min(self._measured.get(key, math.inf), result.cost)

    def _learn(self, group: str, features: FeatureExtractor | None, configs: Sequence[Any], results: Sequence[MeasureResult]) -> int:
        """Give trials to the cost model; returns how many it got (0 without a model or features)."""
        if self.cost_model is None or features is None or not configs:
            return 0
        self.cost_model.update(group, features(configs), [r.cost for r in results])
        return len(configs)

    def _learn_screen(self, configs: Sequence[Any], results: Sequence[MeasureResult]) -> None:
        if self.screen is not None and configs:
            self.screen.model.update(self.task.workload_key, self.screen.features(configs), [r.cost for r in results])

    @property
    def best(self) -> tuple[Any | None, float]:
        if not self._measured:
            return None, math.inf
        key = min(self._measured, key=lambda k: self._measured[k])
        cost = self._measured[key]
        return (self._configs[key] if math.isfinite(cost) else None), cost

    def step(self, k: int, max_trials: int = 0) -> int:
        """Measure one batch of up to ``k`` new Configs, storing each as it is measured.

        Returns how many were measured (0: the space is exhausted). ``max_trials`` is only shown
        to ``on_trial``. KeyboardInterrupt propagates after the measured ones are kept.
        """
        self.resume()
        first = [c for c in self.initial if c.to_json() not in self._measured][:k]
        proposed = first or self.strategy.propose(k)
        configs = [c for c in proposed if c.to_json() not in self._measured]
        if not configs:
            return 0
        builds = self.builder.build(self.func, configs, self.task.target)
        results: list[MeasureResult] = []
        try:
            # as many candidates at a time as the runner measures at once (one locally, one per
            # device over RPC), each stored as it comes: Ctrl-C loses at most those in flight
            width = max(1, int(getattr(self.runner, "parallelism", 1)))
            for i in range(0, len(configs), width):
                chunk = builds[i : i + width]
                measured = self.runner.run(chunk, self.args, self.check, cutoff_secs=self._cutoff_secs())
                for cfg, build, result in zip(configs[i : i + width], chunk, measured):
                    discard_build(build)
                    results.append(result)
                    self._record(cfg, result, max_trials)
        finally:
            for build in builds:  # built but never run (interrupted)
                discard_build(build)
            if results:
                self.strategy.observe(configs[: len(results)], results)
        self._learn(self.task.workload_key, self.features, configs, results)
        self._learn_screen(configs, results)
        return len(results)

    def _cutoff_secs(self) -> float | None:
        _, best = self.best
        return best * self.slow_cutoff if self.slow_cutoff is not None and math.isfinite(best) else None

    def _record(self, cfg: Any, result: MeasureResult, max_trials: int) -> None:
        _, before = self.best
        with sigint_deferred():  # a trial is stored and counted, or neither
            self.store.add_trial(self.task, cfg.to_json(), result, strategy=self.strategy_name)
            self._note(cfg, result)
            self.history.append(result.cost)
        _, after = self.best
        self.since_improvement = 0 if after < before else self.since_improvement + 1
        if not result.ok:
            logger.info("trial %d of %s failed: %s", len(self.history), self.task.op_name, result.error)
        if self.on_trial:
            self.on_trial(TrialEvent(len(self.history), max_trials, cfg, result, after, time.monotonic() - self._start))

    def result(self, stop_reason: str) -> TuneResult:
        """What this run found so far (best over stored and new trials)."""
        best_config, best_secs = self.best
        return TuneResult(
            task=self.task,
            best_config=best_config,
            best_secs=best_secs,
            trials=len(self.history),
            resumed_trials=self._resumed,
            failed_trials=sum(not math.isfinite(c) for c in self.history),
            stop_reason=stop_reason,
            history_secs=tuple(self.history),
            elapsed_secs=time.monotonic() - self._start,
            warm_start_records=self._warm,
        )

    def start_run(self) -> None:
        """Resume from the store and reset this run's clock and counters."""
        self.resume()
        self._start = time.monotonic()
        self.history = []
        self.since_improvement = 0

    def tune(self, budget: Budget) -> TuneResult:
        """Measure until ``budget`` stops the run (or Ctrl-C); every trial is stored as measured."""
        self.start_run()
        try:
            while True:
                _, best_secs = self.best
                reason = budget.stop_reason(len(self.history), time.monotonic() - self._start, best_secs, self.since_improvement)
                if reason:
                    break
                if not self.step(min(self.batch_size, budget.max_trials - len(self.history)), budget.max_trials):
                    reason = "search space exhausted"
                    break
        except KeyboardInterrupt:
            reason = "interrupted"
        return self.result(reason)


def discard_build(build: Any) -> None:
    """Delete a build's shared library once it was measured (or never will be)."""
    if getattr(build, "artifact", None):
        try:
            os.unlink(build.artifact)
        except OSError:
            pass
