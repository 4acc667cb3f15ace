"""Uniform error bodies: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhifa.domain.errors import DomainError
from zhifa.domain.permissions import Forbidden
from zhifa.entrypoints.api.security import RateLimited
from zhifa.services.accounts import AccountNotFound, LoginFailed, NotAuthenticated
from zhifa.services.cases import CaseNotFound
from zhifa.services.ingest import BatchTooLarge
from zhifa.services.ports import BusUnavailable, ConcurrentUpdate, DuplicateKey
from zhifa.services.terminals import TerminalNotFound

PROBLEM = "application/problem+json"
TYPE_BASE = "https://zhifa.example/problems/"  # stable identifiers, documented in docs/api.md


class NotFound(LookupError):
    pass


def problem(status: int, kind: str, detail: str, instance: str = "", **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _respond(request: Request, status: int, kind: str, detail: str, **extra: Any) -> Response:
    # Pages get a page; the API and anything asking for JSON gets problem+json.
    if _is_page(request):
        response: Response = request.app.state.html_error(request, status, detail)
        return response
    return problem(status, kind, detail, request.url.path, **extra)


def _is_page(request: Request) -> bool:
    return getattr(request.app.state, "html_error", None) is not None and not request.url.path.startswith(
        "/api/"
    )


# Failures answered with their message alone: (status, problem type). Starlette picks the handler
# of the most specific class, so Forbidden (a DomainError) is 403, not 422.
PLAIN: dict[type[Exception], tuple[int, str]] = {
    LoginFailed: (401, "login-failed"),
    Forbidden: (403, "forbidden"),
    DomainError: (422, "rule-violated"),
    CaseNotFound: (404, "not-found"),
    AccountNotFound: (404, "not-found"),
    TerminalNotFound: (404, "not-found"),
    NotFound: (404, "not-found"),
    DuplicateKey: (409, "duplicate"),  # services.terminals.VehicleTaken among them
    ConcurrentUpdate: (409, "concurrent-update"),
    BatchTooLarge: (413, "batch-too-large"),
    # Nothing was acknowledged: the sender keeps the batch and sends it again later.
    BusUnavailable: (503, "bus-unavailable"),
}


def _plain(status: int, kind: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        return _respond(request, status, kind, str(exc))

    return handle


def install(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _unauthenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _is_page(request) and request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        response = _respond(request, 401, "unauthenticated", str(exc))
        response.headers["WWW-Authenticate"] = 'Bearer realm="zhifa"'
        return response

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> Response:
        response = _respond(request, 429, "rate-limited", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    for exception, (status, kind) in PLAIN.items():
        app.add_exception_handler(exception, _plain(status, kind))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "reason": e.get("msg", "")}
            for e in exc.errors()
        ]
        return _respond(request, 422, "invalid-request", "the request does not match the API", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _respond(request, exc.status_code, "http", str(exc.detail))
