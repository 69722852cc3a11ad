"""Failed trials by reason (build error, timeout, crash, wrong result), stacked by op."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from matplotlib.figure import Figure

from ..failures import REASONS
from ..model import FailureGroup
from .figure import COLORS, new_figure

MAX_OPS = 8


def failures_chart(groups: Sequence[FailureGroup]) -> Figure:
    """Horizontal bars, one per reason (all four shown, zeros too), split by the ops that failed."""
    reasons = list(REASONS.values())
    by_op: Counter[str] = Counter()
    for g in groups:
        by_op.update(g.by_op)
    ops = [op for op, _ in by_op.most_common(MAX_OPS)]
    rest = [op for op in by_op if op not in ops]
    fig, (ax,) = new_figure(8, 3.2, left_in=1.15)
    left = [0] * len(reasons)
    stacks = [(op, [op]) for op in ops] + ([(f"{len(rest)} other ops", rest)] if rest else [])
    for i, (name, members) in enumerate(stacks):
        counts = [sum(g.by_op.get(op, 0) for g in groups if g.reason == r for op in members) for r in reasons]
        ax.barh(reasons, counts, left=left, color=COLORS[i % len(COLORS)], label=name)
        left = [a + b for a, b in zip(left, counts)]
    for y, total in enumerate(left):
        ax.annotate(f"{total:,}", (total, y), textcoords="offset points", xytext=(4, 0), va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set(xlabel="failed trials", title=f"failed trials by reason ({sum(left):,} in all)")
    ax.set_xlim(0, max(left + [1]) * 1.15)
    if ops:
        ax.legend(loc="lower right", fontsize="small")
    return fig
