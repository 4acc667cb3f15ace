"""总览: what a duty officer watches — today's counts, the newest alerts, the review queue.

Everything on it is of the signed-in user's division and those beneath it.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from zhifa.domain.cases import CaseStatus
from zhifa.domain.masking import is_personal_party, shown_party_name
from zhifa.domain.permissions import Permission as P
from zhifa.domain.permissions import Principal
from zhifa.entrypoints.api.deps import AppDep, disclose
from zhifa.entrypoints.api.security import requires
from zhifa.entrypoints.web.common import PagesDep, wants_unmask
from zhifa.services.queries import AlertFilter, CaseFilter, Page, PageRequest

router = APIRouter(include_in_schema=False)

NEWEST = 10
REFRESH_SECONDS = 15


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request, app: AppDep, pages: PagesDep, who: Annotated[Principal, requires(P.DASHBOARD_VIEW)]
) -> HTMLResponse:
    unmask = wants_unmask(request, who)
    now = app.clock.now()
    # "Today" is the officer's day: since local midnight, not UTC midnight (08:00 in Shanghai).
    midnight = datetime.combine(now.astimezone(app.policy.zone).date(), time(), app.policy.zone)
    # The dashboard shows enforcement data only to those who may read it: an administrator or an
    # auditor keeps accounts or the log, not cases (separation of duties).
    show_counts = who.can(P.WEIGHINGS_READ) and who.can(P.ALERTS_READ) and who.can(P.CASES_READ)
    counts = app.read_model.counts(under=who.division, since=midnight) if show_counts else None
    nothing = Page[Any]([], 0, NEWEST, 0)
    alerts = (
        app.read_model.alerts(AlertFilter(under=who.division), PageRequest(NEWEST))
        if who.can(P.ALERTS_READ)
        else nothing
    )
    pending = (
        app.read_model.cases(
            CaseFilter(under=who.division, status=CaseStatus.PENDING_REVIEW.value), PageRequest(NEWEST)
        )
        if who.can(P.CASES_READ)
        else nothing
    )
    personal = [r["id"] for r in pending.items if is_personal_party(r["party_kind"], r["party_name"])]
    if unmask:
        disclose(app, who, "case", personal, ["party_name"])
    return pages.render(
        request,
        "dashboard.html",
        now=now,
        midnight=midnight,
        counts=counts,
        show_counts=show_counts,
        show_alerts=who.can(P.ALERTS_READ),
        show_cases=who.can(P.CASES_READ),
        alerts=alerts.items,
        pending=[
            r | {"party_name": shown_party_name(r["party_kind"], r["party_name"], unmask)}
            for r in pending.items
        ],
        pending_total=pending.total,
        # Every reload of an unmasked page is an audited read, and a wall screen must not keep names
        # on show: the unmasked view does not refresh itself.
        refresh_seconds=0 if unmask else REFRESH_SECONDS,
        unmasked=unmask,
        may_unmask=bool(personal) and who.can(P.PERSONAL_DATA_UNMASK),
    )
