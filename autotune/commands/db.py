"""``opforge db ...``: upgrade, export, import, merge, best, stats and revalidate of the tuning database."""

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

from .common import op_options, parse_shape, quantize_target, resolve_op
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
    """Look after the tuning database: upgrade, share (export/import/merge), query (best/stats), revalidate."""


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


@db_group.command("revalidate")
@click.option("--op", "op_name", default=None, help="Only this op (with --shape, and --dtype/--param where it has them).")
@click.option("--shape", "shape_text", default=None, metavar="NAME=SIZE,...", help="Sizes of the op's dimensions, e.g. M=1024,N=1024,K=1024.")
@click.option("--dtype", default=None, help="Element type of --op (float32, float16, int8, ...).")
@click.option("--param", "param_text", default=None, metavar="NAME=VALUE,...", help="Parameters of --op, e.g. stride=2,padding=1.")
@click.option("--all", "all_workloads", is_flag=True, help="Every workload in the database.")
@click.option("--target", "target_name", default="cpu", show_default=True, help="Target whose records are measured again (here, on this machine).")
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True, help="Timed repeats per Config (the median is kept).")
@click.option("--build-workers", type=click.IntRange(min=1), default=None, help="Build processes (default: one per core).")
@click.option("--team", envvar="OPFORGE_TEAM", default=None, help="Team tag written on every new record [env OPFORGE_TEAM].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per old record instead of a table.")
@click.option("--quantize", "quantize", type=click.Choice(["int8"]), default=None, help="The records of a `tune --quantize int8` run (int8 ones rebuilt with their calibration).")
@click.option("--max-rel-error", "max_rel_error", type=click.FloatRange(min=0, min_open=True), default=None, help="With --quantize: the error budget of that run [default 1e-2].")
@db_option
def revalidate_command(
    op_name: str | None, shape_text: str | None, dtype: str | None, param_text: str | None, all_workloads: bool,
    target_name: str, repeats: int, build_workers: int | None, team: str | None, as_json: bool, db_url: str,
    quantize: str | None = None, max_rel_error: float | None = None,
) -> None:
    """Measure again the records another TVM or opforge version made for --target on this machine.

    Each stored Config is applied and measured again (correctness gate included) and kept as a
    new record with the running versions; the old records stay. Configs that already have a
    record at the running versions are left alone.
    """
    import json

    from dsl.key import workload_key
    from targets import UnknownTargetError, get_target

    from ..revalidate import revalidate
    from ..session import TuneOptions, TuningSession
    from ..store import DBStore

    if all_workloads == (op_name is not None):
        raise CliError("name the records to revalidate: --op OP --shape NAME=SIZE,... or --all (not both)")
    keys = None
    if op_name is not None:
        if not shape_text:
            raise CliError("--shape is required with --op, e.g. --op matmul --shape M=256,N=256,K=256")
        keys = [workload_key(resolve_op(op_name, parse_shape(shape_text), dtype, param_text))]
    elif shape_text or dtype or param_text:
        raise CliError("--shape, --dtype and --param go with --op, not with --all")
    try:
        target = get_target(target_name)
    except (UnknownTargetError, ValueError) as e:
        raise CliError(str(e)) from None
    target, max_rel_error = quantize_target(target, quantize, max_rel_error)
    options = TuneOptions(repeats=repeats, build_workers=build_workers)
    with opened(db_url) as db:
        store = DBStore(db, team=team)
        with TuningSession(target, options) as session:
            report = revalidate(store, session, keys, max_rel_error=max_rel_error)
    if as_json:
        for row in report.rows:
            click.echo(json.dumps(row.to_dict(), sort_keys=True))
        return
    opforge_version, tvm_version = store.versions
    click.echo(
        f"{len(report.rows)} records of other versions measured again as {report.measured} new records "
        f"(opforge {opforge_version}, TVM {tvm_version}); {report.current_records} records of these versions and "
        f"{report.already_revalidated} already revalidated left alone"
    )
    if report.rows:
        _print_revalidations(report.rows)


def _print_revalidations(rows: Any) -> None:
    import json

    from ..summary import short_config

    def ms(secs: float | None) -> str:
        return f"{secs * 1e3:.4f}" if secs is not None else "-"

    def config(text: str) -> str:
        try:
            value = json.loads(text)
        except ValueError:
            return text[:40]
        return short_config(value, width=40) if isinstance(value, dict) else text[:40]

    table = [("op", "workload", "config", "old versions", "old ms", "new ms", "old/new", "new status")]
    for r in rows:
        status = r.new.status if r.new is not None else "skipped"
        why = r.skipped or (r.new.error if r.new is not None and not r.new.ok else None)
        table.append((
            r.op_name, r.old.workload_key[:12], config(r.old.config), f"opforge {r.old.opforge_version}, TVM {r.old.tvm_version}",
            ms(r.old_secs), ms(r.new_secs), f"{r.ratio:.2f}x" if r.ratio else "-",
            status + (f": {why.splitlines()[0][:160]}" if why else ""),
        ))
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    for t in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(t, widths)).rstrip())


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
