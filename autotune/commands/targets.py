"""``opforge targets``: the targets opforge knows, and ``calibrate`` to measure this machine's peaks.

``opforge targets`` (or ``targets list [NAME...]``) shows each target's TVM target, detected
features, hardware fingerprint and peak numbers (calibrated where ``targets calibrate`` ran for
that fingerprint, else nominal or datasheet figures, each labelled with its source).
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from .errors import CliError

_DB_HELP = "Tuning database URL or SQLite path; calibrations are kept in it [env OPFORGE_DB; default ~/.opforge/tuning.db]."


def _tvm_text(tvm: dict[str, Any]) -> str:
    """``llvm mcpu=sapphirerapids num-cores=2``: a TVM target dictionary in one short line."""
    rest = " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in tvm.items() if k != "kind")
    return f"{tvm.get('kind', '?')} {rest}".strip()


def _num(x: float | None, unit: str) -> str:
    if not x:
        return "-"
    return f"{x / 1e3:.1f} T{unit}" if x >= 1e4 else f"{x:.0f} G{unit}"


def _default_names() -> list[str]:
    from targets import TARGETS, has_cuda

    return [n if n != "cuda" or has_cuda() else "cuda:sm_90" for n in TARGETS]


def stored_calibrations(db: str | None) -> dict[str, Any]:
    """The calibrations of database ``db`` (URL or SQLite path) by fingerprint; a SQLite file that does
    not exist yet holds none and is not created (an old calibration.json beside it still counts)."""
    from sqlalchemy.engine import make_url

    from targets.calibration import calibrations_of, legacy_path, load_calibrations
    from tuning_db import DEFAULT_DB
    from tuning_db.engine import url_of

    from .db import opened

    url = url_of(db or DEFAULT_DB)
    parsed = make_url(url)
    try:
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") and not Path(parsed.database).exists():
            legacy = legacy_path(url)
            return load_calibrations(legacy) if legacy else {}
        with opened(url) as found:
            return calibrations_of(found)
    except ValueError as e:
        raise CliError(str(e)) from None


def _resolve(names: list[str], db: str | None) -> list[tuple[str, Any, str | None]]:
    """(name, Target or None, error) per name, calibrated peaks applied; an unknown name is a CliError."""
    from targets import UnknownTargetError, get_target
    from targets.calibration import with_calibration

    calibrations = stored_calibrations(db)
    rows: list[tuple[str, Any, str | None]] = []
    for name in names:
        try:
            rows.append((name, with_calibration(get_target(name), calibrations), None))
        except UnknownTargetError as e:
            raise CliError(str(e)) from None
        except ValueError as e:  # a known target this machine cannot describe (no GPU for plain `cuda`)
            rows.append((name, None, str(e)))
    return rows


def _as_dict(name: str, target: Any, error: str | None) -> dict[str, Any]:
    from targets.cpu import isa_summary

    if target is None:
        return {"name": name, "error": error}
    return {
        "name": name, "kind": target.kind, "tvm": target.tvm, "features": list(target.features),
        "isa": list(isa_summary(target.features)), "fingerprint": target.fingerprint(), "toolchain": target.toolchain,
        "peaks": target.peaks.to_dict() if target.peaks else None,
    }


@click.group("targets", invoke_without_command=True)
@click.option("--db", envvar="OPFORGE_DB", default=None, help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def targets_group(ctx: click.Context, db: str | None, as_json: bool) -> None:
    """Targets opforge knows (cpu, cuda, aarch64, armv7, riscv64) and their peaks; `calibrate` measures this machine."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command, names=(), db=db, as_json=as_json)


@targets_group.command("list")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--db", envvar="OPFORGE_DB", default=None, help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(names: tuple[str, ...], db: str | None, as_json: bool) -> None:
    """Each target's TVM target, features, fingerprint and peak numbers (NAME: cpu, cpu:4, cuda:sm_80, aarch64, ...)."""
    from targets import DESCRIPTIONS
    from targets.cpu import isa_summary

    rows = _resolve(list(names) or _default_names(), db)
    if as_json:
        click.echo(json.dumps([_as_dict(*r) for r in rows], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="opforge targets", title_justify="left")
    for col in ("target", "TVM target", "features", "fingerprint", "float32", "int8", "bandwidth", "peaks from"):
        table.add_column(col, overflow="fold")
    for name, t, error in rows:
        what = DESCRIPTIONS.get(name.partition(":")[0], "")
        if t is None:
            table.add_row(name, f"[dim]{error}[/]", "", "", "", "", "", what)
            continue
        p = t.peaks
        isa = ", ".join(isa_summary(t.features)) or ", ".join(t.features) or "-"
        table.add_row(
            name, _tvm_text(t.tvm), isa, t.fingerprint(),
            _num(p.gflops.get("float32") if p else None, "FLOP/s"), _num(p.gflops.get("int8") if p else None, "OP/s"),
            f"{p.bandwidth_gbs:.0f} GB/s" if p and p.bandwidth_gbs else "-",
            p.source if p else f"none: {what}; calibrate on the device" if t.is_cross else "none",
        )
    Console(width=200).print(table)


@targets_group.command("calibrate")
@click.option("--target", "target_name", default="cpu", show_default=True, help="The CPU target to measure (cpu, cpu:N for N cores).")
@click.option("--db", envvar="OPFORGE_DB", default=None, help=_DB_HELP)
@click.option("--quick", is_flag=True, help="Short kernels (seconds, rough figures): for a smoke test, not for peaks.")
@click.option("--timeout", "timeout_secs", type=click.FloatRange(min=1), default=600, show_default=True, help="Seconds before the measurement is abandoned.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def calibrate_command(target_name: str, db: str | None, quick: bool, timeout_secs: float, as_json: bool) -> None:
    """Measure this machine's float32 FMA peak, int8 dot-product peak and memory bandwidth; keep them per fingerprint.

    The kernels are small TVM kernels built for this CPU (see targets/calibrate.py) and run in a
    separate process; the figures go to the tuning database's calibrations, keyed by the
    target's hardware fingerprint (a new calibration replaces the old one), and `opforge tune` reports % of peak and the roofline from them.
    """
    from targets import UnknownTargetError, get_target
    from targets.calibration import Calibration
    from tuning_db import DEFAULT_DB
    from tuning_db.engine import shown, url_of

    from .db import opened

    from ..measure.builder import target_to_json
    from ..measure.pool import Worker, WorkerCrashed, WorkerError, WorkerTimeout

    try:
        target = get_target(target_name)
    except (UnknownTargetError, ValueError) as e:
        raise CliError(str(e)) from None
    if target.kind != "cpu":
        raise CliError(f"calibrate measures this machine's CPU (cpu or cpu:N); {target_name!r} is a {target.kind} target")
    nominal = target.peaks
    worker = Worker({"TVM_NUM_THREADS": str(target.cores)}, preload=["tvm", "targets.calibrate"])
    try:
        if not as_json:
            click.echo(f"calibrating {target.name} ({target.cores} threads, fingerprint {target.fingerprint()})...", err=True)
        measured = worker.call("targets.calibrate:calibrate_job", {"target_json": target_to_json(target), "quick": quick}, timeout_secs)
    except WorkerTimeout:
        raise CliError(f"calibration did not finish within {timeout_secs:g} s; try --timeout or a quieter machine") from None
    except (WorkerError, WorkerCrashed) as e:
        raise CliError(f"calibration failed: {e}") from None
    finally:
        worker.close()
    cal = Calibration(
        fingerprint=target.fingerprint(), target=target.name, gflops=measured["gflops"], bandwidth_gbs=measured["bandwidth_gbs"],
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), host=platform.node(), methods=measured["methods"],
    )
    url = url_of(db or DEFAULT_DB)
    with opened(url) as found:
        found.save_calibration(cal.to_stored())
    if as_json:
        click.echo(json.dumps({"db": shown(url), "quick": quick, **cal.to_dict()}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"calibrated {target.name} ({target.fingerprint()})" + (" [quick: rough figures]" if quick else ""), title_justify="left")
    for col in ("figure", "measured", "nominal", "how"):
        table.add_column(col, overflow="fold")
    for key, label, unit in (("float32", "float32 FMA", "FLOP/s"), ("int8", "int8 dot product", "OP/s")):
        table.add_row(label, _num(cal.gflops.get(key), unit), _num(nominal.gflops.get(key) if nominal else None, unit), cal.methods.get(key, ""))
    table.add_row("memory bandwidth", f"{cal.bandwidth_gbs:.1f} GB/s" if cal.bandwidth_gbs else "-", "-", cal.methods.get("bandwidth", ""))
    console = Console(width=200)
    console.print(table)
    console.print(f"kept in {shown(url)}")


COMMANDS = [targets_group]


# -- what `opforge tune` takes from here: the target as tuned (calibrated, remote) and the roofline --


def tune_target(target_name: str, db_url: str, rpc: str | None, rpc_key: str | None, emulated: bool, options: Any) -> tuple[Any, Any]:
    """(Target, runner or None) for ``opforge tune``: peaks from the calibration of its fingerprint,
    and an ``RpcRunner`` where ``--rpc`` names a tracker (None: measure here). Bad input is a CliError."""
    from targets import UnknownTargetError, get_target
    from targets.calibration import with_calibration
    from targets.toolchain import ToolchainMissingError, check_toolchain

    try:
        target = get_target(target_name)
    except (UnknownTargetError, ValueError) as e:
        raise CliError(str(e)) from None
    if rpc_key and not rpc:
        raise CliError("--rpc-key needs --rpc HOST:PORT, the tracker the devices registered at")
    if emulated and not rpc:
        raise CliError("--emulated describes RPC devices; give --rpc HOST:PORT --rpc-key KEY")
    if target.is_cross and not rpc:
        raise CliError(
            f"{target.name} kernels run on a board, not here: give --rpc HOST:PORT --rpc-key KEY of an RPC tracker "
            f"(scripts/edge/aarch64_board.sh starts an emulated aarch64 one)"
        )
    try:  # after the options: a command that cannot run anyway says what it lacks first
        check_toolchain(target)
    except ToolchainMissingError as e:
        raise CliError(str(e)) from None
    runner = None
    if rpc:
        from ..measure.rpc import RpcRunner, RpcTracker, tracker_devices

        try:
            tracker = RpcTracker.parse(rpc, rpc_key or "")
            found = tracker_devices(tracker)
        except (ValueError, ConnectionError) as e:
            raise CliError(str(e)) from None
        if not found:
            raise CliError(f"no device is registered under key {tracker.key!r} at the tracker {rpc}; start one with "
                           f"python -m tvm.exec.rpc_server --tracker {rpc} --key {tracker.key}")
        # records measured on the devices of a key (emulated or not) never mix with another's
        target = target.with_hardware(rpc_key=tracker.key, **({"emulated": True} if emulated else {}))
        runner = RpcRunner(
            tracker, timeout_secs=max(3 * options.run_timeout_secs, 60.0), repeats=options.repeats,
            min_repeat_ms=options.min_repeat_ms, device="cuda" if target.is_gpu else "cpu", parallelism=found,
        )
    return with_calibration(target, stored_calibrations(db_url)), runner


def peak_report(prepared: Any, best_secs: float | None, target: Any) -> dict[str, Any]:
    """What `opforge tune` adds to a task's result: the peaks' source and the roofline position."""
    from targets.roofline import roofline_of

    r = roofline_of(prepared.op, best_secs, target)
    return {
        "peak_source": target.peaks.source if target.peaks else None,
        "roofline": r.to_dict() if r else None,
        "roofline_text": r.describe() if r else None,
        "emulated": bool(target.hardware.get("emulated")),
    }
