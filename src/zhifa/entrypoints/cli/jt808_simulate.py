"""``zhifa jt808 simulate``: many simulated terminals against a running gateway."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from zhifa.bootstrap import App
from zhifa.domain.vehicles import VehicleKey, VehicleKind
from zhifa.entrypoints.cli.platform import DataDir, open_app, settings_with
from zhifa.services import registers, terminals
from zhifa.services.ports import DuplicateKey
from zhifa.simulator.jt808 import Fleet, SimTerminal, make_terminals, summary


def enrol_fleet(app: App, fleet: list[SimTerminal]) -> int:
    """Put the simulated vehicles and terminals in the platform's registers (idempotent); return
    how many terminals were enrolled now."""
    added = 0
    for t in fleet:
        with app.uow() as uow:
            known = uow.terminals.get(t.phone) is not None
        if known:
            continue
        with contextlib.suppress(DuplicateKey):  # the vehicle may be registered already
            registers.register_vehicle(
                app.uow,
                app.ids,
                registers.VehicleInput(t.plate, t.colour, VehicleKind.TRUCK, 2),
                clock=app.clock,
            )
        terminals.enrol_terminal(app.uow, t.phone, VehicleKey.parse(t.plate, t.colour), clock=app.clock)
        added += 1
    return added


def _enrol(fleet: list[SimTerminal], data_dir: DataDir) -> int:
    app = open_app(settings_with(data_dir))
    try:
        return enrol_fleet(app, fleet)
    finally:
        app.close()


def simulate(
    terminals_count: Annotated[int, typer.Option("--terminals", min=1, help="Simulated terminals")] = 100,
    rate: Annotated[
        float, typer.Option(min=0.01, help="Positions per second, all terminals together")
    ] = 10.0,
    host: Annotated[str, typer.Option(help="Gateway host")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Gateway port (default ZHIFA_GATEWAY_PORT)")] = None,
    seconds: Annotated[float, typer.Option(help="Run this long; 0 runs until Ctrl-C")] = 0.0,
    seed: Annotated[int, typer.Option(help="Phones 144SS…, plates and tracks follow from it")] = 1,
    version: Annotated[int, typer.Option(help="2013 or 2019 framing")] = 2013,
    step: Annotated[float, typer.Option(help="GPS seconds between two reports of one terminal")] = 30.0,
    enrol: Annotated[
        bool, typer.Option(help="First enrol the vehicles and terminals in the registers of --data-dir")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Terminals that register, authenticate, report 0x0200 and, after a reconnect, resend what was
    never acknowledged as 0x0704 blind-area batches. Prints a JSON summary at the end."""
    if version not in (2013, 2019):
        raise typer.BadParameter("version must be 2013 or 2019")
    settings = settings_with(data_dir)
    start = datetime.now(UTC) - timedelta(seconds=step)
    fleet_terminals = make_terminals(terminals_count, seed=seed, start=start, step=timedelta(seconds=step))
    if enrol:
        typer.echo(f"enrolled {_enrol(fleet_terminals, data_dir)} terminals", err=True)
    fleet = Fleet(host, port or settings.gateway_port, fleet_terminals, rate=rate, version=version, seed=seed)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if seconds:
            loop.call_later(seconds, stop.set)
        await fleet.run(stop)

    asyncio.run(main())
    typer.echo(json.dumps(summary(fleet.stats, fleet.unacknowledged)))
