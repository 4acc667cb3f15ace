"""称重记录: the list of stored weighings and one record with its assessment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from zhifa.domain.permissions import Permission as P
from zhifa.domain.permissions import Principal
from zhifa.domain.weighings import Disposition
from zhifa.entrypoints.api.deps import AppDep
from zhifa.entrypoints.api.security import requires
from zhifa.entrypoints.web.common import PagesDep
from zhifa.entrypoints.web.params import ListParams, enum_options, jurisdiction_options, site_options
from zhifa.services.queries import WeighingFilter

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, requires(P.WEIGHINGS_READ)]


@router.get("/weighings", response_class=HTMLResponse)
def weighing_list(request: Request, app: AppDep, pages: PagesDep, who: Reader) -> HTMLResponse:
    p = ListParams(request, app.policy.zone)
    since, until = p.days()
    f = WeighingFilter(
        under=who.scope(p.division()),
        site_id=p.text("site_id"),
        plate=p.text("plate"),
        disposition=p.choice("disposition", Disposition, "处理结果"),
        since=since,
        until=until,
    )
    result = app.read_model.weighings(f, p.page_request)
    return pages.render(
        request,
        "weighings.html",
        rows=result.items,
        pager=p.pager(result.total),
        form=p.values,
        notices=p.invalid,
        jurisdictions=jurisdiction_options(app, who),
        sites=site_options(app, who),
        dispositions=enum_options(Disposition),
    )


@router.get("/weighings/{record_id}", response_class=HTMLResponse)
def weighing_detail(
    record_id: str, request: Request, app: AppDep, pages: PagesDep, who: Reader
) -> HTMLResponse:
    with app.uow() as uow:
        stored = uow.weighings.get(record_id)
        site = uow.sites.get(stored.reading.site_id) if stored else None
    # Another jurisdiction's record is reported as absent, as the API does: its existence is not
    # this principal's business either.
    if stored is None or not who.sees(stored.jurisdiction):
        raise HTTPException(404, f"称重记录 {record_id} 不存在")
    return pages.render(
        request,
        "weighing.html",
        stored=stored,
        reading=stored.reading,
        site=site,
        assessment=stored.assessment or {},
    )
