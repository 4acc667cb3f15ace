"""Tables of the operational store (SQLAlchemy 2 typed mappings).

Rows are mapped to domain objects explicitly by the repositories; these classes only describe
storage. Every migration must run on SQLite and PostgreSQL, so types stay portable: times are
UTC-aware via ``UtcDateTime``, JSON is JSON (JSONB on PostgreSQL), geometry is GeoJSON text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC; SQLite keeps no zone, so it is restored on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: JsonType,
        list[Any]: JsonType,
    }


class JurisdictionRow(Base):
    __tablename__ = "jurisdictions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    authority: Mapped[str] = mapped_column(String(128))
    label_lon: Mapped[float | None]
    label_lat: Mapped[float | None]
    boundary_geojson: Mapped[str | None] = mapped_column(Text)


class EnterpriseRow(Base):
    __tablename__ = "enterprises"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    division_code: Mapped[str | None] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(256), default="")


class VehicleRow(Base):
    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("plate", "plate_colour", name="uq_vehicles_plate_colour"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plate: Mapped[str] = mapped_column(String(16))
    plate_colour: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(32))
    axles: Mapped[int] = mapped_column(SmallInteger)
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    owner_name: Mapped[str] = mapped_column(String(128), default="")
    licensed_gross_kg: Mapped[int | None] = mapped_column(Integer)
    single_drive_axle: Mapped[bool] = mapped_column(Boolean, default=False)
    single_tyre_axles: Mapped[int] = mapped_column(SmallInteger, default=0)
    gb1589_exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    transport_certificate: Mapped[str] = mapped_column(String(32), default="")
    home_division: Mapped[str | None] = mapped_column(String(6))


class TerminalRow(Base):
    """车载终端档案: a JT/T 808 terminal by its SIM phone, bound to one vehicle (at most one per
    vehicle). Only the SHA-256 of the auth code is kept, never the code."""

    __tablename__ = "terminals"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("vehicles.id"), unique=True)
    device_id: Mapped[str | None] = mapped_column(String(30))
    maker: Mapped[str | None] = mapped_column(String(11))
    model: Mapped[str | None] = mapped_column(String(30))
    auth_code_sha256: Mapped[str | None] = mapped_column(String(64))
    registered_at: Mapped[datetime | None]
    enrolled_at: Mapped[datetime] = mapped_column(index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class SiteRow(Base):
    __tablename__ = "weighing_sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    lon: Mapped[float]
    lat: Mapped[float]
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    road: Mapped[str] = mapped_column(String(64), default="")
    accuracy_class: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    tolerance_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    device_serial: Mapped[str] = mapped_column(String(64), default="")
    verification_certificate: Mapped[str] = mapped_column(String(64), default="")
    verified_on: Mapped[date | None] = mapped_column(Date)
    verification_valid_until: Mapped[date | None] = mapped_column(Date)
    enforcement_approved_on: Mapped[date | None] = mapped_column(Date)


class WeighingRow(Base):
    __tablename__ = "weighings"
    __table_args__ = (
        Index("ix_weighings_site_time", "site_id", "measured_at"),
        Index("ix_weighings_vehicle", "plate", "plate_colour"),
    )

    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("weighing_sites.id"))
    jurisdiction_code: Mapped[str] = mapped_column(String(6), index=True)
    measured_at: Mapped[datetime] = mapped_column(index=True)
    plate: Mapped[str] = mapped_column(String(16))
    plate_colour: Mapped[int] = mapped_column(SmallInteger)
    axles: Mapped[int] = mapped_column(SmallInteger)
    gross_kg: Mapped[int] = mapped_column(Integer)
    axle_loads_kg: Mapped[list[Any] | None]
    height_mm: Mapped[int | None] = mapped_column(Integer)
    width_mm: Mapped[int | None] = mapped_column(Integer)
    length_mm: Mapped[int | None] = mapped_column(Integer)
    speed_kmh: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    lane: Mapped[int | None] = mapped_column(SmallInteger)
    direction: Mapped[str | None] = mapped_column(String(32))
    vehicle_kind: Mapped[str | None] = mapped_column(String(32))
    images: Mapped[list[Any]]
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    disposition: Mapped[str] = mapped_column(String(32), index=True)
    disposition_reason: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[dict[str, Any] | None]
    alert_id: Mapped[str | None] = mapped_column(String(36))


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_vehicle", "plate", "plate_colour"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    plate: Mapped[str] = mapped_column(String(16))
    plate_colour: Mapped[int] = mapped_column(SmallInteger)
    site_id: Mapped[str] = mapped_column(ForeignKey("weighing_sites.id"))
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
    weighing_record_id: Mapped[str] = mapped_column(ForeignKey("weighings.record_id"), unique=True)
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]]
    basis: Mapped[list[Any]]
    no_case_reason: Mapped[str] = mapped_column(Text, default="")


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_vehicle", "plate", "plate_colour"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    procedure: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), index=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    plate: Mapped[str] = mapped_column(String(16))
    plate_colour: Mapped[int] = mapped_column(SmallInteger)
    party_kind: Mapped[str] = mapped_column(String(16))
    party_name: Mapped[str] = mapped_column(String(128), default="")
    party_enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprises.id"))
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), unique=True)
    weighing_record_id: Mapped[str] = mapped_column(ForeignKey("weighings.record_id"))
    opened_at: Mapped[datetime] = mapped_column(index=True)
    facts: Mapped[str] = mapped_column(Text)
    proposed_penalty: Mapped[dict[str, Any]]
    basis: Mapped[list[Any]]
    filed_at: Mapped[datetime | None]
    reviewer_name: Mapped[str | None] = mapped_column(String(64))
    reviewer_credential: Mapped[str | None] = mapped_column(String(32))
    reviewed_at: Mapped[datetime | None]
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    notice_document_id: Mapped[str | None] = mapped_column(String(36))
    notice_issued_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer)


class CaseRecordRow(Base):
    """The case's history (案件流转记录), append-only."""

    __tablename__ = "case_records"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]]


class DocumentRow(Base):
    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    case_number: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class NumberSequenceRow(Base):
    """Gap-free counters, one per case-number series (e.g. 皖交执罚〔2026〕{seq}号)."""

    __tablename__ = "number_sequences"

    series: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class UnitRow(Base):
    """单位: the province → city → county tree of authorities and their departments."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    department: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    roles: Mapped[list[Any]]
    credential_number: Mapped[str] = mapped_column(String(32), default="")
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprises.id"))
    id_number: Mapped[str] = mapped_column(String(18), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    password_changed_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class PartyVehicleRow(Base):
    """A party account's vehicles, bound after an officer verified the binding (窗口核验)."""

    __tablename__ = "party_vehicles"
    __table_args__ = (UniqueConstraint("user_id", "plate", "plate_colour", name="uq_party_vehicles_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16))
    plate_colour: Mapped[int] = mapped_column(SmallInteger)
    verified_by: Mapped[str] = mapped_column(String(36))
    verified_at: Mapped[datetime]
    evidence: Mapped[str] = mapped_column(String(256), default="")


class AuthSessionRow(Base):
    """Web sessions and bearer tokens; only the SHA-256 of the token is kept."""

    __tablename__ = "auth_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]
    source_ip: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None]


class ApiKeyRow(Base):
    """Machine clients' keys, issued per unit by the province; no secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    scopes: Mapped[list[Any]]
    secret_sha256: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(36))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(36))
    last_used_at: Mapped[datetime | None]


class ApiNonceRow(Base):
    """Nonces seen within the signature window: a second use of one is a replay."""

    __tablename__ = "api_nonces"
    __table_args__ = (UniqueConstraint("key_id", "nonce", name="uq_api_nonces_key_nonce"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(36))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(index=True)


class AuditEntryRow(Base):
    """审计日志: append-only, each entry chained to the previous one by SHA-256."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64), index=True)
    actor_name: Mapped[str] = mapped_column(String(128))
    unit_id: Mapped[str] = mapped_column(String(36), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(128))
    before_digest: Mapped[str] = mapped_column(String(64), default="")
    after_digest: Mapped[str] = mapped_column(String(64), default="")
    source_ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHeadRow(Base):
    """The chain's head in one row, locked while appending so concurrent writers queue up."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
