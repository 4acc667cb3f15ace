"""案件: the case list, the case file (案卷) and the officer's review (立案 or 不予立案).

The reviewer is the signed-in officer, by name and 执法证号 from their account; the review forms
carry the session's CSRF token, which the permission dependency checks. The services decide: a
refusal of the domain (missing evidence, a case no longer awaiting review, an empty reason)
re-renders the case with status 422, the message, and the reason the officer typed.

An individual party's name is personal data: shown masked, in full only to holders of
personal_data:unmask who ask for it (``?unmask=1``), and every such read is audited.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhifa.bootstrap import App
from zhifa.domain.cases import CaseStatus
from zhifa.domain.errors import DomainError
from zhifa.domain.masking import is_personal_party, shown_party_name
from zhifa.domain.permissions import Permission as P
from zhifa.domain.permissions import Principal
from zhifa.entrypoints.api.cases import officer_of, readable_case
from zhifa.entrypoints.api.deps import AppDep, disclose
from zhifa.entrypoints.api.security import requires
from zhifa.entrypoints.web.common import Pages, PagesDep, wants_unmask
from zhifa.entrypoints.web.params import ListParams, enum_options, jurisdiction_options
from zhifa.services import cases as case_service
from zhifa.services.queries import CaseFilter

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, requires(P.CASES_READ)]
Reviewer = Annotated[Principal, requires(P.CASES_REVIEW)]

# The column the reason is stored in bounds it, as the API's RejectIn does.
MAX_REASON = 2000

DONE_MESSAGES = {
    "approved": "审核通过：已立案并制发违法行为通知书。",
    "rejected": "已决定不予立案，理由已记入案件流转记录。",
}

HISTORY_EVENTS = {
    "opened": "生成案件（待审核）",
    "filed": "立案",
    "notice_issued": "制发违法行为通知书",
    "rejected": "不予立案",
}
HISTORY_FIELDS = {
    "alert_id": "预警编号",
    "record_id": "检测单号",
    "case_number": "案号",
    "document_id": "文书编号",
    "sha256": "SHA-256",
    "hearing": "告知听证权利",
    "reason": "理由",
}

FormText = Annotated[str, Form()]


def _with_query(path: str, params: dict[str, str]) -> str:
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, app: AppDep, pages: PagesDep, who: Reader) -> HTMLResponse:
    unmask = wants_unmask(request, who)
    p = ListParams(request, app.policy.zone)
    f = CaseFilter(
        under=who.scope(p.division()),
        status=p.choice("status", CaseStatus, "状态"),
        plate=p.text("plate"),
        case_number=p.text("case_number"),
    )
    result = app.read_model.cases(f, p.page_request)
    personal = [r["id"] for r in result.items if is_personal_party(r["party_kind"], r["party_name"])]
    if unmask:
        disclose(app, who, "case", personal, ["party_name"])
    filters = dict(p.values)
    if p.page > 1:
        filters["page"] = str(p.page)
    if unmask:
        p.values["unmask"] = "1"  # paging on keeps the names shown (each page is audited)
    return pages.render(
        request,
        "cases.html",
        rows=[
            r | {"party_name": shown_party_name(r["party_kind"], r["party_name"], unmask)}
            for r in result.items
        ],
        pager=p.pager(result.total),
        form=p.values,
        notices=p.invalid,
        jurisdictions=jurisdiction_options(app, who),
        statuses=enum_options(CaseStatus),
        unmasked=unmask,
        may_unmask=bool(personal) and who.can(P.PERSONAL_DATA_UNMASK),
        masked_href=_with_query("/cases", filters),
        unmask_href=_with_query("/cases", filters | {"unmask": "1"}),
    )


def _history_detail(detail: dict[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for key, value in detail.items():
        text = ("是" if value else "否") if isinstance(value, bool) else str(value)
        shown.append((HISTORY_FIELDS.get(key, key), text))
    return shown


def _render_case(
    request: Request,
    app: App,
    pages: Pages,
    who: Principal,
    case_id: str,
    *,
    unmask: bool = False,
    status_code: int = 200,
    error: str = "",
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    file = readable_case(app, who, case_id, own=False)
    case = file.case
    personal = is_personal_party(case.party.kind, case.party.name)
    if unmask and personal:
        disclose(app, who, "case", [case.id], ["party_name"])
    images = file.weighing.reading.images
    present = {ref.kind for ref in images}
    missing = [kind for kind in app.policy.required_images if kind not in present]
    history = [
        (entry, HISTORY_EVENTS.get(entry.event, entry.event), _history_detail(entry.detail))
        for entry in file.history
    ]
    done = request.query_params.get("done", "")
    href = f"/cases/{quote(case_id, safe='')}"
    return pages.render(
        request,
        "case.html",
        status_code=status_code,
        file=file,
        case=case,
        party_name=shown_party_name(case.party.kind, case.party.name, unmask),
        unmasked=unmask and personal,
        may_unmask=personal and who.can(P.PERSONAL_DATA_UNMASK),
        masked_href=href,
        unmask_href=f"{href}?unmask=1",
        reading=file.weighing.reading,
        assessment=file.weighing.assessment or {},
        site=file.alert.evidence.get("site") or {},
        images=images,
        missing=missing,
        history=history,
        notice_href=f"/api/v1/cases/{quote(case_id, safe='')}/notice.pdf",
        pending=case.status is CaseStatus.PENDING_REVIEW,
        # Officers hold a 执法证号 by construction (domain/accounts.py); the check keeps the form away
        # from anyone the review would refuse.
        may_review=who.can(P.CASES_REVIEW) and bool(who.credential_number),
        done=DONE_MESSAGES.get(done, "") if status_code == 200 else "",
        error=error,
        typed=typed or {},
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_detail(case_id: str, request: Request, app: AppDep, pages: PagesDep, who: Reader) -> HTMLResponse:
    unmask = wants_unmask(request, who)
    return _render_case(request, app, pages, who, case_id, unmask=unmask)


def _done(case_id: str, what: str) -> RedirectResponse:
    # 303 turns the POST into a GET, so reloading the result page does not review twice.
    return RedirectResponse(f"/cases/{quote(case_id, safe='')}?done={what}", status_code=303)


@router.post("/cases/{case_id}/approve", response_class=HTMLResponse)
def approve(case_id: str, request: Request, app: AppDep, pages: PagesDep, who: Reviewer) -> Response:
    readable_case(app, who, case_id, own=False)  # another jurisdiction's case: 404, as if absent
    officer = officer_of(who)  # an account without 执法证号 may not review: 403
    try:
        case_service.approve_case(app.case_deps, case_id, officer, actor=who.actor)
    except DomainError as exc:
        return _render_case(request, app, pages, who, case_id, status_code=422, error=str(exc))
    return _done(case_id, "approved")


@router.post("/cases/{case_id}/reject", response_class=HTMLResponse)
def reject(
    case_id: str, request: Request, app: AppDep, pages: PagesDep, who: Reviewer, reason: FormText = ""
) -> Response:
    readable_case(app, who, case_id, own=False)
    officer = officer_of(who)
    typed = {"form": "reject", "reason": reason}
    if len(reason) > MAX_REASON:
        error = f"不予立案理由不得超过{MAX_REASON}个字符"
    else:
        try:
            case_service.reject_case(app.case_deps, case_id, officer, reason, actor=who.actor)
        except DomainError as exc:
            error = str(exc)
        else:
            return _done(case_id, "rejected")
    return _render_case(request, app, pages, who, case_id, status_code=422, error=error, typed=typed)
