"""Sharing between databases and teams: export, import and merge as JSON lines.

One line per entry: ``{"type": "workload" | "target" | "tvm_module" | "record", ...}``,
workloads and targets before the entries that name them. Import checks every line (``validate``) and only ever adds:
a bad line is rejected with its number and reason, a line already stored is skipped, and
nothing stored before changes. Importing a file twice adds nothing the second time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, or_
from sqlalchemy.engine import make_url

from .db import ConflictError, TuningDB, open_db
from .engine import shown, url_of
from .records import Record, TargetInfo, TvmModule, Workload
from .schema import records, targets, workloads
from .validate import MAX_LINE_BYTES, Entry, InvalidEntry, parse_line

BATCH = 1000


@dataclass
class ImportReport:
    """What an import did: entries added, entries already stored, and each rejected line."""

    added: dict[str, int] = field(default_factory=lambda: {"workload": 0, "target": 0, "tvm_module": 0, "record": 0})
    present: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, why), in file order

    @property
    def ok(self) -> bool:
        return not self.rejected


def line_of(entry: Entry) -> str:
    """The JSON line of one entry (the inverse of ``validate.parse_line``)."""
    if isinstance(entry, Workload):
        body: dict[str, Any] = {"type": "workload", **asdict(entry), "dtypes": list(entry.dtypes)}
    elif isinstance(entry, TargetInfo):
        body = {"type": "target", **asdict(entry)}
    elif isinstance(entry, TvmModule):
        body = {"type": "tvm_module", **asdict(entry)}
    else:
        body = {
            "type": "record",
            **asdict(entry),
            "run_secs": list(entry.run_secs),
            "max_abs_error": _metric(entry.max_abs_error),
            "rel_l2_error": _metric(entry.rel_l2_error),
            "created_at": entry.created_at.isoformat(),
        }
        for optional in ("strategy", "calibration"):  # absent as before schemas 0003 / 0005: older opforge reads the line
            if body[optional] is None:
                del body[optional]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)


def export_lines(
    db: TuningDB, op: str | None = None, target: str | None = None, since: datetime | None = None
) -> Iterator[str]:
    """Lines of the workloads, targets and records matching the filters.

    ``op`` matches an op name or workload key, ``target`` a target name or canonical text,
    ``since`` keeps records created at or after that (aware) time.
    """
    op_match = None if op is None else or_(workloads.c.op_name == op, workloads.c.key == op)
    target_match = None if target is None else or_(targets.c.name == target, targets.c.canonical == target)
    exported = set()
    for w in db.workloads():
        if op is None or op in (w.op_name, w.key):
            exported.add(w.key)
            yield line_of(w)
    for t in db.targets():
        if target is None or target in (t.name, t.canonical):
            yield line_of(t)
    for m in db.tvm_modules():
        if m.workload_key in exported:
            yield line_of(m)
    conditions = [c for c in (op_match, target_match) if c is not None]
    if since is not None:
        conditions.append(records.c.created_at >= since.astimezone(timezone.utc).replace(tzinfo=None))
    for r in db.iter_records(and_(*conditions) if conditions else None):
        yield line_of(r)


def read_lines(stream: IO[bytes], max_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) of a byte stream; ``None`` for a line over ``max_bytes``, never held whole."""
    number = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the long line
                line = stream.readline(1 << 20)
            yield number, None
        elif line.strip():
            yield number, line


def import_lines(db: TuningDB, lines: Iterable[tuple[str, bytes | str | InvalidEntry | None]]) -> ImportReport:
    """Import (where, line) pairs into ``db``: validate each, add what is new, report what is rejected.

    ``where`` names the line in the report ("line 12"); a ``None`` line is one too long to read,
    an ``InvalidEntry`` one the caller could not read.
    """
    importer = _Importer(db)
    for seq, (where, line) in enumerate(lines):
        if line is None or isinstance(line, InvalidEntry):
            importer.reject(seq, where, str(line) if line is not None else f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            importer.take(seq, where, parse_line(line))
        except InvalidEntry as e:
            importer.reject(seq, where, str(e))
    return importer.finish()


def import_file(db: TuningDB, path: str | Path) -> ImportReport:
    with open(path, "rb") as stream:
        return import_lines(db, ((f"line {n}", line) for n, line in read_lines(stream)))


def merge(db: TuningDB, source: str) -> ImportReport:
    """Add everything of the database at ``source`` (URL or path) to ``db``, validated like an import."""
    url = make_url(url_of(source))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") and not Path(url.database).exists():
        raise ValueError(f"source database {shown(source)} does not exist")  # opening it would create an empty one
    src = open_db(source)
    try:
        return import_lines(db, ((f"{shown(source)} entry {n}", line) for n, line in enumerate(export_lines(src), 1)))
    finally:
        src.close()


class _Importer:
    """Adds validated entries in order; records go in batches, each checked against what is stored."""

    def __init__(self, db: TuningDB):
        self.db = db
        self.report = ImportReport()
        self.rejected: list[tuple[int, str, str]] = []
        self.workloads: dict[str, Workload | None] = {}
        self.targets = {(t.canonical, t.fingerprint): t for t in db.targets()}
        self.pending: dict[str, tuple[int, str, Record]] = {}

    def reject(self, seq: int, where: str, why: str) -> None:
        self.rejected.append((seq, where, why))

    def finish(self) -> ImportReport:
        self.flush()
        self.report.rejected = [(where, why) for _, where, why in sorted(self.rejected)]
        return self.report

    def take(self, seq: int, where: str, entry: Entry) -> None:
        if isinstance(entry, Workload):
            self._take_workload(entry)
        elif isinstance(entry, TargetInfo):
            self._take_target(entry)
        elif isinstance(entry, TvmModule):
            self._take_tvm_module(entry)
        else:
            self._take_record(seq, where, entry)

    def _take_workload(self, w: Workload) -> None:
        stored = self._workload(w.key)
        if stored is None:
            self.db.add_workload(w)
            self.workloads[w.key] = w
            self.report.added["workload"] += 1
        elif stored == w:
            self.report.present += 1
        else:
            raise InvalidEntry(f"workload {w.key} differs from the stored workload of that key")

    def _take_target(self, t: TargetInfo) -> None:
        stored = self.targets.get((t.canonical, t.fingerprint))
        if stored is None:
            self.db.add_target(t)
            self.targets[(t.canonical, t.fingerprint)] = t
            self.report.added["target"] += 1
        elif stored == t:
            self.report.present += 1
        else:
            raise InvalidEntry(f"target {t.name} ({t.fingerprint}) differs from the stored target")

    def _take_tvm_module(self, m: TvmModule) -> None:
        if self._workload(m.workload_key) is None:
            raise InvalidEntry(f"tvm_module names unknown workload {m.workload_key}; its workload line must come first")
        stored = self.db.tvm_modules(workload_key=m.workload_key)
        if not stored:
            self.db.link_tvm_module(m)
            self.report.added["tvm_module"] += 1
        elif stored[0] == m:
            self.report.present += 1
        else:
            raise InvalidEntry(f"tvm_module of workload {m.workload_key} differs from the stored one")

    def _take_record(self, seq: int, where: str, r: Record) -> None:
        if self._workload(r.workload_key) is None:
            raise InvalidEntry(f"record names unknown workload {r.workload_key}; its workload line must come first")
        if (r.target, r.fingerprint) not in self.targets:
            raise InvalidEntry(f"record names an unknown target (fingerprint {r.fingerprint}); its target line must come first")
        earlier = self.pending.get(r.uid)
        if earlier is not None:
            if earlier[2] != r:
                raise InvalidEntry(f"record {r.uid} repeats {earlier[1]} with a different result")
            self.report.present += 1
            return
        self.pending[r.uid] = (seq, where, r)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        stored = self.db.stored_records(list(self.pending))
        new: list[tuple[int, str, Record]] = []
        for uid, (seq, where, r) in self.pending.items():
            if uid not in stored:
                new.append((seq, where, r))
            elif stored[uid] == r:
                self.report.present += 1
            else:
                self.reject(seq, where, f"record {uid} is stored with a different result")
        self.pending.clear()
        try:
            self.report.added["record"] += self.db.add_records(r for _, _, r in new)
        except ConflictError:
            # another writer stored one of these meanwhile: go one by one to name the line
            for seq, where, r in new:
                try:
                    self.report.added["record"] += self.db.add_records([r])
                except ConflictError as e:
                    self.reject(seq, where, str(e))

    def _workload(self, key: str) -> Workload | None:
        if key not in self.workloads:
            self.workloads[key] = self.db.workload(key)
        return self.workloads[key]


def _metric(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else "inf"

