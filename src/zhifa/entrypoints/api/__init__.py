"""The HTTP face of the platform: the JSON API under /api/v1 and the zh-CN pages beside it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import text

from zhifa import __version__
from zhifa.bootstrap import App
from zhifa.domain.permissions import Permission
from zhifa.entrypoints import web
from zhifa.entrypoints.api import (
    accounts,
    alerts,
    cases,
    problems,
    readings,
    registers,
    terminals,
    weighings,
)
from zhifa.entrypoints.api.security import api_routes, declared_permission, public

DESCRIPTION = """智慧交通综合执法监管平台 zhifa — transport enforcement platform.

Ingest weighings, vehicle positions and gantry passages; see the alerts weighings raise and the
offsite over-limit cases they open, review cases and fetch the issued 违法行为通知书. Errors are
RFC 9457 problem details. Times are ISO 8601; stored in UTC, shown in Asia/Shanghai.

Every operation but sign-in and health needs a principal: a bearer token from
`POST /api/v1/auth/token`, or, for machine clients, a request signed with a unit's API key
(HMAC-SHA256; see docs/security.md). Each operation's required permission is given as
`x-permission`; data is limited to the principal's jurisdiction and the ones below it.
"""


def create_api(app: App) -> FastAPI:
    api = FastAPI(title="zhifa", version=__version__, description=DESCRIPTION)
    api.state.zhifa = app
    problems.install(api)
    for router in (
        weighings.router,
        readings.router,
        alerts.router,
        cases.router,
        cases.mine,
        registers.router,
        terminals.router,
        accounts.auth,
        accounts.router,
    ):
        api.include_router(router)
    web.install(api)

    @api.get(
        "/healthz",
        tags=["operations"],
        summary="Liveness and database reachability",
        dependencies=[public()],
    )
    def healthz() -> dict[str, str]:
        with app.engines.read.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": app.engines.dialect}

    def openapi() -> dict[str, Any]:
        if api.openapi_schema:
            return api.openapi_schema
        schema = get_openapi(
            title=api.title, version=api.version, description=api.description, routes=api.routes
        )
        # The batch endpoint validates records one by one, so its body is typed loosely; publish
        # the record schema it applies so clients still see every field.
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (weighings.WeighingRecord, readings.PositionRecord, readings.PassageRecord):
            record = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(record.pop("$defs", {}))
            components[model.__name__] = record
        for route in api_routes(api.routes):
            permission = declared_permission(route)
            if permission is None or not route.include_in_schema:
                continue
            for method in route.methods or ():
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is not None:
                    operation["x-permission"] = permission.value
                    if permission is not Permission.PUBLIC:
                        operation["security"] = [{"bearer": []}, {"signedRequest": []}]
        components = schema.setdefault("components", {})
        components["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "Token from POST /api/v1/auth/token",
            },
            "signedRequest": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Zhifa-Signature",
                "description": "Machine clients: HMAC-SHA256 of the request with the unit's API key, "
                "with X-Zhifa-Key, X-Zhifa-Timestamp and X-Zhifa-Nonce (docs/security.md)",
            },
        }
        api.openapi_schema = schema
        return schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api
