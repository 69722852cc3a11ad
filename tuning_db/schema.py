"""The tables of the tuning database (SQLAlchemy Core), at the newest migration.

Migrations in ``migrations/versions`` build exactly this; a test compares the two.
The index ``ix_records_best`` answers "fastest ok record of (workload, target)" with one seek.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit id
RecordId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

workloads = Table(
    "workloads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("op_name", String(128), nullable=False),
    Column("sizes", Text, nullable=False),
    Column("dtypes", Text, nullable=False),
)

targets = Table(
    "targets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False),
    Column("canonical", String(4096), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("hardware", Text, nullable=False),
    UniqueConstraint("canonical", "fingerprint", name="uq_targets_canonical_fingerprint"),
)

records = Table(
    "records",
    metadata,
    Column("id", RecordId, primary_key=True),
    Column("uid", String(64), nullable=False, unique=True),
    Column("workload_id", Integer, ForeignKey("workloads.id"), nullable=False),
    Column("target_id", Integer, ForeignKey("targets.id"), nullable=False),
    Column("config", Text, nullable=False),
    Column("trace", Text, nullable=True),
    Column("run_secs", Text, nullable=False),
    Column("median_secs", Float, nullable=True),
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("max_abs_error", Float, nullable=True),
    Column("rel_l2_error", Float, nullable=True),
    Column("opforge_version", String(64), nullable=False),
    Column("tvm_version", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("team", String(255), nullable=True),
    Column("created_at", DateTime, nullable=False),
    # the search strategy that proposed the trial; NULL where not recorded (before 0003, revalidation)
    Column("strategy", String(32), nullable=True),
    # the activation calibration (JSON) a quantized config was measured with; NULL for float configs (0005)
    Column("calibration", Text, nullable=True),
    Index("ix_records_best", "workload_id", "target_id", "status", "median_secs", "id"),
    Index("ix_records_created_at", "created_at"),
)

# the IRModule a workload lowers to, so TVM (MetaSchedule) can find opforge's records by module
tvm_modules = Table(
    "tvm_modules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workload_id", Integer, ForeignKey("workloads.id"), nullable=False, unique=True),
    Column("shash", String(32), nullable=False, index=True),
    Column("module_json", Text, nullable=False),
)

# the peaks `opforge targets calibrate` measured, one row per hardware fingerprint (the newest wins);
# a figure not measured is NULL, ``methods`` the JSON {figure: how it was measured}
calibrations = Table(
    "calibrations",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("target", String(128), nullable=False),
    Column("float32_gflops", Float, nullable=True),
    Column("int8_gops", Float, nullable=True),
    Column("bandwidth_gbs", Float, nullable=True),
    Column("methods", Text, nullable=False),
    Column("measured_at", DateTime, nullable=False),
    Column("host", String(255), nullable=False),
)
