"""What a report shows, as plain frozen values: gathered from the database, drawn by the charts.

Nothing here touches SQL or matplotlib, so the charts and the HTML are tested on hand-made
values and the gathering is tested against a real database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Peaks:
    """A target's peak numbers for the roofline and "% of peak".

    ``gflops`` maps a dtype (``"float32"``) to GFLOP/s; the key ``"*"`` applies to any dtype.
    ``source`` says where the numbers came from, shown on the page.
    """

    gflops: dict[str, float] = field(default_factory=dict)
    bandwidth_gbs: float | None = None
    source: str = ""

    def gflops_for(self, dtypes: tuple[str, ...]) -> float | None:
        """The peak of the first of ``dtypes`` that has one, else the any-dtype peak."""
        for dtype in dtypes:
            if dtype in self.gflops:
                return self.gflops[dtype]
        return self.gflops.get("*")


@dataclass(frozen=True)
class TargetReport:
    """One target (canonical description and hardware fingerprint) as the report names it."""

    name: str
    canonical: str
    fingerprint: str
    peaks: Peaks | None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.fingerprint[:8]})"


@dataclass(frozen=True)
class Series:
    """The trials of one (workload, target) measured by one search strategy, in measured order.

    ``secs`` holds each trial's median seconds (``inf`` for a failed trial); ``tuning_secs`` the
    tuning time at each trial since the series' first, idle pauses between runs left out.
    ``strategy`` is None for trials that record none (stored before schema 0003, or re-measured
    outside a search).
    """

    strategy: str | None
    secs: tuple[float, ...]
    tuning_secs: tuple[float, ...]

    def best_so_far(self) -> tuple[float, ...]:
        """Best seconds after each trial (inf until one succeeds)."""
        out, best = [], math.inf
        for s in self.secs:
            best = min(best, s)
            out.append(best)
        return tuple(out)


@dataclass(frozen=True)
class PairReport:
    """Everything the report says about one workload on one target (and hardware fingerprint)."""

    op_name: str
    workload_key: str
    sizes: dict[str, int]
    dtypes: tuple[str, ...]
    target: TargetReport
    flops: int | None
    bytes_moved: int | None
    trials: int
    failed: int
    best_secs: float | None
    best_config: str | None
    best_team: str | None
    best_host: str | None
    best_at: datetime | None
    first_at: datetime
    last_at: datetime
    teams: tuple[str, ...]
    untuned_secs: float | None
    numpy_secs: float | None
    series: tuple[Series, ...]

    @property
    def shape(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.sizes.items())

    @property
    def gflops(self) -> float | None:
        return self.flops / self.best_secs / 1e9 if self.flops and self.best_secs else None

    @property
    def peak_gflops(self) -> float | None:
        return self.target.peaks.gflops_for(self.dtypes) if self.target.peaks else None

    @property
    def peak_percent(self) -> float | None:
        gflops, peak = self.gflops, self.peak_gflops
        return 100.0 * gflops / peak if gflops and peak else None

    @property
    def speedup_vs_untuned(self) -> float | None:
        return self.untuned_secs / self.best_secs if self.untuned_secs and self.best_secs else None

    @property
    def speedup_vs_numpy(self) -> float | None:
        return self.numpy_secs / self.best_secs if self.numpy_secs and self.best_secs else None

    @property
    def intensity(self) -> float | None:
        """Arithmetic intensity (FLOP per byte of the op's inputs and outputs)."""
        return self.flops / self.bytes_moved if self.flops and self.bytes_moved else None


@dataclass(frozen=True)
class FailureGroup:
    """Failed trials of one reason with one message pattern: how many, and one example."""

    reason: str
    pattern: str
    example: str
    count: int
    by_op: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Int8Point:
    """One ok int8 (or quantized) trial: its speed and its accuracy loss against the float reference."""

    op_name: str
    target_label: str
    gflops: float
    rel_l2_error: float
    max_abs_error: float | None


@dataclass(frozen=True)
class ReportData:
    """The whole page's content."""

    source: str
    generated_at: datetime
    records: int
    pairs: tuple[PairReport, ...]
    targets: tuple[TargetReport, ...]
    failures: tuple[FailureGroup, ...]
    int8: tuple[Int8Point, ...]
    int8_without_accuracy: int
    numpy_source: str
    filters: dict[str, Any] = field(default_factory=dict)

    @property
    def strategies(self) -> tuple[str, ...]:
        """The search strategies the report's trials record, sorted."""
        return tuple(sorted({s.strategy for p in self.pairs for s in p.series if s.strategy is not None}))

    @property
    def strategy_recorded(self) -> bool:
        """Whether any trial records its strategy (without one, curves cannot be split by strategy)."""
        return bool(self.strategies)

    @property
    def failed(self) -> int:
        return sum(g.count for g in self.failures)
