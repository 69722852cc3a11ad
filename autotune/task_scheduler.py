"""Tuning several ops at once: give each batch of trials to the task where it should gain most.

After one warm-up batch per task, the next batch goes to the task whose estimated gradient of
the total weighted latency ``sum_i w_i * best_i`` is most negative, as Ansor's gradient task
scheduler does (Zheng et al., OSDI 2020, section 6): a mix of the recent slope of the task's
best latency over its last ``window`` trials (backward) and an optimistic forward guess
``-best_i / trials_i``, weighted by ``alpha``. A task with no working kernel yet goes first (it
has an unbounded gain), until ``give_up_batches`` batches in a row failed; a task whose space is
exhausted drops out.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

from .budget import Budget
from .tuner import Tuner, TuneResult


class TaskScheduler:
    def __init__(
        self,
        tuners: Sequence[Tuner],
        weights: Sequence[float] | None = None,
        alpha: float = 0.2,
        window: int = 8,
        give_up_batches: int = 3,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        if not tuners:
            raise ValueError("the task scheduler needs at least one task")
        if weights is not None and len(weights) != len(tuners):
            raise ValueError(f"{len(weights)} weights for {len(tuners)} tasks")
        self.tuners = list(tuners)
        self.weights = list(weights) if weights is not None else [1.0] * len(tuners)
        self.alpha = alpha
        self.window = window
        self.give_up_batches = give_up_batches
        self.on_batch = on_batch
        self.trials = [0] * len(tuners)
        self._best_curve: list[list[float]] = [[] for _ in tuners]
        self._failed_batches = [0] * len(tuners)
        self._done = [False] * len(tuners)

    def gradient(self, i: int) -> float:
        """Estimated change of the weighted total latency per trial given to task ``i`` (negative = gain)."""
        curve = self._best_curve[i]
        best = self.tuners[i].best[1]
        if not math.isfinite(best):
            return -math.inf
        n = max(len(curve), 1) + self.tuners[i].resume()
        backward = 0.0
        if len(curve) > self.window and math.isfinite(curve[-1 - self.window]):
            backward = (curve[-1] - curve[-1 - self.window]) / self.window
        forward = -best / n
        return self.weights[i] * (self.alpha * backward + (1 - self.alpha) * forward)

    def _pick(self) -> int | None:
        live = [i for i, done in enumerate(self._done) if not done]
        if not live:
            return None
        return min(live, key=lambda i: (self.gradient(i), self.trials[i]))

    def _step(self, i: int, k: int, max_trials: int) -> int:
        tuner = self.tuners[i]
        n = tuner.step(min(k, tuner.batch_size), max_trials)
        if n == 0:
            self._done[i] = True
            return 0
        self.trials[i] += n
        best = tuner.best[1]
        self._best_curve[i].extend([best] * n)
        self._failed_batches[i] = 0 if math.isfinite(best) else self._failed_batches[i] + 1
        if self._failed_batches[i] >= self.give_up_batches:
            self._done[i] = True  # no kernel of this op works: stop spending trials on it
        if self.on_batch:
            self.on_batch(i, n)
        return n

    def weighted_latency(self) -> float:
        return sum(w * t.best[1] for w, t in zip(self.weights, self.tuners))

    def tune(self, budget: Budget) -> tuple[list[TuneResult], str]:
        """Share ``budget.max_trials`` among the tasks; ``goal_secs`` applies to the weighted total.

        Returns one result per task, and why the run stopped.
        """
        start = time.monotonic()
        for t in self.tuners:
            t.start_run()
        used, since_improvement, best_total = 0, 0, math.inf
        reason = None
        try:
            warmup = list(range(len(self.tuners)))
            while True:
                reason = budget.stop_reason(used, time.monotonic() - start, self.weighted_latency(), since_improvement)
                if reason:
                    break
                i = warmup.pop(0) if warmup else self._pick()
                if i is None:
                    reason = "every search space exhausted"
                    break
                n = self._step(i, budget.max_trials - used, budget.max_trials)
                used += n
                total = self.weighted_latency()
                since_improvement = 0 if total < best_total else since_improvement + n
                best_total = min(best_total, total)
        except KeyboardInterrupt:
            reason = "interrupted"
        return [t.result(reason) for t in self.tuners], reason
