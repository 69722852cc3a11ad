"""The one error type commands raise for bad input: printed as one line, exit code 2."""

import click


class CliError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:  # noqa: ANN001
        click.echo(f"opforge: error: {self.format_message()}", err=True)
