"""``zhifa overlimit``: over-limit determination from the command line."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="超限认定与处罚: over-limit determination (超限规定 第三条、第四十三条).", no_args_is_help=True
)
