"""Use cases of identity: units and users, sign-in and sessions, machine keys, party bindings.

Every state change writes its audit entry in the same transaction, so a change without its entry
(or an entry without its change) cannot be committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from zhifa.domain.accounts import (
    AccountError,
    Department,
    LockoutPolicy,
    PasswordPolicy,
    Role,
    Unit,
    User,
    after_failed_login,
    after_successful_login,
    check_unit_parent,
    password_problems,
)
from zhifa.domain.audit import Actor
from zhifa.domain.credentials import ApiKey, AuthSession, CredentialError, SessionKind, SessionPolicy
from zhifa.domain.errors import DomainError
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.permissions import Forbidden, Permission, Principal, permissions_of
from zhifa.domain.signatures import BadSignature, SignedRequest
from zhifa.domain.vehicles import VehicleKey
from zhifa.services.audit import note
from zhifa.services.ports import (
    Clock,
    DuplicateKey,
    IdGenerator,
    PasswordHasher,
    Secrets,
    UnitOfWork,
    UnitOfWorkFactory,
)

P = Permission
# A web session's last-seen time is written at most this often, so reading pages is not a write.
TOUCH_EVERY = timedelta(minutes=1)


class LoginFailed(DomainError):
    """Wrong username or password; deliberately does not say which."""


class AccountLocked(LoginFailed):
    pass


class AccountNotFound(LookupError):
    """No such user, unit or key, or none the principal may see."""


class NotAuthenticated(DomainError):
    """No valid session, token or signature came with the request."""


@dataclass(frozen=True)
class AccountPolicy:
    password: PasswordPolicy
    lockout: LockoutPolicy
    sessions: SessionPolicy
    signature_window_seconds: int


@dataclass
class AccountDeps:
    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    hasher: PasswordHasher
    secrets: Secrets
    policy: AccountPolicy


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user_state(user: User) -> dict[str, object]:
    """What an audit entry digests of a user: never the password hash itself."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "unit_id": user.unit_id,
        "roles": sorted(user.roles),
        "credential_number": user.credential_number,
        "enterprise_id": user.enterprise_id,
        "id_number": user.id_number,
        "phone": user.phone,
        "active": user.active,
        "locked_until": user.locked_until,
        "password_changed_at": user.password_changed_at,
    }


def principal_of(uow: UnitOfWork, user: User, source_ip: str = "") -> Principal:
    unit = uow.units.get(user.unit_id)
    if unit is None:  # the foreign key makes this impossible
        raise AccountError(f"user {user.username} lost its unit")
    return Principal(
        actor=Actor("user", user.id, f"{user.display_name}（{user.username}）", unit.id, source_ip),
        roles=user.roles,
        permissions=permissions_of(user.roles),
        division=unit.division,
        unit_id=unit.id,
        enterprise_id=user.enterprise_id,
        vehicles=frozenset(VehicleKey.parse(p, c) for p, c in user.party_vehicles),
        credential_number=user.credential_number,
        display_name=user.display_name,
    )


def _manage_in(actor: Principal | None, permission: Permission, division: DivisionCode) -> None:
    """``None`` is the platform itself (the first-run CLI, the demo): it may do anything."""
    if actor is None:
        return
    actor.require(permission)
    if not actor.sees(division):
        raise Forbidden(f"无权管理辖区 {division} 的单位和账号（本单位辖区 {actor.division}）")


def _actor(actor: Principal | None) -> Actor:
    return actor.actor if actor else Actor("system", "system", "系统")


# --- units ------------------------------------------------------------------------------------


def create_unit(
    deps: AccountDeps,
    actor: Principal | None,
    *,
    division: str,
    name: str,
    department: Department,
    parent_id: str | None = None,
) -> Unit:
    code = DivisionCode.parse(division)
    unit = Unit(deps.ids.new_id(), code, name.strip(), department, parent_id)
    with deps.uow() as uow:
        _manage_in(actor, P.UNITS_MANAGE, code)
        if uow.jurisdictions.get(code) is None:
            raise AccountError(f"division {code} is not a registered jurisdiction")
        parent = None
        if parent_id is not None:
            parent = uow.units.get(parent_id)
            if parent is None:
                raise AccountError(f"parent unit {parent_id} does not exist")
        check_unit_parent(unit, parent)
        uow.units.add(unit)
        state = {"division": code.code, "name": unit.name, "department": department, "parent_id": parent_id}
        note(uow, deps.clock.now(), _actor(actor), "unit.create", "unit", unit.id, after=state)
        uow.commit()
    return unit


def list_units(deps: AccountDeps, actor: Principal) -> list[Unit]:
    if not actor.can(P.UNITS_MANAGE):
        actor.require(P.USERS_READ)
    with deps.uow() as uow:
        return uow.units.list(actor.division)


# --- users ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    unit_id: str
    roles: frozenset[Role]
    password: str
    credential_number: str = ""
    enterprise_id: str | None = None
    id_number: str = ""
    phone: str = ""


def _checked_password(deps: AccountDeps, password: str, username: str) -> str:
    problems = password_problems(password, deps.policy.password, username)
    if problems:
        raise AccountError("；".join(problems))
    return deps.hasher.hash(password)


def create_user(deps: AccountDeps, actor: Principal | None, new: NewUser) -> User:
    now = deps.clock.now()
    username = new.username.strip().lower()
    password_hash = _checked_password(deps, new.password, username)
    user = User(
        id=deps.ids.new_id(),
        username=username,
        display_name=new.display_name.strip(),
        unit_id=new.unit_id,
        roles=new.roles,
        password_hash=password_hash,
        password_changed_at=now,
        created_at=now,
        credential_number=new.credential_number.strip(),
        enterprise_id=new.enterprise_id,
        id_number=new.id_number.strip().upper(),
        phone=new.phone.strip(),
    )
    with deps.uow() as uow:
        unit = uow.units.get(new.unit_id)
        if unit is None:
            raise AccountError(f"unit {new.unit_id} does not exist")
        _manage_in(actor, P.USERS_MANAGE, unit.division)
        if new.enterprise_id is not None and uow.enterprises.get(new.enterprise_id) is None:
            raise AccountError(f"enterprise {new.enterprise_id} is not registered")
        if uow.users.get_by_username(username) is not None:
            raise DuplicateKey(f"username {username} is taken")
        uow.users.add(user)
        note(uow, now, _actor(actor), "user.create", "user", user.id, after=_user_state(user))
        uow.commit()
    return user


def list_users(deps: AccountDeps, actor: Principal) -> list[User]:
    if not actor.can(P.USERS_MANAGE):
        actor.require(P.USERS_READ)
    with deps.uow() as uow:
        return uow.users.list(actor.division)


def _visible_user(uow: UnitOfWork, actor: Principal | None, user_id: str) -> tuple[User, Unit]:
    """The user and their unit; one outside the actor's jurisdiction is reported as absent."""
    user = uow.users.get(user_id)
    unit = uow.units.get(user.unit_id) if user else None
    if user is None or unit is None or (actor is not None and not actor.sees(unit.division)):
        raise AccountNotFound(f"用户不存在：{user_id}")
    return user, unit


def _managed_user(uow: UnitOfWork, actor: Principal | None, user_id: str) -> User:
    user, unit = _visible_user(uow, actor, user_id)
    _manage_in(actor, P.USERS_MANAGE, unit.division)
    return user


def get_user(deps: AccountDeps, actor: Principal, user_id: str) -> User:
    with deps.uow() as uow:
        user, _ = _visible_user(uow, actor, user_id)
        if not (actor.can(P.USERS_READ) or actor.can(P.USERS_MANAGE)):
            raise Forbidden("无权查看用户")
        return user


def update_user(
    deps: AccountDeps,
    actor: Principal | None,
    user_id: str,
    *,
    roles: frozenset[Role] | None = None,
    active: bool | None = None,
    unlock: bool = False,
) -> User:
    now = deps.clock.now()
    with deps.uow() as uow:
        user = _managed_user(uow, actor, user_id)
        if actor is not None and user.id == actor.actor.id and (active is False or roles is not None):
            raise AccountError("不能停用自己的账号或修改自己的角色")
        changed = replace(
            user,
            roles=roles if roles is not None else user.roles,
            active=active if active is not None else user.active,
            failed_logins=0 if unlock else user.failed_logins,
            locked_until=None if unlock else user.locked_until,
            version=user.version + 1,
        )
        uow.users.save(changed, expected_version=user.version)
        if active is False:
            uow.sessions.revoke_all(user.id, now)
        note(
            uow,
            now,
            _actor(actor),
            "user.update",
            "user",
            user.id,
            before=_user_state(user),
            after=_user_state(changed),
            unlock=unlock,
        )
        uow.commit()
    return changed


def change_password(deps: AccountDeps, actor: Principal, old_password: str, new_password: str) -> None:
    """Change one's own password; every open session of the account ends with it."""
    now = deps.clock.now()
    with deps.uow() as uow:
        user = uow.users.get(actor.actor.id)
        if user is None or not deps.hasher.verify(user.password_hash, old_password):
            raise AccountError("原密码不正确")
        if old_password == new_password:
            raise AccountError("新密码不得与原密码相同")
        changed = replace(
            user,
            password_hash=_checked_password(deps, new_password, user.username),
            password_changed_at=now,
            version=user.version + 1,
        )
        uow.users.save(changed, expected_version=user.version)
        ended = uow.sessions.revoke_all(user.id, now)
        note(uow, now, actor.actor, "user.password_change", "user", user.id, sessions_ended=ended)
        uow.commit()


def bind_party_vehicle(
    deps: AccountDeps, actor: Principal, user_id: str, plate: str, colour: int, evidence: str
) -> User:
    """An officer verified (窗口核验: 行驶证 and identity document seen) that the vehicle is the party's."""
    actor.require(P.PARTIES_VERIFY)
    if not evidence.strip():
        raise AccountError("请记录核验依据（如核验的行驶证、身份证件）")
    key = VehicleKey.parse(plate, colour)
    now = deps.clock.now()
    with deps.uow() as uow:
        user = uow.users.get(user_id)
        if user is None or Role.PARTY not in user.roles:
            raise AccountNotFound(f"当事人账号不存在：{user_id}")
        uow.users.bind_vehicle(user.id, key, actor.actor.id, now, evidence.strip())
        note(
            uow,
            now,
            actor.actor,
            "party.bind_vehicle",
            "user",
            user.id,
            plate=key.plate,
            colour=int(key.colour),
        )
        uow.commit()
    return replace(user, party_vehicles=(*user.party_vehicles, (key.plate, int(key.colour))))


# --- signing in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    token: str  # given to the client once; only its digest is stored
    session: AuthSession
    user: User


def sign_in(deps: AccountDeps, username: str, password: str, kind: SessionKind, source_ip: str) -> SignedIn:
    """Check a password and open a session; lock the account after repeated failures."""
    now = deps.clock.now()
    username = username.strip().lower()
    with deps.uow() as uow:
        user = uow.users.get_by_username(username)
        anonymous = Actor("anonymous", username[:64] or "-", username[:64] or "-", "", source_ip)
        if user is None or not user.active:
            deps.hasher.verify(_DUMMY_HASH.get(deps), password)  # same work either way: no user probing
            note(
                uow, now, anonymous, "user.login_failed", "user", username[:64], reason="unknown or inactive"
            )
            uow.commit()
            raise LoginFailed("用户名或密码错误")
        actor = Actor("user", user.id, f"{user.display_name}（{user.username}）", user.unit_id, source_ip)
        if user.is_locked(now):
            note(uow, now, actor, "user.login_refused", "user", user.id, reason="locked")
            uow.commit()
            minutes = max(1, -(-int(((user.locked_until or now) - now).total_seconds()) // 60))
            raise AccountLocked(f"连续登录失败次数过多，账号已锁定，请{minutes}分钟后重试")
        if not deps.hasher.verify(user.password_hash, password):
            failed = replace(after_failed_login(user, now, deps.policy.lockout), version=user.version + 1)
            uow.users.save(failed, expected_version=user.version)
            locked = failed.locked_until is not None and user.locked_until != failed.locked_until
            note(uow, now, actor, "user.login_failed", "user", user.id, reason="password", locked=locked)
            uow.commit()
            raise LoginFailed("用户名或密码错误")
        signed = after_successful_login(user)
        if deps.hasher.needs_rehash(user.password_hash):
            signed = replace(signed, password_hash=deps.hasher.hash(password))
        if signed != user:
            signed = replace(signed, version=user.version + 1)
            uow.users.save(signed, expected_version=user.version)
        token = deps.secrets.token()
        csrf = deps.secrets.token() if kind is SessionKind.WEB else ""
        session = AuthSession.open(
            token_digest(token), kind, user.id, now, deps.policy.sessions, csrf, source_ip
        )
        uow.sessions.add(session)
        note(uow, now, actor, "user.login", "session", session.token_sha256[:16], kind=kind.value)
        uow.commit()
    return SignedIn(token, session, signed)


class _DummyHash:
    """A real hash of nothing, made once, so unknown usernames cost one verification like known ones."""

    def __init__(self) -> None:
        self._value: str | None = None

    def get(self, deps: AccountDeps) -> str:
        if self._value is None:
            self._value = deps.hasher.hash("zhifa-no-such-user")
        return self._value


_DUMMY_HASH = _DummyHash()


def authenticate_session(
    deps: AccountDeps, token: str, kind: SessionKind, source_ip: str = ""
) -> tuple[Principal, AuthSession]:
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.sessions.get(token_digest(token))
        if session is None or session.kind is not kind:
            raise NotAuthenticated("未登录或会话无效")
        try:
            session.check(now, deps.policy.sessions)
        except CredentialError as exc:
            raise NotAuthenticated(str(exc)) from exc
        user = uow.users.get(session.user_id)
        if user is None or not user.active:
            raise NotAuthenticated("账号已停用")
        principal = principal_of(uow, user, source_ip)
        if now - session.last_seen_at >= TOUCH_EVERY:
            uow.sessions.touch(session.token_sha256, now)
            uow.commit()
    return principal, session


def sign_out(deps: AccountDeps, token: str, actor: Actor) -> None:
    now = deps.clock.now()
    digest_ = token_digest(token)
    with deps.uow() as uow:
        if uow.sessions.get(digest_) is None:
            return
        uow.sessions.revoke(digest_, now)
        note(uow, now, actor, "user.logout", "session", digest_[:16])
        uow.commit()


# --- machine keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # hex of the signing key: shown once at issue, never stored


def issue_api_key(
    deps: AccountDeps,
    actor: Principal | None,
    *,
    unit_id: str,
    name: str,
    scopes: Iterable[Permission],
    valid_days: int | None = None,
) -> IssuedKey:
    """The province issues each unit's systems their keys (豫交文〔2021〕33号: the province allots keys)."""
    if actor is not None:
        actor.require(P.API_KEYS_MANAGE)
        if not actor.is_province:
            raise Forbidden("接口密钥由省级单位统一签发")
    now = deps.clock.now()
    key_id = deps.ids.new_id()
    secret = deps.secrets.api_key(key_id)
    key = ApiKey(
        id=key_id,
        name=name.strip(),
        unit_id=unit_id,
        scopes=frozenset(scopes),
        secret_sha256=hashlib.sha256(secret).hexdigest(),
        issued_by=_actor(actor).id,
        issued_at=now,
        expires_at=now + timedelta(days=valid_days) if valid_days else None,
    )
    with deps.uow() as uow:
        if uow.units.get(unit_id) is None:
            raise AccountError(f"unit {unit_id} does not exist")
        uow.api_keys.add(key)
        state = {
            "unit_id": unit_id,
            "name": key.name,
            "scopes": sorted(key.scopes),
            "expires_at": key.expires_at,
        }
        note(uow, now, _actor(actor), "api_key.issue", "api_key", key.id, after=state)
        uow.commit()
    return IssuedKey(key, secret.hex())


def list_api_keys(deps: AccountDeps, actor: Principal) -> list[ApiKey]:
    actor.require(P.API_KEYS_MANAGE)
    with deps.uow() as uow:
        units = [u.id for u in uow.units.list(actor.division)]
        return uow.api_keys.list(units)


def revoke_api_key(deps: AccountDeps, actor: Principal | None, key_id: str) -> ApiKey:
    if actor is not None:
        actor.require(P.API_KEYS_MANAGE)
        if not actor.is_province:
            raise Forbidden("接口密钥由省级单位统一吊销")
    now = deps.clock.now()
    with deps.uow() as uow:
        key = uow.api_keys.get(key_id)
        if key is None:
            raise AccountNotFound(f"接口密钥不存在：{key_id}")
        if key.revoked_at is not None:
            return key
        revoked = replace(key, revoked_at=now, revoked_by=_actor(actor).id)
        uow.api_keys.save(revoked)
        note(uow, now, _actor(actor), "api_key.revoke", "api_key", key.id)
        uow.commit()
    return revoked


def authenticate_key(
    deps: AccountDeps, signed: SignedRequest, method: str, path: str, body: bytes, source_ip: str = ""
) -> Principal:
    """A machine request: key valid, signature over this very request, timestamp fresh, nonce new."""
    now = deps.clock.now()
    with deps.uow() as uow:
        key = uow.api_keys.get(signed.key_id)
        if key is None:
            raise NotAuthenticated("unknown API key")
        try:
            key.check(now)
        except CredentialError as exc:
            raise NotAuthenticated(str(exc)) from exc
        secret = deps.secrets.api_key(key.id)
        if hashlib.sha256(secret).hexdigest() != key.secret_sha256:
            # The deployment's secret changed since the key was issued: the key must be reissued.
            raise NotAuthenticated(f"API key {key.id} no longer matches the platform secret; reissue it")
        try:
            signed.check(
                secret, method, path, body, int(now.timestamp()), deps.policy.signature_window_seconds
            )
        except BadSignature as exc:
            raise NotAuthenticated(str(exc)) from exc
        if not uow.nonces.remember(key.id, signed.nonce, now):
            raise NotAuthenticated("nonce already used: the request was replayed")
        unit = uow.units.get(key.unit_id)
        if unit is None:
            raise NotAuthenticated(f"API key {key.id} lost its unit")
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
            uow.api_keys.save(replace(key, last_used_at=now))
        uow.nonces.prune(now - timedelta(seconds=2 * deps.policy.signature_window_seconds))
        uow.commit()
    return Principal(
        actor=Actor("api_key", key.id, key.name, unit.id, source_ip),
        roles=frozenset({Role.API_CLIENT}),
        permissions=frozenset(key.scopes) | {P.PUBLIC},
        division=unit.division,
        unit_id=unit.id,
        display_name=key.name,
    )
