"""``zhifa terminals enrol | list``: the terminal register (车载终端档案) from the command line.

Enrolment (入网登记) binds a JT/T 808 terminal's SIM phone to a vehicle of the vehicle register;
the terminal then registers itself with the gateway and receives its auth code, which no command
shows.
"""

from __future__ import annotations

from typing import Annotated

import typer

from zhifa.domain.errors import DomainError
from zhifa.domain.terminals import Terminal
from zhifa.domain.vehicles import VehicleKey
from zhifa.entrypoints.cli.platform import DataDir, open_app, settings_with
from zhifa.services import terminals
from zhifa.services.ports import DuplicateKey
from zhifa.services.queries import MAX_PAGE_SIZE, PageRequest

app = typer.Typer(help="车载终端档案: JT/T 808 terminals and their vehicles.", no_args_is_help=True)


def describe(t: Terminal) -> str:
    """One line per terminal: phone, vehicle, device, registration and block state."""
    state = "已注册" if t.registered else "未注册"
    if not t.enabled:
        state += " 已停用"
    device = " ".join(v for v in (t.maker, t.model, t.device_id) if v) or "-"
    return f"{t.phone}\t{t.vehicle}\t{device}\t{state}"


@app.command("enrol")
def enrol(
    phone: Annotated[str, typer.Argument(help="SIM phone of the terminal (digits)")],
    plate: Annotated[str, typer.Argument(help="Plate of a registered vehicle, e.g. 皖A12345")],
    colour: Annotated[int, typer.Argument(help="Plate colour, JT/T 697.7 code (2 yellow)")],
    device_id: Annotated[str | None, typer.Option(help="终端ID the device reports in 0x0100")] = None,
    maker: Annotated[str | None, typer.Option(help="制造商ID")] = None,
    model: Annotated[str | None, typer.Option(help="终端型号")] = None,
    data_dir: DataDir = None,
) -> None:
    """Bind a terminal's SIM phone to a vehicle (入网登记); a known phone moves to the vehicle."""
    application = open_app(settings_with(data_dir))
    try:
        key = VehicleKey.parse(plate, colour, application.policy.nev_marks)
        terminal = terminals.enrol_terminal(
            application.uow,
            phone,
            key,
            clock=application.clock,
            device_id=device_id,
            maker=maker,
            model=model,
        )
    except (DomainError, DuplicateKey) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        application.close()
    typer.echo(f"enrolled: {describe(terminal)}")


@app.command("list")
def list_terminals(
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE_SIZE, help="Rows to show")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip")] = 0,
    data_dir: DataDir = None,
) -> None:
    """The terminal register, most recently enrolled first (auth codes are never shown)."""
    application = open_app(settings_with(data_dir))
    try:
        with application.uow() as uow:
            page = uow.terminals.list(None, PageRequest(limit, offset))
    finally:
        application.close()
    for terminal in page.items:
        typer.echo(describe(terminal))
    typer.echo(f"{len(page.items)} of {page.total} terminals", err=True)
