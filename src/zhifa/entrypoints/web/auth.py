"""登录 and 退出 of the pages: a password form that opens a web session held in a cookie.

The session cookie is HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site
POSTs) and Secure unless the deployment says otherwise; the pages' own forms also carry the
session's CSRF token. The login form itself is guarded against login CSRF — a foreign site signing
the browser in as the attacker, so what the officer then enters lands in the attacker's account —
by a double-submit token: a random value in a SameSite=Strict cookie, echoed in a hidden field.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhifa.bootstrap import App
from zhifa.domain.audit import Actor
from zhifa.domain.credentials import SessionKind
from zhifa.domain.permissions import Permission as P
from zhifa.domain.permissions import Principal
from zhifa.entrypoints.api.deps import AppDep
from zhifa.entrypoints.api.security import SESSION_COOKIE, client_address, public, requires
from zhifa.entrypoints.web.common import Pages, PagesDep
from zhifa.services import accounts
from zhifa.services.accounts import LoginFailed

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "zhifa_login_csrf"
LOGIN_CSRF_FIELD = "login_csrf"
LOGIN_PATH = "/login"
# As the API's sign-in accepts: longer values are not credentials, and are not worth hashing.
MAX_USERNAME = 64
MAX_PASSWORD = 256
MAX_NEXT = 2000
STALE_FORM = "登录页面已失效，请重新输入用户名和密码"

FormText = Annotated[str, Form()]


def local_target(target: str) -> str:
    """``target`` if it is a path on this site, else ``/``: the redirect after login is no open redirect.

    ``//host`` and ``/\\host`` are other hosts to a browser, and control characters could split
    the Location header; the login page itself would only show the form again.
    """
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or len(target) > MAX_NEXT
        or any(ord(c) < 0x20 or c == "\\" for c in target)
        or target == LOGIN_PATH
        or target.startswith(LOGIN_PATH + "?")
    ):
        return "/"
    return target


def _login_token(request: Request) -> str:
    # An open login tab keeps working when another is opened: the cookie's token is reused.
    existing = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if 32 <= len(existing) <= 64 and existing.replace("-", "").replace("_", "").isalnum():
        return existing
    return secrets.token_urlsafe(32)


def _login_page(
    request: Request,
    app: App,
    pages: Pages,
    *,
    target: str,
    username: str = "",
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    token = _login_token(request)
    response = pages.render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next=local_target(target),
        username=username[:MAX_USERNAME],
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path=LOGIN_PATH,
        secure=app.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.get(LOGIN_PATH, response_class=HTMLResponse, dependencies=[public("login")])
def login_form(request: Request, app: AppDep, pages: PagesDep, next: str = "/") -> HTMLResponse:
    return _login_page(request, app, pages, target=next)


@router.post(LOGIN_PATH, response_class=HTMLResponse, dependencies=[public("login")])
def login(
    request: Request,
    app: AppDep,
    pages: PagesDep,
    username: FormText = "",
    password: FormText = "",
    next: FormText = "/",
    login_csrf: FormText = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(login_csrf.encode(), expected.encode()):
        return _login_page(
            request, app, pages, target=next, username=username, error=STALE_FORM, status_code=403
        )
    try:
        if len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
            raise LoginFailed("用户名或密码错误")
        signed = accounts.sign_in(
            app.account_deps, username, password, SessionKind.WEB, client_address(request)
        )
    except LoginFailed as exc:
        # The password is never sent back; the username is, so only the password is typed again.
        return _login_page(
            request, app, pages, target=next, username=username, error=str(exc), status_code=401
        )
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        # Signing in again in the same browser ends the session it replaces.
        accounts.sign_out(app.account_deps, previous, Actor("user", signed.user.id, signed.user.username))
    response = RedirectResponse(local_target(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        max_age=app.settings.session_max_hours * 3600,
        path="/",
        secure=app.settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(
        LOGIN_CSRF_COOKIE,
        path=LOGIN_PATH,
        secure=app.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request, app: AppDep, who: Annotated[Principal, requires(P.ACCOUNT_SELF)]) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.sign_out(app.account_deps, token, who.actor)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=app.settings.cookie_secure, httponly=True, samesite="lax"
    )
    return response
