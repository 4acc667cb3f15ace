"""SQLAlchemy repositories: rows in, domain objects out, nothing else."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhifa.adapters.db.tables import (
    AlertRow,
    CaseRecordRow,
    CaseRow,
    DocumentRow,
    EnterpriseRow,
    JurisdictionRow,
    NumberSequenceRow,
    SiteRow,
    TerminalRow,
    VehicleRow,
    WeighingRow,
)
from zhifa.domain.alerts import Alert, AlertStatus, Severity
from zhifa.domain.cases import Case, CaseRecordEntry, CaseStatus, Officer, Party, PartyKind, Procedure
from zhifa.domain.documents import Document, DocumentKind
from zhifa.domain.enterprises import Enterprise
from zhifa.domain.jurisdictions import DivisionCode, Jurisdiction
from zhifa.domain.sites import SiteKind, WeighingSite
from zhifa.domain.terminals import Terminal
from zhifa.domain.vehicles import PlateColour, Vehicle, VehicleKey, VehicleKind
from zhifa.domain.weighings import Disposition, EvidenceRef, ImageKind, WeighingReading
from zhifa.services.ports import ConcurrentUpdate, DuplicateKey, StoredWeighing
from zhifa.services.queries import Page, PageRequest


def _flush(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # The unit of work rolls the transaction back when this propagates.
        raise DuplicateKey(f"{what} is already stored") from exc


class SqlJurisdictions:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _domain(row: JurisdictionRow) -> Jurisdiction:
        return Jurisdiction(DivisionCode(row.code), row.name, row.authority, row.label_lon, row.label_lat)

    def add(self, jurisdiction: Jurisdiction, boundary_geojson: str | None = None) -> None:
        parent = jurisdiction.parent
        self.session.add(
            JurisdictionRow(
                code=jurisdiction.code.code,
                parent_code=parent.code if parent else None,
                level=jurisdiction.level.value,
                name=jurisdiction.name,
                authority=jurisdiction.authority,
                label_lon=jurisdiction.label_lon,
                label_lat=jurisdiction.label_lat,
                boundary_geojson=boundary_geojson,
            )
        )
        _flush(self.session, f"jurisdiction {jurisdiction.code}")

    def get(self, code: DivisionCode) -> Jurisdiction | None:
        row = self.session.get(JurisdictionRow, code.code)
        return self._domain(row) if row else None

    def list(self, under: DivisionCode | None = None) -> list[Jurisdiction]:
        query = select(JurisdictionRow).order_by(JurisdictionRow.code)
        if under is not None:
            query = query.where(JurisdictionRow.code.startswith(under.prefix))
        return [self._domain(row) for row in self.session.scalars(query)]

    def boundaries(self, under: DivisionCode | None = None) -> dict[str, str]:
        query = select(JurisdictionRow.code, JurisdictionRow.boundary_geojson).where(
            JurisdictionRow.boundary_geojson.is_not(None)
        )
        if under is not None:
            query = query.where(JurisdictionRow.code.startswith(under.prefix))
        return {code: geojson for code, geojson in self.session.execute(query) if geojson}


class SqlSites:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _domain(row: SiteRow) -> WeighingSite:
        return WeighingSite(
            id=row.id,
            name=row.name,
            kind=SiteKind(row.kind),
            lon=row.lon,
            lat=row.lat,
            jurisdiction=DivisionCode(row.jurisdiction_code),
            accuracy_class=Decimal(row.accuracy_class).normalize(),
            device_serial=row.device_serial,
            verification_certificate=row.verification_certificate,
            verified_on=row.verified_on,
            verification_valid_until=row.verification_valid_until,
            enforcement_approved_on=row.enforcement_approved_on,
            road=row.road,
            tolerance_pct=(Decimal(row.tolerance_pct).normalize() if row.tolerance_pct is not None else None),
        )

    @staticmethod
    def _values(site: WeighingSite) -> dict[str, Any]:
        return {
            "id": site.id,
            "name": site.name,
            "kind": site.kind.value,
            "lon": site.lon,
            "lat": site.lat,
            "jurisdiction_code": site.jurisdiction.code,
            "road": site.road,
            "accuracy_class": site.accuracy_class,
            "tolerance_pct": site.tolerance_pct,
            "device_serial": site.device_serial,
            "verification_certificate": site.verification_certificate,
            "verified_on": site.verified_on,
            "verification_valid_until": site.verification_valid_until,
            "enforcement_approved_on": site.enforcement_approved_on,
        }

    def add(self, site: WeighingSite) -> None:
        self.session.add(SiteRow(**self._values(site)))
        _flush(self.session, f"site {site.id}")

    def save(self, site: WeighingSite) -> None:
        row = self.session.get(SiteRow, site.id)
        if row is None:
            self.add(site)
            return
        for key, value in self._values(site).items():
            setattr(row, key, value)
        self.session.flush()

    def get(self, site_id: str) -> WeighingSite | None:
        row = self.session.get(SiteRow, site_id)
        return self._domain(row) if row else None

    def list(self, under: DivisionCode | None = None) -> list[WeighingSite]:
        query = select(SiteRow).order_by(SiteRow.id)
        if under is not None:
            query = query.where(SiteRow.jurisdiction_code.startswith(under.prefix))
        return [self._domain(row) for row in self.session.scalars(query)]


class SqlVehicles:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _domain(row: VehicleRow) -> Vehicle:
        return Vehicle(
            id=row.id,
            key=VehicleKey(row.plate, PlateColour(row.plate_colour)),
            kind=VehicleKind(row.kind),
            axles=row.axles,
            enterprise_id=row.enterprise_id,
            owner_name=row.owner_name,
            licensed_gross_kg=row.licensed_gross_kg,
            single_drive_axle=row.single_drive_axle,
            single_tyre_axles=row.single_tyre_axles,
            gb1589_exempt=row.gb1589_exempt,
            transport_certificate=row.transport_certificate,
            home_division=row.home_division,
        )

    def add(self, vehicle: Vehicle) -> None:
        self.session.add(
            VehicleRow(
                id=vehicle.id,
                plate=vehicle.key.plate,
                plate_colour=int(vehicle.key.colour),
                kind=vehicle.kind.value,
                axles=vehicle.axles,
                enterprise_id=vehicle.enterprise_id,
                owner_name=vehicle.owner_name,
                licensed_gross_kg=vehicle.licensed_gross_kg,
                single_drive_axle=vehicle.single_drive_axle,
                single_tyre_axles=vehicle.single_tyre_axles,
                gb1589_exempt=vehicle.gb1589_exempt,
                transport_certificate=vehicle.transport_certificate,
                home_division=vehicle.home_division,
            )
        )
        _flush(self.session, f"vehicle {vehicle.key}")

    def get(self, vehicle_id: str) -> Vehicle | None:
        row = self.session.get(VehicleRow, vehicle_id)
        return self._domain(row) if row else None

    def for_enterprise(self, enterprise_id: str) -> list[Vehicle]:
        rows = self.session.scalars(
            select(VehicleRow).where(VehicleRow.enterprise_id == enterprise_id).order_by(VehicleRow.plate)
        )
        return [self._domain(row) for row in rows]

    def get_by_key(self, key: VehicleKey) -> Vehicle | None:
        row = self.session.scalars(
            select(VehicleRow).where(
                VehicleRow.plate == key.plate, VehicleRow.plate_colour == int(key.colour)
            )
        ).one_or_none()
        return self._domain(row) if row else None


class SqlTerminals:
    """The terminal register; a terminal's plate and colour are its vehicle's, read by a join."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _select() -> Select[TerminalRow, str, int]:
        return select(TerminalRow, VehicleRow.plate, VehicleRow.plate_colour).join(
            VehicleRow, VehicleRow.id == TerminalRow.vehicle_id
        )

    @staticmethod
    def _domain(row: TerminalRow, plate: str, colour: int) -> Terminal:
        return Terminal(
            phone=row.phone,
            vehicle_id=row.vehicle_id,
            vehicle=VehicleKey(plate, PlateColour(colour)),
            device_id=row.device_id,
            maker=row.maker,
            model=row.model,
            auth_code_sha256=row.auth_code_sha256,
            registered_at=row.registered_at,
            enabled=row.enabled,
            enrolled_at=row.enrolled_at,
        )

    @staticmethod
    def _values(terminal: Terminal) -> dict[str, Any]:
        return {
            "phone": terminal.phone,
            "vehicle_id": terminal.vehicle_id,
            "device_id": terminal.device_id,
            "maker": terminal.maker,
            "model": terminal.model,
            "auth_code_sha256": terminal.auth_code_sha256,
            "registered_at": terminal.registered_at,
            "enrolled_at": terminal.enrolled_at,
            "enabled": terminal.enabled,
        }

    def _one(self, query: Select[TerminalRow, str, int]) -> Terminal | None:
        found = self.session.execute(query).one_or_none()
        if found is None:
            return None
        row, plate, colour = found
        return self._domain(row, plate, colour)

    def add(self, terminal: Terminal) -> None:
        self.session.add(TerminalRow(**self._values(terminal)))
        _flush(self.session, f"terminal {terminal.phone} or a terminal of vehicle {terminal.vehicle}")

    def save(self, terminal: Terminal) -> None:
        row = self.session.get(TerminalRow, terminal.phone)
        if row is None:
            self.add(terminal)
            return
        for key, value in self._values(terminal).items():
            setattr(row, key, value)
        _flush(self.session, f"a terminal of vehicle {terminal.vehicle}")

    def get(self, phone: str) -> Terminal | None:
        return self._one(self._select().where(TerminalRow.phone == phone))

    def get_by_vehicle(self, vehicle_id: str) -> Terminal | None:
        return self._one(self._select().where(TerminalRow.vehicle_id == vehicle_id))

    def list(self, under: DivisionCode | None = None, page: PageRequest | None = None) -> Page[Terminal]:
        page = page or PageRequest()
        query = self._select()
        if under is not None:
            query = query.where(VehicleRow.home_division.startswith(under.prefix))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.execute(
            query.order_by(TerminalRow.enrolled_at.desc(), TerminalRow.phone)
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [self._domain(row, plate, colour) for row, plate, colour in rows]
        return Page(items, int(total), page.limit, page.offset)


class SqlEnterprises:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _domain(row: EnterpriseRow) -> Enterprise:
        return Enterprise(row.id, row.uscc, row.name, row.division_code, row.address)

    def add(self, enterprise: Enterprise) -> None:
        self.session.add(
            EnterpriseRow(
                id=enterprise.id,
                uscc=enterprise.uscc,
                name=enterprise.name,
                division_code=enterprise.division,
                address=enterprise.address,
            )
        )
        _flush(self.session, f"enterprise {enterprise.uscc}")

    def get(self, enterprise_id: str) -> Enterprise | None:
        row = self.session.get(EnterpriseRow, enterprise_id)
        return self._domain(row) if row else None

    def get_by_uscc(self, uscc: str) -> Enterprise | None:
        row = self.session.scalars(select(EnterpriseRow).where(EnterpriseRow.uscc == uscc)).one_or_none()
        return self._domain(row) if row else None


class SqlWeighings:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, weighing: StoredWeighing) -> None:
        r = weighing.reading
        self.session.add(
            WeighingRow(
                record_id=r.record_id,
                site_id=r.site_id,
                jurisdiction_code=weighing.jurisdiction.code,
                measured_at=r.measured_at,
                plate=r.vehicle.plate,
                plate_colour=int(r.vehicle.colour),
                axles=r.axles,
                gross_kg=r.gross_kg,
                axle_loads_kg=list(r.axle_loads_kg) if r.axle_loads_kg else None,
                height_mm=r.height_mm,
                width_mm=r.width_mm,
                length_mm=r.length_mm,
                speed_kmh=r.speed_kmh,
                lane=r.lane,
                direction=r.direction,
                vehicle_kind=r.vehicle_kind.value if r.vehicle_kind else None,
                images=[{"kind": i.kind.value, "uri": i.uri, "sha256": i.sha256} for i in r.images],
                digest=weighing.digest,
                received_at=weighing.received_at,
                disposition=weighing.disposition.value,
                disposition_reason=weighing.disposition_reason,
                assessment=weighing.assessment,
                alert_id=weighing.alert_id,
            )
        )
        _flush(self.session, f"weighing {r.record_id}")

    def get(self, record_id: str) -> StoredWeighing | None:
        row = self.session.get(WeighingRow, record_id)
        if row is None:
            return None
        reading = WeighingReading(
            record_id=row.record_id,
            site_id=row.site_id,
            measured_at=row.measured_at,
            vehicle=VehicleKey(row.plate, PlateColour(row.plate_colour)),
            axles=row.axles,
            gross_kg=row.gross_kg,
            axle_loads_kg=tuple(row.axle_loads_kg) if row.axle_loads_kg else None,
            height_mm=row.height_mm,
            width_mm=row.width_mm,
            length_mm=row.length_mm,
            speed_kmh=Decimal(row.speed_kmh).normalize() if row.speed_kmh is not None else None,
            lane=row.lane,
            direction=row.direction,
            vehicle_kind=VehicleKind(row.vehicle_kind) if row.vehicle_kind else None,
            images=tuple(EvidenceRef(ImageKind(i["kind"]), i["uri"], i["sha256"]) for i in row.images),
        )
        return StoredWeighing(
            reading=reading,
            jurisdiction=DivisionCode(row.jurisdiction_code),
            digest=row.digest,
            received_at=row.received_at,
            disposition=Disposition(row.disposition),
            disposition_reason=row.disposition_reason,
            assessment=row.assessment,
            alert_id=row.alert_id,
        )

    def digests(self, record_ids: list[str]) -> dict[str, str]:
        if not record_ids:
            return {}
        found: dict[str, str] = {}
        # Chunked: SQLite and PostgreSQL both cap bound parameters per statement.
        for start in range(0, len(record_ids), 500):
            chunk = record_ids[start : start + 500]
            query = select(WeighingRow.record_id, WeighingRow.digest).where(WeighingRow.record_id.in_(chunk))
            found.update(dict(self.session.execute(query).all()))
        return found


class SqlAlerts:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, alert: Alert) -> None:
        self.session.add(
            AlertRow(
                id=alert.id,
                rule_id=alert.rule_id,
                rule_version=alert.rule_version,
                severity=alert.severity.value,
                status=alert.status.value,
                plate=alert.vehicle.plate,
                plate_colour=int(alert.vehicle.colour),
                site_id=alert.site_id,
                jurisdiction_code=alert.jurisdiction.code,
                occurred_at=alert.occurred_at,
                created_at=alert.created_at,
                weighing_record_id=alert.weighing_record_id,
                summary=alert.summary,
                evidence=alert.evidence,
                basis=list(alert.basis),
                no_case_reason=alert.no_case_reason,
            )
        )
        _flush(self.session, f"alert for weighing {alert.weighing_record_id}")

    def get(self, alert_id: str) -> Alert | None:
        row = self.session.get(AlertRow, alert_id)
        if row is None:
            return None
        return Alert(
            id=row.id,
            rule_id=row.rule_id,
            rule_version=row.rule_version,
            severity=Severity(row.severity),
            status=AlertStatus(row.status),
            vehicle=VehicleKey(row.plate, PlateColour(row.plate_colour)),
            site_id=row.site_id,
            jurisdiction=DivisionCode(row.jurisdiction_code),
            occurred_at=row.occurred_at,
            created_at=row.created_at,
            weighing_record_id=row.weighing_record_id,
            summary=row.summary,
            evidence=row.evidence,
            basis=tuple(row.basis),
            no_case_reason=row.no_case_reason,
        )


class SqlCases:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _values(case: Case) -> dict[str, Any]:
        return {
            "id": case.id,
            "case_number": case.case_number,
            "procedure": case.procedure.value,
            "status": case.status.value,
            "jurisdiction_code": case.jurisdiction.code,
            "plate": case.vehicle.plate,
            "plate_colour": int(case.vehicle.colour),
            "party_kind": case.party.kind.value,
            "party_name": case.party.name,
            "party_enterprise_id": case.party.enterprise_id,
            "alert_id": case.alert_id,
            "weighing_record_id": case.weighing_record_id,
            "opened_at": case.opened_at,
            "facts": case.facts,
            "proposed_penalty": case.proposed_penalty,
            "basis": list(case.basis),
            "filed_at": case.filed_at,
            "reviewer_name": case.reviewed_by.name if case.reviewed_by else None,
            "reviewer_credential": case.reviewed_by.credential if case.reviewed_by else None,
            "reviewed_at": case.reviewed_at,
            "rejection_reason": case.rejection_reason,
            "notice_document_id": case.notice_document_id,
            "notice_issued_at": case.notice_issued_at,
            "version": case.version,
        }

    @staticmethod
    def _domain(row: CaseRow) -> Case:
        reviewer = (
            Officer(row.reviewer_name, row.reviewer_credential)
            if row.reviewer_name and row.reviewer_credential
            else None
        )
        return Case(
            id=row.id,
            procedure=Procedure(row.procedure),
            status=CaseStatus(row.status),
            jurisdiction=DivisionCode(row.jurisdiction_code),
            vehicle=VehicleKey(row.plate, PlateColour(row.plate_colour)),
            party=Party(PartyKind(row.party_kind), row.party_name, row.party_enterprise_id),
            alert_id=row.alert_id,
            weighing_record_id=row.weighing_record_id,
            opened_at=row.opened_at,
            facts=row.facts,
            proposed_penalty=row.proposed_penalty,
            basis=tuple(row.basis),
            case_number=row.case_number,
            filed_at=row.filed_at,
            reviewed_by=reviewer,
            reviewed_at=row.reviewed_at,
            rejection_reason=row.rejection_reason,
            notice_document_id=row.notice_document_id,
            notice_issued_at=row.notice_issued_at,
            version=row.version,
        )

    def add(self, case: Case) -> None:
        self.session.add(CaseRow(**self._values(case)))
        _flush(self.session, f"case for alert {case.alert_id}")

    def get(self, case_id: str) -> Case | None:
        row = self.session.get(CaseRow, case_id)
        return self._domain(row) if row else None

    def get_by_alert(self, alert_id: str) -> Case | None:
        row = self.session.scalars(select(CaseRow).where(CaseRow.alert_id == alert_id)).one_or_none()
        return self._domain(row) if row else None

    def save(self, case: Case, *, expected_version: int) -> None:
        values = self._values(case)
        del values["id"]
        try:
            result = self.session.execute(
                update(CaseRow)
                .where(CaseRow.id == case.id, CaseRow.version == expected_version)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        except IntegrityError as exc:
            raise DuplicateKey(f"case number {case.case_number} is already used") from exc
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"case {case.id} changed since it was read (version {expected_version})")
        self.session.expire_all()

    def record(self, case_id: str, entry: CaseRecordEntry) -> None:
        self.session.add(
            CaseRecordRow(
                case_id=case_id, at=entry.at, actor=entry.actor, event=entry.event, detail=entry.detail
            )
        )
        self.session.flush()

    def history(self, case_id: str) -> list[CaseRecordEntry]:
        rows = self.session.scalars(
            select(CaseRecordRow).where(CaseRecordRow.case_id == case_id).order_by(CaseRecordRow.id)
        )
        return [CaseRecordEntry(r.at, r.actor, r.event, r.detail) for r in rows]


class SqlDocuments:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _domain(row: DocumentRow) -> Document:
        return Document(
            row.id, row.case_id, DocumentKind(row.kind), row.case_number, row.sha256, row.media_type,
            row.size, row.created_at,
        )  # fmt: skip

    def add(self, document: Document) -> None:
        self.session.add(
            DocumentRow(
                id=document.id,
                case_id=document.case_id,
                kind=document.kind.value,
                case_number=document.case_number,
                sha256=document.sha256,
                media_type=document.media_type,
                size=document.size,
                created_at=document.created_at,
            )
        )
        _flush(self.session, f"document {document.id}")

    def get(self, document_id: str) -> Document | None:
        row = self.session.get(DocumentRow, document_id)
        return self._domain(row) if row else None

    def for_case(self, case_id: str) -> list[Document]:
        rows = self.session.scalars(
            select(DocumentRow).where(DocumentRow.case_id == case_id).order_by(DocumentRow.created_at)
        )
        return [self._domain(r) for r in rows]


class SqlNumberSequences:
    def __init__(self, session: Session) -> None:
        self.session = session

    def next(self, series: str) -> int:
        # The UPDATE takes the row lock (PostgreSQL) or runs under the write lock (SQLite), so two
        # filings never draw the same number; a rolled-back filing returns its number.
        value = self.session.scalar(
            update(NumberSequenceRow)
            .where(NumberSequenceRow.series == series)
            .values(last_value=NumberSequenceRow.last_value + 1)
            .returning(NumberSequenceRow.last_value)
        )
        if value is not None:
            return int(value)
        try:
            with self.session.begin_nested():
                self.session.execute(insert(NumberSequenceRow).values(series=series, last_value=1))
            return 1
        except IntegrityError:
            # Another transaction created the series first: count on from its row.
            return self.next(series)
