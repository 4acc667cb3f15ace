"""What a request proves itself with: a web session, a bearer token, or a machine key.

Only digests of session tokens are stored; machine keys are derived from the deployment's secret
and the key's id, so the database holds neither (a copy of the database signs nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from zhifa.domain.errors import DomainError
from zhifa.domain.permissions import API_KEY_SCOPES, Permission


class CredentialError(DomainError):
    """A session, token or key is not (or no longer) valid; the message says why."""


class SessionKind(StrEnum):
    WEB = "web"  # a browser's cookie; unsafe requests also need the CSRF token
    BEARER = "bearer"  # an API client's Authorization: Bearer token


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta  # a web session unused this long ends
    absolute: timedelta  # no session outlives this, however busy
    bearer: timedelta  # lifetime of an API bearer token


@dataclass(frozen=True)
class AuthSession:
    token_sha256: str
    kind: SessionKind
    user_id: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    csrf_token: str = ""
    source_ip: str = ""
    revoked_at: datetime | None = None

    @classmethod
    def open(
        cls,
        token_sha256: str,
        kind: SessionKind,
        user_id: str,
        now: datetime,
        policy: SessionPolicy,
        csrf_token: str = "",
        source_ip: str = "",
    ) -> AuthSession:
        lifetime = policy.bearer if kind is SessionKind.BEARER else policy.absolute
        return cls(token_sha256, kind, user_id, now, now + lifetime, now, csrf_token, source_ip)

    def check(self, now: datetime, policy: SessionPolicy) -> None:
        if self.revoked_at is not None:
            raise CredentialError("会话已退出，请重新登录")
        if now >= self.expires_at:
            raise CredentialError("会话已过期，请重新登录")
        if self.kind is SessionKind.WEB and now - self.last_seen_at >= policy.idle:
            raise CredentialError("长时间未操作，会话已失效，请重新登录")

    def touched(self, now: datetime) -> AuthSession:
        return replace(self, last_seen_at=now)


@dataclass(frozen=True)
class ApiKey:
    """A machine client's key (接口密钥), issued to a unit by the province."""

    id: str
    name: str
    unit_id: str
    scopes: frozenset[Permission]
    secret_sha256: str  # fingerprint of the derived key, to show and to detect a changed secret
    issued_by: str
    issued_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_used_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise CredentialError("an API key needs a name saying which system uses it")
        if not self.scopes:
            raise CredentialError("an API key needs at least one scope")
        extra = self.scopes - API_KEY_SCOPES
        if extra:
            raise CredentialError(
                "an API key may only be scoped to "
                + ", ".join(sorted(API_KEY_SCOPES))
                + "; not "
                + ", ".join(sorted(extra))
            )

    def check(self, now: datetime) -> None:
        if self.revoked_at is not None:
            raise CredentialError(f"API key {self.id} was revoked")
        if self.expires_at is not None and now >= self.expires_at:
            raise CredentialError(f"API key {self.id} expired")
