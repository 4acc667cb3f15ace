"""Sessions, bearer tokens and machine keys: when each stops being valid, and what a key may be
scoped to."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from zhifa.domain.credentials import ApiKey, AuthSession, CredentialError, SessionKind, SessionPolicy
from zhifa.domain.errors import DomainError
from zhifa.domain.permissions import API_KEY_SCOPES, Permission

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12), bearer=timedelta(hours=8))


def _session(kind: SessionKind) -> AuthSession:
    return AuthSession.open("ab" * 32, kind, "user-1", NOW, POLICY, "csrf" if kind is SessionKind.WEB else "")


def _key(**overrides: Any) -> ApiKey:
    values: dict[str, Any] = {
        "id": "key-1",
        "name": "瑶海区不停车检测系统",
        "unit_id": "unit-1",
        "scopes": frozenset({Permission.WEIGHINGS_INGEST}),
        "secret_sha256": "cd" * 32,
        "issued_by": "admin-1",
        "issued_at": NOW,
    }
    values.update(overrides)
    return ApiKey(**values)


def test_credential_error_is_a_domain_error() -> None:
    """An invalid credential is a domain error, answered as 4xx by the entrypoints."""
    assert issubclass(CredentialError, DomainError)


@pytest.mark.parametrize(
    ("kind", "lifetime"),
    [(SessionKind.WEB, POLICY.absolute), (SessionKind.BEARER, POLICY.bearer)],
    ids=["web", "bearer"],
)
def test_open_sets_lifetime_by_kind(kind: SessionKind, lifetime: timedelta) -> None:
    """A web session lives at most the absolute limit, a bearer token its own lifetime; both start
    now, seen now, and not revoked."""
    session = _session(kind)
    assert session.created_at == session.last_seen_at == NOW
    assert session.expires_at == NOW + lifetime
    assert session.revoked_at is None
    session.check(NOW, POLICY)


@pytest.mark.parametrize(
    ("kind", "after", "message"),
    [
        pytest.param(SessionKind.WEB, POLICY.idle, "长时间未操作", id="web-idle-exactly"),
        pytest.param(SessionKind.WEB, POLICY.idle + timedelta(hours=1), "长时间未操作", id="web-idle-long"),
        pytest.param(SessionKind.WEB, POLICY.absolute, "已过期", id="web-absolute"),
        pytest.param(SessionKind.BEARER, POLICY.bearer, "已过期", id="bearer-lifetime"),
        pytest.param(SessionKind.BEARER, POLICY.bearer + timedelta(days=1), "已过期", id="bearer-long-after"),
    ],
)
def test_session_ends(kind: SessionKind, after: timedelta, message: str) -> None:
    """A web session ends once unused for the idle time, any session at its expiry; the message
    says which."""
    with pytest.raises(CredentialError, match=message):
        _session(kind).check(NOW + after, POLICY)


@pytest.mark.parametrize(
    ("kind", "after"),
    [
        pytest.param(SessionKind.WEB, POLICY.idle - timedelta(seconds=1), id="web-just-before-idle"),
        pytest.param(SessionKind.BEARER, POLICY.idle * 3, id="bearer-never-idles"),
        pytest.param(SessionKind.BEARER, POLICY.bearer - timedelta(seconds=1), id="bearer-before-expiry"),
    ],
)
def test_session_still_valid(kind: SessionKind, after: timedelta) -> None:
    """A web session is valid just before its idle limit; a bearer token has no idle limit and is
    valid until just before its lifetime ends."""
    _session(kind).check(NOW + after, POLICY)


def test_touching_keeps_a_web_session_alive_until_its_absolute_limit() -> None:
    """Use resets the idle clock, but however busy, a web session ends at its absolute limit."""
    session = _session(SessionKind.WEB)
    at = NOW
    while at + timedelta(minutes=20) < NOW + POLICY.absolute:
        at += timedelta(minutes=20)
        session.check(at, POLICY)
        session = session.touched(at)
        assert session.last_seen_at == at
    with pytest.raises(CredentialError, match="已过期"):
        session.check(NOW + POLICY.absolute, POLICY)


@pytest.mark.parametrize("kind", list(SessionKind))
def test_revoked_session_is_refused_first(kind: SessionKind) -> None:
    """A signed-out session is refused as such, even while otherwise valid."""
    session = replace(_session(kind), revoked_at=NOW)
    with pytest.raises(CredentialError, match="已退出"):
        session.check(NOW, POLICY)


# --- machine keys -----------------------------------------------------------------------------


def test_a_key_within_the_api_client_scopes_is_accepted() -> None:
    """A key may hold every scope the API-client role grants."""
    assert _key(scopes=API_KEY_SCOPES).scopes == API_KEY_SCOPES


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"name": "  "}, "needs a name", id="blank-name"),
        pytest.param({"scopes": frozenset()}, "at least one scope", id="no-scope"),
        pytest.param(
            {"scopes": frozenset({Permission.WEIGHINGS_INGEST, Permission.CASES_READ})},
            "not cases:read",
            id="beyond-api-client",
        ),
        pytest.param({"scopes": frozenset({Permission.USERS_MANAGE})}, "not users:manage", id="admin-scope"),
        pytest.param({"scopes": frozenset({Permission.PUBLIC})}, "not public", id="public-scope"),
    ],
)
def test_key_rules(overrides: dict[str, Any], message: str) -> None:
    """A key needs a name and one scope at least, and may not be scoped beyond an API client; the
    message names the scopes it may not hold."""
    with pytest.raises(CredentialError, match=message):
        _key(**overrides)


@pytest.mark.parametrize(
    ("overrides", "at", "message"),
    [
        pytest.param({"revoked_at": NOW}, NOW, "was revoked", id="revoked"),
        pytest.param(
            {"expires_at": NOW + timedelta(days=1)}, NOW + timedelta(days=1), "expired", id="expired"
        ),
        pytest.param(
            {"expires_at": NOW + timedelta(days=1), "revoked_at": NOW},
            NOW,
            "was revoked",
            id="revoked-before-expiry",
        ),
    ],
)
def test_key_check_refuses(overrides: dict[str, Any], at: datetime, message: str) -> None:
    """A revoked key, or one at or past its expiry, is refused naming the key."""
    with pytest.raises(CredentialError, match=f"key-1 {message}"):
        _key(**overrides).check(at)


@pytest.mark.parametrize(
    ("overrides", "at"),
    [
        pytest.param({}, NOW + timedelta(days=3650), id="no-expiry"),
        pytest.param({"expires_at": NOW + timedelta(days=1)}, NOW + timedelta(hours=23), id="before-expiry"),
    ],
)
def test_key_check_passes(overrides: dict[str, Any], at: datetime) -> None:
    """A key without an expiry stays valid until revoked; one with an expiry until it."""
    _key(**overrides).check(at)
