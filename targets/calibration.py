"""Calibrated peaks, kept per hardware fingerprint in the tuning database (table ``calibrations``).

``Calibration`` is the targets' view (figures by dtype, ``peaks()``); ``tuning_db.Calibration``
is the stored row, and ``to_stored``/``from_stored`` convert. Installs from before schema 0004 kept
them in ``calibration.json`` beside the SQLite file: that file is still read, under the database's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .target import Peaks, Target

FILE_NAME = "calibration.json"


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

    def to_stored(self) -> Any:
        """The ``tuning_db.Calibration`` row of this calibration."""
        from tuning_db import Calibration as Stored

        return Stored(
            fingerprint=self.fingerprint, target=self.target, float32_gflops=self.gflops.get("float32"),
            int8_gops=self.gflops.get("int8"), bandwidth_gbs=self.bandwidth_gbs,
            measured_at=datetime.fromisoformat(self.measured_at), host=self.host, methods=dict(self.methods),
        )

    @classmethod
    def from_stored(cls, stored: Any) -> "Calibration":
        """From a ``tuning_db.Calibration`` row (a figure stored as NULL is left out)."""
        figures = {"float32": stored.float32_gflops, "int8": stored.int8_gops}
        return cls(
            fingerprint=stored.fingerprint, target=stored.target, gflops={k: v for k, v in figures.items() if v is not None},
            bandwidth_gbs=stored.bandwidth_gbs, measured_at=stored.measured_at.isoformat(timespec="seconds"),
            host=stored.host, methods=dict(stored.methods),
        )

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


def legacy_path(db_url: str) -> Path | None:
    """Where an install from before schema 0004 kept the calibrations of SQLite database ``db_url``
    (``calibration.json`` beside the file); None for other databases, which never had one."""
    if "://" not in db_url:
        return Path(db_url).expanduser().resolve().parent / FILE_NAME
    if db_url.startswith("sqlite:///") and len(db_url) > len("sqlite:///"):
        return Path(db_url[len("sqlite:///"):]).expanduser().resolve().parent / FILE_NAME
    return None


def load_calibrations(path: Path) -> dict[str, Calibration]:
    """Every calibration in an old ``calibration.json`` by fingerprint; none where the file does not exist."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not JSON ({e.msg}); remove it and run `opforge targets calibrate` again") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds {type(data).__name__}; expected an object of calibrations by fingerprint")
    return {fp: Calibration.from_dict(d) for fp, d in data.items()}


def calibrations_of(db: Any) -> dict[str, Calibration]:
    """Every calibration of the open ``tuning_db.TuningDB`` ``db`` by fingerprint; an old
    ``calibration.json`` beside its SQLite file fills in fingerprints the database lacks."""
    legacy = legacy_path(db.url)
    found = load_calibrations(legacy) if legacy else {}
    found.update({s.fingerprint: Calibration.from_stored(s) for s in db.calibrations()})
    return found


def with_calibration(target: Target, calibrations: dict[str, Calibration]) -> Target:
    """``target`` with its calibrated peaks where its fingerprint was calibrated (else unchanged)."""
    found = calibrations.get(target.fingerprint())
    return target.with_peaks(found.peaks()) if found else target
