"""The roofline of one target: each best kernel at its arithmetic intensity, under the peak lines.

Without calibrated peaks the points are drawn alone and the title says "not calibrated".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..model import PairReport, TargetReport
from .figure import COLORS, new_figure


def roofline_chart(target: TargetReport, pairs: Sequence[PairReport]) -> Figure:
    """Best GFLOP/s against FLOP/byte for the pairs of ``target`` (log-log)."""
    fig, (ax,) = new_figure(8, 4.8)
    points = [(p.intensity, p.gflops, p) for p in pairs if p.intensity and p.gflops]
    ops = sorted({p.op_name for _, _, p in points})
    for i, op in enumerate(ops):
        xs = [x for x, _, p in points if p.op_name == op]
        ys = [y for _, y, p in points if p.op_name == op]
        ax.scatter(xs, ys, s=36, color=COLORS[i % len(COLORS)], label=op, zorder=3)
    for x, y, p in points:
        ax.annotate(p.shape, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    intensities = [x for x, _, _ in points] or [1.0]
    lo, hi = min(intensities) / 4, max(intensities) * 4
    peaks = target.peaks
    title = f"roofline of {target.label}"
    if peaks and (peaks.gflops or peaks.bandwidth_gbs):
        grid = np.geomspace(lo, hi, 200)
        top = max(peaks.gflops.values()) if peaks.gflops else None
        for dtype, gflops in sorted(peaks.gflops.items()):
            ax.axhline(gflops, color="black", linewidth=1, linestyle="-" if gflops == top else ":")
            ax.annotate(f"peak {'' if dtype == '*' else dtype + ' '}{gflops:,.0f} GFLOP/s", (hi, gflops), ha="right", va="bottom", fontsize=8)
        if peaks.bandwidth_gbs:
            roof = peaks.bandwidth_gbs * grid
            ax.plot(grid, np.minimum(roof, top) if top else roof, color="black", linewidth=1)
            ax.annotate(f"{peaks.bandwidth_gbs:,.0f} GB/s", (grid[10], roof[10]), fontsize=8, va="bottom")
    else:
        title += " (not calibrated: no peak lines)"
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    # at least a decade on each axis, so log ticks are labelled with plain numbers
    values = [y for _, y, _ in points] + (list(peaks.gflops.values()) if peaks else [])
    if values:
        ax.set_ylim(min(values) / 3, max(values) * 3)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="arithmetic intensity (FLOP per byte of inputs and outputs)", ylabel="GFLOP/s of the best kernel", title=title)
    if ops:
        ax.legend(loc="lower right", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no kernel with a known FLOP count", ha="center", va="center", transform=ax.transAxes)
    return fig
