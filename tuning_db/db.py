"""``TuningDB``: the autotuner's store of workloads, targets and every measured record.

Each ``add_*`` call is its own committed transaction, so a record is on disk when the call
returns and a killed tuning run loses nothing it measured. One ``TuningDB`` per process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite

from . import engine as engines
from .migrate import ensure_schema
from .records import Calibration, Record, TargetInfo, TvmModule, Workload
from .schema import calibrations, records, targets, tvm_modules, workloads

DEFAULT_DB = "~/.opforge/tuning.db"

_RECORD_SELECT = (
    select(
        records,
        workloads.c.key.label("workload_key"),
        targets.c.canonical.label("target"),
        targets.c.fingerprint,
    )
    .join(workloads, records.c.workload_id == workloads.c.id)
    .join(targets, records.c.target_id == targets.c.id)
)


class UnknownReferenceError(ValueError):
    """A record names a workload or target the database does not hold."""


class ConflictError(ValueError):
    """An entry with this identity is stored with different content."""


@dataclass(frozen=True)
class PairStats:
    """Records of one (workload, target, fingerprint) and its fastest ok record."""

    op_name: str
    workload_key: str
    target_name: str
    fingerprint: str
    records: int
    ok: int
    best_secs: float | None


@dataclass(frozen=True)
class Stats:
    workloads: int
    targets: int
    records: int
    by_status: dict[str, int]
    pairs: tuple[PairStats, ...]


class TuningDB:
    """A tuning database at ``url``: ``sqlite:///path.db``, ``sqlite://`` or ``postgresql+psycopg://...``.

    A new database is created at the newest schema; an older one must be upgraded first
    (``opforge db upgrade``).
    """

    def __init__(self, url: str):
        self.url = url
        self.engine = engines.make_engine(url)
        self.dialect = self.engine.dialect.name
        ensure_schema(self.engine)
        self._workload_ids: dict[str, int] = {}
        self._target_ids: dict[tuple[str, str], int] = {}

    # -- writing ---------------------------------------------------------------------------

    def add_workload(self, w: Workload) -> None:
        """Store a workload once; adding it again changes nothing."""
        self.add_workloads([w])

    def add_workloads(self, ws: Sequence[Workload]) -> int:
        """Store workloads not yet present; a stored key with other content is a ConflictError."""
        rows = [w.to_row() for w in ws]
        if not rows:
            return 0

        def run(conn: Connection) -> int:
            added = self._insert_new(conn, workloads, rows, "key")
            stored = self._fetch(conn, select(workloads).where(workloads.c.key.in_([r["key"] for r in rows])))
            by_key = {Workload.from_row(r).key: Workload.from_row(r) for r in stored}
            for w in ws:
                if by_key[w.key] != w:
                    raise ConflictError(f"workload {w.key} is stored with other content ({by_key[w.key].op_name})")
            return added

        return engines.write(self.engine, run)

    def add_target(self, t: TargetInfo) -> None:
        """Store a target (canonical description, fingerprint) once; adding it again changes nothing."""
        self.add_targets([t])

    def add_targets(self, ts: Sequence[TargetInfo]) -> int:
        """Store targets not yet present; a stored (canonical, fingerprint) with other facts is a ConflictError."""
        rows = [t.to_row() for t in ts]
        if not rows:
            return 0

        def run(conn: Connection) -> int:
            added = self._insert_new(conn, targets, rows, "canonical", "fingerprint")
            for t in ts:
                stored = self._fetch(conn, select(targets).where(_target_is(t.canonical, t.fingerprint)))
                if TargetInfo.from_row(stored[0]) != t:
                    raise ConflictError(f"target {t.name} ({t.fingerprint}) is stored with other hardware facts")
            return added

        return engines.write(self.engine, run)

    def add_record(self, r: Record) -> None:
        """Store one record, committed when this returns."""
        self.add_records([r])

    def add_records(self, rs: Iterable[Record]) -> int:
        """Store records in one transaction; returns how many were new (a stored uid is skipped).

        The workload and target of each record must be stored first. A record whose uid is
        stored with a different result raises ConflictError and nothing is added.
        """
        batch: dict[str, Record] = {}
        for r in rs:
            if r.uid in batch and batch[r.uid] != r:
                raise ConflictError(f"two records with uid {r.uid} differ in their results")
            batch[r.uid] = r
        if not batch:
            return 0

        def run(conn: Connection) -> int:
            rows = [self._record_row(conn, r) for r in batch.values()]
            added = self._insert_new(conn, records, rows, "uid")
            if added < len(rows):
                for stored in self._stored_records(conn, list(batch)):
                    if stored != batch[stored.uid]:
                        raise ConflictError(f"record {stored.uid} is stored with a different result")
            return added

        return engines.write(self.engine, run)

    def link_tvm_module(self, m: TvmModule) -> None:
        """Remember the IRModule a stored workload lowers to; the first link of a workload stays."""

        def run(conn: Connection) -> None:
            row = {"workload_id": self._workload_id(conn, m.workload_key), "shash": m.shash, "module_json": m.module_json}
            self._insert_new(conn, tvm_modules, [row], "workload_id")

        engines.write(self.engine, run)

    def save_calibration(self, c: Calibration) -> None:
        """Store the calibrated peaks of ``c.fingerprint``, replacing any earlier calibration of it."""
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        row = c.to_row()
        statement = dialect_insert(calibrations).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["fingerprint"], set_={k: v for k, v in row.items() if k != "fingerprint"}
        )
        engines.write(self.engine, lambda conn: conn.execute(statement))

    # -- reading ---------------------------------------------------------------------------

    def workload(self, key: str) -> Workload | None:
        rows = engines.read(self.engine, lambda c: self._fetch(c, select(workloads).where(workloads.c.key == key)))
        return Workload.from_row(rows[0]) if rows else None

    def workloads(self) -> list[Workload]:
        rows = engines.read(self.engine, lambda c: self._fetch(c, select(workloads).order_by(workloads.c.id)))
        return [Workload.from_row(r) for r in rows]

    def targets(self) -> list[TargetInfo]:
        rows = engines.read(self.engine, lambda c: self._fetch(c, select(targets).order_by(targets.c.id)))
        return [TargetInfo.from_row(r) for r in rows]

    def calibration(self, fingerprint: str) -> Calibration | None:
        """The calibrated peaks of hardware ``fingerprint``; None where it was never calibrated."""
        query = select(calibrations).where(calibrations.c.fingerprint == fingerprint)
        rows = engines.read(self.engine, lambda c: self._fetch(c, query))
        return Calibration.from_row(rows[0]) if rows else None

    def calibrations(self) -> list[Calibration]:
        """Every stored calibration, by fingerprint."""
        rows = engines.read(self.engine, lambda c: self._fetch(c, select(calibrations).order_by(calibrations.c.fingerprint)))
        return [Calibration.from_row(r) for r in rows]

    def tvm_modules(self, shash: str | None = None, workload_key: str | None = None) -> list[TvmModule]:
        """The linked IRModules (all, or those with structural hash ``shash`` / of one workload), oldest first."""
        query = select(workloads.c.key, tvm_modules.c.shash, tvm_modules.c.module_json).join(
            workloads, tvm_modules.c.workload_id == workloads.c.id
        )
        if shash is not None:
            query = query.where(tvm_modules.c.shash == shash)
        if workload_key is not None:
            query = query.where(workloads.c.key == workload_key)
        rows = engines.read(self.engine, lambda c: c.execute(query.order_by(tvm_modules.c.id)).all())
        return [TvmModule(*row) for row in rows]

    def records_for(self, workload_key: str, target: str | None = None, fingerprint: str | None = None) -> list[Record]:
        """Every record of a workload (optionally of one target and fingerprint), oldest first."""
        query = _RECORD_SELECT.where(workloads.c.key == workload_key)
        if target is not None:
            query = query.where(targets.c.canonical == target)
        if fingerprint is not None:
            query = query.where(targets.c.fingerprint == fingerprint)
        rows = engines.read(self.engine, lambda c: self._fetch(c, query.order_by(records.c.id)))
        return [Record.from_row(r) for r in rows]

    def top_k(
        self, workload_key: str, target: str, fingerprint: str | None = None, k: int = 1, any_fingerprint: bool = False
    ) -> list[Record]:
        """The ``k`` fastest ok records of (workload, target) on hardware ``fingerprint``.

        Records measured on other hardware count only with ``any_fingerprint=True``.
        """
        if fingerprint is None and not any_fingerprint:
            raise ValueError("pass the fingerprint of the hardware the record is for, or any_fingerprint=True")

        def run(conn: Connection) -> list[Record]:
            workload_id = self._workload_id(conn, workload_key, missing_ok=True)
            if workload_id is None:
                return []
            if any_fingerprint:
                target_ids = conn.execute(select(targets.c.id).where(targets.c.canonical == target)).scalars().all()
            else:
                target_id = self._target_id(conn, target, fingerprint, missing_ok=True)  # type: ignore[arg-type]
                target_ids = [] if target_id is None else [target_id]
            found: list[Record] = []
            # one index seek per fingerprint (ix_records_best), then the k fastest of those
            for target_id in target_ids:
                query = (
                    _RECORD_SELECT.where(
                        records.c.workload_id == workload_id,
                        records.c.target_id == target_id,
                        records.c.status == "ok",
                        records.c.median_secs.is_not(None),
                    )
                    .order_by(records.c.median_secs, records.c.id)
                    .limit(k)
                )
                found.extend(Record.from_row(r) for r in self._fetch(conn, query))
            return sorted(found, key=lambda r: r.median_secs)[:k]

        return engines.read(self.engine, run)

    def best(
        self, workload_key: str, target: str, fingerprint: str | None = None, any_fingerprint: bool = False
    ) -> Record | None:
        """The fastest ok record of (workload, target) on hardware ``fingerprint``, or None."""
        found = self.top_k(workload_key, target, fingerprint, 1, any_fingerprint)
        return found[0] if found else None

    def measured_configs(self, workload_key: str, target: str, fingerprint: str) -> set[str]:
        """Config JSON of every stored trial of (workload, target, fingerprint), failures included."""
        query = (
            select(records.c.config)
            .join(workloads, records.c.workload_id == workloads.c.id)
            .join(targets, records.c.target_id == targets.c.id)
            .where(workloads.c.key == workload_key, _target_is(target, fingerprint))
        )
        return set(engines.read(self.engine, lambda c: c.execute(query).scalars().all()))

    def iter_records(self, query_filter: Any = None, chunk: int = 2000) -> Iterable[Record]:
        """All records (or those matching a SQLAlchemy condition), oldest first, in chunks."""
        last_id = 0
        while True:
            query = _RECORD_SELECT.where(records.c.id > last_id)
            if query_filter is not None:
                query = query.where(query_filter)
            rows = engines.read(self.engine, lambda c: self._fetch(c, query.order_by(records.c.id).limit(chunk)))
            if not rows:
                return
            yield from (Record.from_row(r) for r in rows)
            last_id = rows[-1]["id"]

    def stored_records(self, uids: Sequence[str]) -> dict[str, Record]:
        """The stored records among ``uids``, by uid."""
        found = engines.read(self.engine, lambda c: self._stored_records(c, uids))
        return {r.uid: r for r in found}

    def count_records(self) -> int:
        return engines.read(self.engine, lambda c: c.execute(select(func.count()).select_from(records)).scalar_one())

    def stats(self) -> Stats:
        """Counts of everything and the best time of each (workload, target, fingerprint)."""

        def run(conn: Connection) -> Stats:
            count = func.count().label("n")
            by_status: dict[str, int] = {s: n for s, n in conn.execute(select(records.c.status, count).group_by(records.c.status)).all()}
            ok = func.count().filter(records.c.status == "ok").label("ok")
            best = func.min(records.c.median_secs).filter(records.c.status == "ok").label("best")
            pairs = conn.execute(
                select(workloads.c.op_name, workloads.c.key, targets.c.name, targets.c.fingerprint, count, ok, best)
                .join(workloads, records.c.workload_id == workloads.c.id)
                .join(targets, records.c.target_id == targets.c.id)
                .group_by(workloads.c.op_name, workloads.c.key, targets.c.name, targets.c.fingerprint)
                .order_by(workloads.c.op_name, workloads.c.key, targets.c.name, targets.c.fingerprint)
            ).all()
            return Stats(
                workloads=conn.execute(select(func.count()).select_from(workloads)).scalar_one(),
                targets=conn.execute(select(func.count()).select_from(targets)).scalar_one(),
                records=sum(by_status.values()),
                by_status=by_status,
                pairs=tuple(PairStats(p[0], p[1], p[2], p[3], p[4], int(p[5] or 0), p[6]) for p in pairs),
            )

        return engines.read(self.engine, run)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> TuningDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _insert_new(self, conn: Connection, table: Any, rows: list[dict[str, Any]], *unique: str) -> int:
        """Insert rows whose unique columns are not stored yet; returns how many went in."""
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(unique))
        added = 0
        for start in range(0, len(rows), 5000):
            added += len(conn.execute(statement.returning(table.c.id), rows[start : start + 5000]).all())
        return added

    def _record_row(self, conn: Connection, r: Record) -> dict[str, Any]:
        row = r.to_row()
        row["workload_id"] = self._workload_id(conn, row.pop("workload_key"))
        row["target_id"] = self._target_id(conn, row.pop("target"), row.pop("fingerprint"))
        return row

    def _workload_id(self, conn: Connection, key: str, missing_ok: bool = False) -> Any:
        if key not in self._workload_ids:
            found = conn.execute(select(workloads.c.id).where(workloads.c.key == key)).scalar_one_or_none()
            if found is None:
                if missing_ok:
                    return None
                raise UnknownReferenceError(f"unknown workload {key}; store it with add_workload first")
            self._workload_ids[key] = found
        return self._workload_ids[key]

    def _target_id(self, conn: Connection, canonical: str, fingerprint: str, missing_ok: bool = False) -> Any:
        if (canonical, fingerprint) not in self._target_ids:
            found = conn.execute(select(targets.c.id).where(_target_is(canonical, fingerprint))).scalar_one_or_none()
            if found is None:
                if missing_ok:
                    return None
                raise UnknownReferenceError(
                    f"unknown target {canonical} with fingerprint {fingerprint}; store it with add_target first"
                )
            self._target_ids[(canonical, fingerprint)] = found
        return self._target_ids[(canonical, fingerprint)]

    def _stored_records(self, conn: Connection, uids: Sequence[str]) -> list[Record]:
        found: list[Record] = []
        for start in range(0, len(uids), 500):
            query = _RECORD_SELECT.where(records.c.uid.in_(uids[start : start + 500]))
            found.extend(Record.from_row(r) for r in self._fetch(conn, query))
        return found

    @staticmethod
    def _fetch(conn: Connection, query: Select[Any]) -> list[Any]:
        return list(conn.execute(query).mappings().all())


def _target_is(canonical: str, fingerprint: str) -> Any:
    return and_(targets.c.canonical == canonical, targets.c.fingerprint == fingerprint)


def open_db(url_or_path: str) -> TuningDB:
    """Open a tuning database by URL, or by file path (a SQLite file, created if missing)."""
    return TuningDB(engines.url_of(url_or_path))
