"""int8 and quantized kernels: speed against accuracy loss (relative L2 error against the float reference)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from ..model import Int8Point
from .figure import COLORS, new_figure


def int8_chart(points: Sequence[Int8Point]) -> Figure:
    """GFLOP/s against relative L2 error, one colour per (op, target); exact results sit at the left edge."""
    if not points:
        raise ValueError("int8_chart needs at least one point; the page says so where there is none")
    fig, (ax,) = new_figure(8, 4.2)
    groups = sorted({(p.op_name, p.target_label) for p in points})
    positive = [p.rel_l2_error for p in points if p.rel_l2_error > 0]
    # symlog keeps exact (0.0) results on the chart; below the smallest measured loss the axis is linear
    threshold = min(positive) if positive else 1e-7
    for i, (op, target) in enumerate(groups):
        mine = [p for p in points if (p.op_name, p.target_label) == (op, target)]
        ax.scatter([p.rel_l2_error for p in mine], [p.gflops for p in mine], s=14, alpha=0.7, color=COLORS[i % len(COLORS)], label=f"{op} on {target}")
    ax.set_xscale("symlog", linthresh=threshold)
    ax.set_xlim(left=0)
    ax.set(xlabel="accuracy loss: relative L2 error against the float reference", ylabel="GFLOP/s", title="int8 kernels: speed against accuracy loss")
    ax.legend(loc="best", fontsize="small")
    return fig
