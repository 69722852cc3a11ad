"""Where the tuner keeps trials: a small Protocol, an in-memory store, and the tuning database.

The tuner uses exactly these methods, so it runs the same against ``MemoryStore`` (tests) and
``DBStore`` (``tuning_db.TuningDB``: SQLite or PostgreSQL), which adds provenance (versions,
host, team, time, the search strategy) when it turns a trial into a ``tuning_db.Record``.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol, Sequence

from .measure.result import MeasureResult


@dataclass(frozen=True)
class Task:
    """One (workload, target) pair being tuned: the workload's identity and the target.

    ``calibration``: the activation calibration (JSON) of a ``--quantize`` run, written on each of its
    quantized trials so the kernel can be rebuilt later; None for a float-only run.
    """

    workload_key: str
    workload_text: str
    op_name: str
    target: Any  # targets.Target
    sizes: dict[str, int] = field(default_factory=dict)
    dtypes: tuple[str, ...] = ()
    calibration: str | None = None

    def __hash__(self) -> int:
        return hash((self.workload_key, self.target.canonical(), self.target.fingerprint()))

    @classmethod
    def of(cls, op: Any, target: Any) -> "Task":
        """The task of tuning the bound ``dsl.Op`` ``op`` for ``target``."""
        from dsl.key import canonical_text, workload_key

        dtypes = tuple(dict.fromkeys(t.dtype for t in (*op.inputs, *op.output_tensors)))
        return cls(workload_key(op), canonical_text(op), op.name, target, dict(op.sizes), dtypes)


@dataclass(frozen=True)
class StoredTrial:
    """A trial read back from a store: the Config JSON, what measuring it gave, and the search
    strategy that proposed it (None outside a search, or not recorded)."""

    workload_key: str
    config: str
    result: MeasureResult
    strategy: str | None = None


def is_quantized(config_json: str) -> bool:
    """Whether a Config computes in int8 (its ``quantize`` knob is set), so it needs its calibration."""
    import json

    return json.loads(config_json).get("quantize", "none") != "none"


class Store(Protocol):
    def begin(self, task: Task) -> None:
        """Make the workload and target known before trials are added."""

    def add_trial(self, task: Task, config_json: str, result: MeasureResult, strategy: str | None = None) -> None:
        """Keep one measured trial, now (a killed run loses nothing it measured).

        ``strategy``: the registered name of the search strategy that proposed it; None outside a search.
        """

    def trials(self, task: Task) -> list[StoredTrial]:
        """Every stored trial of this workload on this target and hardware fingerprint."""

    def target_trials(self, task: Task, limit: int) -> list[tuple[str, str, StoredTrial]]:
        """Up to ``limit`` trials of *other* workloads on the same target and fingerprint, as
        (workload text, op name, trial): the cost model's warm start."""


class MemoryStore:
    """Trials in a dict: for tests and for runs that keep nothing."""

    def __init__(self) -> None:
        self._tasks: dict[tuple[str, str, str], Task] = {}
        self._trials: dict[tuple[str, str, str], list[StoredTrial]] = {}

    @staticmethod
    def _key(task: Task) -> tuple[str, str, str]:
        return (task.workload_key, task.target.canonical(), task.target.fingerprint())

    def begin(self, task: Task) -> None:
        self._tasks[self._key(task)] = task
        self._trials.setdefault(self._key(task), [])

    def add_trial(self, task: Task, config_json: str, result: MeasureResult, strategy: str | None = None) -> None:
        self._trials[self._key(task)].append(StoredTrial(task.workload_key, config_json, result, strategy))

    def trials(self, task: Task) -> list[StoredTrial]:
        return list(self._trials.get(self._key(task), []))

    def target_trials(self, task: Task, limit: int) -> list[tuple[str, str, StoredTrial]]:
        out: list[tuple[str, str, StoredTrial]] = []
        for key, trials in self._trials.items():
            if key[1:] == self._key(task)[1:] and key[0] != task.workload_key:
                other = self._tasks[key]
                out.extend((other.workload_text, other.op_name, t) for t in trials)
        return out[-limit:] if limit else []


def current_versions() -> tuple[str, str]:
    """(opforge version, TVM version) of this process: the provenance every new record carries."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        opforge = version("opforge")
    except PackageNotFoundError:
        opforge = "unknown"
    import tvm

    return opforge, str(tvm.__version__)


class DBStore:
    """The tuning database behind the Store protocol; ``team`` tags every record written."""

    def __init__(self, db: Any, team: str | None = None, host: str | None = None) -> None:
        self.db = db
        self.team = team
        self.host = host or platform.node()
        self._opforge_version, self._tvm_version = current_versions()

    @property
    def versions(self) -> tuple[str, str]:
        """(opforge version, TVM version) written on every record this store adds."""
        return self._opforge_version, self._tvm_version

    @classmethod
    def open(cls, url: str, team: str | None = None) -> "DBStore":
        from tuning_db import open_db

        return cls(open_db(url), team=team)

    def begin(self, task: Task) -> None:
        from tuning_db import TargetInfo, Workload

        self.db.add_workload(Workload(task.workload_key, task.workload_text, task.op_name, task.sizes, task.dtypes))
        self.db.add_target(TargetInfo.of(task.target))

    def add_trial(self, task: Task, config_json: str, result: MeasureResult, strategy: str | None = None) -> None:
        from tuning_db import Record

        self.db.add_record(
            Record(
                workload_key=task.workload_key,
                target=task.target.canonical(),
                fingerprint=task.target.fingerprint(),
                config=config_json,
                trace=result.trace,
                run_secs=result.run_secs,
                status=result.status,
                error=result.error,
                max_abs_error=result.max_abs_error,
                rel_l2_error=result.rel_l2_error,
                opforge_version=self._opforge_version,
                tvm_version=self._tvm_version,
                host=self.host,
                team=self.team,
                created_at=datetime.now(timezone.utc),
                strategy=strategy,
                calibration=task.calibration if is_quantized(config_json) else None,
            )
        )

    @staticmethod
    def _trial(record: Any) -> StoredTrial:
        result = MeasureResult(
            run_secs=record.run_secs if record.status == "ok" else (),
            status=record.status,
            error=record.error,
            max_abs_error=record.max_abs_error,
            rel_l2_error=record.rel_l2_error,
            trace=record.trace,
        )
        return StoredTrial(record.workload_key, record.config, result, record.strategy)

    def trials(self, task: Task) -> list[StoredTrial]:
        records = self.db.records_for(task.workload_key, task.target.canonical(), task.target.fingerprint())
        return [self._trial(r) for r in records]

    def target_trials(self, task: Task, limit: int) -> list[tuple[str, str, StoredTrial]]:
        out: list[tuple[str, str, StoredTrial]] = []
        for w in self.db.workloads():
            if w.key == task.workload_key:
                continue
            records = self.db.records_for(w.key, task.target.canonical(), task.target.fingerprint())
            out.extend((w.text, w.op_name, self._trial(r)) for r in records)
        return out[-limit:] if limit else []

    def close(self) -> None:
        self.db.close()


def best_of(trials: Sequence[StoredTrial]) -> StoredTrial | None:
    ok = [t for t in trials if t.result.ok]
    return min(ok, key=lambda t: t.result.median_secs) if ok else None
