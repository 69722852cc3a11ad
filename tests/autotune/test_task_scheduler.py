"""The task scheduler shares trials among ops by expected gain (recorded timings, no hardware)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autotune.budget import Budget
from autotune.cost_model import XGBCostModel
from autotune.features import ConfigFeatures
from autotune.store import MemoryStore, Task
from autotune.strategies import make_strategy
from autotune.task_scheduler import TaskScheduler
from autotune.tuner import Tuner, model_score
from fakes import ReplayBuilder, ReplayRunner, load_landscape
from test_search import TARGET


def _tuner(key: str, scale: float, store, seed: int = 0) -> Tuner:
    space, trials = load_landscape()
    model = XGBCostModel(seed=seed)
    features = ConfigFeatures(space)
    strategy = make_strategy("evolutionary", space, np.random.default_rng(seed), model_score(model, features))
    task = Task(key, f"text of {key}", key, TARGET)
    return Tuner(task, None, space, strategy, ReplayBuilder(trials), ReplayRunner(trials, scale=scale), model, store, features, args=())


def test_slow_task_gets_most_trials_and_total_is_respected():
    store = MemoryStore()
    slow, fast = _tuner("slow", 20.0, store), _tuner("fast", 1.0, store)
    results, reason = TaskScheduler([slow, fast]).tune(Budget(96))
    assert reason == "trial budget of 96 reached"
    assert sum(r.trials for r in results) == 96
    assert results[1].trials >= 8, "every task gets its warm-up batch"
    assert results[0].trials > 2 * results[1].trials
    assert len(store.trials(slow.task)) == results[0].trials


def test_weights_shift_trials_to_the_heavier_task():
    store = MemoryStore()
    a, b = _tuner("a", 1.0, store), _tuner("b", 1.0, store)
    results, _ = TaskScheduler([a, b], weights=[1.0, 10.0]).tune(Budget(64))
    assert results[1].trials > results[0].trials


def test_gradient_prefers_a_task_without_a_working_kernel():
    store = MemoryStore()
    a, b = _tuner("a", 1.0, store), _tuner("b", 1.0, store)
    sched = TaskScheduler([a, b])
    a.start_run()
    b.start_run()
    a.step(8)
    assert math.isfinite(sched.gradient(0)) and sched.gradient(1) == -math.inf


def test_scheduler_needs_tasks_and_matching_weights():
    with pytest.raises(ValueError, match="at least one task"):
        TaskScheduler([])
    with pytest.raises(ValueError, match="1 weights for 2 tasks"):
        TaskScheduler([_tuner("a", 1.0, MemoryStore()), _tuner("b", 1.0, MemoryStore())], weights=[1.0])
