"""总览: what a duty officer watches — today's counts, the newest alerts, the review queue."""

from __future__ import annotations

from datetime import datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from zhifa.domain.cases import CaseStatus
from zhifa.entrypoints.api.deps import AppDep
from zhifa.entrypoints.web.common import PagesDep
from zhifa.services.queries import AlertFilter, CaseFilter, PageRequest

router = APIRouter(include_in_schema=False)

NEWEST = 10
REFRESH_SECONDS = 15


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, app: AppDep, pages: PagesDep) -> HTMLResponse:
    now = app.clock.now()
    # "Today" is the officer's day: since local midnight, not UTC midnight (08:00 in Shanghai).
    midnight = datetime.combine(now.astimezone(app.policy.zone).date(), time(), app.policy.zone)
    counts = app.read_model.counts(since=midnight)
    alerts = app.read_model.alerts(AlertFilter(), PageRequest(NEWEST))
    pending = app.read_model.cases(CaseFilter(status=CaseStatus.PENDING_REVIEW.value), PageRequest(NEWEST))
    return pages.render(
        request,
        "dashboard.html",
        now=now,
        midnight=midnight,
        counts=counts,
        alerts=alerts.items,
        pending=pending.items,
        pending_total=pending.total,
        refresh_seconds=REFRESH_SECONDS,
    )
