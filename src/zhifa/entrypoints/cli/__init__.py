"""The ``zhifa`` command: one Typer app, one sub-command group per noun."""

from __future__ import annotations

import typer

from zhifa.entrypoints.cli import overlimit

app = typer.Typer(
    name="zhifa",
    help="智慧交通综合执法监管平台 zhifa: transport enforcement platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(overlimit.app, name="overlimit")


def main() -> None:
    app()
