"""Identity use cases against the real stores: signing in and the lockout, sessions and their ends,
passwords, managing users within one's jurisdiction, machine keys and party bindings.

Tests that touch the store run on SQLite and PostgreSQL (``any_app``); the app's policy is the
default one (5 failures lock for 15 minutes, 30-minute idle web sessions, 8-hour bearer tokens,
12-character passwords of 3 classes, a ±300 s signature window).
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from tests.factories import JINGHU, PASSWORD, YAOHAI, add_user, make_app, unit_at
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.accounts import AccountError, Department, Role, User
from zhifa.domain.audit import AuditEntry
from zhifa.domain.credentials import CredentialError, SessionKind
from zhifa.domain.permissions import API_KEY_SCOPES, Forbidden, Permission, Principal
from zhifa.domain.signatures import (
    KEY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignedRequest,
    signed_headers,
)
from zhifa.domain.vehicles import VehicleKey
from zhifa.services import accounts
from zhifa.services.accounts import (
    AccountLocked,
    AccountNotFound,
    IssuedKey,
    LoginFailed,
    NewUser,
    NotAuthenticated,
    token_digest,
)
from zhifa.services.ports import DuplicateKey

WRONG = "Wrong-Password-2026!"
NEW_PASSWORD = "Zhifa-Changed-2027#"
# Another deployment secret: random-looking, 32+ characters, no placeholder words.
OTHER_SECRET = "Qm7vT2xR9pL4wK8nB3cJ6hF1dG5sZ0yA"
INGEST_PATH = "/api/v1/weighings"
BODY = b'{"records":[]}'


def _principal(app: App, user: User) -> Principal:
    with app.uow() as uow:
        return accounts.principal_of(uow, user)


def _entries(app: App, action: str) -> list[AuditEntry]:
    with app.uow() as uow:
        return [e for e in uow.audit.entries() if e.action == action]


def _sign_in(app: App, username: str, password: str = PASSWORD, kind: SessionKind = SessionKind.WEB) -> str:
    return accounts.sign_in(app.account_deps, username, password, kind, "10.0.0.7").token


def _authenticate(app: App, token: str, kind: SessionKind = SessionKind.WEB) -> Principal:
    principal, _ = accounts.authenticate_session(app.account_deps, token, kind)
    return principal


def _province_admin(app: App) -> Principal:
    """The province's administrator, created on first use."""
    with app.uow() as uow:
        existing = uow.users.get_by_username("admin.province")
    return _principal(app, existing or add_user(app, "admin.province", {Role.ADMIN}))


def _new_user(app: App, username: str, division: str, password: str = PASSWORD) -> NewUser:
    return NewUser(
        username=username,
        display_name="李值班",
        unit_id=unit_at(app, division).id,
        roles=frozenset({Role.DUTY_OFFICER}),
        password=password,
    )


# --- signing in -------------------------------------------------------------------------------


def test_sign_in_opens_a_session_and_audits_it(any_app: App) -> None:
    """The right password opens a web session (with a CSRF token, only the token's digest stored),
    the token authenticates as the user, and a ``user.login`` entry names the user and session."""
    user = add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER}, division=YAOHAI)
    signed = accounts.sign_in(any_app.account_deps, " Wang.Zhifa ", PASSWORD, SessionKind.WEB, "10.0.0.7")
    assert signed.user.id == user.id
    assert signed.session.token_sha256 == token_digest(signed.token) != signed.token
    assert signed.session.csrf_token
    principal = _authenticate(any_app, signed.token)
    assert principal.actor.id == user.id
    assert principal.division.code == YAOHAI
    assert principal.can(Permission.WEIGHINGS_INGEST)
    (entry,) = _entries(any_app, "user.login")
    assert entry.actor_id == user.id
    assert entry.object_id == signed.session.token_sha256[:16]
    assert entry.source_ip == "10.0.0.7"
    assert entry.detail["kind"] == "web"


def test_bearer_sign_in_has_no_csrf_token(any_app: App) -> None:
    """An API bearer token carries no CSRF token (it is not a cookie) and authenticates only as a
    bearer token, a web session only as a web session."""
    add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    signed = accounts.sign_in(any_app.account_deps, "wang.zhifa", PASSWORD, SessionKind.BEARER, "")
    assert signed.session.csrf_token == ""
    _authenticate(any_app, signed.token, SessionKind.BEARER)
    with pytest.raises(NotAuthenticated):
        _authenticate(any_app, signed.token, SessionKind.WEB)
    web = _sign_in(any_app, "wang.zhifa")
    with pytest.raises(NotAuthenticated):
        _authenticate(any_app, web, SessionKind.BEARER)
    with pytest.raises(NotAuthenticated):
        _authenticate(any_app, "no-such-token")


def test_five_wrong_passwords_lock_for_fifteen_minutes(any_app: App, clock: FakeClock) -> None:
    """Five wrong passwords in a row lock the account: the right password is then refused with
    AccountLocked (saying how long), wrong ones too without counting, until the 15 minutes are
    over, after which the right password signs in again. Each failure and refusal is audited."""
    user = add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    for _ in range(5):
        with pytest.raises(LoginFailed) as failed:
            _sign_in(any_app, "wang.zhifa", WRONG)
        assert type(failed.value) is LoginFailed
    with pytest.raises(AccountLocked, match="15分钟"):
        _sign_in(any_app, "wang.zhifa")
    clock.advance(minutes=14)
    with pytest.raises(AccountLocked, match="1分钟"):
        _sign_in(any_app, "wang.zhifa", WRONG)
    with pytest.raises(AccountLocked):
        _sign_in(any_app, "wang.zhifa")
    clock.advance(minutes=2)
    _authenticate(any_app, _sign_in(any_app, "wang.zhifa"))

    failures = _entries(any_app, "user.login_failed")
    assert [e.detail["locked"] for e in failures] == [False, False, False, False, True]
    assert {e.actor_id for e in failures} == {user.id}
    assert [e.detail["reason"] for e in _entries(any_app, "user.login_refused")] == ["locked"] * 3
    with any_app.uow() as uow:
        stored = uow.users.get(user.id)
    assert stored is not None
    assert stored.failed_logins == 0 and stored.locked_until is None


def test_success_resets_the_failure_count(any_app: App) -> None:
    """Failures must be in a row: a successful sign-in between them starts the count again."""
    add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    for _ in range(4):
        with pytest.raises(LoginFailed):
            _sign_in(any_app, "wang.zhifa", WRONG)
    _sign_in(any_app, "wang.zhifa")
    for _ in range(4):
        with pytest.raises(LoginFailed):
            _sign_in(any_app, "wang.zhifa", WRONG)
    _sign_in(any_app, "wang.zhifa")


def test_unknown_username_fails_like_a_wrong_password(any_app: App) -> None:
    """An unknown username gives the same LoginFailed message as a wrong password (no probing for
    accounts) and writes a ``user.login_failed`` entry for the name tried."""
    add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    with pytest.raises(LoginFailed) as wrong:
        _sign_in(any_app, "wang.zhifa", WRONG)
    with pytest.raises(LoginFailed) as unknown:
        _sign_in(any_app, "nobody", PASSWORD)
    assert type(unknown.value) is LoginFailed
    assert str(unknown.value) == str(wrong.value)
    entry = _entries(any_app, "user.login_failed")[-1]
    assert entry.object_id == "nobody"
    assert entry.actor_kind == "anonymous"
    assert entry.detail["reason"] == "unknown or inactive"


def test_sign_in_rehashes_a_password_hashed_with_old_parameters(any_app: App, tmp_path: Path) -> None:
    """When the deployment raises its Argon2 cost, the next successful sign-in stores a new hash
    with the new parameters; the password keeps working and is not rehashed again."""
    user = add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    assert ",t=1," in user.password_hash
    stronger = make_app(
        any_app.settings.database_url, tmp_path / "stronger", any_app.clock, password_hash_time_cost=2
    )
    try:
        signed = accounts.sign_in(stronger.account_deps, "wang.zhifa", PASSWORD, SessionKind.WEB, "")
        assert ",t=2," in signed.user.password_hash
        with stronger.uow() as uow:
            stored = uow.users.get(user.id)
        assert stored is not None and stored.password_hash == signed.user.password_hash
        again = accounts.sign_in(stronger.account_deps, "wang.zhifa", PASSWORD, SessionKind.WEB, "")
        assert again.user.password_hash == signed.user.password_hash
    finally:
        stronger.close()


# --- sessions ---------------------------------------------------------------------------------


def test_web_session_ends_after_idle_timeout(any_app: App, clock: FakeClock) -> None:
    """A web session used every 29 minutes stays open; left unused for 30 minutes it ends."""
    add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    token = _sign_in(any_app, "wang.zhifa")
    for _ in range(3):
        clock.advance(minutes=29)
        _authenticate(any_app, token)
    clock.advance(minutes=30)
    with pytest.raises(NotAuthenticated, match="长时间未操作"):
        _authenticate(any_app, token)


def test_bearer_token_ends_after_its_lifetime(any_app: App, clock: FakeClock) -> None:
    """A bearer token has no idle limit (unused for hours it still works) but ends 8 hours after
    it was issued."""
    add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    token = _sign_in(any_app, "wang.zhifa", kind=SessionKind.BEARER)
    clock.advance(hours=7, minutes=59)
    _authenticate(any_app, token, SessionKind.BEARER)
    clock.advance(minutes=1)
    with pytest.raises(NotAuthenticated, match="已过期"):
        _authenticate(any_app, token, SessionKind.BEARER)


def test_sign_out_ends_the_session(any_app: App) -> None:
    """Signing out ends that session only and is audited; signing out an unknown token does nothing."""
    user = add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    token, other = _sign_in(any_app, "wang.zhifa"), _sign_in(any_app, "wang.zhifa")
    actor = _authenticate(any_app, token).actor
    accounts.sign_out(any_app.account_deps, token, actor)
    with pytest.raises(NotAuthenticated, match="已退出"):
        _authenticate(any_app, token)
    _authenticate(any_app, other)
    accounts.sign_out(any_app.account_deps, "no-such-token", actor)
    (entry,) = _entries(any_app, "user.logout")
    assert entry.actor_id == user.id and entry.object_id == token_digest(token)[:16]


# --- passwords --------------------------------------------------------------------------------


def test_change_password_ends_every_session(any_app: App) -> None:
    """Changing one's password ends all of one's sessions, web and bearer alike; the old password
    no longer signs in, the new one does, and the entry counts the sessions ended."""
    user = add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    web = _sign_in(any_app, "wang.zhifa")
    api = _sign_in(any_app, "wang.zhifa", kind=SessionKind.BEARER)
    bystander = add_user(any_app, "li.zhiban", {Role.DUTY_OFFICER})
    theirs = _sign_in(any_app, bystander.username)
    accounts.change_password(any_app.account_deps, _authenticate(any_app, web), PASSWORD, NEW_PASSWORD)
    with pytest.raises(NotAuthenticated, match="已退出"):
        _authenticate(any_app, web)
    with pytest.raises(NotAuthenticated, match="已退出"):
        _authenticate(any_app, api, SessionKind.BEARER)
    _authenticate(any_app, theirs)  # another user's session is untouched
    with pytest.raises(LoginFailed):
        _sign_in(any_app, "wang.zhifa", PASSWORD)
    _sign_in(any_app, "wang.zhifa", NEW_PASSWORD)
    (entry,) = _entries(any_app, "user.password_change")
    assert entry.actor_id == user.id and entry.detail["sessions_ended"] == 2


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param(WRONG, NEW_PASSWORD, "原密码不正确", id="wrong-old"),
        pytest.param(PASSWORD, PASSWORD, "不得与原密码相同", id="same"),
        pytest.param(PASSWORD, "short", "密码长度不得少于12位", id="weak"),
        pytest.param(PASSWORD, "Wang.Zhifa-2027", "密码不得包含用户名", id="contains-username"),
    ],
)
def test_change_password_refusals(app: App, old: str, new: str, message: str) -> None:
    """A wrong old password, an unchanged one or a new one against the policy is refused, and the
    sessions stay open."""
    add_user(app, "wang.zhifa", {Role.DUTY_OFFICER})
    token = _sign_in(app, "wang.zhifa")
    with pytest.raises(AccountError, match=message):
        accounts.change_password(app.account_deps, _authenticate(app, token), old, new)
    _authenticate(app, token)
    assert _entries(app, "user.password_change") == []


@pytest.mark.parametrize(
    ("password", "reasons"),
    [
        pytest.param("Short-1a", ["密码长度不得少于12位"], id="short"),
        pytest.param("onlylowercaseletters", ["至少3类"], id="one-class"),
        pytest.param("li.zhiban-2026", ["密码不得包含用户名"], id="contains-username"),
        pytest.param("aaaaaaaaaaaa", ["至少3类", "重复字符"], id="repeated"),
        pytest.param("abc", ["密码长度不得少于12位", "至少3类"], id="short-one-class"),
    ],
)
def test_create_user_refuses_a_weak_password(app: App, password: str, reasons: list[str]) -> None:
    """A password against the policy is refused with every reason of the policy it breaks, and no
    account (nor audit entry) is created."""
    new = _new_user(app, "li.zhiban", YAOHAI, password)
    with pytest.raises(AccountError) as refused:
        accounts.create_user(app.account_deps, None, new)
    for reason in reasons:
        assert reason in str(refused.value)
    with app.uow() as uow:
        assert uow.users.get_by_username("li.zhiban") is None
    assert _entries(app, "user.create") == []


@pytest.mark.parametrize("username", ["wang.zhifa", " Wang.Zhifa ", "WANG.ZHIFA"])
def test_duplicate_username_is_refused(any_app: App, username: str) -> None:
    """Usernames are unique regardless of case and surrounding space: a second is DuplicateKey."""
    add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    with pytest.raises(DuplicateKey, match=r"wang\.zhifa"):
        accounts.create_user(any_app.account_deps, None, _new_user(any_app, username, YAOHAI))


# --- managing users within one's jurisdiction -------------------------------------------------


def test_county_admin_manages_own_county_only(any_app: App) -> None:
    """A county administrator creates users in its own county (audited as itself) but not in
    another county nor in the province above it, and cannot issue or revoke machine keys."""
    admin = _principal(any_app, add_user(any_app, "admin.yaohai", {Role.ADMIN}, division=YAOHAI))
    created = accounts.create_user(any_app.account_deps, admin, _new_user(any_app, "li.yaohai", YAOHAI))
    (entry,) = [e for e in _entries(any_app, "user.create") if e.object_id == created.id]
    assert entry.actor_id == admin.actor.id
    with pytest.raises(Forbidden, match=JINGHU):
        accounts.create_user(any_app.account_deps, admin, _new_user(any_app, "li.jinghu", JINGHU))
    with pytest.raises(Forbidden):
        accounts.create_user(any_app.account_deps, admin, _new_user(any_app, "li.sheng", "340000"))
    with pytest.raises(Forbidden, match="省级"):
        accounts.issue_api_key(
            any_app.account_deps,
            admin,
            unit_id=unit_at(any_app, YAOHAI).id,
            name="瑶海区检测系统",
            scopes=API_KEY_SCOPES,
        )
    key = accounts.issue_api_key(
        any_app.account_deps,
        None,
        unit_id=unit_at(any_app, YAOHAI).id,
        name="瑶海区检测系统",
        scopes=API_KEY_SCOPES,
    )
    with pytest.raises(Forbidden, match="省级"):
        accounts.revoke_api_key(any_app.account_deps, admin, key.key.id)
    with any_app.uow() as uow:
        assert uow.users.get_by_username("li.jinghu") is None
        assert uow.users.get_by_username("li.sheng") is None


def test_managing_users_needs_the_permission(app: App) -> None:
    """Staff without USERS_MANAGE (an officer) cannot create users even in their own county, and an
    administrator cannot touch a user of another county: to them it does not exist."""
    officer = _principal(app, add_user(app, "officer.yaohai", {Role.OFFICER}, division=YAOHAI))
    with pytest.raises(Forbidden, match=Permission.USERS_MANAGE.label):
        accounts.create_user(app.account_deps, officer, _new_user(app, "li.yaohai", YAOHAI))
    other = add_user(app, "li.jinghu", {Role.DUTY_OFFICER}, division=JINGHU)
    admin = _principal(app, add_user(app, "admin.yaohai", {Role.ADMIN}, division=YAOHAI))
    with pytest.raises(AccountNotFound):
        accounts.update_user(app.account_deps, admin, other.id, active=False)


def test_deactivating_a_user_ends_their_sessions(any_app: App) -> None:
    """Deactivating a user ends their open sessions (reactivating does not bring them back) and
    refuses new sign-ins while inactive; the change is audited."""
    admin = _province_admin(any_app)
    user = add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER}, division=YAOHAI)
    token = _sign_in(any_app, "wang.zhifa", kind=SessionKind.BEARER)
    changed = accounts.update_user(any_app.account_deps, admin, user.id, active=False)
    assert not changed.active
    with pytest.raises(NotAuthenticated):
        _authenticate(any_app, token, SessionKind.BEARER)
    with pytest.raises(LoginFailed, match="用户名或密码错误"):
        _sign_in(any_app, "wang.zhifa")
    accounts.update_user(any_app.account_deps, admin, user.id, active=True)
    with pytest.raises(NotAuthenticated, match="已退出"):
        _authenticate(any_app, token, SessionKind.BEARER)
    _authenticate(any_app, _sign_in(any_app, "wang.zhifa"))
    updates = _entries(any_app, "user.update")
    assert [e.actor_id for e in updates] == [admin.actor.id] * 2
    assert updates[0].before_digest != updates[0].after_digest


def test_admin_cannot_deactivate_self_or_change_own_roles(app: App) -> None:
    """An administrator can neither deactivate their own account nor change their own roles."""
    user = add_user(app, "admin.province", {Role.ADMIN})
    admin = _principal(app, user)
    with pytest.raises(AccountError, match="不能停用自己的账号"):
        accounts.update_user(app.account_deps, admin, user.id, active=False)
    with pytest.raises(AccountError, match="不能停用自己的账号"):
        accounts.update_user(app.account_deps, admin, user.id, roles=frozenset({Role.ADMIN, Role.AUDITOR}))
    assert _entries(app, "user.update") == []


def test_unlock_lets_a_locked_user_sign_in_at_once(any_app: App) -> None:
    """An administrator's unlock clears the lock without waiting out the 15 minutes."""
    admin = _province_admin(any_app)
    user = add_user(any_app, "wang.zhifa", {Role.DUTY_OFFICER})
    for _ in range(5):
        with pytest.raises(LoginFailed):
            _sign_in(any_app, "wang.zhifa", WRONG)
    with pytest.raises(AccountLocked):
        _sign_in(any_app, "wang.zhifa")
    accounts.update_user(any_app.account_deps, admin, user.id, unlock=True)
    _sign_in(any_app, "wang.zhifa")
    assert _entries(any_app, "user.update")[-1].detail["unlock"] is True


def test_role_change_is_checked_against_the_user_rules(app: App) -> None:
    """Roles given by an update still obey the user rules: an officer needs a credential number."""
    admin = _province_admin(app)
    user = add_user(app, "li.zhiban", {Role.DUTY_OFFICER})
    with pytest.raises(AccountError, match="第四十二条"):
        accounts.update_user(app.account_deps, admin, user.id, roles=frozenset({Role.OFFICER}))


# --- machine keys -----------------------------------------------------------------------------


def _issue(app: App, division: str = YAOHAI, valid_days: int | None = None) -> IssuedKey:
    return accounts.issue_api_key(
        app.account_deps,
        _province_admin(app),
        unit_id=unit_at(app, division).id,
        name="瑶海区不停车检测系统",
        scopes=[Permission.WEIGHINGS_INGEST],
        valid_days=valid_days,
    )


def _request(
    app: App, key_id: str, secret: bytes, nonce: str | None = None, body: bytes = BODY, skew: int = 0
) -> SignedRequest:
    now = int(app.clock.now().timestamp()) + skew
    headers = signed_headers(key_id, secret, "POST", INGEST_PATH, now, nonce or uuid.uuid4().hex, body)
    return SignedRequest.parse(
        headers[KEY_HEADER], headers[TIMESTAMP_HEADER], headers[NONCE_HEADER], headers[SIGNATURE_HEADER]
    )


def _authenticate_key(app: App, signed: SignedRequest, body: bytes = BODY) -> Principal:
    return accounts.authenticate_key(app.account_deps, signed, "POST", INGEST_PATH, body, "10.0.0.9")


def test_signed_request_is_accepted_once(any_app: App) -> None:
    """A correctly signed request authenticates as the key (its unit, its scopes and nothing more);
    the same nonce again is a replay and refused, a new nonce is accepted."""
    issued = _issue(any_app)
    secret = bytes.fromhex(issued.secret)
    signed = _request(any_app, issued.key.id, secret)
    principal = _authenticate_key(any_app, signed)
    assert principal.actor.kind == "api_key" and principal.actor.id == issued.key.id
    assert principal.division.code == YAOHAI
    assert principal.permissions == {Permission.WEIGHINGS_INGEST, Permission.PUBLIC}
    with pytest.raises(NotAuthenticated, match="nonce already used"):
        _authenticate_key(any_app, signed)
    _authenticate_key(any_app, _request(any_app, issued.key.id, secret))
    (entry,) = _entries(any_app, "api_key.issue")
    assert entry.object_id == issued.key.id


def test_key_secret_is_shown_once_and_stored_as_a_fingerprint(any_app: App) -> None:
    """The stored key holds the SHA-256 fingerprint of the signing key, never the key itself."""
    issued = _issue(any_app)
    with any_app.uow() as uow:
        stored = uow.api_keys.get(issued.key.id)
    assert stored is not None
    assert issued.secret not in stored.secret_sha256
    assert stored.secret_sha256 == hashlib.sha256(bytes.fromhex(issued.secret)).hexdigest()


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        pytest.param("wrong-key", "does not match", id="wrong-key"),
        pytest.param("tampered-body", "does not match", id="tampered-body"),
        pytest.param("stale", "window", id="stale"),
        pytest.param("unknown-key", "unknown API key", id="unknown-key"),
    ],
)
def test_forged_requests_are_refused(app: App, forge: str, message: str) -> None:
    """A request signed with another key, with its body changed, outside the time window, or naming
    no known key, is refused."""
    issued = _issue(app)
    secret = bytes.fromhex(issued.secret)
    body = BODY
    if forge == "wrong-key":
        signed = _request(app, issued.key.id, bytes(32))
    elif forge == "tampered-body":
        signed = _request(app, issued.key.id, secret)
        body = b'{"records":[{}]}'
    elif forge == "stale":
        signed = _request(app, issued.key.id, secret, skew=-301)
    else:
        signed = _request(app, "no-such-key", secret)
    with pytest.raises(NotAuthenticated, match=message):
        _authenticate_key(app, signed, body)


def test_revoked_and_expired_keys_are_refused(any_app: App, clock: FakeClock) -> None:
    """A revoked key is refused at once; a key issued for a day is refused from its expiry on.
    Revoking is audited and revoking again changes nothing."""
    revoked = _issue(any_app)
    accounts.revoke_api_key(any_app.account_deps, _province_admin(any_app), revoked.key.id)
    with pytest.raises(NotAuthenticated, match="was revoked"):
        _authenticate_key(any_app, _request(any_app, revoked.key.id, bytes.fromhex(revoked.secret)))
    again = accounts.revoke_api_key(any_app.account_deps, None, revoked.key.id)
    assert again.revoked_at is not None
    assert len(_entries(any_app, "api_key.revoke")) == 1

    daily = _issue(any_app, valid_days=1)
    secret = bytes.fromhex(daily.secret)
    clock.advance(hours=23, minutes=59)
    _authenticate_key(any_app, _request(any_app, daily.key.id, secret))
    clock.advance(minutes=1)
    with pytest.raises(NotAuthenticated, match="expired"):
        _authenticate_key(any_app, _request(any_app, daily.key.id, secret))


def test_key_is_refused_after_the_platform_secret_changed(any_app: App, tmp_path: Path) -> None:
    """A key issued before the deployment's secret changed is refused, with a message saying to
    reissue it, however the request is signed; a key issued under the new secret works."""
    issued = _issue(any_app)
    changed = make_app(
        any_app.settings.database_url, tmp_path / "changed", any_app.clock, secret_key=OTHER_SECRET
    )
    try:
        old_secret = bytes.fromhex(issued.secret)
        with pytest.raises(NotAuthenticated, match="reissue"):
            _authenticate_key(changed, _request(changed, issued.key.id, old_secret))
        new_derivation = changed.secrets.api_key(issued.key.id)
        with pytest.raises(NotAuthenticated, match="reissue"):
            _authenticate_key(changed, _request(changed, issued.key.id, new_derivation))
        reissued = accounts.issue_api_key(
            changed.account_deps,
            None,
            unit_id=issued.key.unit_id,
            name="瑶海区不停车检测系统",
            scopes=issued.key.scopes,
        )
        _authenticate_key(changed, _request(changed, reissued.key.id, bytes.fromhex(reissued.secret)))
    finally:
        changed.close()


def test_key_scopes_cannot_exceed_an_api_client(app: App) -> None:
    """Even the platform itself cannot issue a key scoped beyond an API client's permissions."""
    with pytest.raises(CredentialError, match="cases:read"):
        accounts.issue_api_key(
            app.account_deps,
            None,
            unit_id=unit_at(app, YAOHAI).id,
            name="越权系统",
            scopes=[Permission.WEIGHINGS_INGEST, Permission.CASES_READ],
        )


# --- party bindings ---------------------------------------------------------------------------


def test_bind_party_vehicle(any_app: App) -> None:
    """An officer who verified a party's papers binds the vehicle to the party's account: it then
    counts as the party's own, and the binding is audited with the officer as actor."""
    party = add_user(any_app, "party.zhang", {Role.PARTY}, display_name="张三")
    officer = _principal(any_app, add_user(any_app, "officer.yaohai", {Role.OFFICER}, division=YAOHAI))
    bound = accounts.bind_party_vehicle(
        any_app.account_deps, officer, party.id, "皖A12345", 2, "窗口核验行驶证、身份证原件"
    )
    assert bound.party_vehicles == (("皖A12345", 2),)
    truck = VehicleKey.parse("皖A12345", 2)
    assert _principal(any_app, bound).vehicles == {truck}
    with any_app.uow() as uow:
        stored = uow.users.get(party.id)
    assert stored is not None and stored.party_vehicles == (("皖A12345", 2),)
    assert _principal(any_app, stored).owns_case(truck, None)
    (entry,) = _entries(any_app, "party.bind_vehicle")
    assert entry.actor_id == officer.actor.id and entry.object_id == party.id
    assert entry.detail == {"plate": "皖A12345", "colour": 2}


@pytest.mark.parametrize("evidence", ["", "   ", "\n\t"])
def test_bind_party_vehicle_needs_evidence(app: App, evidence: str) -> None:
    """A binding without a record of what was verified is refused, and nothing is bound."""
    party = add_user(app, "party.zhang", {Role.PARTY}, display_name="张三")
    officer = _principal(app, add_user(app, "officer.yaohai", {Role.OFFICER}, division=YAOHAI))
    with pytest.raises(AccountError, match="核验依据"):
        accounts.bind_party_vehicle(app.account_deps, officer, party.id, "皖A12345", 2, evidence)
    assert _entries(app, "party.bind_vehicle") == []


def test_bind_party_vehicle_needs_a_party_account(app: App) -> None:
    """Only a party's account takes a vehicle: a staff account or an unknown id is not found."""
    officer_user = add_user(app, "officer.yaohai", {Role.OFFICER}, division=YAOHAI)
    officer = _principal(app, officer_user)
    for user_id in (officer_user.id, "no-such-user"):
        with pytest.raises(AccountNotFound, match="当事人账号不存在"):
            accounts.bind_party_vehicle(app.account_deps, officer, user_id, "皖A12345", 2, "行驶证")


def test_bind_party_vehicle_needs_the_permission(app: App) -> None:
    """An administrator (no PARTIES_VERIFY) cannot bind vehicles to parties."""
    party = add_user(app, "party.zhang", {Role.PARTY}, display_name="张三")
    with pytest.raises(Forbidden, match=Permission.PARTIES_VERIFY.label):
        accounts.bind_party_vehicle(app.account_deps, _province_admin(app), party.id, "皖A12345", 2, "行驶证")


def test_binding_the_same_vehicle_twice_is_refused(app: App) -> None:
    """A vehicle is bound to a party once; binding it again is a DuplicateKey."""
    party = add_user(app, "party.zhang", {Role.PARTY}, display_name="张三")
    officer = _principal(app, add_user(app, "officer.yaohai", {Role.OFFICER}, division=YAOHAI))
    accounts.bind_party_vehicle(app.account_deps, officer, party.id, "皖A12345", 2, "行驶证")
    with pytest.raises(DuplicateKey):
        accounts.bind_party_vehicle(app.account_deps, officer, party.id, "皖A12345", 2, "行驶证")
    assert len(_entries(app, "party.bind_vehicle")) == 1


# --- units ------------------------------------------------------------------------------------


def test_units_follow_the_division_tree(app: App) -> None:
    """A unit is created under its own or an enclosing division's unit, by an administrator who
    sees that division; sideways placement or creation is refused."""
    hefei_county = unit_at(app, YAOHAI)
    with pytest.raises(AccountError, match="cannot sit under"):
        accounts.create_unit(
            app.account_deps,
            None,
            division=JINGHU,
            name="镜湖区运输管理所",
            department=Department.TRANSPORT,
            parent_id=hefei_county.id,
        )
    admin = _principal(app, add_user(app, "admin.yaohai", {Role.ADMIN}, division=YAOHAI))
    with pytest.raises(Forbidden, match=JINGHU):
        accounts.create_unit(
            app.account_deps, admin, division=JINGHU, name="镜湖区运输管理所", department=Department.TRANSPORT
        )
    unit = accounts.create_unit(
        app.account_deps,
        admin,
        division=YAOHAI,
        name="瑶海区运输管理所",
        department=Department.TRANSPORT,
        parent_id=hefei_county.id,
    )
    (entry,) = [e for e in _entries(app, "unit.create") if e.object_id == unit.id]
    assert entry.actor_id == admin.actor.id
