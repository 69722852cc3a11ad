"""Calibrated peaks, kept per hardware fingerprint beside the tuning database.

Where: ``calibration.json`` in the SQLite database file's folder (``~/.opforge/calibration.json``
for the default ``~/.opforge/tuning.db``). A database without a folder (PostgreSQL, in-memory
SQLite) keeps them in ``~/.opforge/calibration.json`` unless a path is given. The file is one JSON
object ``{fingerprint: calibration}``, written whole through a temporary file and a rename, so a
reader never sees half of it. (A table in the tuning database itself can replace this file
without changing the values: ``Calibration.to_dict``/``from_dict`` is the row.)
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .target import Peaks, Target

FILE_NAME = "calibration.json"
FALLBACK_DIR = "~/.opforge"


@dataclass(frozen=True)
class Calibration:
    """What ``opforge targets calibrate`` measured on one machine (one fingerprint)."""

    fingerprint: str
    target: str
    gflops: dict[str, float]
    bandwidth_gbs: float | None
    measured_at: str  # ISO 8601, UTC
    host: str
    methods: dict[str, str] = field(default_factory=dict)

    def peaks(self) -> Peaks:
        return Peaks(dict(self.gflops), self.bandwidth_gbs, f"calibrated {self.measured_at[:10]} on {self.host}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint, "target": self.target, "gflops": dict(self.gflops),
            "bandwidth_gbs": self.bandwidth_gbs, "measured_at": self.measured_at, "host": self.host,
            "methods": dict(self.methods),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Calibration":
        gflops = d.get("gflops")
        if not isinstance(d.get("fingerprint"), str) or not isinstance(gflops, dict):
            raise ValueError(f"not a calibration: {str(d)[:120]}; expected fingerprint and gflops")
        bandwidth = d.get("bandwidth_gbs")
        return cls(
            fingerprint=d["fingerprint"], target=str(d.get("target", "")),
            gflops={str(k): float(v) for k, v in gflops.items()},
            bandwidth_gbs=float(bandwidth) if bandwidth is not None else None,
            measured_at=str(d.get("measured_at", "")), host=str(d.get("host", "")),
            methods={str(k): str(v) for k, v in (d.get("methods") or {}).items()},
        )


def calibration_path(db: str | None) -> Path:
    """Where the calibrations of database ``db`` (a SQLite path or a database URL) are kept."""
    from tuning_db import DEFAULT_DB

    db = db or DEFAULT_DB
    if "://" not in db:
        return Path(db).expanduser().resolve().parent / FILE_NAME
    if db.startswith("sqlite:///") and len(db) > len("sqlite:///"):
        return Path(db[len("sqlite:///"):]).expanduser().resolve().parent / FILE_NAME
    return Path(FALLBACK_DIR).expanduser() / FILE_NAME


def load_calibrations(path: Path) -> dict[str, Calibration]:
    """Every calibration in ``path`` by fingerprint; none where the file does not exist."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not JSON ({e.msg}); remove it and run `opforge targets calibrate` again") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds {type(data).__name__}; expected an object of calibrations by fingerprint")
    return {fp: Calibration.from_dict(d) for fp, d in data.items()}


def save_calibration(path: Path, calibration: Calibration) -> None:
    """Add or replace the calibration of its fingerprint in ``path`` (atomically)."""
    found = load_calibrations(path)
    found[calibration.fingerprint] = calibration
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({fp: c.to_dict() for fp, c in sorted(found.items())}, indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=".calibration-", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def with_calibration(target: Target, calibrations: dict[str, Calibration]) -> Target:
    """``target`` with its calibrated peaks where its fingerprint was calibrated (else unchanged)."""
    found = calibrations.get(target.fingerprint())
    return target.with_peaks(found.peaks()) if found else target
