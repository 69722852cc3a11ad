"""The ``opforge`` command: one click group, one module per command family in ``commands/``.

Environment variables are read here and only here; the library gets plain values.
"""

from __future__ import annotations

import importlib
import sys

import click


# each module defines click commands and a ``COMMANDS`` list of them
_COMMAND_MODULES = ("ops", "show", "space", "tune", "db", "targets", "export", "report")


class OpforgeGroup(click.Group):
    """A click group whose usage errors, like domain errors, are one line and exit code 2."""

    def main(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        standalone = kwargs.pop("standalone_mode", True)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
            if standalone:  # click returns ctx.exit()'s code instead of raising without standalone mode
                sys.exit(rv if isinstance(rv, int) else 0)
            return rv
        except click.exceptions.Exit as e:
            if standalone:
                sys.exit(e.exit_code)
            raise
        except click.exceptions.Abort:
            if not standalone:
                raise
            click.echo("opforge: aborted", err=True)
            sys.exit(130)
        except click.ClickException as e:
            if not standalone:
                raise
            click.echo(f"opforge: error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)


@click.group(cls=OpforgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    """Console entry point: bad input becomes one line on stderr and exit code 2."""
    cli.main(args=argv, prog_name="opforge")


if __name__ == "__main__":
    main()
