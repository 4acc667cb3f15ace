"""The HTTP face of the platform: the JSON API under /api/v1 and the zh-CN pages beside it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import text

from zhifa import __version__
from zhifa.bootstrap import App
from zhifa.entrypoints import web
from zhifa.entrypoints.api import alerts, cases, problems, registers, weighings

DESCRIPTION = """智慧交通综合执法监管平台 zhifa — transport enforcement platform.

Ingest weighings, see the alerts they raise and the offsite over-limit cases they open, review
cases and fetch the issued 违法行为通知书. Errors are RFC 9457 problem details. Times are ISO 8601;
stored in UTC, shown in Asia/Shanghai.
"""


def create_api(app: App) -> FastAPI:
    api = FastAPI(title="zhifa", version=__version__, description=DESCRIPTION)
    api.state.zhifa = app
    problems.install(api)
    for module in (weighings, alerts, cases, registers):
        api.include_router(module.router)
    web.install(api)

    @api.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
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
        record = weighings.WeighingRecord.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(record.pop("$defs", {}))
        components["WeighingRecord"] = record
        api.openapi_schema = schema
        return schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api
