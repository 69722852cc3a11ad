"""The domain values of the tuning database: workloads, targets and measured records.

Plain frozen dataclasses: the autotuner builds them, the database stores them, and a row and
its value meet in one tested conversion (``Record.from_row(rec.to_row()) == rec``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

STATUSES: tuple[str, ...] = ("ok", "build_error", "run_error", "timeout", "wrong_result")
# the form of a search strategy's name (``autotune.strategies.STRATEGIES`` lists the registered ones;
# the database does not import the autotuner, a test checks every registered name has this form)
STRATEGY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys and no spaces: the stored form of every structured column."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def to_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is rejected (its zone is unknown)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"created_at {moment.isoformat()} has no time zone; pass an aware datetime (UTC)")
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class Workload:
    """One operator instance: its workload key (sha256 of the canonical text) and what it is."""

    key: str
    text: str
    op_name: str
    sizes: dict[str, int] = field(default_factory=dict)
    dtypes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", {str(k): int(v) for k, v in self.sizes.items()})
        object.__setattr__(self, "dtypes", tuple(self.dtypes))

    def to_row(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "text": self.text,
            "op_name": self.op_name,
            "sizes": canonical_json(self.sizes),
            "dtypes": canonical_json(list(self.dtypes)),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Workload:
        return cls(
            key=row["key"],
            text=row["text"],
            op_name=row["op_name"],
            sizes=json.loads(row["sizes"]),
            dtypes=tuple(json.loads(row["dtypes"])),
        )


@dataclass(frozen=True)
class TargetInfo:
    """A target as the database knows it: canonical TVM description plus hardware fingerprint."""

    name: str
    canonical: str
    fingerprint: str
    hardware: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # as stored: JSON values only (a tuple of flags reads back as a list)
        object.__setattr__(self, "hardware", json.loads(canonical_json(self.hardware)))

    @classmethod
    def of(cls, target: Any) -> TargetInfo:
        """From a ``targets.Target`` (anything with ``name``, ``canonical()``, ``fingerprint()``, ``hardware``)."""
        return cls(
            name=target.name,
            canonical=target.canonical(),
            fingerprint=target.fingerprint(),
            hardware=dict(target.hardware),
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "canonical": self.canonical,
            "fingerprint": self.fingerprint,
            "hardware": canonical_json(self.hardware),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TargetInfo:
        return cls(
            name=row["name"],
            canonical=row["canonical"],
            fingerprint=row["fingerprint"],
            hardware=json.loads(row["hardware"]),
        )


@dataclass(frozen=True)
class TvmModule:
    """The TVM IRModule a workload lowers to: structural hash and ``tvm.ir.save_json`` text.

    Lets TVM's MetaSchedule find opforge's records by module (see ``tuning_db.metaschedule``).
    """

    workload_key: str
    shash: str
    module_json: str


@dataclass(frozen=True)
class Record:
    """One measured trial: which config ran where, how long each repeat took, and provenance.

    ``target`` is the target's canonical text and ``fingerprint`` its hardware fingerprint;
    ``config`` is the Config JSON and ``trace`` the TVM trace JSON kept for replay.
    ``created_at`` is stored in UTC. ``strategy`` names the search strategy that proposed the
    trial (``"evolutionary"``, ``"random"``, ...); None where none did (a record from before schema 0003,
    a re-measurement outside any search).
    """

    workload_key: str
    target: str
    fingerprint: str
    config: str
    trace: str | None
    run_secs: tuple[float, ...]
    status: str
    error: str | None
    max_abs_error: float | None
    rel_l2_error: float | None
    opforge_version: str
    tvm_version: str
    host: str
    team: str | None
    created_at: datetime
    strategy: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown record status {self.status!r}; expected one of {list(STATUSES)}")
        if self.strategy is not None and not (isinstance(self.strategy, str) and STRATEGY_NAME.match(self.strategy)):
            raise ValueError(f"strategy {self.strategy!r} is not a strategy name; expected None or {STRATEGY_NAME.pattern}")
        object.__setattr__(self, "run_secs", tuple(float(s) for s in self.run_secs))
        object.__setattr__(self, "created_at", to_utc(self.created_at))

    @property
    def median_secs(self) -> float:
        """Median of the repeats; ``inf`` for a trial with no timing (failures cost infinity)."""
        return statistics.median(self.run_secs) if self.run_secs else math.inf

    @property
    def uid(self) -> str:
        """Identity of the trial (what ran, where, when, by whom), not its result.

        Two records with one uid and different results are a conflicting duplicate. The strategy
        joins the identity only where recorded, so a record without one keeps the uid it had before
        schema 0003.
        """
        identity = [
            self.workload_key,
            self.target,
            self.fingerprint,
            self.config,
            self.host,
            self.team,
            self.opforge_version,
            self.tvm_version,
            self.created_at.isoformat(),
        ]
        if self.strategy is not None:
            identity.append(self.strategy)
        return hashlib.sha256(canonical_json(identity).encode()).hexdigest()

    def to_row(self) -> dict[str, Any]:
        """Column values; the workload and target appear by key, the store maps them to ids."""
        median = self.median_secs
        return {
            "uid": self.uid,
            "workload_key": self.workload_key,
            "target": self.target,
            "fingerprint": self.fingerprint,
            "config": self.config,
            "trace": self.trace,
            "run_secs": canonical_json(list(self.run_secs)),
            "median_secs": median if math.isfinite(median) else None,
            "status": self.status,
            "error": self.error,
            "max_abs_error": self.max_abs_error,
            "rel_l2_error": self.rel_l2_error,
            "opforge_version": self.opforge_version,
            "tvm_version": self.tvm_version,
            "host": self.host,
            "team": self.team,
            # stored naive: SQLite keeps no zone, and every stored time is UTC
            "created_at": self.created_at.replace(tzinfo=None),
            "strategy": self.strategy,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Record:
        return cls(
            workload_key=row["workload_key"],
            target=row["target"],
            fingerprint=row["fingerprint"],
            config=row["config"],
            trace=row["trace"],
            run_secs=tuple(json.loads(row["run_secs"])),
            status=row["status"],
            error=row["error"],
            max_abs_error=row["max_abs_error"],
            rel_l2_error=row["rel_l2_error"],
            opforge_version=row["opforge_version"],
            tvm_version=row["tvm_version"],
            host=row["host"],
            team=row["team"],
            created_at=row["created_at"].replace(tzinfo=timezone.utc),
            strategy=row["strategy"],
        )
