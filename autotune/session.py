"""Tuning an op end to end: lower it, derive its space, wire the collaborators, run the Tuner.

``TuningSession`` owns the worker processes (builders and the runner) for a whole run, so
several ops (a task scheduler's tasks) share them. String shortcuts (``strategy="evolutionary"``,
``cost_model="xgb"``) are resolved here, once.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .budget import Budget
from .cost_model import CostModel, make_cost_model
from .features import ConfigFeatures, FeatureExtractor, ProgramFeatures, program_keys
from .measure.builder import Builder
from .measure.check import arg_specs, make_check
from .measure.result import MeasureResult
from .measure.runner import Runner
from .store import Store, Task
from .strategies import make_strategy
from .tuner import Screen, TrialEvent, Tuner, TuneResult, discard_build, model_score

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuneOptions:
    """Everything a tuning run is told; plain values (the CLI fills them from flags)."""

    trials: int = 64
    timeout_secs: float | None = None
    goal_secs: float | None = None
    early_stop: int | None = None
    strategy: str = "evolutionary"
    cost_model: str = "xgb"
    features: str = "program"  # or "config": the space's own encoding
    seed: int = 0
    batch_size: int = 8
    build_workers: int | None = None
    build_timeout_secs: float = 60.0
    run_timeout_secs: float = 20.0
    repeats: int = 5
    min_repeat_ms: float = 40.0
    warm_start_limit: int = 512
    #: a candidate slower than this multiple of the best so far is timed once (None: always repeat)
    slow_cutoff: float | None = 3.0

    def budget(self) -> Budget:
        return Budget(self.trials, self.timeout_secs, self.goal_secs, self.early_stop)


@dataclass(frozen=True)
class Prepared:
    """One op made ready to tune: its task, lowered function, space, kernel arguments and check."""

    op: Any
    task: Task
    func: Any
    space: Any
    args: tuple[Any, ...]
    check: Any
    inputs: tuple[np.ndarray, ...]
    expected: tuple[np.ndarray, ...]


class TuningSession:
    """Builders, runner and scratch folder for one run over one target."""

    def __init__(self, target: Any, options: TuneOptions = TuneOptions(), runner: Any | None = None) -> None:
        """``runner``: what measures instead of a local ``Runner`` (e.g. ``measure.rpc.RpcRunner``); the session closes it."""
        self.target = target
        self.options = options
        self._dir = tempfile.TemporaryDirectory(prefix="opforge-tune-")
        threads = {"TVM_NUM_THREADS": str(target.cores)} if target.kind == "cpu" else {}
        self.builder = Builder(options.build_workers, options.build_timeout_secs, work_dir=self._dir.name)
        self.runner = runner if runner is not None else Runner(
            timeout_secs=options.run_timeout_secs,
            repeats=options.repeats,
            min_repeat_ms=options.min_repeat_ms,
            device="cuda" if target.is_gpu else "cpu",
            env=threads,
        )

    def prepare(self, op: Any) -> Prepared:
        """Lower ``op`` and compute its random inputs and reference outputs (the correctness gate)."""
        import os

        from dsl.lower import lower
        from schedules import space_for

        func = lower(op)
        space = space_for(func, self.target)
        task = Task.of(op, self.target)
        folder = os.path.join(self._dir.name, task.workload_key[:16])
        os.makedirs(folder, exist_ok=True)
        check = make_check(op, np.random.default_rng(self.options.seed), folder)
        data = np.load(check.path, allow_pickle=False)
        inputs = tuple(data[f"in{i}"] for i in range(len(op.inputs)))
        expected = tuple(data[f"out{i}"] for i in range(len(op.output_tensors)))
        return Prepared(op, task, func, space, arg_specs(op), check, inputs, expected)

    def features_for(self, prepared: Prepared) -> FeatureExtractor:
        if self.options.features == "config":
            return ConfigFeatures(prepared.space)
        if self.options.features != "program":
            raise ValueError(f"unknown features {self.options.features!r}; expected 'program' or 'config'")
        from dsl.lower import lower

        return ProgramFeatures(prepared.func, self.target, twin=lower(prepared.op, guards=False), workers=self.builder.workers)

    def other_features(self, text: str, op_name: str) -> FeatureExtractor | None:
        """Program features of another stored workload (parsed from its canonical text)."""
        if self.options.features != "program":
            return None
        from dsl.lower import lower
        from dsl.parser import parse

        op = parse(text)
        return ProgramFeatures(lower(op), self.target, twin=lower(op, guards=False), workers=self.builder.workers)

    def tuner(
        self,
        prepared: Prepared,
        store: Store,
        cost_model: CostModel | None = None,
        on_trial: Callable[[TrialEvent], None] | None = None,
        initial: Sequence[Any] | None = None,
    ) -> Tuner:
        """A Tuner for one prepared op; ``initial`` Configs (the untuned default unless given) are measured first."""
        o = self.options
        model = cost_model if cost_model is not None else (make_cost_model(o.cost_model, o.seed) if o.strategy == "evolutionary" else None)
        features = self.features_for(prepared)
        score = model_score(model, features) if model is not None else None
        # program features cost milliseconds a Config: a model over the space's encoding screens for them
        screen = Screen(make_cost_model(o.cost_model, o.seed), ConfigFeatures(prepared.space)) if model is not None and o.features == "program" else None
        options = {"screen": screen.score(), "identity": program_keys(features)} if screen is not None else {}
        strategy = make_strategy(o.strategy, prepared.space, np.random.default_rng(o.seed), score, **options)
        return Tuner(
            prepared.task, prepared.func, prepared.space, strategy, self.builder, self.runner, model, store, features,
            prepared.args, prepared.check, batch_size=o.batch_size, on_trial=on_trial,
            other_features=self.other_features, warm_start_limit=o.warm_start_limit,
            initial=tuple(initial) if initial is not None else (prepared.space.default(),), strategy_name=o.strategy, slow_cutoff=o.slow_cutoff, screen=screen,
        )

    def measure(self, prepared: Prepared, config: Any) -> MeasureResult:
        """Build and run one Config outside any search (e.g. to re-check the best)."""
        (result,) = self.measure_each(prepared, [config])
        return result

    def measure_each(self, prepared: Prepared, configs: Sequence[Any]) -> Iterator[MeasureResult]:
        """Build ``configs`` (anything with ``to_json()``) in parallel, then run and yield them one by one.

        Outside any search (re-checking, revalidating stored records); the caller stores each
        result as it comes. A Config that no longer applies yields a failed result, not an error.
        """
        builds = self.builder.build(prepared.func, list(configs), self.target)
        try:
            for build in builds:
                (result,) = self.runner.run([build], prepared.args, prepared.check)
                discard_build(build)
                yield result
        finally:
            for build in builds:  # built but never run (the caller stopped early)
                discard_build(build)

    def measure_rounds(self, prepared: Prepared, configs: Sequence[Any], rounds: int) -> list[list[MeasureResult]]:
        """Build ``configs`` once, then run them all ``rounds`` times, interleaved: one list per Config.

        For comparing kernels against each other: a slow spell of the machine hits every Config
        alike instead of whichever happened to run during it.
        """
        builds = self.builder.build(prepared.func, list(configs), self.target)
        results: list[list[MeasureResult]] = [[] for _ in builds]
        try:
            for _ in range(rounds):
                for build, mine in zip(builds, results):
                    mine.extend(self.runner.run([build], prepared.args, prepared.check))
        finally:
            for build in builds:
                discard_build(build)
        return results

    def close(self) -> None:
        self.builder.close()
        self.runner.close()
        self._dir.cleanup()

    def __enter__(self) -> "TuningSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tune_op(op: Any, target: Any, store: Store, options: TuneOptions = TuneOptions(), on_trial: Callable[[TrialEvent], None] | None = None) -> TuneResult:
    """Tune one bound op for ``target``, keeping every trial in ``store``."""
    with TuningSession(target, options) as session:
        prepared = session.prepare(op)
        return session.tuner(prepared, store, on_trial=on_trial).tune(options.budget())
