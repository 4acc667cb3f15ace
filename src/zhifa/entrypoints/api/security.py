"""Who is asking, and may they: authentication and the permission every route declares.

A request proves itself one of three ways, tried in this order:

1. a signed machine request (``X-Zhifa-Key`` … ``X-Zhifa-Signature``, see domain/signatures.py);
2. ``Authorization: Bearer <token>`` from ``POST /api/v1/auth/token``;
3. the ``zhifa_session`` cookie of a signed-in browser; its unsafe requests (POST, PUT, PATCH,
   DELETE) must also carry the session's CSRF token, as the ``csrf_token`` form field or the
   ``X-CSRF-Token`` header (synchroniser-token pattern).

Every route depends on exactly one ``Requires(permission)`` or ``Public()``; the route × role
matrix test fails on a route that declares neither.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from zhifa.bootstrap import App
from zhifa.domain.credentials import SessionKind
from zhifa.domain.errors import DomainError
from zhifa.domain.permissions import Forbidden, Permission, Principal
from zhifa.domain.signatures import (
    KEY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    SignedRequest,
)
from zhifa.services import accounts
from zhifa.services.accounts import NotAuthenticated

SESSION_COOKIE = "zhifa_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RateLimited(DomainError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"请求过于频繁，请{int(retry_after) + 1}秒后重试")
        self.retry_after = int(retry_after) + 1


class CsrfRefused(Forbidden):
    pass


def client_address(request: Request) -> str:
    # Behind a reverse proxy, run uvicorn with --proxy-headers and --forwarded-allow-ips so this
    # is the real client rather than the proxy.
    return request.client.host if request.client else ""


def limit(request: Request, which: str) -> None:
    app: App = request.app.state.zhifa
    limiter = app.login_limiter if which == "login" else app.public_limiter
    wait = limiter.retry_after(f"{which}:{client_address(request)}")
    if wait > 0:
        raise RateLimited(wait)


async def _authenticate(request: Request) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    app: App = request.app.state.zhifa
    deps = app.account_deps
    ip = client_address(request)
    headers = request.headers
    principal: Principal
    if KEY_HEADER in headers:
        try:
            signed = SignedRequest.parse(
                headers[KEY_HEADER],
                headers.get(TIMESTAMP_HEADER, ""),
                headers.get(NONCE_HEADER, ""),
                headers.get(SIGNATURE_HEADER, ""),
            )
        except BadSignature as exc:
            raise NotAuthenticated(str(exc)) from exc
        body = await request.body()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        principal = await run_in_threadpool(
            accounts.authenticate_key, deps, signed, request.method, path, body, ip
        )
    elif headers.get("authorization", "").lower().startswith("bearer "):
        token = headers["authorization"][7:].strip()
        principal, _ = await run_in_threadpool(
            accounts.authenticate_session, deps, token, SessionKind.BEARER, ip
        )
    elif SESSION_COOKIE in request.cookies:
        principal, session = await run_in_threadpool(
            accounts.authenticate_session, deps, request.cookies[SESSION_COOKIE], SessionKind.WEB, ip
        )
        request.state.csrf_token = session.csrf_token
        if request.method in UNSAFE_METHODS:
            await _check_csrf(request, session.csrf_token)
    else:
        raise NotAuthenticated("未登录：请先登录（API 客户端请使用 Bearer 令牌或签名请求）")
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette keeps the parsed form for the route's own Form() fields
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused("表单已失效（CSRF 校验未通过），请刷新页面后重试")


class Requires:
    """Depend on this to declare the route's permission; it yields the authenticated principal."""

    def __init__(self, permission: Permission) -> None:
        if permission is Permission.PUBLIC:
            raise ValueError("use Public() for routes without sign-in")
        self.permission = permission

    async def __call__(self, request: Request) -> Principal:
        principal = await _authenticate(request)
        principal.require(self.permission)
        return principal

    def __repr__(self) -> str:
        return f"Requires({self.permission.value})"


class Public:
    """Declares a route open without sign-in; rate-limited per client address."""

    permission = Permission.PUBLIC

    def __init__(self, bucket: str = "public") -> None:
        self.bucket = bucket

    async def __call__(self, request: Request) -> None:
        limit(request, self.bucket)


def requires(permission: Permission) -> Any:
    return Depends(Requires(permission))


def public(bucket: str = "public") -> Any:
    return Depends(Public(bucket))


def csrf_token(request: Request) -> str:
    """The signed-in browser's CSRF token, for the forms of the page being rendered."""
    return str(getattr(request.state, "csrf_token", ""))


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every operation of the application, including those of included routers."""
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield route


def declared_permission(route: Any) -> Permission | None:
    """The permission a route declares through Requires/Public, if any (for the matrix test and docs)."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    found: list[Permission] = []
    while stack:
        dependant = stack.pop()
        call = dependant.call
        if isinstance(call, Requires | Public):
            found.append(call.permission)
        stack.extend(dependant.dependencies)
    if len(found) > 1:
        raise ValueError(f"route {getattr(route, 'path', route)} declares several permissions: {found}")
    return found[0] if found else None
