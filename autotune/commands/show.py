"""``opforge show``: an op's MLIR-style text, its workload key and its lowered (or scheduled) TIR."""

from __future__ import annotations

from pathlib import Path

import click

from .common import op_options, parse_shape, resolve_op
from .errors import CliError


@click.command("show")
@click.argument("op_name", metavar="OP")
@op_options
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help="A Config JSON file: print the scheduled TIR instead.")
@click.option("--target", "target_name", default="cpu", show_default=True, help="Target for --config.")
def show_command(op_name: str, shape_text: str, dtype: str | None, param_text: str | None, config_path: str | None, target_name: str) -> None:
    """Print OP as MLIR-style text, its workload key, and its TIR.

    OP is a library op (see `opforge ops`) or path/to/file.py:name for your own.
    """
    from dsl.key import canonical_text, workload_key
    from dsl.lower import lower_module

    op = resolve_op(op_name, parse_shape(shape_text), dtype, param_text)
    click.echo(canonical_text(op))
    click.echo(f"\n// workload key: {workload_key(op)}\n")
    if config_path is None:
        click.echo(lower_module(op).script())
        return
    from schedules import Config, ScheduleError, show_scheduled
    from targets import UnknownTargetError, get_target

    try:
        target = get_target(target_name)
        config = Config.from_json(Path(config_path).read_text())
        click.echo(show_scheduled(op, config, target))
    except (OSError, ValueError, UnknownTargetError, ScheduleError) as e:
        raise CliError(str(e)) from None


COMMANDS = [show_command]
