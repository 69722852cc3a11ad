"""``opforge export``: the best tuned kernel of an op as a shared library, a manifest and a C header.

One op: ``opforge export matmul --shape M=1024,N=1024,K=1024 --target cpu -o out/`` writes
``out/matmul.so``, ``out/matmul.json`` and ``out/matmul.h``. Several ops into one library:
``--ops-file FILE`` (JSON lines: ``{"op": "matmul", "shape": "M=64,N=64,K=64", "name": "mm64"}``,
optional ``dtype``/``param``) and ``--name LIB``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from .common import parse_shape, quantize_target, read_json_lines, resolve_op
from .db import db_option, opened
from .errors import CliError

_OPS_FILE_KEYS = {"op", "shape", "dtype", "param", "name"}


def _identifier(text: str) -> str:
    """``my-op.v2`` -> ``my_op_v2``: a kernel or library name usable as a C identifier."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if name and not name[0].isdigit() else f"k_{name}"


def _check_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise CliError(f"--name {name!r} is not a C identifier; use letters, digits and underscores, e.g. {_identifier(name)}")
    return name


def _read_ops_file(path: str) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    example = '{"op": "matmul", "shape": "M=64,N=64,K=64", "name": "mm64"}'
    for n, item in read_json_lines(path, "--ops-file", tuple(sorted(_OPS_FILE_KEYS)), example):
        op = resolve_op(item["op"], parse_shape(str(item["shape"])), item.get("dtype"), item.get("param") or None)
        name = str(item.get("name") or _identifier(op.name))
        if name in [n for n, _ in items]:
            raise CliError(f"{path}:{n}: kernel name {name!r} is taken by an earlier line; give this one its own \"name\"")
        items.append((_check_name(name), op))
    if not items:
        raise CliError(f"--ops-file {path} lists no ops")
    return items


def _read_weights(path: str) -> dict[str, Any]:
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise CliError(f"--weights {path} is not a readable .npz of arrays: {e}") from None


def _fmt_secs(secs: float) -> str:
    return f"{secs * 1e3:.3f} ms" if secs >= 1e-3 else f"{secs * 1e6:.1f} us"


@click.command("export")
@click.argument("op_name", metavar="OP", required=False)
@click.option("--shape", "shape_text", default=None, metavar="NAME=SIZE,...", help="Sizes of the op's dimensions, e.g. M=1024,N=1024,K=1024.")
@click.option("--dtype", default=None, help="Element type (float32, float16, int8, ...).")
@click.option("--param", "param_text", default=None, metavar="NAME=VALUE,...", help="Op parameters, e.g. stride=2,padding=1.")
@click.option("--ops-file", "ops_file", default=None, type=click.Path(dir_okay=False), help="JSON lines of {op, shape, dtype, param, name}: export them all into one library.")
@click.option("--target", "target_name", default="cpu", show_default=True, help="The target the kernels were tuned for: cpu, cpu:4, cuda:sm_90, ...")
@db_option
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for <name>.so, <name>.json and <name>.h.")
@click.option("--name", default=None, help="Library name (and kernel name for one op); default: the op's name, or the --ops-file's stem.")
@click.option("--fallback", type=click.Choice(["none", "default"]), default="none", show_default=True, help="Without a tuned record: fail (none) or export the untuned default schedule (default).")
@click.option("--bundle-runtime", is_flag=True, help="Copy TVM's libtvm_runtime.so beside the library (for machines with only apache-tvm-ffi).")
@click.option("--cc", default=None, help="Compiler that links the library (a cross compiler for edge targets); default g++.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest instead of a summary.")
@click.option("--quantize", "quantize", type=click.Choice(["int8"]), default=None, help="Export the best kernel of a `tune --quantize int8` run (int8 or float, whichever won).")
@click.option("--prepack", is_flag=True, help="Export a quantized kernel as NAME_prepack (weight -> packed int8, run once) and NAME (over the packed weight).")
@click.option("--weights", "weights_path", default=None, type=click.Path(exists=True, dir_okay=False), help="With --prepack, one op: an .npz of its weights (named as the op's inputs) packed now, at export, and bound to the kernel.")
@click.option("--max-rel-error", "max_rel_error", type=click.FloatRange(min=0, min_open=True), default=None, help="With --quantize: the error budget that run was tuned with [default 1e-2].")
def export_command(
    op_name: str | None, shape_text: str | None, dtype: str | None, param_text: str | None, ops_file: str | None,
    target_name: str, db_url: str, out_dir: str, name: str | None, fallback: str, bundle_runtime: bool, cc: str | None,
    as_json: bool, quantize: str | None = None, max_rel_error: float | None = None, prepack: bool = False,
    weights_path: str | None = None,
) -> None:
    """Compile the best tuned schedule of OP (from the tuning database) into a shared library.

    Writes OUT/<name>.so (TVM calling convention plus plain C entry points), OUT/<name>.json (the
    manifest: workload, Config, target and fingerprint, arguments, measured time, versions) and
    OUT/<name>.h (the C header). Load it in Python with `from autotune.export import load`.
    """
    from schedules import ScheduleError
    from targets import UnknownTargetError, get_target

    from ..export.export import ExportItem, NoRecordError, export_library

    if ops_file and op_name:
        raise CliError("give one OP or --ops-file FILE, not both")
    if ops_file:
        if name is not None:
            _check_name(name)
        if shape_text or dtype or param_text:
            raise CliError("--shape/--dtype/--param apply to a named OP; with --ops-file give them per line")
        items = [ExportItem(n, op) for n, op in _read_ops_file(ops_file)]
        lib_name = name or _identifier(Path(ops_file).stem)
    else:
        if not op_name:
            raise CliError("name an op to export (see `opforge ops`), e.g. opforge export matmul --shape M=256,N=256,K=256 -o out/")
        if not shape_text:
            raise CliError("--shape is required with a named op, e.g. --shape M=256,N=256,K=256")
        op = resolve_op(op_name, parse_shape(shape_text), dtype, param_text)
        lib_name = _check_name(name) if name else _identifier(op.name)
        items = [ExportItem(lib_name, op)]
    try:
        target = get_target(target_name)
    except (UnknownTargetError, ValueError) as e:
        raise CliError(str(e)) from None
    if weights_path and not prepack:
        raise CliError("--weights are packed by the prepack kernel; add --prepack")
    if weights_path and len(items) != 1:
        raise CliError("--weights gives the weights of one op; export one OP (not --ops-file) with it")
    weights = {items[0].name: _read_weights(weights_path)} if weights_path else None
    target, _ = quantize_target(target, quantize, max_rel_error)
    with opened(db_url) as db:
        try:
            result = export_library(
                items, target, db, out_dir, lib_name=lib_name, fallback=None if fallback == "none" else fallback,
                cc=cc, bundle_runtime=bundle_runtime, prepack=prepack, weights=weights,
            )
        except NoRecordError as e:
            raise CliError(str(e)) from None
        except ScheduleError as e:
            raise CliError(f"cannot rebuild the stored kernel: {e}") from None
        except ValueError as e:  # weights that do not fit the kernel
            raise CliError(str(e)) from None
    if as_json:
        click.echo(result.manifest.to_json(), nl=False)
        return
    _print_summary(result)


def _print_summary(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = result.manifest
    table = Table(title=f"opforge export {m.library} for {m.target.name} (fingerprint {m.target.fingerprint})", title_justify="left")
    for col in ("kernel", "op", "schedule", "measured median", "spread", "C entry"):
        table.add_column(col)
    for k in m.kernels:
        median = _fmt_secs(k.measured.median_secs) if k.measured else "-"
        spread = f"{k.measured.spread * 100:.1f}%" if k.measured else "-"
        table.add_row(k.name, f"{k.op_name} {','.join(f'{n}={v}' for n, v in sorted(k.sizes.items()))}", k.source, median, spread, k.c_function)
    console.print(table)
    for k in m.kernels:
        if k.source == "default":
            console.print(f"[yellow]{k.name}: no tuned record on this target; exported the untuned default schedule (--fallback default)[/]")
        if k.trace_matches_record is False:
            console.print(f"[yellow]{k.name}: the replayed schedule differs from the recorded trace (schedules/ changed since tuning?)[/]")
    files = [result.library, result.manifest_path, result.header] + ([result.library.parent / m.runtime_lib] if m.runtime_lib else [])
    console.print("wrote " + ", ".join(str(f) for f in files))


COMMANDS = [export_command]
