"""Read what a report shows from the tuning database, in one pass over the records.

Large databases stay quick: one SELECT of the narrow columns a report needs (no trace, and
the config only of the best records and of quantized candidates), grouped in Python; the
workloads and targets tables are small and read whole.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, case, func, select

from tuning_db import engine as engines
from tuning_db.records import TargetInfo, Workload
from tuning_db.schema import records, targets, workloads

from .facts import WorkloadFacts, facts_of, is_int8, quantized
from .failures import FailureTally
from .model import Int8Point, PairReport, Peaks, ReportData, Series, TargetReport
from .peaks import peaks_from_facts

#: a pause longer than this between two trials of a series is a new run; the time axis skips it
IDLE_GAP_SECS = 600.0

_EPOCH = datetime(1970, 1, 1)
_NO_NUMPY = "numpy timings are not stored in the tuning database; `opforge tune --report` shows those of its own run"


@dataclass(frozen=True)
class Filters:
    """Which records a report covers: op names, target names (or fingerprint prefixes), workload keys."""

    ops: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    workload_keys: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) for k, v in (("op", self.ops), ("target", self.targets), ("workload", self.workload_keys)) if v}


@dataclass
class _Pair:
    """Columns of one (workload, target) pair's records, appended in id order."""

    ids: list[int] = field(default_factory=list)
    secs: list[float] = field(default_factory=list)
    at: list[datetime] = field(default_factory=list)
    teams: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    strategies: list[str | None] = field(default_factory=list)


def gather(
    db: Any,
    filters: Filters = Filters(),
    peaks: Mapping[str, Peaks] | None = None,
    numpy_secs: Mapping[tuple[str, str], float] | None = None,
    numpy_source: str = "",
    now: datetime | None = None,
) -> ReportData:
    """Everything a report shows for the records of ``db`` (a ``tuning_db.TuningDB``) matching ``filters``.

    ``peaks`` maps a hardware fingerprint to its peak numbers (else the target's stored facts
    are read); ``numpy_secs`` maps (workload key, fingerprint) to numpy's time where a tune run
    measured it, and ``numpy_source`` says where those came from.
    """

    def run(conn: Connection) -> ReportData:
        return _gather(conn, db.url, filters, dict(peaks or {}), dict(numpy_secs or {}), numpy_source, now)

    return engines.read(db.engine, run)


def _gather(
    conn: Connection,
    url: str,
    filters: Filters,
    peaks: dict[str, Peaks],
    numpy_secs: dict[tuple[str, str], float],
    numpy_source: str,
    now: datetime | None,
) -> ReportData:
    wl = {row.id: Workload.from_row(dict(row._mapping)) for row in conn.execute(select(workloads))}
    tg = {row.id: TargetInfo.from_row(dict(row._mapping)) for row in conn.execute(select(targets))}
    wl = {i: w for i, w in wl.items() if _workload_matches(w, filters)}
    tg = {i: t for i, t in tg.items() if _target_matches(t, filters)}
    target_reports = {i: TargetReport(t.name, t.canonical, t.fingerprint, _peaks_for(t, peaks)) for i, t in tg.items()}

    rows = conn.execute(_records_query(list(wl), list(tg), filtered=bool(filters.ops or filters.targets or filters.workload_keys)))

    pairs: dict[tuple[int, int], _Pair] = defaultdict(_Pair)
    tally = FailureTally()
    facts: dict[int, WorkloadFacts] = {}
    int8: list[Int8Point] = []
    int8_without_accuracy = 0
    count = 0
    int8_workloads = {wid for wid, w in wl.items() if is_int8(w.dtypes)}
    for rid, wid, tid, status, median, at, error, rel_l2, max_abs, team, host, config, strategy in rows:
        count += 1
        pair = pairs[(wid, tid)]
        pair.ids.append(rid)
        pair.at.append(at)
        pair.teams.append(team)
        pair.hosts.append(host)
        pair.strategies.append(strategy)
        if status != "ok":
            pair.secs.append(math.inf)
            tally.add(status, error, wl[wid].op_name)
            continue
        pair.secs.append(median if median is not None else math.inf)
        if wid in int8_workloads or (config is not None and quantized(config)):
            if wid not in facts:
                facts[wid] = facts_of(wl[wid].text)
            flops = facts[wid].flops
            if rel_l2 is None or not flops or not median:
                int8_without_accuracy += 1
                continue
            int8.append(Int8Point(wl[wid].op_name, target_reports[tid].label, flops / median / 1e9, rel_l2, max_abs))

    best_ids = {key: _best_index(p.secs) for key, p in pairs.items()}
    configs = _configs_of(conn, [pairs[k].ids[i] for k, i in best_ids.items() if i is not None])
    reports = []
    for (wid, tid), p in pairs.items():
        if wid not in facts:
            facts[wid] = facts_of(wl[wid].text)
        w, t = wl[wid], target_reports[tid]
        reports.append(_pair_report(w, t, facts[wid], p, best_ids[(wid, tid)], configs, numpy_secs.get((w.key, t.fingerprint))))
    reports.sort(key=lambda r: (r.op_name, tuple(r.sizes.values()), r.dtypes, r.workload_key, r.target.name, r.target.fingerprint))
    used_targets = {(r.target.canonical, r.target.fingerprint) for r in reports}
    return ReportData(
        source=engines.shown(url),
        generated_at=now or datetime.now(timezone.utc),
        records=count,
        pairs=tuple(reports),
        targets=tuple(t for t in target_reports.values() if (t.canonical, t.fingerprint) in used_targets),
        failures=tally.groups(),
        int8=tuple(int8),
        int8_without_accuracy=int8_without_accuracy,
        numpy_source=numpy_source if numpy_secs else _NO_NUMPY,
        filters=filters.as_dict(),
    )


def _workload_matches(w: Workload, filters: Filters) -> bool:
    return (not filters.ops or w.op_name in filters.ops) and (not filters.workload_keys or w.key in filters.workload_keys)


def _target_matches(t: TargetInfo, filters: Filters) -> bool:
    return not filters.targets or any(t.name == f or t.fingerprint.startswith(f) for f in filters.targets)


def _peaks_for(t: TargetInfo, given: dict[str, Peaks]) -> Peaks | None:
    if t.fingerprint in given:
        return given[t.fingerprint]
    return peaks_from_facts(t.hardware, f"stored hardware facts of {t.name}")


def _records_query(workload_ids: list[int], target_ids: list[int], filtered: bool) -> Any:
    # the config travels only where it may turn quantization on (a knob *.quantize not "none")
    maybe_quantized = func.replace(records.c.config, 'quantize":"none"', "").like("%quantize%")
    query = select(
        records.c.id,
        records.c.workload_id,
        records.c.target_id,
        records.c.status,
        records.c.median_secs,
        records.c.created_at,
        records.c.error,
        records.c.rel_l2_error,
        records.c.max_abs_error,
        records.c.team,
        records.c.host,
        case((maybe_quantized, records.c.config), else_=None),
        records.c.strategy,
    )
    if filtered:
        query = query.where(records.c.workload_id.in_(workload_ids or [-1]), records.c.target_id.in_(target_ids or [-1]))
    return query.order_by(records.c.id)


def _best_index(secs: list[float]) -> int | None:
    best = min(range(len(secs)), key=secs.__getitem__)
    return best if math.isfinite(secs[best]) else None


def _configs_of(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update((rid, config) for rid, config in conn.execute(select(records.c.id, records.c.config).where(records.c.id.in_(chunk))))
    return found


def _pair_report(
    w: Workload, t: TargetReport, facts: WorkloadFacts, p: _Pair, best: int | None, configs: dict[int, str], numpy_secs: float | None
) -> PairReport:
    untuned = p.secs[0]  # the tuner measures the untuned default schedule first
    teams = tuple(sorted({x for x in p.teams if x}))
    return PairReport(
        op_name=w.op_name,
        workload_key=w.key,
        sizes={d: w.sizes[d] for d in (*facts.dims, *w.sizes) if d in w.sizes},
        dtypes=w.dtypes,
        target=t,
        flops=facts.flops,
        bytes_moved=facts.bytes_moved,
        trials=len(p.ids),
        failed=sum(not math.isfinite(s) for s in p.secs),
        best_secs=p.secs[best] if best is not None else None,
        best_config=_compact(configs.get(p.ids[best])) if best is not None else None,
        best_team=p.teams[best] if best is not None else None,
        best_host=p.hosts[best] if best is not None else None,
        best_at=_utc(p.at[best]) if best is not None else None,
        first_at=_utc(p.at[0]),
        last_at=_utc(p.at[-1]),
        teams=teams,
        untuned_secs=untuned if math.isfinite(untuned) else None,
        numpy_secs=numpy_secs,
        series=_series(p),
    )


def _series(p: _Pair) -> tuple[Series, ...]:
    by_strategy: dict[str | None, tuple[list[float], list[float]]] = {}
    last: dict[str | None, float] = {}
    for secs, at, strategy in zip(p.secs, p.at, p.strategies):
        stamp = (at - _EPOCH).total_seconds()
        values, times = by_strategy.setdefault(strategy, ([], []))
        gap = stamp - last.get(strategy, stamp)
        times.append((times[-1] if times else 0.0) + (gap if 0 <= gap <= IDLE_GAP_SECS else 0.0))
        values.append(secs)
        last[strategy] = stamp
    return tuple(Series(s, tuple(v), tuple(t)) for s, (v, t) in by_strategy.items())


def _compact(config: str | None) -> str | None:
    if config is None:
        return None
    try:
        value = json.loads(config)
    except ValueError:
        return config
    if not isinstance(value, dict):
        return config
    return " ".join(f"{k}={'x'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in value.items())


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
