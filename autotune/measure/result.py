"""What building and running one candidate gives back: plain frozen values, failures included.

A failure is data, not an exception: ``MeasureResult(run_secs=(), status="run_error",
error="run: worker died (SIGSEGV)")`` has cost ``math.inf`` and the search goes on.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

#: the statuses a trial can end in (the tuning database stores the same words)
OK, BUILD_ERROR, RUN_ERROR, TIMEOUT, WRONG_RESULT = "ok", "build_error", "run_error", "timeout", "wrong_result"
STATUSES = (OK, BUILD_ERROR, RUN_ERROR, TIMEOUT, WRONG_RESULT)


@dataclass(frozen=True)
class BuildResult:
    """An exported shared library (``artifact``) and the schedule's trace, or why there is none."""

    artifact: str | None
    status: str = OK
    error: str | None = None
    trace: str | None = None
    build_secs: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass(frozen=True)
class MeasureResult:
    """Seconds of every timed repeat of one candidate, or the status and reason it has none."""

    run_secs: tuple[float, ...]
    status: str = OK
    error: str | None = None
    max_abs_error: float | None = None
    rel_l2_error: float | None = None
    trace: str | None = None
    build_secs: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {STATUSES}")
        if self.status == OK and not self.run_secs:
            raise ValueError("an ok result needs at least one run time")
        object.__setattr__(self, "run_secs", tuple(float(x) for x in self.run_secs))

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def median_secs(self) -> float:
        """The median of the repeats; ``math.inf`` for a failed trial."""
        return statistics.median(self.run_secs) if self.ok else math.inf

    @property
    def cost(self) -> float:
        return self.median_secs

    @property
    def spread(self) -> float:
        """(max - min) / median of the repeats: how noisy the measurement was (0 for one repeat)."""
        if not self.ok or len(self.run_secs) < 2:
            return 0.0
        return (max(self.run_secs) - min(self.run_secs)) / self.median_secs

    @classmethod
    def failed(cls, status: str, error: str, trace: str | None = None, build_secs: float = 0.0) -> "MeasureResult":
        return cls(run_secs=(), status=status, error=error, trace=trace, build_secs=build_secs)
