"""``opforge report``: the tuning database as one self-contained HTML page (tables, tuning curves, roofline)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from tuning_db.engine import shown, url_of

from .db import db_option, opened
from .errors import CliError


def host_peaks(db: Any) -> dict[str, Any]:
    """Peak numbers of this machine's CPU by fingerprint, where its target has them: calibrated (the
    calibrations of the open TuningDB ``db``) or nominal."""
    from targets import get_target
    from targets.calibration import calibrations_of, with_calibration

    from ..report import peaks_of_target

    try:
        target = with_calibration(get_target("cpu"), calibrations_of(db))
    except ValueError as e:  # a corrupt calibration.json of an old install
        raise CliError(str(e)) from None
    found = peaks_of_target(target)
    return {target.fingerprint(): found} if found else {}


def require_existing(db_url: str) -> None:
    """A report reads a database; a SQLite path that does not exist is a typo, not a new database."""
    url = make_url(url_of(db_url))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") and not Path(url.database).exists():
        raise CliError(f"no tuning database at {url.database}; pass --db PATH or URL of one that `opforge tune` wrote")


def write_page(db: Any, output: str, filters: Any, peaks: Mapping[str, Any], **options: Any) -> Any:
    """Write the page (``options`` as ``write_report`` takes them); an unwritable path is a one-line error."""
    from ..report import write_report

    try:
        return write_report(db, output, filters, peaks, **options)
    except OSError as e:
        raise CliError(f"cannot write the report {output}: {e.strerror}") from None


@click.command("report")
@db_option
@click.option("--op", "ops", multiple=True, metavar="NAME", help="Only this op (repeat for several).")
@click.option("--target", "targets", multiple=True, metavar="NAME|FINGERPRINT", help="Only this target name or fingerprint prefix (repeat for several).")
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(dir_okay=False), help="HTML file to write.")
@click.option("--max-workloads", type=click.IntRange(min=0), default=40, show_default=True, help="Tuning-curve sections drawn at most (the table lists all).")
def report_command(db_url: str, ops: tuple[str, ...], targets: tuple[str, ...], output: str, max_workloads: int) -> None:
    """Render the tuning database as one HTML page: best kernels, tuning curves, roofline, failures, int8 accuracy.

    The page embeds its charts and needs no network to open.
    """
    from ..report import Filters

    require_existing(db_url)
    started = time.perf_counter()
    with opened(db_url) as db:
        data = write_page(db, output, Filters(tuple(ops), tuple(targets)), host_peaks(db), max_workloads=max_workloads)
    if not data.pairs:
        click.echo(f"opforge: warning: no records in {shown(db_url)} match; the page says so", err=True)
    click.echo(
        f"wrote {output}: {data.records:,} records, {len(data.pairs):,} workload/target pairs, "
        f"{data.failed:,} failed trials ({time.perf_counter() - started:.1f} s)"
    )


def report_after_tune(db: Any, output: str, target: Any, summaries: list[Any]) -> None:
    """``opforge tune --report``: the page of the workloads just tuned, with the run's numpy timings."""
    from ..report import Filters, peaks_of_target

    peaks = peaks_of_target(target)
    numpy = {(s.workload_key, target.fingerprint()): s.numpy_secs for s in summaries if s.numpy_secs}
    filters = Filters(workload_keys=tuple(dict.fromkeys(s.workload_key for s in summaries)))
    source = "numpy as timed by the `opforge tune` run that wrote this page (earlier runs' numpy timings are not stored)"
    write_page(db, output, filters, {target.fingerprint(): peaks} if peaks else {}, numpy_secs=numpy, numpy_source=source)
    click.echo(f"report written to {output}", err=True)


COMMANDS = [report_command]
