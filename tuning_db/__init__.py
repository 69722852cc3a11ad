"""The tuning database: workloads, targets, every measured record and calibrated peaks, in SQLite or PostgreSQL."""

from .db import DEFAULT_DB, ConflictError, Stats, TuningDB, UnknownReferenceError, open_db
from .migrate import SchemaError, head_revision, upgrade
from .records import STATUSES, Calibration, Record, TargetInfo, TvmModule, Workload

__all__ = [
    "DEFAULT_DB",
    "STATUSES",
    "Calibration",
    "ConflictError",
    "Record",
    "SchemaError",
    "Stats",
    "TargetInfo",
    "TuningDB",
    "TvmModule",
    "UnknownReferenceError",
    "Workload",
    "head_revision",
    "open_db",
    "upgrade",
]
