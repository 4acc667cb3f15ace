"""预警: the list of alerts and one alert with its frozen evidence and legal basis."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from zhifa.domain.alerts import AlertStatus, Severity
from zhifa.domain.permissions import Permission as P
from zhifa.domain.permissions import Principal
from zhifa.entrypoints.api.deps import AppDep
from zhifa.entrypoints.api.security import requires
from zhifa.entrypoints.web.common import PagesDep, verification_state
from zhifa.entrypoints.web.params import ListParams, enum_options, jurisdiction_options
from zhifa.services.queries import AlertFilter

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, requires(P.ALERTS_READ)]


@router.get("/alerts", response_class=HTMLResponse)
def alert_list(request: Request, app: AppDep, pages: PagesDep, who: Reader) -> HTMLResponse:
    p = ListParams(request, app.policy.zone)
    since, until = p.days()
    f = AlertFilter(
        under=who.scope(p.division()),
        status=p.choice("status", AlertStatus, "状态"),
        severity=p.choice("severity", Severity, "等级"),
        plate=p.text("plate"),
        since=since,
        until=until,
    )
    result = app.read_model.alerts(f, p.page_request)
    return pages.render(
        request,
        "alerts.html",
        rows=result.items,
        pager=p.pager(result.total),
        form=p.values,
        notices=p.invalid,
        jurisdictions=jurisdiction_options(app, who),
        statuses=enum_options(AlertStatus),
        severities=enum_options(Severity),
    )


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_detail(alert_id: str, request: Request, app: AppDep, pages: PagesDep, who: Reader) -> HTMLResponse:
    with app.uow() as uow:
        alert = uow.alerts.get(alert_id)
        case = uow.cases.get_by_alert(alert_id) if alert else None
        jurisdiction = uow.jurisdictions.get(alert.jurisdiction) if alert else None
    # Another jurisdiction's alert is reported as absent, as the API does.
    if alert is None or not who.sees(alert.jurisdiction):
        raise HTTPException(404, f"预警 {alert_id} 不存在")
    site = alert.evidence.get("site") or {}
    # Whether the device was verified is judged on the local day of the weighing, as the rule
    # did (超限规定 第三十八条), not on today.
    weighed_on: date = alert.occurred_at.astimezone(app.policy.zone).date()
    verification = verification_state(site.get("verification_valid_until"), weighed_on, warn_days=0)
    return pages.render(
        request,
        "alert.html",
        alert=alert,
        case=case,
        jurisdiction_name=jurisdiction.name if jurisdiction else alert.jurisdiction.code,
        evidence=alert.evidence,
        site=site,
        verification=verification,
    )
