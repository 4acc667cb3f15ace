"""Identity over HTTP: sign-in tokens, units, users, party bindings, machine keys, the audit log."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from zhifa.domain.accounts import Department, Role, Unit, User
from zhifa.domain.credentials import ApiKey, SessionKind
from zhifa.domain.masking import mask_id_number, mask_phone
from zhifa.domain.permissions import API_KEY_SCOPES, Principal
from zhifa.domain.permissions import Permission as P
from zhifa.entrypoints.api.deps import AppDep, PageDep, PageOut, UnmaskQuery, aware, disclose
from zhifa.entrypoints.api.registers import VehicleOut, vehicle_out
from zhifa.entrypoints.api.security import client_address, public, requires
from zhifa.services import accounts
from zhifa.services import audit as audit_service
from zhifa.services.ports import AuditFilter
from zhifa.services.queries import Page

auth = APIRouter(prefix="/api/v1/auth", tags=["accounts"])
router = APIRouter(prefix="/api/v1", tags=["accounts"])


class TokenIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2.0 token type, not a secret
    expires_at: datetime


@auth.post(
    "/token",
    response_model=TokenOut,
    summary="Sign in: exchange username and password for a bearer token",
    description="Failed attempts count towards the account's lockout; attempts per client address are "
    "rate-limited (429 with Retry-After).",
    dependencies=[public("login")],
)
def token(body: TokenIn, app: AppDep, request: Request) -> TokenOut:
    signed = accounts.sign_in(
        app.account_deps, body.username, body.password, SessionKind.BEARER, client_address(request)
    )
    return TokenOut(access_token=signed.token, expires_at=signed.session.expires_at)


@auth.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this bearer token")
def logout(app: AppDep, request: Request, who: Annotated[Principal, requires(P.ACCOUNT_SELF)]) -> None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        accounts.sign_out(app.account_deps, header[7:].strip(), who.actor)


class MeOut(BaseModel):
    id: str
    name: str
    unit_id: str
    division: str
    roles: list[Role]
    permissions: list[P]
    enterprise_id: str | None
    vehicles: list[str]


@auth.get("/me", response_model=MeOut, summary="Who I am and what I may do")
def me(who: Annotated[Principal, requires(P.ACCOUNT_SELF)]) -> MeOut:
    return MeOut(
        id=who.actor.id,
        name=who.display_name,
        unit_id=who.unit_id,
        division=who.division.code,
        roles=sorted(who.roles),
        permissions=sorted(who.permissions),
        enterprise_id=who.enterprise_id,
        vehicles=sorted(str(k) for k in who.vehicles),
    )


class PasswordIn(BaseModel):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


@auth.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change my password; every open session and token of the account ends",
)
def password(body: PasswordIn, app: AppDep, who: Annotated[Principal, requires(P.ACCOUNT_SELF)]) -> None:
    accounts.change_password(app.account_deps, who, body.old_password, body.new_password)


# --- units ------------------------------------------------------------------------------------


class UnitIn(BaseModel):
    division: str = Field(pattern=r"^[1-9][0-9]{5}$", description="GB/T 2260 code")
    name: str = Field(min_length=1, max_length=128)
    department: Department
    parent_id: str | None = None


class UnitOut(BaseModel):
    id: str
    division: str
    level: str
    name: str
    department: Department
    parent_id: str | None

    @classmethod
    def of(cls, unit: Unit) -> UnitOut:
        return cls(
            id=unit.id,
            division=unit.division.code,
            level=unit.level.value,
            name=unit.name,
            department=unit.department,
            parent_id=unit.parent_id,
        )


@router.get("/units", response_model=list[UnitOut], summary="Units (单位) of my jurisdiction")
def list_units(app: AppDep, who: Annotated[Principal, requires(P.USERS_READ)]) -> list[UnitOut]:
    return [UnitOut.of(u) for u in accounts.list_units(app.account_deps, who)]


@router.post("/units", response_model=UnitOut, status_code=status.HTTP_201_CREATED, summary="Create a unit")
def post_unit(body: UnitIn, app: AppDep, who: Annotated[Principal, requires(P.UNITS_MANAGE)]) -> UnitOut:
    unit = accounts.create_unit(
        app.account_deps,
        who,
        division=body.division,
        name=body.name,
        department=body.department,
        parent_id=body.parent_id,
    )
    return UnitOut.of(unit)


# --- users ------------------------------------------------------------------------------------


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(min_length=1, max_length=64)
    unit_id: str
    roles: list[Role] = Field(min_length=1)
    password: str = Field(min_length=1, max_length=256, description="Initial password, checked by the policy")
    credential_number: str = Field(default="", max_length=32, description="执法证号, required of officers")
    enterprise_id: str | None = None
    id_number: str = Field(default="", max_length=18, description="身份证号 (GB 11643), checked")
    phone: str = Field(default="", max_length=20)


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    unit_id: str
    roles: list[Role]
    credential_number: str
    enterprise_id: str | None
    id_number: str
    phone: str
    active: bool
    locked_until: datetime | None
    vehicles: list[str]

    @classmethod
    def of(cls, user: User, unmasked: bool = False) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            unit_id=user.unit_id,
            roles=sorted(user.roles),
            credential_number=user.credential_number,
            enterprise_id=user.enterprise_id,
            id_number=user.id_number if unmasked else mask_id_number(user.id_number),
            phone=user.phone if unmasked else mask_phone(user.phone),
            active=user.active,
            locked_until=user.locked_until,
            vehicles=[f"{plate}/{colour}" for plate, colour in user.party_vehicles],
        )


@router.get("/users", response_model=list[UserOut], summary="Users of my jurisdiction (personal data masked)")
def list_users(app: AppDep, who: Annotated[Principal, requires(P.USERS_READ)]) -> list[UserOut]:
    return [UserOut.of(u) for u in accounts.list_users(app.account_deps, who)]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Create a user")
def post_user(body: UserIn, app: AppDep, who: Annotated[Principal, requires(P.USERS_MANAGE)]) -> UserOut:
    user = accounts.create_user(
        app.account_deps,
        who,
        accounts.NewUser(
            username=body.username,
            display_name=body.display_name,
            unit_id=body.unit_id,
            roles=frozenset(body.roles),
            password=body.password,
            credential_number=body.credential_number,
            enterprise_id=body.enterprise_id,
            id_number=body.id_number,
            phone=body.phone,
        ),
    )
    return UserOut.of(user)


@router.get("/users/{user_id}", response_model=UserOut, summary="One user")
def get_user(
    user_id: str, app: AppDep, who: Annotated[Principal, requires(P.USERS_READ)], unmask: UnmaskQuery = False
) -> UserOut:
    user = accounts.get_user(app.account_deps, who, user_id)
    if unmask and (user.id_number or user.phone):
        disclose(app, who, "user", [user.id], ["id_number", "phone"])
    return UserOut.of(user, unmasked=unmask)


class UserPatch(BaseModel):
    roles: list[Role] | None = Field(default=None, min_length=1)
    active: bool | None = None
    unlock: bool = Field(default=False, description="Clear a lockout after failed sign-ins")


@router.patch("/users/{user_id}", response_model=UserOut, summary="Change roles, (de)activate, unlock")
def patch_user(
    user_id: str, body: UserPatch, app: AppDep, who: Annotated[Principal, requires(P.USERS_MANAGE)]
) -> UserOut:
    user = accounts.update_user(
        app.account_deps,
        who,
        user_id,
        roles=frozenset(body.roles) if body.roles is not None else None,
        active=body.active,
        unlock=body.unlock,
    )
    return UserOut.of(user)


class BindingIn(BaseModel):
    plate: str = Field(examples=["皖A12345"])
    plate_colour: int
    evidence: str = Field(
        min_length=1,
        max_length=256,
        description="What was checked, e.g. 行驶证 and 身份证 seen at the window",
    )


@router.post(
    "/users/{user_id}/vehicles",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Bind a verified vehicle to a party's account",
)
def bind_vehicle(
    user_id: str, body: BindingIn, app: AppDep, who: Annotated[Principal, requires(P.PARTIES_VERIFY)]
) -> UserOut:
    user = accounts.bind_party_vehicle(
        app.account_deps, who, user_id, body.plate, body.plate_colour, body.evidence
    )
    return UserOut.of(user)


# --- machine keys -----------------------------------------------------------------------------


class ApiKeyIn(BaseModel):
    unit_id: str
    name: str = Field(min_length=1, max_length=128, description="Which system uses the key")
    scopes: list[P] = Field(min_length=1, description=f"Among {sorted(API_KEY_SCOPES)}")
    valid_days: int | None = Field(default=None, ge=1, le=3660)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    unit_id: str
    scopes: list[P]
    fingerprint: str
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            unit_id=key.unit_id,
            scopes=sorted(key.scopes),
            fingerprint=key.secret_sha256[:16],
            issued_at=key.issued_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


class IssuedKeyOut(ApiKeyOut):
    secret: str = Field(description="Hex signing key, shown only now: store it in the client's vault")


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="Machine keys (接口密钥)")
def list_api_keys(app: AppDep, who: Annotated[Principal, requires(P.API_KEYS_MANAGE)]) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in accounts.list_api_keys(app.account_deps, who)]


@router.post(
    "/api-keys",
    response_model=IssuedKeyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a unit's machine key (province only)",
)
def post_api_key(
    body: ApiKeyIn, app: AppDep, who: Annotated[Principal, requires(P.API_KEYS_MANAGE)]
) -> IssuedKeyOut:
    issued = accounts.issue_api_key(
        app.account_deps,
        who,
        unit_id=body.unit_id,
        name=body.name,
        scopes=body.scopes,
        valid_days=body.valid_days,
    )
    return IssuedKeyOut(**ApiKeyOut.of(issued.key).model_dump(), secret=issued.secret)


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyOut, summary="Revoke a machine key")
def revoke_api_key(
    key_id: str, app: AppDep, who: Annotated[Principal, requires(P.API_KEYS_MANAGE)]
) -> ApiKeyOut:
    return ApiKeyOut.of(accounts.revoke_api_key(app.account_deps, who, key_id))


# --- an enterprise's own vehicles -------------------------------------------------------------


@router.get("/my/vehicles", response_model=list[VehicleOut], summary="My enterprise's vehicles")
def my_vehicles(app: AppDep, who: Annotated[Principal, requires(P.VEHICLES_READ_OWN)]) -> list[VehicleOut]:
    if who.enterprise_id is None:
        return []
    with app.uow() as uow:
        vehicles = uow.vehicles.for_enterprise(who.enterprise_id)
    return [vehicle_out(v) for v in vehicles]


# --- the audit log ----------------------------------------------------------------------------


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor_kind: str
    actor_id: str
    actor_name: str
    unit_id: str
    action: str
    object_type: str
    object_id: str
    before_digest: str
    after_digest: str
    source_ip: str
    detail: dict[str, object]
    prev_hash: str
    hash: str


@router.get("/audit", response_model=PageOut[AuditEntryOut], summary="Audit log entries, newest first")
def list_audit(
    app: AppDep,
    page: PageDep,
    who: Annotated[Principal, requires(P.AUDIT_READ)],
    actor_id: str | None = None,
    action: Annotated[str | None, Query(description="Action or its beginning, e.g. 'user.'")] = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PageOut[AuditEntryOut]:
    f = AuditFilter(
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=aware(since, app),
        until=aware(until, app),
    )
    with app.uow() as uow:
        result = uow.audit.search(f, page)
    rows = [asdict(e) for e in result.items]
    return PageOut.of(AuditEntryOut, Page(rows, result.total, result.limit, result.offset))


class VerifyOut(BaseModel):
    intact: bool
    entries: int
    head_seq: int | None
    head_hash: str | None
    broken_at: int | None
    break_kind: str | None
    message: str


@router.get("/audit/verify", response_model=VerifyOut, summary="Recompute the audit chain")
def verify_audit(app: AppDep, who: Annotated[Principal, requires(P.AUDIT_READ)]) -> VerifyOut:
    report = audit_service.verify(app.uow)
    broken = report.broken
    return VerifyOut(
        intact=broken is None,
        entries=report.entries,
        head_seq=report.head.seq if report.head else None,
        head_hash=report.head.hash if report.head else None,
        broken_at=broken.seq if broken else None,
        break_kind=broken.kind.value if broken else None,
        message=broken.message if broken else "",
    )
