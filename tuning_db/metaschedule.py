"""The tuning database as a TVM MetaSchedule ``Database``, so TVM's own flows use opforge's records.

``MetaScheduleDatabase(db, target, tvm_target)`` answers MetaSchedule's queries for one target
and hardware fingerprint. A workload is found by its IRModule (structural hash, then structural
equality), so opforge workloads are visible once their lowered module is linked
(``db.link_tvm_module`` or ``link(workload_key, mod)``). Records without a trace are skipped.
Importing this module imports TVM.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import tvm
import tvm_ffi
from tvm.s_tir import meta_schedule as ms
from tvm.ir.utils import derived_object

from .db import TuningDB
from .ms_import import MS_FAILED_SECS, ms_record_config, ms_workload_key
from .records import Record, TargetInfo, TvmModule, Workload
from .validate import plain_trace


def _opforge_version() -> str:
    try:
        return version("opforge")
    except PackageNotFoundError:
        return "unknown"


@derived_object
class MetaScheduleDatabase(ms.database.PyDatabase):
    """MetaSchedule ``Database`` over a ``TuningDB`` for one target (canonical + fingerprint)."""

    def __init__(self, db: TuningDB, target: TargetInfo, tvm_target: Any, team: str | None = None):
        super().__init__()
        self.db = db
        self.target = target
        self.tvm_target = tvm.target.Target(tvm_target) if not isinstance(tvm_target, tvm.target.Target) else tvm_target
        self.team = team
        self._modules: dict[str, list[tuple[str, Any]]] = {}  # shash -> [(workload key, IRModule)]
        db.add_target(target)

    # -- workloads -------------------------------------------------------------------------

    def link(self, workload_key: str, mod: Any) -> None:
        """Say that the stored opforge workload ``workload_key`` lowers to IRModule ``mod``."""
        shash = str(tvm_ffi.structural_hash(mod))
        self.db.link_tvm_module(TvmModule(workload_key, shash, tvm.ir.save_json(mod)))
        self._modules.pop(shash, None)

    def _key_of(self, mod: Any) -> str | None:
        shash = str(tvm_ffi.structural_hash(mod))
        if shash not in self._modules:
            # TVM builds the stored module from its own JSON; nothing else from the database runs
            self._modules[shash] = [(m.workload_key, tvm.ir.load_json(m.module_json)) for m in self.db.tvm_modules(shash)]
        for key, stored in self._modules[shash]:
            if tvm_ffi.structural_equal(stored, mod):
                return key
        return None

    def has_workload(self, mod: Any) -> bool:
        return self._key_of(mod) is not None

    def commit_workload(self, mod: Any) -> Any:
        if self._key_of(mod) is None:
            module_json = tvm.ir.save_json(mod)
            key = ms_workload_key(module_json)
            self.db.add_workload(Workload(key=key, text=module_json, op_name="metaschedule"))
            self.link(key, mod)
        return ms.database.Workload(mod)

    # -- records ---------------------------------------------------------------------------

    def commit_tuning_record(self, record: Any) -> None:
        self.commit_workload(record.workload.mod)
        key = self._key_of(record.workload.mod)
        assert key is not None
        trace_json = json.dumps(_plain(record.trace.as_json()), separators=(",", ":"))
        secs = [float(s) for s in (record.run_secs or [])]
        failed = not secs or max(secs) >= MS_FAILED_SECS
        self.db.add_record(
            Record(
                workload_key=key,
                target=self.target.canonical,
                fingerprint=self.target.fingerprint,
                config=ms_record_config(trace_json),
                trace=trace_json,
                run_secs=() if failed else tuple(secs),
                status="run_error" if failed else "ok",
                error="MetaSchedule recorded no valid run time" if failed else None,
                max_abs_error=None,
                rel_l2_error=None,
                opforge_version=_opforge_version(),
                tvm_version=tvm.__version__,
                host=socket.gethostname(),
                team=self.team,
                created_at=datetime.now(timezone.utc),
            )
        )

    def get_top_k(self, workload: Any, top_k: int) -> list[Any]:
        key = self._key_of(workload.mod)
        if key is None or top_k <= 0:
            return []
        found = self.db.top_k(key, self.target.canonical, self.target.fingerprint, top_k)
        return [self._tuning_record(r, workload) for r in found if r.trace is not None]

    def get_all_tuning_records(self) -> list[Any]:
        out = []
        for m in self.db.tvm_modules():
            workload = ms.database.Workload(tvm.ir.load_json(m.module_json))
            for r in self.db.records_for(m.workload_key, self.target.canonical, self.target.fingerprint):
                if r.trace is not None and r.status == "ok":
                    out.append(self._tuning_record(r, workload))
        return out

    def __len__(self) -> int:
        return len(self.get_all_tuning_records())

    def _tuning_record(self, r: Record, workload: Any) -> Any:
        trace = plain_trace(json.loads(r.trace))  # type: ignore[arg-type]
        body = [trace, list(r.run_secs), self.tvm_target.export(), None]
        return ms.database.TuningRecord.from_json(body, workload)


def _plain(value: Any) -> Any:
    """A trace's ``as_json()`` as plain JSON values (TVM hands some numbers over as IntImm/FloatImm)."""
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and hasattr(value, "__getitem__")):
        return [_plain(v) for v in value]
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"unexpected {type(value).__name__} in a schedule trace")
