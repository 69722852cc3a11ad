"""``opforge space``: the schedule space of an op on a target: knobs, domains, defaults, size."""

from __future__ import annotations

import click

from .common import op_options, parse_shape, resolve_op
from .errors import CliError


@click.command("space")
@click.argument("op_name", metavar="OP")
@op_options
@click.option("--target", "target_name", default="cpu", show_default=True, help="Target whose rule set derives the space (cpu, cuda:sm_90, ...).")
@click.option("--docs/--no-docs", default=True, show_default=True, help="Show what each knob does.")
def space_command(op_name: str, shape_text: str, dtype: str | None, param_text: str | None, target_name: str, docs: bool) -> None:
    """Print OP's schedule space on TARGET: each knob, its domain and default, and the space size.

    OP is a library op (see `opforge ops`) or path/to/file.py:name for your own.
    """
    from rich.console import Console
    from rich.table import Table

    from schedules import ScheduleError, space_for
    from schedules.space import format_value
    from targets import UnknownTargetError, get_target

    op = resolve_op(op_name, parse_shape(shape_text), dtype, param_text)
    try:
        target = get_target(target_name)
        space = space_for(op, target)
    except (UnknownTargetError, ValueError, ScheduleError) as e:
        raise CliError(str(e)) from None
    table = Table(title=f"schedule space of {op.name} on {target.name}")
    columns = ["knob", "choices", "default", "domain"] + (["what it does"] if docs else [])
    for col in columns:
        table.add_column(col, overflow="fold")
    for knob in space.knobs:
        row = [knob.name, str(len(knob.choices)), format_value(knob.initial), knob.describe_domain(6)]
        table.add_row(*(row + ([knob.doc] if docs else [])))
    console = Console(width=200 if docs else 140)
    console.print(table)
    click.echo(f"knobs: {len(space.knobs)}")
    click.echo(f"space size: {space.size} (~{float(space.size):.3g})")


COMMANDS = [space_command]
