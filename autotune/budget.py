"""When a tuning run stops: trials, wall-clock time, a latency goal, or no progress for a while."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """``max_trials`` measured in this run; ``timeout_secs`` of wall clock; stop once the best is
    at most ``goal_secs``; stop after ``early_stop`` trials without a better one. None: no limit."""

    max_trials: int
    timeout_secs: float | None = None
    goal_secs: float | None = None
    early_stop: int | None = None

    def __post_init__(self) -> None:
        if self.max_trials < 0:
            raise ValueError(f"max_trials must be >= 0, got {self.max_trials}")
        for name in ("timeout_secs", "goal_secs", "early_stop"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ValueError(f"{name} must be positive when given, got {v}")

    def stop_reason(self, trials: int, elapsed_secs: float, best_secs: float, since_improvement: int) -> str | None:
        """Why to stop now, or None to go on."""
        if trials >= self.max_trials:
            return f"trial budget of {self.max_trials} reached"
        if self.timeout_secs is not None and elapsed_secs >= self.timeout_secs:
            return f"time budget of {self.timeout_secs:g} s reached"
        if self.goal_secs is not None and math.isfinite(best_secs) and best_secs <= self.goal_secs:
            return f"goal of {self.goal_secs * 1e3:g} ms reached"
        if self.early_stop is not None and since_improvement >= self.early_stop:
            return f"no improvement in {self.early_stop} trials"
        return None
