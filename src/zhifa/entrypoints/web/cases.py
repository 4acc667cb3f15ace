"""案件: the case list, the case file (案卷) and the officer's review (立案 or 不予立案).

The review forms post form-encoded bodies here; the services decide. A refusal of the domain
(missing evidence, a case no longer awaiting review, an empty reason) re-renders the case with
status 422, the message, and what the officer typed.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhifa.bootstrap import App
from zhifa.domain.cases import CaseStatus, Officer
from zhifa.domain.errors import DomainError
from zhifa.entrypoints.api.deps import AppDep
from zhifa.entrypoints.web.common import Pages, PagesDep
from zhifa.entrypoints.web.params import ListParams, enum_options, jurisdiction_options
from zhifa.services import cases as case_service
from zhifa.services.queries import CaseFilter

router = APIRouter(include_in_schema=False)

# The columns the review is stored in (cases.reviewer_name / reviewer_credential) bound these.
MAX_NAME = 64
MAX_CREDENTIAL = 32
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


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, app: AppDep, pages: PagesDep) -> HTMLResponse:
    p = ListParams(request, app.policy.zone)
    f = CaseFilter(
        under=p.division(),
        status=p.choice("status", CaseStatus, "状态"),
        plate=p.text("plate"),
        case_number=p.text("case_number"),
    )
    result = app.read_model.cases(f, p.page_request)
    return pages.render(
        request,
        "cases.html",
        rows=result.items,
        pager=p.pager(result.total),
        form=p.values,
        notices=p.invalid,
        jurisdictions=jurisdiction_options(app),
        statuses=enum_options(CaseStatus),
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
    case_id: str,
    *,
    status_code: int = 200,
    error: str = "",
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    file = case_service.case_file(app.case_deps, case_id)
    images = file.weighing.reading.images
    present = {ref.kind for ref in images}
    missing = [kind for kind in app.policy.required_images if kind not in present]
    history = [
        (entry, HISTORY_EVENTS.get(entry.event, entry.event), _history_detail(entry.detail))
        for entry in file.history
    ]
    done = request.query_params.get("done", "")
    return pages.render(
        request,
        "case.html",
        status_code=status_code,
        file=file,
        case=file.case,
        reading=file.weighing.reading,
        assessment=file.weighing.assessment or {},
        site=file.alert.evidence.get("site") or {},
        images=images,
        missing=missing,
        history=history,
        notice_href=f"/api/v1/cases/{quote(case_id, safe='')}/notice.pdf",
        pending=file.case.status is CaseStatus.PENDING_REVIEW,
        done=DONE_MESSAGES.get(done, "") if status_code == 200 else "",
        error=error,
        typed=typed or {},
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_detail(case_id: str, request: Request, app: AppDep, pages: PagesDep) -> HTMLResponse:
    return _render_case(request, app, pages, case_id)


def _too_long(name: str, credential: str, reason: str = "") -> str:
    if len(name) > MAX_NAME:
        return f"执法人员姓名不得超过{MAX_NAME}个字符"
    if len(credential) > MAX_CREDENTIAL:
        return f"执法证号不得超过{MAX_CREDENTIAL}个字符"
    if len(reason) > MAX_REASON:
        return f"不予立案理由不得超过{MAX_REASON}个字符"
    return ""


def _done(case_id: str, what: str) -> RedirectResponse:
    # 303 turns the POST into a GET, so reloading the result page does not review twice.
    return RedirectResponse(f"/cases/{quote(case_id, safe='')}?done={what}", status_code=303)


# No login and no CSRF token yet: both come with the accounts issue. Until then anyone who can
# reach these pages can review cases, so the platform must only be served on a closed network.
@router.post("/cases/{case_id}/approve", response_class=HTMLResponse)
def approve(
    case_id: str,
    request: Request,
    app: AppDep,
    pages: PagesDep,
    officer_name: FormText = "",
    officer_credential: FormText = "",
) -> Response:
    name, credential = officer_name.strip(), officer_credential.strip()
    typed = {"form": "approve", "officer_name": officer_name, "officer_credential": officer_credential}
    error = _too_long(name, credential)
    if not error:
        try:
            case_service.approve_case(app.case_deps, case_id, Officer(name, credential))
        except DomainError as exc:
            error = str(exc)
        else:
            return _done(case_id, "approved")
    return _render_case(request, app, pages, case_id, status_code=422, error=error, typed=typed)


# See approve: CSRF protection and login arrive with the accounts issue.
@router.post("/cases/{case_id}/reject", response_class=HTMLResponse)
def reject(
    case_id: str,
    request: Request,
    app: AppDep,
    pages: PagesDep,
    officer_name: FormText = "",
    officer_credential: FormText = "",
    reason: FormText = "",
) -> Response:
    name, credential = officer_name.strip(), officer_credential.strip()
    typed = {
        "form": "reject",
        "officer_name": officer_name,
        "officer_credential": officer_credential,
        "reason": reason,
    }
    error = _too_long(name, credential, reason)
    if not error:
        try:
            case_service.reject_case(app.case_deps, case_id, Officer(name, credential), reason)
        except DomainError as exc:
            error = str(exc)
        else:
            return _done(case_id, "rejected")
    return _render_case(request, app, pages, case_id, status_code=422, error=error, typed=typed)
