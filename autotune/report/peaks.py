"""Where a report's peak numbers come from: a target's peaks (calibrated, nominal or datasheet).

The database stores no peaks, so the caller passes those of the targets it knows (the host's,
the tuned one's) by fingerprint; a target's stored hardware facts may also carry them. Without
any, the roofline is drawn without peak lines and the page says "not calibrated".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Peaks

#: the keys read from a target's stored hardware facts
GFLOPS_KEY = "peak_gflops"
BANDWIDTH_KEY = "bandwidth_gbs"


def _gflops(value: Any) -> dict[str, float]:
    if isinstance(value, bool):
        return {}
    if isinstance(value, (int, float)):
        return {"*": float(value)} if value > 0 else {}
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0}
    return {}


def _bandwidth(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def peaks_from_facts(facts: Mapping[str, Any], source: str) -> Peaks | None:
    """Peaks from a mapping with ``peak_gflops`` (a number, or dtype -> number) and ``bandwidth_gbs``."""
    gflops = _gflops(facts.get(GFLOPS_KEY))
    bandwidth = _bandwidth(facts.get(BANDWIDTH_KEY))
    if not gflops and bandwidth is None:
        return None
    return Peaks(gflops, bandwidth, source)


def peaks_of_target(target: Any) -> Peaks | None:
    """Peaks of a live ``targets.Target``: its ``peaks`` (calibrated, nominal or datasheet), where it has them."""
    peaks = getattr(target, "peaks", None)
    if peaks is None:
        return None
    gflops = _gflops(getattr(peaks, "gflops", None))
    bandwidth = _bandwidth(getattr(peaks, "bandwidth_gbs", None))
    if not gflops and bandwidth is None:
        return None
    return Peaks(gflops, bandwidth, getattr(peaks, "source", "") or f"target {target.name}")
