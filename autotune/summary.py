"""The numbers a person reads after a run: best time, GFLOP/s, % of peak, speed-ups, the Config."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .baselines import NumpyTimer, numpy_equivalent
from .store import Store
from .tuner import TuneResult


@dataclass(frozen=True)
class TaskSummary:
    op: str
    workload_key: str
    target: str
    trials: int
    resumed_trials: int
    warm_start_records: int
    failed_trials: int
    stop_reason: str
    elapsed_secs: float
    best_secs: float | None
    gflops: float | None
    peak_percent: float | None
    default_secs: float | None
    speedup_vs_default: float | None
    numpy_expr: str | None
    numpy_secs: float | None
    speedup_vs_numpy: float | None
    config: dict[str, Any] | None
    #: the best kernel's numerics: quantize scheme, tensorize value, max abs and relative L2 error
    accuracy: dict[str, Any] | None = None
    #: the best trial of each quantize scheme tried, each with its time and errors (speed beside accuracy)
    variants: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_secs(secs: float | None) -> str:
    """A time for people: ``1.234 s``, ``12.345 ms`` or ``56.7 us``; ``-`` where there is none (or it is not finite)."""
    if secs is None or not math.isfinite(secs):
        return "-"
    if secs >= 1:
        return f"{secs:.3f} s"
    if secs >= 1e-3:
        return f"{secs * 1e3:.3f} ms"
    return f"{secs * 1e6:.1f} us"


def short_config(config: dict[str, Any] | None, width: int = 0) -> str:
    """``C.tile.i0=1x4x2x4 C.unroll=64 C.vectorize=on``: a Config in one line."""
    if not config:
        return "-"

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "on" if v else "off"
        if isinstance(v, (list, tuple)):
            return "x".join(str(x) for x in v)
        return str(v)

    text = " ".join(f"{k}={fmt(v)}" for k, v in config.items())
    return text if not width or len(text) <= width else text[: width - 1] + "…"


def peak_gflops(target: Any, dtype: str) -> float | None:
    """The target's calibrated peak for ``dtype`` where it knows one (``targets calibrate``)."""
    peak = getattr(target, "peak_gflops", None)
    if callable(peak):
        try:
            peak = peak(dtype)
        except (KeyError, ValueError):
            return None
    return float(peak) if isinstance(peak, (int, float)) and peak > 0 else None


def summarize(prepared: Any, result: TuneResult, store: Store, target: Any, with_numpy: bool = True) -> TaskSummary:
    """Put one task's result beside its peers: the untuned default schedule and numpy."""
    op = prepared.op
    flops = op.flops()
    best = result.best_secs if math.isfinite(result.best_secs) else None
    gflops = flops / best / 1e9 if best else None
    dtype = op.output_tensors[0].dtype
    peak = peak_gflops(target, dtype)
    default_json = prepared.space.default().to_json()
    default = [t.result.cost for t in store.trials(prepared.task) if t.config == default_json]
    default_secs = min(default) if default and math.isfinite(min(default)) else None
    numpy_expr = numpy_secs = None
    if with_numpy:
        found = numpy_equivalent(op.name, prepared.inputs, prepared.expected, prepared.check.rtol, prepared.check.atol)
        if found:
            numpy_expr = found[0]
            with NumpyTimer(getattr(target, "cores", 1)) as time_numpy:
                numpy_secs = time_numpy(op.name, numpy_expr, prepared.check.path, len(prepared.inputs))
    return TaskSummary(
        op=op.name,
        workload_key=prepared.task.workload_key,
        target=target.name,
        trials=result.trials,
        resumed_trials=result.resumed_trials,
        warm_start_records=result.warm_start_records,
        failed_trials=result.failed_trials,
        stop_reason=result.stop_reason,
        elapsed_secs=result.elapsed_secs,
        best_secs=best,
        gflops=gflops,
        peak_percent=100.0 * gflops / peak if gflops and peak else None,
        default_secs=default_secs,
        speedup_vs_default=default_secs / best if default_secs and best else None,
        numpy_expr=numpy_expr,
        numpy_secs=numpy_secs,
        speedup_vs_numpy=numpy_secs / best if numpy_secs and best else None,
        config=dict(result.best_config) if result.best_config is not None else None,
        **accuracy_of(store.trials(prepared.task), result.best_config),
    )


def accuracy_of(trials: Any, best_config: Any) -> dict[str, Any]:
    """``accuracy`` (of the best config) and ``variants`` (best ok trial per quantize scheme) of stored trials."""
    import json

    def describe(config_json: str, r: Any) -> dict[str, Any]:
        cfg = json.loads(config_json)
        tensorize = next((v for k, v in sorted(cfg.items()) if k.endswith(".tensorize") and v != "none"), "none")
        return {"quantize": cfg.get("quantize", "none"), "tensorize": tensorize, "best_secs": r.median_secs if r.ok else None,
                "max_abs_error": r.max_abs_error, "rel_l2_error": r.rel_l2_error}

    best_json = best_config.to_json() if best_config is not None else None
    accuracy = None
    per_scheme: dict[str, tuple[float, dict[str, Any]]] = {}
    for t in trials:
        if t.config == best_json and t.result.ok:
            accuracy = describe(t.config, t.result)
        if t.result.ok:
            d = describe(t.config, t.result)
            if d["quantize"] not in per_scheme or t.result.cost < per_scheme[d["quantize"]][0]:
                per_scheme[d["quantize"]] = (t.result.cost, d)
    variants = tuple(d for _, d in sorted(per_scheme.values(), key=lambda x: x[0]))
    return {"accuracy": accuracy, "variants": variants}
