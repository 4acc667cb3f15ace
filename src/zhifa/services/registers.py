"""Use cases of the registers (基础档案): jurisdictions, weighing sites, enterprises, vehicles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from zhifa.domain.audit import SYSTEM, Actor
from zhifa.domain.enterprises import Enterprise, validate_uscc
from zhifa.domain.errors import DomainError
from zhifa.domain.jurisdictions import DivisionCode, Jurisdiction
from zhifa.domain.sites import SiteKind, WeighingSite
from zhifa.domain.vehicles import NEV_MARKS, Vehicle, VehicleKey, VehicleKind
from zhifa.services.audit import note
from zhifa.services.ports import Clock, DuplicateKey, IdGenerator, ReferenceData, UnitOfWorkFactory


class RegisterError(DomainError):
    pass


@dataclass(frozen=True)
class LoadReport:
    added: int
    already_present: int


def load_jurisdictions(
    uow_factory: UnitOfWorkFactory, items: Iterable[tuple[Jurisdiction, str | None]]
) -> LoadReport:
    """Load a province's jurisdictions (parents before children); re-running adds nothing twice."""
    added = present = 0
    with uow_factory() as uow:
        for jurisdiction, boundary in items:
            if uow.jurisdictions.get(jurisdiction.code) is not None:
                present += 1
                continue
            parent = jurisdiction.parent
            if parent is not None and uow.jurisdictions.get(parent) is None:
                raise RegisterError(f"{jurisdiction.code} {jurisdiction.name}: parent {parent} is not loaded")
            uow.jurisdictions.add(jurisdiction, boundary)
            added += 1
        uow.commit()
    return LoadReport(added, present)


def load_reference_province(
    uow_factory: UnitOfWorkFactory, reference: ReferenceData, province_code: str
) -> LoadReport:
    """Load a province's jurisdictions and boundaries from the reference data (idempotent)."""
    return load_jurisdictions(uow_factory, reference.jurisdictions(province_code))


def save_site(
    uow_factory: UnitOfWorkFactory, site: WeighingSite, *, clock: Clock, actor: Actor = SYSTEM
) -> WeighingSite:
    """Register or update a weighing site; its jurisdiction must be registered."""
    with uow_factory() as uow:
        if uow.jurisdictions.get(site.jurisdiction) is None:
            raise RegisterError(f"site {site.id}: jurisdiction {site.jurisdiction} is not registered")
        before = uow.sites.get(site.id)
        uow.sites.save(site)
        note(uow, clock.now(), actor, "site.save", "weighing_site", site.id, before=before, after=site)
        uow.commit()
    return site


@dataclass(frozen=True)
class SiteInput:
    id: str
    name: str
    kind: SiteKind
    lon: float
    lat: float
    jurisdiction: str
    accuracy_class: Decimal
    device_serial: str = ""
    verification_certificate: str = ""
    verified_on: date | None = None
    verification_valid_until: date | None = None
    enforcement_approved_on: date | None = None
    road: str = ""
    tolerance_pct: Decimal | None = None

    def to_site(self) -> WeighingSite:
        return WeighingSite(
            id=self.id,
            name=self.name,
            kind=self.kind,
            lon=self.lon,
            lat=self.lat,
            jurisdiction=DivisionCode.parse(self.jurisdiction),
            accuracy_class=self.accuracy_class,
            device_serial=self.device_serial,
            verification_certificate=self.verification_certificate,
            verified_on=self.verified_on,
            verification_valid_until=self.verification_valid_until,
            enforcement_approved_on=self.enforcement_approved_on,
            road=self.road,
            tolerance_pct=self.tolerance_pct,
        )


def register_enterprise(
    uow_factory: UnitOfWorkFactory,
    ids: IdGenerator,
    *,
    clock: Clock,
    actor: Actor = SYSTEM,
    uscc: str,
    name: str,
    division: str | None = None,
    address: str = "",
) -> Enterprise:
    code = validate_uscc(uscc)
    if division is not None:
        DivisionCode.parse(division)
    enterprise = Enterprise(ids.new_id(), code, name.strip(), division, address.strip())
    with uow_factory() as uow:
        if uow.enterprises.get_by_uscc(code) is not None:
            raise DuplicateKey(f"enterprise {code} is already registered")
        uow.enterprises.add(enterprise)
        note(uow, clock.now(), actor, "enterprise.register", "enterprise", enterprise.id, after=enterprise)
        uow.commit()
    return enterprise


@dataclass(frozen=True)
class VehicleInput:
    plate: str
    plate_colour: int
    kind: VehicleKind
    axles: int
    enterprise_uscc: str | None = None
    owner_name: str = ""
    licensed_gross_kg: int | None = None
    single_drive_axle: bool = False
    single_tyre_axles: int = 0
    gb1589_exempt: bool = False
    transport_certificate: str = ""
    home_division: str | None = None


def register_vehicle(
    uow_factory: UnitOfWorkFactory,
    ids: IdGenerator,
    data: VehicleInput,
    *,
    clock: Clock,
    actor: Actor = SYSTEM,
    nev_marks: str = NEV_MARKS,
) -> Vehicle:
    key = VehicleKey.parse(data.plate, data.plate_colour, nev_marks)
    if data.home_division is not None:
        DivisionCode.parse(data.home_division)
    with uow_factory() as uow:
        enterprise_id = None
        if data.enterprise_uscc:
            enterprise = uow.enterprises.get_by_uscc(validate_uscc(data.enterprise_uscc))
            if enterprise is None:
                raise RegisterError(f"enterprise {data.enterprise_uscc} is not registered")
            enterprise_id = enterprise.id
        if uow.vehicles.get_by_key(key) is not None:
            raise DuplicateKey(f"vehicle {key} is already registered")
        vehicle = Vehicle(
            id=ids.new_id(),
            key=key,
            kind=data.kind,
            axles=data.axles,
            enterprise_id=enterprise_id,
            owner_name=data.owner_name.strip(),
            licensed_gross_kg=data.licensed_gross_kg,
            single_drive_axle=data.single_drive_axle,
            single_tyre_axles=data.single_tyre_axles,
            gb1589_exempt=data.gb1589_exempt,
            transport_certificate=data.transport_certificate.strip(),
            home_division=data.home_division,
        )
        uow.vehicles.add(vehicle)
        note(uow, clock.now(), actor, "vehicle.register", "vehicle", vehicle.id, after=vehicle)
        uow.commit()
    return vehicle
