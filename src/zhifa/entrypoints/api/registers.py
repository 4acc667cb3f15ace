"""Registers: /api/v1/jurisdictions, /sites, /enterprises, /vehicles."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from zhifa.domain.masking import mask_name
from zhifa.domain.permissions import Forbidden, Principal
from zhifa.domain.permissions import Permission as P
from zhifa.domain.sites import SiteKind
from zhifa.domain.vehicles import Vehicle, VehicleKey, VehicleKind
from zhifa.entrypoints.api.deps import AppDep, ScopeDep, UnmaskQuery, disclose
from zhifa.entrypoints.api.problems import NotFound
from zhifa.entrypoints.api.security import requires
from zhifa.services import registers

router = APIRouter(prefix="/api/v1", tags=["registers"])


class JurisdictionOut(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None
    authority: str
    label_lon: float | None
    label_lat: float | None


@router.get("/jurisdictions", response_model=list[JurisdictionOut], summary="Jurisdictions (辖区)")
def list_jurisdictions(
    app: AppDep, scope: ScopeDep, who: Annotated[Principal, requires(P.REGISTERS_READ)]
) -> list[JurisdictionOut]:
    with app.uow() as uow:
        items = uow.jurisdictions.list(who.scope(scope))
    return [
        JurisdictionOut(
            code=j.code.code,
            name=j.name,
            level=j.level.value,
            parent_code=j.parent.code if j.parent else None,
            authority=j.authority,
            label_lon=j.label_lon,
            label_lat=j.label_lat,
        )
        for j in items
    ]


class SiteOut(BaseModel):
    id: str
    name: str
    kind: str
    road: str
    lon: float
    lat: float
    jurisdiction_code: str
    jurisdiction_name: str
    accuracy_class: str
    verification_valid_until: str | None
    enforcement_approved_on: str | None


@router.get("/sites", response_model=list[SiteOut], summary="Weighing sites (治超站 / 不停车检测点)")
def list_sites(
    app: AppDep, scope: ScopeDep, who: Annotated[Principal, requires(P.REGISTERS_READ)]
) -> list[SiteOut]:
    return [SiteOut.model_validate(row) for row in app.read_model.sites(who.scope(scope))]


class SiteIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    kind: SiteKind
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    jurisdiction: str = Field(pattern=r"^[1-9][0-9]{5}$", description="GB/T 2260 code of the county")
    accuracy_class: Decimal = Field(description="JJG 907 accuracy class: 0.2, 0.5, 1, 2, 5 or 10")
    device_serial: str = ""
    verification_certificate: str = Field(default="", description="检定证书编号 (超限规定 第三十八条)")
    verified_on: date | None = None
    verification_valid_until: date | None = None
    enforcement_approved_on: date | None = Field(
        default=None, description="Date of legal and technical review and publication (行政处罚法 第四十一条)"
    )
    road: str = ""
    tolerance_pct: Decimal | None = Field(default=None, description="Overrides the accuracy-class tolerance")


SiteId = Annotated[str, Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z_.\-]{0,63}$")]


@router.put("/sites/{site_id}", response_model=SiteOut, summary="Register or update a weighing site")
def put_site(
    site_id: SiteId, body: SiteIn, app: AppDep, who: Annotated[Principal, requires(P.REGISTERS_WRITE)]
) -> SiteOut:
    site = registers.SiteInput(id=site_id, **body.model_dump()).to_site()
    with app.uow() as uow:
        existing = uow.sites.get(site_id)
    for place in (site.jurisdiction, existing.jurisdiction if existing else site.jurisdiction):
        if not who.sees(place):
            raise Forbidden(f"无权维护辖区 {place} 的检测站点（本单位辖区 {who.division}）")
    registers.save_site(app.uow, site, clock=app.clock, actor=who.actor)
    row = next(r for r in app.read_model.sites(site.jurisdiction) if r["id"] == site_id)
    return SiteOut.model_validate(row)


class EnterpriseIn(BaseModel):
    uscc: str = Field(description="Unified social credit code (GB 32100), checked")
    name: str = Field(min_length=1, max_length=128)
    division: str | None = Field(default=None, pattern=r"^[1-9][0-9]{5}$")
    address: str = ""


class EnterpriseOut(BaseModel):
    id: str
    uscc: str
    name: str
    division: str | None
    address: str


@router.post(
    "/enterprises",
    response_model=EnterpriseOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a transport enterprise",
)
def post_enterprise(
    body: EnterpriseIn, app: AppDep, who: Annotated[Principal, requires(P.REGISTERS_WRITE)]
) -> EnterpriseOut:
    e = registers.register_enterprise(
        app.uow,
        app.ids,
        clock=app.clock,
        actor=who.actor,
        uscc=body.uscc,
        name=body.name,
        division=body.division,
        address=body.address,
    )
    return EnterpriseOut(id=e.id, uscc=e.uscc, name=e.name, division=e.division, address=e.address)


class VehicleIn(BaseModel):
    plate: str = Field(examples=["皖A12345"])
    plate_colour: int = Field(description="JT/T 697.7 code")
    kind: VehicleKind
    axles: int = Field(ge=1, le=20, description="The unit's own axles (a tractor without its trailer)")
    enterprise_uscc: str | None = None
    owner_name: str = ""
    licensed_gross_kg: int | None = Field(default=None, gt=0)
    single_drive_axle: bool = False
    single_tyre_axles: int = Field(default=0, ge=0)
    gb1589_exempt: bool = False
    transport_certificate: str = ""
    home_division: str | None = Field(default=None, pattern=r"^[1-9][0-9]{5}$")


class VehicleOut(BaseModel):
    id: str
    plate: str
    plate_colour: int
    kind: VehicleKind
    axles: int
    enterprise_id: str | None
    owner_name: str
    licensed_gross_kg: int | None
    single_drive_axle: bool
    single_tyre_axles: int
    gb1589_exempt: bool
    transport_certificate: str
    home_division: str | None


def vehicle_out(v: Vehicle, unmasked: bool = True) -> VehicleOut:
    # An individual owner's name is personal data (行政处罚法 第五十条); a firm's name is not.
    owner = v.owner_name if unmasked or v.enterprise_id else mask_name(v.owner_name)
    return VehicleOut(
        id=v.id,
        plate=v.key.plate,
        plate_colour=int(v.key.colour),
        kind=v.kind,
        axles=v.axles,
        enterprise_id=v.enterprise_id,
        owner_name=owner,
        licensed_gross_kg=v.licensed_gross_kg,
        single_drive_axle=v.single_drive_axle,
        single_tyre_axles=v.single_tyre_axles,
        gb1589_exempt=v.gb1589_exempt,
        transport_certificate=v.transport_certificate,
        home_division=v.home_division,
    )


@router.post(
    "/vehicles", response_model=VehicleOut, status_code=status.HTTP_201_CREATED, summary="Register a vehicle"
)
def post_vehicle(
    body: VehicleIn, app: AppDep, who: Annotated[Principal, requires(P.REGISTERS_WRITE)]
) -> VehicleOut:
    vehicle = registers.register_vehicle(
        app.uow,
        app.ids,
        registers.VehicleInput(**body.model_dump()),
        clock=app.clock,
        actor=who.actor,
        nev_marks=app.policy.nev_marks,
    )
    return vehicle_out(vehicle)


@router.get(
    "/vehicles/{plate}/{plate_colour}", response_model=VehicleOut, summary="A vehicle by plate and colour"
)
def get_vehicle(
    plate: str,
    plate_colour: int,
    app: AppDep,
    who: Annotated[Principal, requires(P.VEHICLES_READ)],
    unmask: UnmaskQuery = False,
) -> VehicleOut:
    # The vehicle register is province-wide: vehicles cross every jurisdiction they are checked in.
    key = VehicleKey.parse(plate, plate_colour, app.policy.nev_marks)
    with app.uow() as uow:
        vehicle = uow.vehicles.get_by_key(key)
    if vehicle is None:
        raise NotFound(f"no vehicle {key}")
    if unmask and not vehicle.enterprise_id:
        disclose(app, who, "vehicle", [vehicle.id], ["owner_name"])
    return vehicle_out(vehicle, unmasked=unmask)
