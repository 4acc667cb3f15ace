"""The zh-CN pages (Jinja2, server-rendered) beside the API.

Every page but 登录 needs a signed-in user holding the permission the page declares; an anonymous
visit is sent to the login form and comes back afterwards (problems.py).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from zhifa.bootstrap import App
from zhifa.entrypoints.web import alerts, auth, cases, dashboard, sites, weighings
from zhifa.entrypoints.web.common import STATIC, Pages


def install(api: FastAPI) -> None:
    """Mount the pages, their static files and the HTML error page on ``api``."""
    app: App = api.state.zhifa
    pages = Pages(app.policy.zone)
    api.state.web_pages = pages
    # problems.py answers every error outside /api/ with this page instead of problem+json.
    api.state.html_error = pages.error
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, dashboard, weighings, alerts, cases, sites):
        api.include_router(module.router)

    if Exception not in api.exception_handlers:
        # An unexpected failure on a page gets the page layout and no traceback; the API keeps
        # Starlette's plain 500, which is what it answered before the pages existed.
        async def _crash(request: Request, exc: Exception) -> Response:
            if request.url.path.startswith("/api/"):
                return PlainTextResponse("Internal Server Error", status_code=500)
            return pages.error(request, 500, "")

        api.add_exception_handler(Exception, _crash)
