"""检测站点: the registered weighing sites and whether their devices may be used as evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from zhifa.domain.permissions import Permission as P
from zhifa.domain.permissions import Principal
from zhifa.entrypoints.api.deps import AppDep
from zhifa.entrypoints.api.security import requires
from zhifa.entrypoints.web.common import EXPIRY_WARNING_DAYS, PagesDep, verification_state

router = APIRouter(include_in_schema=False)


@router.get("/sites", response_class=HTMLResponse)
def site_list(
    request: Request, app: AppDep, pages: PagesDep, who: Annotated[Principal, requires(P.REGISTERS_READ)]
) -> HTMLResponse:
    today = app.clock.now().astimezone(app.policy.zone).date()
    rows: list[dict[str, Any]] = []
    for site in app.read_model.sites(who.division):
        state, state_label = verification_state(site["verification_valid_until"], today, EXPIRY_WARNING_DAYS)
        rows.append({**site, "state": state, "state_label": state_label})
    return pages.render(request, "sites.html", rows=rows, today=today)
