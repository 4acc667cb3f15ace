"""The ``zhifa`` command: one Typer app, one sub-command group per noun."""

from __future__ import annotations

import typer

from zhifa.entrypoints.cli import (
    accounts,
    audit,
    demo,
    jt808,
    jt808_simulate,
    overlimit,
    platform,
    readings,
    simulate,
    terminals,
)

app = typer.Typer(
    name="zhifa",
    help="智慧交通综合执法监管平台 zhifa: transport enforcement platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(overlimit.app, name="overlimit")
app.add_typer(platform.db_app, name="db")
app.add_typer(platform.reference_app, name="reference")
app.add_typer(audit.app, name="audit")
app.add_typer(accounts.users_app, name="users")
app.add_typer(accounts.security_app, name="security")
app.add_typer(readings.lake_app, name="lake")
app.add_typer(jt808.app, name="jt808")
app.add_typer(terminals.app, name="terminals")
jt808.app.command("simulate")(jt808_simulate.simulate)
app.command("serve")(platform.serve)
app.command("gateway")(platform.gateway)
app.command("import")(readings.import_readings)
app.command("worker")(readings.worker)
app.command("demo")(demo.demo)
app.command("openapi")(platform.openapi)
app.command("simulate")(simulate.simulate)


def main() -> None:
    app()
