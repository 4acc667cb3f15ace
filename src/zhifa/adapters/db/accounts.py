"""SQLAlchemy repositories of identity: units, users, sessions, machine keys and their nonces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhifa.adapters.db.repositories import _flush
from zhifa.adapters.db.tables import (
    ApiKeyRow,
    ApiNonceRow,
    AuthSessionRow,
    PartyVehicleRow,
    UnitRow,
    UserRow,
)
from zhifa.domain.accounts import Department, Role, Unit, User
from zhifa.domain.credentials import ApiKey, AuthSession, SessionKind
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.permissions import Permission
from zhifa.domain.vehicles import VehicleKey
from zhifa.services.ports import ConcurrentUpdate


class SqlUnits:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _domain(row: UnitRow) -> Unit:
        return Unit(
            row.id, DivisionCode(row.division_code), row.name, Department(row.department), row.parent_id
        )

    def add(self, unit: Unit) -> None:
        self.session.add(
            UnitRow(
                id=unit.id,
                division_code=unit.division.code,
                name=unit.name,
                department=unit.department.value,
                parent_id=unit.parent_id,
            )
        )
        _flush(self.session, f"unit {unit.name}")

    def get(self, unit_id: str) -> Unit | None:
        row = self.session.get(UnitRow, unit_id)
        return self._domain(row) if row else None

    def list(self, under: DivisionCode | None = None) -> list[Unit]:
        query = select(UnitRow).order_by(UnitRow.division_code, UnitRow.name)
        if under is not None:
            query = query.where(UnitRow.division_code.startswith(under.prefix))
        return [self._domain(row) for row in self.session.scalars(query)]


class SqlUsers:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _domain(self, row: UserRow) -> User:
        bound = self.session.execute(
            select(PartyVehicleRow.plate, PartyVehicleRow.plate_colour)
            .where(PartyVehicleRow.user_id == row.id)
            .order_by(PartyVehicleRow.id)
        )
        return User(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            unit_id=row.unit_id,
            roles=frozenset(Role(r) for r in row.roles),
            password_hash=row.password_hash,
            password_changed_at=row.password_changed_at,
            created_at=row.created_at,
            credential_number=row.credential_number,
            enterprise_id=row.enterprise_id,
            id_number=row.id_number,
            phone=row.phone,
            active=row.active,
            failed_logins=row.failed_logins,
            locked_until=row.locked_until,
            version=row.version,
            party_vehicles=tuple((plate, colour) for plate, colour in bound),
        )

    @staticmethod
    def _values(user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "unit_id": user.unit_id,
            "roles": sorted(r.value for r in user.roles),
            "credential_number": user.credential_number,
            "enterprise_id": user.enterprise_id,
            "id_number": user.id_number,
            "phone": user.phone,
            "password_hash": user.password_hash,
            "password_changed_at": user.password_changed_at,
            "active": user.active,
            "failed_logins": user.failed_logins,
            "locked_until": user.locked_until,
            "created_at": user.created_at,
            "version": user.version,
        }

    def add(self, user: User) -> None:
        self.session.add(UserRow(**self._values(user)))
        _flush(self.session, f"user {user.username}")

    def get(self, user_id: str) -> User | None:
        row = self.session.get(UserRow, user_id)
        return self._domain(row) if row else None

    def get_by_username(self, username: str) -> User | None:
        row = self.session.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
        return self._domain(row) if row else None

    def save(self, user: User, *, expected_version: int) -> None:
        values = self._values(user)
        del values["id"], values["created_at"]
        result = self.session.execute(
            update(UserRow)
            .where(UserRow.id == user.id, UserRow.version == expected_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"user {user.username} changed since it was read")
        self.session.expire_all()

    def list(self, under: DivisionCode | None = None) -> list[User]:
        query = select(UserRow).join(UnitRow, UnitRow.id == UserRow.unit_id).order_by(UserRow.username)
        if under is not None:
            query = query.where(UnitRow.division_code.startswith(under.prefix))
        return [self._domain(row) for row in self.session.scalars(query)]

    def bind_vehicle(
        self, user_id: str, key: VehicleKey, verified_by: str, at: datetime, evidence: str
    ) -> None:
        self.session.add(
            PartyVehicleRow(
                user_id=user_id,
                plate=key.plate,
                plate_colour=int(key.colour),
                verified_by=verified_by,
                verified_at=at,
                evidence=evidence[:256],
            )
        )
        _flush(self.session, f"vehicle {key} of this party")


class SqlSessions:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _domain(row: AuthSessionRow) -> AuthSession:
        return AuthSession(
            token_sha256=row.token_sha256,
            kind=SessionKind(row.kind),
            user_id=row.user_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_seen_at=row.last_seen_at,
            csrf_token=row.csrf_token,
            source_ip=row.source_ip,
            revoked_at=row.revoked_at,
        )

    def add(self, s: AuthSession) -> None:
        self.session.add(
            AuthSessionRow(
                token_sha256=s.token_sha256,
                kind=s.kind.value,
                user_id=s.user_id,
                csrf_token=s.csrf_token,
                created_at=s.created_at,
                expires_at=s.expires_at,
                last_seen_at=s.last_seen_at,
                source_ip=s.source_ip[:64],
                revoked_at=s.revoked_at,
            )
        )
        _flush(self.session, "session")

    def get(self, token_sha256: str) -> AuthSession | None:
        row = self.session.get(AuthSessionRow, token_sha256)
        return self._domain(row) if row else None

    def touch(self, token_sha256: str, at: datetime) -> None:
        self.session.execute(
            update(AuthSessionRow).where(AuthSessionRow.token_sha256 == token_sha256).values(last_seen_at=at)
        )

    def revoke(self, token_sha256: str, at: datetime) -> None:
        self.session.execute(
            update(AuthSessionRow)
            .where(AuthSessionRow.token_sha256 == token_sha256, AuthSessionRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    def revoke_all(self, user_id: str, at: datetime) -> int:
        result = self.session.execute(
            update(AuthSessionRow)
            .where(AuthSessionRow.user_id == user_id, AuthSessionRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def prune(self, before: datetime) -> int:
        result = self.session.execute(delete(AuthSessionRow).where(AuthSessionRow.expires_at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]


class SqlApiKeys:
    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _domain(row: ApiKeyRow) -> ApiKey:
        return ApiKey(
            id=row.id,
            name=row.name,
            unit_id=row.unit_id,
            scopes=frozenset(Permission(s) for s in row.scopes),
            secret_sha256=row.secret_sha256,
            issued_by=row.issued_by,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            revoked_by=row.revoked_by,
            last_used_at=row.last_used_at,
        )

    @staticmethod
    def _values(key: ApiKey) -> dict[str, Any]:
        return {
            "id": key.id,
            "name": key.name,
            "unit_id": key.unit_id,
            "scopes": sorted(s.value for s in key.scopes),
            "secret_sha256": key.secret_sha256,
            "issued_by": key.issued_by,
            "issued_at": key.issued_at,
            "expires_at": key.expires_at,
            "revoked_at": key.revoked_at,
            "revoked_by": key.revoked_by,
            "last_used_at": key.last_used_at,
        }

    def add(self, key: ApiKey) -> None:
        self.session.add(ApiKeyRow(**self._values(key)))
        _flush(self.session, f"API key {key.id}")

    def get(self, key_id: str) -> ApiKey | None:
        row = self.session.get(ApiKeyRow, key_id)
        return self._domain(row) if row else None

    def list(self, unit_ids: list[str] | None = None) -> list[ApiKey]:
        query = select(ApiKeyRow).order_by(ApiKeyRow.issued_at.desc())
        if unit_ids is not None:
            query = query.where(ApiKeyRow.unit_id.in_(unit_ids))
        return [self._domain(row) for row in self.session.scalars(query)]

    def save(self, key: ApiKey) -> None:
        values = self._values(key)
        del values["id"]
        self.session.execute(update(ApiKeyRow).where(ApiKeyRow.id == key.id).values(**values))


class SqlNonces:
    def __init__(self, session: Session) -> None:
        self.session = session

    def remember(self, key_id: str, nonce: str, at: datetime) -> bool:
        # A savepoint, so a replay's unique violation leaves the rest of the transaction usable.
        try:
            with self.session.begin_nested():
                self.session.add(ApiNonceRow(key_id=key_id, nonce=nonce, seen_at=at))
        except IntegrityError:
            return False
        return True

    def prune(self, before: datetime) -> int:
        result = self.session.execute(delete(ApiNonceRow).where(ApiNonceRow.seen_at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]
