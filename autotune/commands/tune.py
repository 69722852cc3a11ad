"""``opforge tune``: search an op's schedules on a target, keeping every measurement in the database.

One op: ``opforge tune matmul --shape M=1024,N=1024,K=1024 --target cpu --trials 64``. Several:
name them (they share ``--shape``) or list them in ``--workloads FILE`` (JSON lines:
``{"op": "matmul", "shape": "M=64,N=64,K=64", "dtype": "float32", "param": "", "weight": 1}``);
a task scheduler then shares the trials among them. Ctrl-C stops after the trial in flight and
keeps every measured record.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

import click

from ..summary import format_secs
from .common import parse_shape, quantize_target, read_json_lines, resolve_op
from .errors import CliError

STRATEGY_NAMES = ("evolutionary", "grid", "random")


def _fmt(x: float | None, suffix: str = "", digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}{suffix}"


def _read_workloads(path: str) -> list[dict[str, Any]]:
    items = [
        item for _, item in read_json_lines(
            path, "--workloads", ("op", "shape", "dtype", "param", "weight"), '{"op": "matmul", "shape": "M=64,N=64,K=64"}',
        )
    ]
    if not items:
        raise CliError(f"--workloads {path} lists no workloads")
    return items


def _ops(op_names: tuple[str, ...], shape_text: str | None, dtype: str | None, param_text: str | None, workloads: str | None) -> list[tuple[Any, float]]:
    if workloads and op_names:
        raise CliError("give ops by name or by --workloads FILE, not both")
    if workloads:
        return [
            (resolve_op(w["op"], parse_shape(str(w["shape"])), w.get("dtype"), w.get("param") or None), float(w.get("weight", 1.0)))
            for w in _read_workloads(workloads)
        ]
    if not op_names:
        raise CliError("name an op to tune (see `opforge ops`), e.g. opforge tune matmul --shape M=256,N=256,K=256")
    if not shape_text:
        raise CliError("--shape is required with a named op, e.g. --shape M=256,N=256,K=256")
    shape = parse_shape(shape_text)
    return [(resolve_op(name, shape, dtype, param_text), 1.0) for name in op_names]


def _db_url(db: str | None) -> str:
    from tuning_db import DEFAULT_DB

    path = db or DEFAULT_DB
    if "://" in path:
        return path
    path = os.path.expanduser(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return path


def _slow_cutoff(value: float) -> float | None:
    """--slow-cutoff as TuneOptions wants it: None for 0 (off), else a multiple above 1."""
    if value == 0:
        return None
    if value <= 1:
        raise CliError(f"--slow-cutoff must be 0 (off) or above 1 (a multiple of the best time); got {value:g}")
    return value


@click.command("tune")
@click.argument("op_names", metavar="OP...", nargs=-1)
@click.option("--shape", "shape_text", default=None, metavar="NAME=SIZE,...", help="Sizes of the op's dimensions, e.g. M=1024,N=1024,K=1024.")
@click.option("--dtype", default=None, help="Element type (float32, float16, int8, ...).")
@click.option("--param", "param_text", default=None, metavar="NAME=VALUE,...", help="Op parameters, e.g. stride=2,padding=1.")
@click.option("--workloads", "workloads_path", default=None, type=click.Path(dir_okay=False), help="JSON lines of {op, shape, dtype, param, weight}: tune them all.")
@click.option("--target", "target_name", default="cpu", show_default=True, help="Where kernels run: cpu, cuda, cuda:sm_90, ...")
@click.option("--trials", type=click.IntRange(min=1), default=64, show_default=True, help="Trials to measure in this run (all tasks together).")
@click.option("--timeout", "timeout_secs", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop after this many seconds of wall clock.")
@click.option("--goal-ms", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop once the best kernel takes at most this many ms.")
@click.option("--early-stop", type=click.IntRange(min=1), default=None, help="Stop after this many trials without improvement.")
@click.option("--strategy", type=click.Choice(STRATEGY_NAMES), default="evolutionary", show_default=True, help="Search strategy.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="Candidates built and measured per round.")
@click.option("--build-workers", type=click.IntRange(min=1), default=None, help="Build processes (default: one per core).")
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True, help="Timed repeats per candidate (the median is kept).")
@click.option("--slow-cutoff", type=click.FloatRange(min=0), default=3.0, show_default=True,
              help="Time a candidate slower than this many times the best so far once instead of --repeats times (0: never).")
@click.option("--db", envvar="OPFORGE_DB", default=None, help="Tuning database URL or SQLite path [env OPFORGE_DB; default ~/.opforge/tuning.db].")
@click.option("--team", envvar="OPFORGE_TEAM", default=None, help="Team tag written on every record [env OPFORGE_TEAM].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random choice of the search.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of a table.")
@click.option("--rpc", "rpc", default=None, metavar="HOST:PORT", help="Measure on the devices registered at this TVM RPC tracker (several at once).")
@click.option("--rpc-key", "rpc_key", default=None, metavar="KEY", help="Device key the RPC servers registered with (rpc_server --key).")
@click.option("--emulated", is_flag=True, help="The RPC devices are emulated (qemu): times are kept apart and labelled meaningless.")
@click.option("--report", "report_path", default=None, type=click.Path(dir_okay=False), help="Write an HTML report of the tuned workloads here at the end.")
@click.option("--quantize", "quantize", type=click.Choice(["int8"]), default=None, help="Also search int8 kernels of float matmul/dense/conv2d (calibrated on seeded inputs).")
@click.option("--max-rel-error", "max_rel_error", type=click.FloatRange(min=0, min_open=True), default=None, help="With --quantize: keep only kernels whose relative L2 error is at most this [default 1e-2].")
def tune_command(
    op_names: tuple[str, ...], shape_text: str | None, dtype: str | None, param_text: str | None, workloads_path: str | None,
    target_name: str, trials: int, timeout_secs: float | None, goal_ms: float | None, early_stop: int | None, strategy: str,
    batch_size: int, build_workers: int | None, repeats: int, slow_cutoff: float, db: str | None, team: str | None, seed: int, as_json: bool,
    rpc: str | None = None, rpc_key: str | None = None, emulated: bool = False,
    report_path: str | None = None, quantize: str | None = None, max_rel_error: float | None = None,
) -> None:
    """Tune OP's schedules on a target; every measured trial goes to the tuning database.

    OP is a library op (see `opforge ops`) or path/to/file.py:name; several OPs, or --workloads,
    tune together with trials shared by expected gain.
    """
    from ..session import TuneOptions, TuningSession
    from ..store import DBStore
    from .targets import peak_report, tune_target

    ops = _ops(op_names, shape_text, dtype, param_text, workloads_path)
    options = TuneOptions(
        trials=trials, timeout_secs=timeout_secs, goal_secs=goal_ms / 1e3 if goal_ms else None, early_stop=early_stop,
        strategy=strategy, seed=seed, batch_size=batch_size, build_workers=build_workers, repeats=repeats,
        slow_cutoff=_slow_cutoff(slow_cutoff),
    )
    url = _db_url(db)
    target, runner = tune_target(target_name, url, rpc, rpc_key, emulated, options)  # calibrated peaks; RPC devices
    target, max_rel_error = quantize_target(target, quantize, max_rel_error)
    try:
        store = DBStore.open(url, team=team)
    except Exception as e:  # noqa: BLE001 - a database that cannot be opened is the user's to fix
        raise CliError(f"cannot open the tuning database {url}: {e}") from None
    with TuningSession(target, options, runner=runner) as session:
        prepared = [session.prepare(op) for op, _ in ops]
        if quantize:
            from ..accuracy import gate_session

            prepared = gate_session(session, prepared, max_rel_error, seed)
        summaries, reason = _run(session, prepared, [w for _, w in ops], store, options, show_progress=not as_json)
        from ..summary import summarize

        rows = [summarize(p, r, store, target) for p, r in zip(prepared, summaries)]
        peaks = [peak_report(p, r.best_secs, target) for p, r in zip(prepared, rows)]
    if report_path:
        from .report import report_after_tune

        report_after_tune(store.db, report_path, target, rows)
    store.close()
    if as_json:
        tasks = [{**r.to_dict(), **extra} for r, extra in zip(rows, peaks)]
        click.echo(json.dumps({"db": url, "stop_reason": reason, "tasks": tasks}, indent=2, default=str))
    else:
        _print_table(rows, url, reason, peaks)
    if reason == "interrupted":
        sys.exit(130)  # the shell's code for Ctrl-C, after every measured record was kept and reported


def _run(session: Any, prepared: list[Any], weights: list[float], store: Any, options: Any, show_progress: bool) -> tuple[list[Any], str]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from ..task_scheduler import TaskScheduler

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("best {task.fields[best]}"),
        TextColumn("{task.fields[gflops]} GFLOP/s"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, disable=not show_progress,
    )
    bar = progress.add_task("tuning", total=options.trials, best="-", gflops="-")

    def hook_for(p: Any) -> Any:
        name, n_flops = p.op.name, p.op.flops()

        def hook(event: Any) -> None:
            gflops = n_flops / event.best_secs / 1e9 if math.isfinite(event.best_secs) else None
            progress.update(bar, advance=1, description=f"tuning {name}", best=format_secs(event.best_secs), gflops=_fmt(gflops, digits=1))

        return hook

    tuners = [session.tuner(p, store, on_trial=hook_for(p)) for p in prepared]
    with progress:
        if len(tuners) == 1:
            result = tuners[0].tune(options.budget())
            return [result], result.stop_reason
        return TaskScheduler(tuners, weights=weights).tune(options.budget())


def _trials_text(r: Any) -> str:
    text = f"{r.trials}"
    if r.resumed_trials:
        text += f" (+{r.resumed_trials} stored)"
    return text + (f", {r.failed_trials} failed" if r.failed_trials else "")


def _vs(ratio: float | None, secs: float | None, label: str = "") -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.2f}x ({label + ': ' if label else ''}{format_secs(secs)})"


def _accuracy_text(acc: dict[str, Any] | None) -> str:
    """``int8_per_channel/vnni, rel L2 5.6e-03, max 0.044``: how a kernel computes and how far it is off."""
    if not acc:
        return "-"
    how = acc.get("quantize") or "none"
    how = "float" if how == "none" else how + (f"/{acc['tensorize']}" if acc.get("tensorize") not in (None, "none") else "")
    if acc.get("rel_l2_error") is None:
        return how
    return f"{how}, rel L2 {acc['rel_l2_error']:.2g}, max {acc['max_abs_error']:.2g}"


def _accuracy_rows(r: Any) -> list[tuple[str, str]]:
    """The best kernel's numerics, then speed and accuracy of the best of each kind (float, each int8 scheme)."""
    rows = [("accuracy", _accuracy_text(r.accuracy))]
    if len(r.variants) > 1:
        for v in r.variants:
            rows.append((f"best {v['quantize']}", f"{format_secs(v['best_secs'])}; {_accuracy_text(v)}"))
    return rows


def _print_table(rows: list[Any], url: str, reason: str, peaks: list[dict[str, Any]] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..summary import short_config

    console = Console()
    peaks = peaks or [{} for _ in rows]
    emulated = " [emulated device: times are meaningless]" if any(p.get("emulated") for p in peaks) else ""
    if len(rows) == 1:
        r, p = rows[0], peaks[0]
        table = Table(title=f"opforge tune {r.op} on {r.target}: stopped, {reason}{emulated}", title_justify="left", show_header=False)
        table.add_column("what", style="bold")
        table.add_column("value", overflow="fold")
        for what, value in (
            ("trials", _trials_text(r)),
            ("best time", format_secs(r.best_secs) + (" (emulated: meaningless)" if emulated else "")),
            ("GFLOP/s", _fmt(r.gflops, digits=1)),
            ("% of peak", _fmt(r.peak_percent, "%", 1) if r.peak_percent is not None else "- (peak unknown for this target)"),
            ("peak from", p.get("peak_source") or "- (run `opforge targets calibrate`)"),
            ("roofline", p.get("roofline_text") or "- (needs a peak and a bandwidth: `opforge targets calibrate`)"),
            ("vs untuned default", _vs(r.speedup_vs_default, r.default_secs)),
            ("vs numpy", _vs(r.speedup_vs_numpy, r.numpy_secs, r.numpy_expr or "")),
            *_accuracy_rows(r),
            ("config", short_config(r.config)),
            ("workload key", r.workload_key[:16]),
        ):
            table.add_row(what, value)
    else:
        table = Table(title=f"opforge tune on {rows[0].target}: stopped, {reason}{emulated}", title_justify="left")
        for col in ("op", "trials", "best", "GFLOP/s", "% peak", "roofline", "vs default", "vs numpy", "accuracy", "config"):
            table.add_column(col, justify="left" if col in ("op", "config") else "right", overflow="fold")
        for r, p in zip(rows, peaks):
            roof = p.get("roofline")
            table.add_row(
                r.op, _trials_text(r), format_secs(r.best_secs), _fmt(r.gflops, digits=1), _fmt(r.peak_percent, "%", 1),
                f"{roof['bound']}, {roof['roof_percent']:.0f}% of roof" if roof else "-",
                _fmt(r.speedup_vs_default, "x"), _fmt(r.speedup_vs_numpy, "x"), _accuracy_text(r.accuracy), short_config(r.config),
            )
    console.print(table)
    console.print(f"records kept in {url}")


COMMANDS = [tune_command]
