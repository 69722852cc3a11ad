"""Import a TVM MetaSchedule JSON database (``database_workload.json`` + ``database_tuning_record.json``).

The files are read as data only (no TVM object is built from them): each workload becomes an
opforge workload with its IRModule JSON linked for the MetaSchedule adapter, each tuning record
an opforge record whose config names its trace. The entries then pass the same validation and
idempotent import as an opforge export (``jsonl.import_lines``).

MetaSchedule records carry no time, host or hardware fingerprint: they are stored with the
fixed time ``MS_TIME``, host ``metaschedule`` and fingerprint ``unknown`` (so they are best only
with ``any_fingerprint``), which also makes importing the same files twice add nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .db import TuningDB
from .jsonl import ImportReport, import_lines, line_of, read_lines
from .records import Record, TargetInfo, TvmModule, Workload, canonical_json
from .validate import MAX_TEXT_CHARS, IDENT, InvalidEntry, check, loads

MS_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
MS_FINGERPRINT = "unknown"
# MetaSchedule writes this run time for a candidate that failed to build or run
MS_FAILED_SECS = 1e9


def ms_workload_key(module_json: str) -> str:
    """The opforge key of a MetaSchedule workload: sha256 of its IRModule JSON."""
    return hashlib.sha256(b"metaschedule:" + module_json.encode()).hexdigest()


def ms_record_config(trace_json: str) -> str:
    """The opforge config of a MetaSchedule record: the hash of its trace (its schedule)."""
    return canonical_json({"ms.trace_sha256": hashlib.sha256(trace_json.encode()).hexdigest()})


def ms_target(target: dict[str, Any]) -> TargetInfo:
    """The opforge target of a MetaSchedule record's TVM target dictionary."""
    kind = str(target.get("kind", "unknown"))
    name = f"tvm-{kind}" if IDENT.match(kind) else "tvm"
    return TargetInfo(name=name, canonical=canonical_json({"name": name, "tvm": target}), fingerprint=MS_FINGERPRINT)


def import_metaschedule(db: TuningDB, workload_path: str | Path, record_path: str | Path) -> ImportReport:
    """Import both files into ``db``; bad lines are rejected one by one in the report."""
    workload_path, record_path = Path(workload_path), Path(record_path)
    with open(workload_path, "rb") as w_stream, open(record_path, "rb") as r_stream:
        return import_lines(db, _entries(workload_path.name, w_stream, record_path.name, r_stream))


def _entries(w_name: str, w_stream: Any, r_name: str, r_stream: Any) -> Iterator[tuple[str, str | InvalidEntry]]:
    """Opforge lines for the MetaSchedule lines; a line that cannot be read becomes its error."""
    keys: list[str | None] = []  # workload index -> opforge key (None: that line was rejected)
    for number, raw in read_lines(w_stream):
        where = f"{w_name}:{number}"
        try:
            check(raw is not None, "line too long")
            workload, module = _workload(loads(raw, "workload"))  # type: ignore[arg-type]
        except InvalidEntry as e:
            keys.append(None)
            yield where, e
            continue
        keys.append(workload.key)
        yield where, line_of(workload)
        yield where, line_of(module)
    seen_targets: set[str] = set()
    for number, raw in read_lines(r_stream):
        where = f"{r_name}:{number}"
        try:
            check(raw is not None, "line too long")
            target, record = _record(loads(raw, "tuning record"), keys)  # type: ignore[arg-type]
        except InvalidEntry as e:
            yield where, e
            continue
        if target.canonical not in seen_targets:
            seen_targets.add(target.canonical)
            yield where, line_of(target)
        yield where, line_of(record)


def _workload(entry: Any) -> tuple[Workload, TvmModule]:
    check(isinstance(entry, list) and len(entry) == 2, "workload line must be [structural hash, module]")
    shash, blob = entry
    check(isinstance(shash, str) and shash.lstrip("-").isdigit() and len(shash) <= 21, "workload hash must be decimal digits")
    check(isinstance(blob, str) and len(blob) <= 2 * MAX_TEXT_CHARS, "workload module must be base64 text of bounded size")
    try:
        data = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidEntry("workload module is not base64") from None
    # TVM writes the JSON text with an 8-byte little-endian length in front of it
    check(len(data) >= 8 and struct.unpack("<Q", data[:8])[0] == len(data) - 8, "workload module has a bad length header")
    module_json = data[8:].decode("utf-8", errors="strict")
    graph = loads(module_json, "workload module")
    check(isinstance(graph, dict) and isinstance(graph.get("nodes"), list), "workload module is not a TVM JSON node graph")
    key = ms_workload_key(module_json)
    return (
        Workload(key=key, text=module_json, op_name="metaschedule", sizes={}, dtypes=()),
        TvmModule(workload_key=key, shash=shash, module_json=module_json),
    )


def _record(entry: Any, keys: list[str | None]) -> tuple[TargetInfo, Record]:
    check(isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list), "tuning record line must be [workload index, record]")
    index, body = entry
    check(isinstance(index, int) and 0 <= index < len(keys), f"tuning record names workload {index!r}, which the workload file lacks")
    key = keys[index]
    check(key is not None, f"tuning record names workload {index}, whose line was rejected")
    check(3 <= len(body) <= 4, "tuning record must be [trace, run_secs, target, args_info]")
    trace, run_secs, target = body[0], body[1], body[2]
    check(isinstance(target, dict), "tuning record target must be a TVM target object")
    check(run_secs is None or isinstance(run_secs, list), "tuning record run_secs must be a list or null")
    secs = [s for s in run_secs or [] if isinstance(s, (int, float)) and not isinstance(s, bool)]
    check(len(secs) == len(run_secs or []), "tuning record run_secs must be numbers")
    failed = not secs or max(secs) >= MS_FAILED_SECS
    trace_json = json.dumps(trace, sort_keys=False, separators=(",", ":"))
    info = ms_target(target)
    record = Record(
        workload_key=key,  # type: ignore[arg-type]
        target=info.canonical,
        fingerprint=MS_FINGERPRINT,
        config=ms_record_config(trace_json),
        trace=trace_json,
        run_secs=() if failed else tuple(secs),
        status="run_error" if failed else "ok",
        error="MetaSchedule recorded no valid run time" if failed else None,
        max_abs_error=None,
        rel_l2_error=None,
        opforge_version="-",
        tvm_version="-",
        host="metaschedule",
        team=None,
        created_at=MS_TIME,
    )
    return info, record

