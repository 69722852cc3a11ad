"""The ``opforge`` command: one click group, one module per command family in ``commands/``.

Environment variables are read here and only here; the library gets plain values.
"""

from __future__ import annotations

import importlib
import sys

import click

from .commands.errors import CliError

# each module defines click commands and a ``COMMANDS`` list of them
_COMMAND_MODULES = ("ops", "show", "space", "tune", "db", "targets", "export", "report")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="opforge")
def cli() -> None:
    """opforge: write an operator once, tune it for your hardware, keep every measurement."""


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"autotune.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"autotune.commands.{name}":
                continue  # that command family is not part of this build yet
            raise
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: domain errors become one line on stderr and exit code 2."""
    try:
        cli.main(args=argv, prog_name="opforge", standalone_mode=False)
    except CliError as e:
        click.echo(f"opforge: error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("opforge: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        click.echo(f"opforge: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
