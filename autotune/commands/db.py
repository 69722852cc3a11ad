"""``opforge db ...``: upgrade, export, import, merge, best and stats of the tuning database."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from tuning_db import DEFAULT_DB, SchemaError, TuningDB, open_db
from tuning_db.engine import make_engine, shown, url_of

from .common import op_options, parse_shape, resolve_op
from .errors import CliError

db_option = click.option(
    "--db",
    "db_url",
    envvar="OPFORGE_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="Tuning database: a SQLite file path or a URL (sqlite:///..., postgresql+psycopg://...). Env: OPFORGE_DB.",
)


@contextmanager
def opened(db_url: str) -> Iterator[TuningDB]:
    """The database at ``db_url``; schema and connection problems become one-line errors."""
    try:
        db = open_db(db_url)
    except (SchemaError, ValueError) as e:
        raise CliError(str(e)) from None
    except SQLAlchemyError as e:
        raise CliError(f"cannot open the tuning database {shown(db_url)}: {_first_line(e)}") from None
    try:
        yield db
    except SQLAlchemyError as e:
        raise CliError(f"tuning database {shown(db_url)}: {_first_line(e)}") from None
    finally:
        db.close()


@click.group("db")
def db_group() -> None:
    """Look after the tuning database: upgrade, share (export/import/merge), query (best/stats)."""


@db_group.command("upgrade")
@db_option
@click.option("--revision", default="head", show_default=True, help="Schema revision to migrate to.")
def upgrade_command(db_url: str, revision: str) -> None:
    """Migrate the database's schema to the newest revision (keeps every record)."""
    from tuning_db.migrate import upgrade

    engine = make_engine(url_of(db_url))
    try:
        before, after = upgrade(engine, revision)
    except SchemaError as e:
        raise CliError(str(e)) from None
    except SQLAlchemyError as e:
        raise CliError(f"cannot upgrade {shown(db_url)}: {_first_line(e)}") from None
    finally:
        engine.dispose()
    click.echo(f"schema {before or '(new)'} -> {after}" if before != after else f"schema already at {after}")


@db_group.command("export")
@db_option
@click.option("--op", default=None, help="Only this op name (or workload key).")
@click.option("--target", "target_name", default=None, help="Only this target name (e.g. cpu) or canonical text.")
@click.option("--since", default=None, metavar="TIME", help="Only records created at or after TIME (ISO 8601, e.g. 2025-01-31 or 2025-01-31T12:00+00:00; UTC if no zone).")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write here instead of stdout.")
def export_command(db_url: str, op: str | None, target_name: str | None, since: str | None, output: Any) -> None:
    """Write workloads, targets and records as JSON lines (for `opforge db import`)."""
    from tuning_db.jsonl import export_lines

    since_time = _parse_time(since) if since else None
    with opened(db_url) as db:
        for line in export_lines(db, op=op, target=target_name, since=since_time):
            output.write(line + "\n")


@db_group.command("import")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_command(db_url: str, path: str) -> None:
    """Add the entries of a JSON-lines file; every line is validated, bad lines are reported."""
    from tuning_db.jsonl import import_file

    with opened(db_url) as db:
        _report(import_file(db, path), path)


@db_group.command("import-ms")
@db_option
@click.argument("workloads", type=click.Path(exists=True, dir_okay=False))
@click.argument("records", type=click.Path(exists=True, dir_okay=False))
def import_ms_command(db_url: str, workloads: str, records: str) -> None:
    """Add a MetaSchedule JSON database (database_workload.json, database_tuning_record.json)."""
    from tuning_db.ms_import import import_metaschedule

    with opened(db_url) as db:
        _report(import_metaschedule(db, workloads, records), f"{workloads} + {records}")


@db_group.command("merge")
@db_option
@click.argument("source")
def merge_command(db_url: str, source: str) -> None:
    """Add everything of the database at SOURCE (URL or path), validated like an import."""
    from tuning_db.jsonl import merge

    with opened(db_url) as db:
        try:
            report = merge(db, source)
        except (SchemaError, ValueError) as e:
            raise CliError(str(e)) from None
        _report(report, shown(source))


@db_group.command("best")
@click.argument("op_name", metavar="OP")
@op_options
@click.option("--target", "target_name", default="cpu", show_default=True, help="Target name (cpu, cuda:sm_90, ...).")
@click.option("--any-fingerprint", is_flag=True, help="Also consider records measured on other hardware.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as one JSON line.")
@db_option
def best_command(
    op_name: str, shape_text: str, dtype: str | None, param_text: str | None, target_name: str, any_fingerprint: bool, as_json: bool, db_url: str
) -> None:
    """Print the fastest measured record of OP on TARGET (this machine's hardware unless --any-fingerprint)."""
    from dsl.key import workload_key
    from targets import UnknownTargetError, get_target
    from tuning_db.jsonl import line_of

    op = resolve_op(op_name, parse_shape(shape_text), dtype, param_text)
    try:
        target = get_target(target_name)
    except UnknownTargetError as e:
        raise CliError(str(e)) from None
    key, canonical, fingerprint = workload_key(op), target.canonical(), target.fingerprint()
    with opened(db_url) as db:
        record = db.best(key, canonical, fingerprint, any_fingerprint=any_fingerprint)
        if record is None:
            others = db.best(key, canonical, any_fingerprint=True)
            hint = "; records from other hardware exist: add --any-fingerprint" if others is not None else ""
            raise CliError(f"no successful record of {op.name} (workload {key[:12]}) on {target_name} (fingerprint {fingerprint}){hint}")
    if as_json:
        click.echo(line_of(record))
        return
    foreign = "" if record.fingerprint == fingerprint else "  (other hardware)"
    click.echo(f"{op.name} on {target_name}: {record.median_secs * 1e3:.4f} ms median of {len(record.run_secs)} runs")
    click.echo(f"  workload     {key}")
    click.echo(f"  fingerprint  {record.fingerprint}{foreign}")
    click.echo(f"  measured     {record.created_at.isoformat()} on {record.host} (opforge {record.opforge_version}, TVM {record.tvm_version})")
    if record.max_abs_error is not None:
        click.echo(f"  max error    {record.max_abs_error:.3g} (relative L2 {record.rel_l2_error:.3g})")
    click.echo(f"  config       {record.config}")


@db_group.command("stats")
@db_option
def stats_command(db_url: str) -> None:
    """Count workloads, targets and records, and show the best time per (op, target, hardware)."""
    with opened(db_url) as db:
        stats = db.stats()
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(stats.by_status.items())) or "none"
    click.echo(f"{stats.workloads} workloads, {stats.targets} targets, {stats.records} records ({statuses})")
    if not stats.pairs:
        return
    rows = [("op", "workload", "target", "fingerprint", "records", "ok", "best ms")]
    for p in stats.pairs:
        best = f"{p.best_secs * 1e3:.4f}" if p.best_secs is not None and math.isfinite(p.best_secs) else "-"
        rows.append((p.op_name, p.workload_key[:12], p.target_name, p.fingerprint, str(p.records), str(p.ok), best))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())


def _report(report: Any, source: str) -> None:
    added = ", ".join(f"{n} {kind}s" for kind, n in report.added.items())
    click.echo(f"{source}: added {added}; {report.present} already present; {len(report.rejected)} rejected")
    for where, why in report.rejected:
        click.echo(f"  rejected {where}: {why}", err=True)
    if report.rejected:
        raise CliError(f"{len(report.rejected)} entries of {source} were rejected (listed above); everything else was imported")


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--since {text!r} is not an ISO 8601 time; expected e.g. 2025-01-31 or 2025-01-31T12:00+00:00") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _first_line(error: BaseException) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


COMMANDS = [db_group]
