"""The domain values of the tuning database: workloads, targets, measured records and calibrated peaks.

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
class Calibration:
    """Peaks ``opforge targets calibrate`` measured on one machine, keyed by its hardware fingerprint.

    Each figure is None where it was not measured; ``methods`` says how each measured one was
    (``{"float32": "TVM kernel ...", "bandwidth": "triad ..."}``). ``measured_at`` is stored in UTC.
    """

    fingerprint: str
    target: str
    float32_gflops: float | None
    int8_gops: float | None
    bandwidth_gbs: float | None
    measured_at: datetime
    host: str
    methods: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("float32_gflops", "int8_gops", "bandwidth_gbs"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else float(value))
        object.__setattr__(self, "methods", {str(k): str(v) for k, v in self.methods.items()})
        object.__setattr__(self, "measured_at", to_utc(self.measured_at))

    def to_row(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "target": self.target,
            "float32_gflops": self.float32_gflops,
            "int8_gops": self.int8_gops,
            "bandwidth_gbs": self.bandwidth_gbs,
            "methods": canonical_json(self.methods),
            "measured_at": self.measured_at.replace(tzinfo=None),  # stored naive UTC, as records are
            "host": self.host,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Calibration:
        return cls(
            fingerprint=row["fingerprint"],
            target=row["target"],
            float32_gflops=row["float32_gflops"],
            int8_gops=row["int8_gops"],
            bandwidth_gbs=row["bandwidth_gbs"],
            measured_at=row["measured_at"].replace(tzinfo=timezone.utc),
            host=row["host"],
            methods=json.loads(row["methods"]),
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
    a re-measurement outside any search). ``calibration`` is the activation calibration (JSON) a
    quantized config was measured with, so the kernel can be rebuilt; None for a float config.
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
    calibration: str | None = None

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

        Two records with one uid and different results are a conflicting duplicate. The strategy and
        the calibration join the identity only where recorded, so a record without them keeps the uid
        it had before schemas 0003 and 0005.
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
        if self.calibration is not None:
            identity.append(self.calibration)
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
            "calibration": self.calibration,
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
            calibration=row["calibration"],
        )
