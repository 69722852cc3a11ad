"""Tuning curves of one workload: best-so-far GFLOP/s against trial number and against tuning time.

One line per (target, strategy); a random-search series is dashed beside the guided one.
Only the points where the best improves are drawn (a step line), so 10,000 trials cost no more
than 10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.figure import Figure

from ..model import PairReport, Series
from .figure import COLORS, new_figure


def _steps(series: Series, flops: int | None) -> tuple[list[int], list[float], list[float]]:
    """(trial numbers, tuning seconds, values) at each improvement and at the last trial."""
    trials, times, values = [], [], []
    best = math.inf
    n = len(series.secs)
    for i, (secs, at) in enumerate(zip(series.secs, series.tuning_secs)):
        improved = secs < best
        best = min(best, secs)
        if (improved or i == n - 1) and math.isfinite(best):
            trials.append(i + 1)
            times.append(at)
            values.append(flops / best / 1e9 if flops else best * 1e3)
    return trials, times, values


def _label(pair: PairReport, series: Series, several_targets: bool, short_labels: bool) -> str:
    parts = [(pair.target.label if short_labels else f"{pair.target.name} ({pair.target.fingerprint})")] if several_targets else []
    # trials without a strategy: all of them, or those beside recorded ones (older, or re-measured)
    parts.append(series.strategy or ("all trials" if len(pair.series) == 1 else "strategy not recorded"))
    return " · ".join(parts)


def tuning_curves(pairs: Sequence[PairReport]) -> Figure:
    """The curves of every (target, strategy) of one workload; GFLOP/s where its FLOPs are known, else ms."""
    if not pairs:
        raise ValueError("tuning_curves needs the pairs of one workload; got none")
    flops = pairs[0].flops
    fig, (by_trial, by_time) = new_figure(12, 3.6, ncols=2)
    several_targets = len({(p.target.canonical, p.target.fingerprint) for p in pairs}) > 1
    # the short label (8 hex digits of the fingerprint) unless two targets share it
    short_labels = len({p.target.label for p in pairs}) == len({(p.target.canonical, p.target.fingerprint) for p in pairs})
    color = 0
    for pair in pairs:
        for series in pair.series:
            trials, times, values = _steps(series, flops)
            if not values:
                continue
            style = {
                "color": COLORS[color % len(COLORS)],
                "linestyle": "--" if series.strategy == "random" else "-",
                "drawstyle": "steps-post",
                "marker": "o",
                "markersize": 3,
                "label": _label(pair, series, several_targets, short_labels),
            }
            by_trial.plot(trials, values, **style)
            by_time.plot(times, values, **style)
            color += 1
    ylabel = "best-so-far GFLOP/s" if flops else "best-so-far time (ms)"
    by_trial.set(xlabel="trial number", ylabel=ylabel, title="against trials")
    by_time.set(xlabel="tuning time (s), pauses between runs left out", ylabel=ylabel, title="against wall time")
    if color:
        by_trial.legend(loc="lower right" if flops else "upper right", fontsize="small")
    else:
        for ax in (by_trial, by_time):
            ax.text(0.5, 0.5, "no successful trial", ha="center", va="center", transform=ax.transAxes)
    return fig
