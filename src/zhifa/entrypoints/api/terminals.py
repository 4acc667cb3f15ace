"""Terminal register: /api/v1/terminals (车载终端档案), which the JT/T 808 gateway authenticates against.

A terminal lies in its vehicle's 车籍地 (``home_division``): the province sees and keeps the whole
register, a city or county the terminals of vehicles registered in its subtree. Neither the auth
code nor its hash ever leaves the platform: responses say only whether the terminal registered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field

from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.permissions import Forbidden, Principal
from zhifa.domain.permissions import Permission as P
from zhifa.domain.terminals import (
    MAX_DEVICE_ID_LENGTH,
    MAX_MAKER_LENGTH,
    MAX_MODEL_LENGTH,
    Terminal,
    normalise_phone,
)
from zhifa.domain.vehicles import Vehicle, VehicleKey
from zhifa.entrypoints.api.deps import AppDep, PageDep, PageOut, ScopeDep
from zhifa.entrypoints.api.problems import NotFound
from zhifa.entrypoints.api.security import requires
from zhifa.services import terminals

router = APIRouter(prefix="/api/v1", tags=["terminals"])

Phone = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{1,20}$",
        description="The terminal's SIM phone (JT/T 808 BCD digits); leading zeros are ignored",
        examples=["13511221122"],
    ),
]


class TerminalIn(BaseModel):
    plate: str = Field(examples=["皖A12345"])
    plate_colour: int = Field(description="JT/T 697.7 code")
    device_id: str | None = Field(
        default=None, max_length=MAX_DEVICE_ID_LENGTH, description="终端ID as the device reports it in 0x0100"
    )
    maker: str | None = Field(default=None, max_length=MAX_MAKER_LENGTH, description="制造商ID")
    model: str | None = Field(default=None, max_length=MAX_MODEL_LENGTH, description="终端型号")


class TerminalOut(BaseModel):
    phone: str
    plate: str
    plate_colour: int
    device_id: str | None
    maker: str | None
    model: str | None
    registered: bool = Field(description="The terminal registered (0x0100) and holds a valid auth code")
    registered_at: datetime | None
    enabled: bool
    enrolled_at: datetime


def terminal_out(t: Terminal) -> TerminalOut:
    return TerminalOut(
        phone=t.phone,
        plate=t.vehicle.plate,
        plate_colour=int(t.vehicle.colour),
        device_id=t.device_id,
        maker=t.maker,
        model=t.model,
        registered=t.registered,
        registered_at=t.registered_at,
        enabled=t.enabled,
        enrolled_at=t.enrolled_at,
    )


def _sees(who: Principal, vehicle: Vehicle | None) -> bool:
    # The province keeps the whole register, vehicles without (or with another province's)
    # 车籍地 among them; below it, a terminal is seen where its vehicle is registered.
    if who.is_province:
        return True
    if vehicle is None or vehicle.home_division is None:
        return False
    return who.sees(DivisionCode(vehicle.home_division))


def _visible(app: AppDep, who: Principal, phone: str) -> Terminal:
    """The terminal, or 404 when it is unknown or outside the principal's jurisdiction."""
    key = normalise_phone(phone)
    with app.uow() as uow:
        terminal = uow.terminals.get(key)
        vehicle = uow.vehicles.get(terminal.vehicle_id) if terminal else None
    if terminal is None or not _sees(who, vehicle):
        raise NotFound(f"终端不存在：{key}")
    return terminal


@router.put(
    "/terminals/{phone}",
    response_model=TerminalOut,
    responses={201: {"model": TerminalOut, "description": "Enrolled"}},
    summary="Enrol a terminal to a vehicle (入网登记), or update it",
)
def put_terminal(
    phone: Phone,
    body: TerminalIn,
    response: Response,
    app: AppDep,
    who: Annotated[Principal, requires(P.REGISTERS_WRITE)],
) -> TerminalOut:
    key = normalise_phone(phone)
    vehicle_key = VehicleKey.parse(body.plate, body.plate_colour, app.policy.nev_marks)
    with app.uow() as uow:
        existing = uow.terminals.get(key)
        bound = uow.vehicles.get(existing.vehicle_id) if existing else None
        target = uow.vehicles.get_by_key(vehicle_key)
    if existing is not None and not _sees(who, bound):
        raise Forbidden(f"无权维护终端 {key}：其车辆不在本单位辖区 {who.division}")
    if target is not None and not _sees(who, target):
        raise Forbidden(f"无权为车辆 {vehicle_key} 登记终端：车籍地不在本单位辖区 {who.division}")
    terminal = terminals.enrol_terminal(
        app.uow,
        key,
        vehicle_key,
        clock=app.clock,
        actor=who.actor,
        device_id=body.device_id,
        maker=body.maker,
        model=body.model,
    )
    response.status_code = status.HTTP_200_OK if existing else status.HTTP_201_CREATED
    return terminal_out(terminal)


@router.get("/terminals", response_model=PageOut[TerminalOut], summary="Terminals (车载终端档案)")
def list_terminals(
    app: AppDep, scope: ScopeDep, page: PageDep, who: Annotated[Principal, requires(P.REGISTERS_READ)]
) -> PageOut[TerminalOut]:
    under: DivisionCode | None = who.scope(scope)
    if who.is_province and under == who.division:
        under = None  # the whole register (see _sees)
    with app.uow() as uow:
        result = uow.terminals.list(under, page)
    return PageOut[TerminalOut](
        items=[terminal_out(t) for t in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.get("/terminals/{phone}", response_model=TerminalOut, summary="A terminal by its SIM phone")
def get_terminal(
    phone: Phone, app: AppDep, who: Annotated[Principal, requires(P.REGISTERS_READ)]
) -> TerminalOut:
    return terminal_out(_visible(app, who, phone))


@router.post(
    "/terminals/{phone}/disable",
    response_model=TerminalOut,
    summary="Block a terminal (a stolen SIM): it can neither register nor authenticate",
)
def disable_terminal(
    phone: Phone, app: AppDep, who: Annotated[Principal, requires(P.REGISTERS_WRITE)]
) -> TerminalOut:
    terminal = _visible(app, who, phone)
    return terminal_out(terminals.disable_terminal(app.uow, terminal.phone, clock=app.clock, actor=who.actor))


@router.post("/terminals/{phone}/enable", response_model=TerminalOut, summary="Lift a terminal's block")
def enable_terminal(
    phone: Phone, app: AppDep, who: Annotated[Principal, requires(P.REGISTERS_WRITE)]
) -> TerminalOut:
    terminal = _visible(app, who, phone)
    return terminal_out(terminals.enable_terminal(app.uow, terminal.phone, clock=app.clock, actor=who.actor))
