"""Measure again the stored records that another TVM or opforge version made.

A time measured under TVM 0.26 says little about the kernel TVM 0.27 builds from the same
Config. ``revalidate`` applies each such Config again through the tuner's own builder and runner
(correctness gate included) and stores what it measures as a new record with the running
versions; the old record stays, for provenance. A Config that the current schedules reject
becomes a failed record carrying the error, and the run goes on. Configs that already have a
record at the running versions are not measured again, so a second run adds nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from tuning_db import Record, Workload

from .measure.result import MeasureResult
from .session import Prepared, TuningSession
from .store import DBStore, Task, is_quantized

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredConfig:
    """A Config as the database holds it (JSON text), sent to the builder unparsed.

    The build worker parses and applies it, so a Config this version can no longer read or
    apply fails like any bad candidate: a ``build_error`` result naming why.
    """

    text: str

    def to_json(self) -> str:
        return self.text


@dataclass(frozen=True)
class Revalidation:
    """One old record and what measuring its Config again gave.

    ``new`` is None when nothing was measured; ``skipped`` then says why (e.g. the workload's
    text no longer lowers).
    """

    op_name: str
    old: Record
    new: MeasureResult | None
    skipped: str | None = None

    @property
    def old_secs(self) -> float | None:
        secs = self.old.median_secs if self.old.status == "ok" else math.inf
        return secs if math.isfinite(secs) else None

    @property
    def new_secs(self) -> float | None:
        return self.new.median_secs if self.new is not None and self.new.ok else None

    @property
    def ratio(self) -> float | None:
        """Old median over new median: above 1, the current versions build a faster kernel."""
        return self.old_secs / self.new_secs if self.old_secs and self.new_secs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op_name,
            "workload_key": self.old.workload_key,
            "config": self.old.config,
            "old_versions": {"opforge": self.old.opforge_version, "tvm": self.old.tvm_version},
            "old_status": self.old.status,
            "old_secs": self.old_secs,
            "new_status": self.new.status if self.new is not None else None,
            "new_secs": self.new_secs,
            "new_error": self.new.error if self.new is not None else None,
            "skipped": self.skipped,
            "ratio": self.ratio,
        }


@dataclass(frozen=True)
class RevalidateReport:
    """Every old record looked at, and how many records were left alone."""

    rows: tuple[Revalidation, ...]
    current_records: int  # made by the running versions: nothing to do
    already_revalidated: int  # old records whose Config has a record at the running versions

    @property
    def measured(self) -> int:
        """New records stored (one per distinct Config measured again)."""
        return len({(r.old.workload_key, r.old.config) for r in self.rows if r.new is not None})


def is_stale(record: Record, versions: tuple[str, str]) -> bool:
    """True when ``record`` was made by another (opforge, TVM) version than ``versions``."""
    opforge_version, tvm_version = versions
    return record.opforge_version != opforge_version or record.tvm_version != tvm_version


def revalidate(
    store: DBStore,
    session: TuningSession,
    workload_keys: Sequence[str] | None = None,
    on_row: Callable[[Revalidation], None] | None = None,
    max_rel_error: float | None = None,
) -> RevalidateReport:
    """Measure again, on ``session``'s target, every stale record of this target and hardware.

    ``workload_keys`` limits the run to those workloads (None: every stored workload). Each
    distinct Config is built and measured once, and its result stored through ``store`` (running
    versions, host, team) as soon as it is measured; ``on_row`` sees each old record's row.
    ``max_rel_error``: the records are of a ``--quantize`` run (``session.target`` tagged by
    ``accuracy.quantized_target``); an int8 Config is rebuilt with its record's calibration and
    checked against that error budget, as in the run that measured it.
    """
    target = session.target
    versions = store.versions
    gate = None
    if max_rel_error is not None:
        from .accuracy import AccuracyGate

        gate = AccuracyGate(session.builder, session.runner, max_rel_error)
        session.builder, session.runner = gate.builder, gate.runner
    keys = list(workload_keys) if workload_keys is not None else [w.key for w in store.db.workloads()]
    rows: list[Revalidation] = []
    current = already = 0
    for key in keys:
        workload = store.db.workload(key)
        if workload is None:
            continue
        records = store.db.records_for(key, target.canonical(), target.fingerprint())
        fresh = {(r.config, r.calibration) for r in records if not is_stale(r, versions)}
        current += sum(not is_stale(r, versions) for r in records)
        stale = [r for r in records if is_stale(r, versions)]
        already += sum((r.config, r.calibration) in fresh for r in stale)
        todo = [r for r in stale if (r.config, r.calibration) not in fresh]
        if todo:
            for row in _revalidate_workload(store, session, workload, todo, gate):
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    return RevalidateReport(tuple(rows), current, already)


def _revalidate_workload(
    store: DBStore, session: TuningSession, workload: Workload, stale: Sequence[Record], gate: Any = None
) -> list[Revalidation]:
    # float Configs measure on the plain program; int8 ones on the program calibrated as their record says
    by_calibration: dict[str | None, dict[str, list[Record]]] = {}
    for r in stale:
        calibration = r.calibration if is_quantized(r.config) else None
        by_calibration.setdefault(calibration, {}).setdefault(r.config, []).append(r)
    try:
        plain = _prepare(session, workload)
    except Exception as e:  # noqa: BLE001 - one workload that no longer lowers must not stop the others
        why = f"workload no longer lowers: {type(e).__name__}: {e}"
        logger.warning("skipping %d records of %s (%s): %s", len(stale), workload.op_name, workload.key[:12], why)
        return [Revalidation(workload.op_name, r, None, why) for r in stale]
    store.begin(plain.task)
    rows: list[Revalidation] = []
    for calibration, by_config in by_calibration.items():
        prepared = plain if calibration is None or gate is None else _calibrated(session, plain, calibration, gate)
        configs = list(by_config)
        step = session.options.batch_size
        for start in range(0, len(configs), step):
            chunk = configs[start : start + step]
            results = session.measure_each(prepared, [StoredConfig(c) for c in chunk])
            for config, result in zip(chunk, results):
                store.add_trial(prepared.task, config, result)
                rows.extend(Revalidation(workload.op_name, old, result) for old in by_config[config])
    return rows


def _calibrated(session: TuningSession, plain: Prepared, calibration: str, gate: Any) -> Prepared:
    """``plain`` calibrated with a stored calibration, its quantized checks given to ``gate``."""
    import hashlib
    import os

    from schedules.quantize import Calibration

    from .accuracy import prepare_quantized

    folder = os.path.join(os.path.dirname(plain.check.path), "quantized", hashlib.sha256(calibration.encode()).hexdigest()[:12])
    prepared, checks = prepare_quantized(plain, session.target, session.options.seed, folder, Calibration.from_json(calibration))
    if checks is not None:
        gate.add_task(prepared.check, checks)
    return prepared


def _prepare(session: TuningSession, workload: Workload) -> Prepared:
    """The stored workload made ready to measure, under its stored identity."""
    from dsl.parser import parse

    prepared = session.prepare(parse(workload.text))
    task = Task(workload.key, workload.text, workload.op_name, session.target, dict(workload.sizes), tuple(workload.dtypes))
    return dataclasses.replace(prepared, task=task)
