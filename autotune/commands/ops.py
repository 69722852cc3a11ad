"""``opforge ops``: the op library with its dimensions and dtypes."""

from __future__ import annotations

import click


@click.command("ops")
def ops_command() -> None:
    """List the op library: name, dimensions, dtypes, parameters."""
    from rich.console import Console
    from rich.table import Table

    from dsl import library

    table = Table(title="opforge op library")
    for col in ("op", "dims", "dtypes", "params", "what"):
        table.add_column(col)
    for info in library.describe().values():
        params = ", ".join(f"{k}={v}" for k, v in dict(info.params).items())
        table.add_row(info.name, ",".join(info.dims), ",".join(info.dtypes), params, info.summary.replace("``", ""))
    Console(width=160).print(table)


COMMANDS = [ops_command]
