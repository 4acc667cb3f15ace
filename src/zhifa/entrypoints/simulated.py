"""The simulated province in the platform's registers: what the demo and ``zhifa simulate --live
--enrol`` put there before a live replay (simulator/live.py) can be accepted.

Kept apart from the CLI package so tests and other entrypoints import it without the commands.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from zhifa.bootstrap import App
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.permissions import Permission
from zhifa.domain.sites import SiteKind
from zhifa.domain.vehicles import VehicleKind
from zhifa.services import accounts, registers, terminals
from zhifa.services.ports import DuplicateKey
from zhifa.simulator.fleet import Fleet, FleetVehicle
from zhifa.simulator.province.model import PlaceKind, Province


class NoProvinceUnit(LookupError):
    """The province has no unit to issue the replay's API key to."""


def register_simulated(
    app: App, province: Province, fleet: Fleet, driven: Sequence[FleetVehicle], today: date
) -> dict[str, int]:
    """Put a simulated province into the platform's registers, idempotently: the fleet's
    enterprises and key vehicles, the terminals of the ``driven`` vehicles (one per vehicle), and
    the province's weighing sites (weighing ingest refuses an unknown site; gantries need no
    register entry, passage ingest takes any site id). Returns what was added now, by register.

    The vehicle register knows the over-limit kinds only, so buses and coaches are entered as
    2-axle 货车 like ``zhifa jt808 simulate --enrol`` does; that is enough to bind a terminal."""
    added = {"enterprises": 0, "vehicles": 0, "terminals": 0, "sites": 0}
    for e in fleet.enterprises:
        with app.uow() as uow:
            known = uow.enterprises.get_by_uscc(e.uscc) is not None
        if not known:
            registers.register_enterprise(
                app.uow, app.ids, clock=app.clock, uscc=e.uscc, name=e.name, division=e.division
            )
            added["enterprises"] += 1
    for v in fleet.vehicles:
        if not v.kind.key_vehicle:
            continue
        entry = registers.VehicleInput(
            v.plate,
            int(v.colour),
            v.vehicle_kind or VehicleKind.TRUCK,
            v.axles or 2,
            enterprise_uscc=v.enterprise_uscc,
            transport_certificate=v.transport_certificate or "",
            home_division=v.home_division,
        )
        with contextlib.suppress(DuplicateKey):  # registered by an earlier start
            registers.register_vehicle(app.uow, app.ids, entry, clock=app.clock)
            added["vehicles"] += 1
    for v in driven:
        t = v.terminal
        if t is None:
            continue
        with app.uow() as uow:
            known = uow.terminals.get(t.phone) is not None
        if not known:
            terminals.enrol_terminal(
                app.uow,
                t.phone,
                v.key,
                clock=app.clock,
                device_id=t.terminal_id,
                maker=t.maker_id,
                model=t.model,
            )
            added["terminals"] += 1
    for place in province.places:
        if place.kind is not PlaceKind.WEIGHING_SITE:
            continue
        with app.uow() as uow:
            known = uow.sites.get(place.id) is not None
        if known:
            continue
        verified = today - timedelta(days=90)
        with contextlib.suppress(registers.RegisterError):  # a county the platform does not hold
            registers.save_site(
                app.uow,
                registers.SiteInput(
                    id=place.id,
                    name=place.name,
                    kind=SiteKind.WEIGH_IN_MOTION,
                    lon=place.lon,
                    lat=place.lat,
                    jurisdiction=place.county,
                    accuracy_class=Decimal(5),
                    device_serial=f"SIM-{place.id}",
                    verification_certificate=f"模拟检定〔{verified.year}〕{place.id}号",
                    verified_on=verified,
                    verification_valid_until=verified + timedelta(days=364),
                    enforcement_approved_on=verified + timedelta(days=10),
                    road=place.name,
                ).to_site(),
                clock=app.clock,
            )
            added["sites"] += 1
    return added


def replay_key(app: App, name: str = "模拟路网数据源（模拟）") -> tuple[str, bytes]:
    """A fresh API key of the province unit that may ingest passages and weighings."""
    code = DivisionCode(app.settings.province_code)
    with app.uow() as uow:
        unit = next((u for u in uow.units.list(code) if u.division == code), None)
    if unit is None:
        raise NoProvinceUnit(f"no unit of province {code} to issue the replay's API key to")
    issued = accounts.issue_api_key(
        app.account_deps,
        None,
        unit_id=unit.id,
        name=name,
        scopes={Permission.PASSAGES_INGEST, Permission.WEIGHINGS_INGEST},
    )
    return issued.key.id, bytes.fromhex(issued.secret)
