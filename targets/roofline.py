"""Where a kernel stands on its target's roofline.

The roofline bounds a kernel's rate by ``min(peak, intensity x bandwidth)``, with intensity the
op's FLOPs per byte of compulsory traffic (its inputs and outputs once: ``dsl.analysis.bytes_moved``).
A kernel left of the ridge point (``peak / bandwidth``) is memory-bound, right of it compute-bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Roofline:
    """One kernel against its target's peaks."""

    intensity: float  # FLOP per byte
    gflops: float
    peak_gflops: float
    bandwidth_gbs: float
    ridge: float  # intensity where the memory and compute roofs meet
    attainable_gflops: float  # the roof at this intensity
    bound: str  # "memory" or "compute"
    roof_percent: float  # gflops as % of the roof at this intensity

    def describe(self) -> str:
        """``"memory-bound (0.25 FLOP/B < ridge 4.1): 61% of the 8.0 GFLOP/s roof"``."""
        side = "<" if self.bound == "memory" else ">="
        return (
            f"{self.bound}-bound ({self.intensity:.3g} FLOP/B {side} ridge {self.ridge:.3g}): "
            f"{self.roof_percent:.0f}% of the {self.attainable_gflops:.4g} GFLOP/s roof"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def roofline(flops: float, bytes_moved: float, secs: float, peak_gflops: float, bandwidth_gbs: float) -> Roofline:
    """The roofline position of a kernel doing ``flops`` over ``bytes_moved`` in ``secs``."""
    if min(flops, bytes_moved, secs, peak_gflops, bandwidth_gbs) <= 0:
        raise ValueError("roofline needs positive flops, bytes, seconds, peak and bandwidth")
    intensity = flops / bytes_moved
    gflops = flops / secs / 1e9
    ridge = peak_gflops / bandwidth_gbs
    attainable = min(peak_gflops, intensity * bandwidth_gbs)
    return Roofline(
        intensity=intensity, gflops=gflops, peak_gflops=peak_gflops, bandwidth_gbs=bandwidth_gbs, ridge=ridge,
        attainable_gflops=attainable, bound="memory" if intensity < ridge else "compute",
        roof_percent=100.0 * gflops / attainable,
    )


def roofline_of(op: Any, secs: float | None, target: Any) -> Roofline | None:
    """The roofline position of a bound ``dsl.Op`` run in ``secs`` on ``target``; None where a peak is unknown."""
    from dsl.analysis import bytes_moved

    if not secs or target.peaks is None or not target.peaks.bandwidth_gbs:
        return None
    dtype = op.output_tensors[0].dtype
    try:
        peak = target.peak_gflops(dtype)
    except KeyError:
        return None
    flops = op.flops()
    return roofline(flops, bytes_moved(op), secs, peak, target.peaks.bandwidth_gbs) if flops else None
