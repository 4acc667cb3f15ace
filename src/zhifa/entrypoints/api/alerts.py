"""/api/v1/alerts: what the rules raised, with evidence and legal basis."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from zhifa.domain.alerts import AlertStatus, Severity
from zhifa.domain.permissions import Permission as P
from zhifa.domain.permissions import Principal
from zhifa.entrypoints.api.deps import AppDep, PageDep, PageOut, ScopeDep, aware
from zhifa.entrypoints.api.problems import NotFound
from zhifa.entrypoints.api.security import requires
from zhifa.services.queries import AlertFilter

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AlertOut(BaseModel):
    id: str
    rule_id: str
    severity: Severity
    status: AlertStatus
    plate: str
    plate_colour: int
    site_id: str
    site_name: str
    jurisdiction_code: str
    jurisdiction_name: str
    occurred_at: datetime
    created_at: datetime
    summary: str
    no_case_reason: str
    weighing_record_id: str
    case_id: str | None


@router.get("", response_model=PageOut[AlertOut], summary="List alerts, newest first")
def list_alerts(
    app: AppDep,
    who: Annotated[Principal, requires(P.ALERTS_READ)],
    page: PageDep,
    scope: ScopeDep,
    status: AlertStatus | None = None,
    severity: Severity | None = None,
    plate: Annotated[str | None, Query(description="Plate or its beginning")] = None,
    site_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PageOut[AlertOut]:
    f = AlertFilter(
        under=who.scope(scope),
        status=status.value if status else None,
        severity=severity.value if severity else None,
        plate=plate,
        site_id=site_id,
        since=aware(since, app),
        until=aware(until, app),
    )
    result = app.read_model.alerts(f, page)
    return PageOut.of(AlertOut, result)


class AlertDetail(BaseModel):
    id: str
    rule_id: str
    rule_version: int
    severity: Severity
    status: AlertStatus
    plate: str
    plate_colour: int
    site_id: str
    jurisdiction_code: str
    occurred_at: datetime
    created_at: datetime
    weighing_record_id: str
    summary: str
    evidence: dict[str, Any]
    basis: list[str]
    no_case_reason: str


@router.get("/{alert_id}", response_model=AlertDetail, summary="One alert with its frozen evidence")
def get_alert(alert_id: str, app: AppDep, who: Annotated[Principal, requires(P.ALERTS_READ)]) -> AlertDetail:
    with app.uow() as uow:
        alert = uow.alerts.get(alert_id)
    if alert is None or not who.sees(alert.jurisdiction):
        raise NotFound(f"no alert {alert_id}")
    return AlertDetail(
        id=alert.id,
        rule_id=alert.rule_id,
        rule_version=alert.rule_version,
        severity=alert.severity,
        status=alert.status,
        plate=alert.vehicle.plate,
        plate_colour=int(alert.vehicle.colour),
        site_id=alert.site_id,
        jurisdiction_code=alert.jurisdiction.code,
        occurred_at=alert.occurred_at,
        created_at=alert.created_at,
        weighing_record_id=alert.weighing_record_id,
        summary=alert.summary,
        evidence=alert.evidence,
        basis=list(alert.basis),
        no_case_reason=alert.no_case_reason,
    )
