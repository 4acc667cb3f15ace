"""/api/v1/cases: offsite cases — list, case file, review (file or decline), the notice PDF.

Staff read the cases of their jurisdiction under /api/v1/cases; a party or an enterprise reads
its own under /api/v1/my/cases. A party's name is masked unless asked for in full (audited).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from zhifa.bootstrap import App
from zhifa.domain.cases import Case, CaseStatus, Officer, PartyKind, Procedure
from zhifa.domain.masking import is_personal_party, shown_party_name
from zhifa.domain.permissions import Forbidden, Principal
from zhifa.domain.permissions import Permission as P
from zhifa.entrypoints.api.deps import AppDep, PageDep, PageOut, ScopeDep, UnmaskQuery, aware, disclose
from zhifa.entrypoints.api.security import requires
from zhifa.services import cases as case_service
from zhifa.services.privacy import record_disclosure
from zhifa.services.queries import CaseFilter

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
mine = APIRouter(prefix="/api/v1/my/cases", tags=["cases"])
Staff = Annotated[Principal, requires(P.CASES_READ)]
Outsider = Annotated[Principal, requires(P.CASES_READ_OWN)]


class CaseOut(BaseModel):
    id: str
    case_number: str | None
    procedure: Procedure
    status: CaseStatus
    jurisdiction_code: str
    jurisdiction_name: str
    plate: str
    plate_colour: int
    party_kind: PartyKind
    party_name: str
    opened_at: datetime
    proposed_penalty: dict[str, Any]
    reviewer_name: str | None


def _case_list(
    app: App, f: CaseFilter, page: Any, who: Principal, unmask: bool, own: bool
) -> PageOut[CaseOut]:
    result = app.read_model.cases(f, page)
    personal = [r["id"] for r in result.items if is_personal_party(r["party_kind"], r["party_name"])]
    if own:
        record_disclosure(app.uow, app.clock, who.actor, "case", personal, ["party_name"], own=True)
    elif unmask:
        disclose(app, who, "case", personal, ["party_name"])
    rows = [
        r | {"party_name": shown_party_name(r["party_kind"], r["party_name"], unmask or own)}
        for r in result.items
    ]
    return PageOut.of(CaseOut, replace(result, items=rows))


@dataclass(frozen=True)
class CaseQuery:
    """The filters both case lists share (query parameters)."""

    status: CaseStatus | None = None
    plate: Annotated[str | None, Query(description="Plate or its beginning")] = None
    case_number: Annotated[str | None, Query(description="Part of the case number (案号)")] = None
    since: datetime | None = None
    until: datetime | None = None

    def filter(self, app: App, **scope: Any) -> CaseFilter:
        return CaseFilter(
            status=self.status.value if self.status else None,
            plate=self.plate,
            case_number=self.case_number,
            since=aware(self.since, app),
            until=aware(self.until, app),
            **scope,
        )


CaseQueryDep = Annotated[CaseQuery, Depends()]


@router.get("", response_model=PageOut[CaseOut], summary="List cases of the jurisdiction, newest first")
def list_cases(
    app: AppDep, page: PageDep, scope: ScopeDep, who: Staff, query: CaseQueryDep, unmask: UnmaskQuery = False
) -> PageOut[CaseOut]:
    f = query.filter(app, under=who.scope(scope))
    return _case_list(app, f, page, who, unmask, own=False)


@mine.get("", response_model=PageOut[CaseOut], summary="My cases: a party's or an enterprise's own")
def list_my_cases(app: AppDep, page: PageDep, who: Outsider, query: CaseQueryDep) -> PageOut[CaseOut]:
    f = query.filter(
        app,
        own_only=True,
        own_enterprise_id=who.enterprise_id,
        own_vehicles=tuple(sorted((k.plate, int(k.colour)) for k in who.vehicles)),
    )
    return _case_list(app, f, page, who, unmask=False, own=True)


class HistoryEntryOut(BaseModel):
    at: datetime
    actor: str
    event: str
    detail: dict[str, Any]


class DocumentOut(BaseModel):
    id: str
    kind: str
    title: str
    case_number: str
    sha256: str
    media_type: str
    size: int
    created_at: datetime


class CaseDetail(BaseModel):
    id: str
    case_number: str | None
    procedure: Procedure
    status: CaseStatus
    jurisdiction_code: str
    jurisdiction_name: str
    plate: str
    plate_colour: int
    party_kind: str
    party_name: str
    opened_at: datetime
    facts: str
    proposed_penalty: dict[str, Any]
    basis: list[str]
    alert_id: str
    weighing_record_id: str
    evidence: dict[str, Any]
    filed_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    rejection_reason: str
    notice_document_id: str | None
    notice_issued_at: datetime | None
    version: int
    documents: list[DocumentOut]
    history: list[HistoryEntryOut]


def _detail(file: case_service.CaseFile, unmasked: bool) -> CaseDetail:
    case: Case = file.case
    return CaseDetail(
        id=case.id,
        case_number=case.case_number,
        procedure=case.procedure,
        status=case.status,
        jurisdiction_code=case.jurisdiction.code,
        jurisdiction_name=file.jurisdiction_name,
        plate=case.vehicle.plate,
        plate_colour=int(case.vehicle.colour),
        party_kind=case.party.kind.value,
        party_name=shown_party_name(case.party.kind, case.party.name, unmasked),
        opened_at=case.opened_at,
        facts=case.facts,
        proposed_penalty=case.proposed_penalty,
        basis=list(case.basis),
        alert_id=case.alert_id,
        weighing_record_id=case.weighing_record_id,
        evidence=file.alert.evidence,
        filed_at=case.filed_at,
        reviewed_by=str(case.reviewed_by) if case.reviewed_by else None,
        reviewed_at=case.reviewed_at,
        rejection_reason=case.rejection_reason,
        notice_document_id=case.notice_document_id,
        notice_issued_at=case.notice_issued_at,
        version=case.version,
        documents=[
            DocumentOut(
                id=d.id,
                kind=d.kind.value,
                title=d.kind.label,
                case_number=d.case_number,
                sha256=d.sha256,
                media_type=d.media_type,
                size=d.size,
                created_at=d.created_at,
            )
            for d in file.documents
        ],
        history=[
            HistoryEntryOut(at=h.at, actor=h.actor, event=h.event, detail=h.detail) for h in file.history
        ],
    )


def readable_case(app: App, who: Principal, case_id: str, *, own: bool) -> case_service.CaseFile:
    """The case file if ``who`` may read it; a case they may not read is reported as absent."""
    file = case_service.case_file(app.case_deps, case_id)
    case = file.case
    allowed = who.owns_case(case.vehicle, case.party.enterprise_id) if own else who.sees(case.jurisdiction)
    if not allowed:
        raise case_service.CaseNotFound(f"案件不存在：{case_id}")
    return file


def _shown(app: App, who: Principal, file: case_service.CaseFile, unmask: bool, own: bool) -> CaseDetail:
    if is_personal_party(file.case.party.kind, file.case.party.name):
        if own:
            record_disclosure(app.uow, app.clock, who.actor, "case", [file.case.id], ["party_name"], own=True)
        elif unmask:
            disclose(app, who, "case", [file.case.id], ["party_name"])
    return _detail(file, unmasked=unmask or own)


@router.get("/{case_id}", response_model=CaseDetail, summary="The case file (案卷)")
def get_case(case_id: str, app: AppDep, who: Staff, unmask: UnmaskQuery = False) -> CaseDetail:
    return _shown(app, who, readable_case(app, who, case_id, own=False), unmask, own=False)


@mine.get("/{case_id}", response_model=CaseDetail, summary="One of my cases")
def get_my_case(case_id: str, app: AppDep, who: Outsider) -> CaseDetail:
    return _shown(app, who, readable_case(app, who, case_id, own=True), unmask=False, own=True)


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the case is not filed (不予立案理由)")


Reviewer = Annotated[Principal, requires(P.CASES_REVIEW)]


def officer_of(who: Principal) -> Officer:
    """The signed-in officer, by name and enforcement credential (行政处罚法 第四十二条)."""
    if not who.credential_number:
        raise Forbidden("审核立案须由持有执法证的执法人员进行")
    return Officer(who.display_name, who.credential_number)


@router.post(
    "/{case_id}/approve",
    response_model=CaseDetail,
    summary="File the case and issue its 违法行为通知书",
    description="The signed-in officer has reviewed the device record (行政处罚法 第四十一条第二款). "
    "Assigns the case number, renders the notice as PDF and stores it by SHA-256. Refused (422) when "
    "required pictures are missing or the case is not awaiting review.",
)
def approve(case_id: str, app: AppDep, who: Reviewer) -> CaseDetail:
    readable_case(app, who, case_id, own=False)
    case_service.approve_case(app.case_deps, case_id, officer_of(who), actor=who.actor)
    return _detail(case_service.case_file(app.case_deps, case_id), unmasked=False)


@router.post("/{case_id}/reject", response_model=CaseDetail, summary="Decline to file the case (不予立案)")
def reject(case_id: str, body: RejectIn, app: AppDep, who: Reviewer) -> CaseDetail:
    readable_case(app, who, case_id, own=False)
    case_service.reject_case(app.case_deps, case_id, officer_of(who), body.reason, actor=who.actor)
    return _detail(case_service.case_file(app.case_deps, case_id), unmasked=False)


@router.get(
    "/{case_id}/notice.pdf",
    response_class=Response,
    summary="The issued 违法行为通知书, byte for byte as issued",
    responses={200: {"content": {"application/pdf": {}}}},
)
def notice(case_id: str, app: AppDep, who: Staff) -> Response:
    readable_case(app, who, case_id, own=False)
    return _notice(app, who, case_id, own=False)


@mine.get(
    "/{case_id}/notice.pdf",
    response_class=Response,
    summary="The 违法行为通知书 of one of my cases",
    responses={200: {"content": {"application/pdf": {}}}},
)
def my_notice(case_id: str, app: AppDep, who: Outsider) -> Response:
    readable_case(app, who, case_id, own=True)
    return _notice(app, who, case_id, own=True)


def _notice(app: App, who: Principal, case_id: str, own: bool) -> Response:
    document, data = case_service.notice_pdf(app.case_deps, case_id)
    # The notice names the party in full: handing it out is a read of personal data.
    record_disclosure(app.uow, app.clock, who.actor, "document", [document.id], ["notice"], own=own)
    filename = f"notice-{document.sha256[:12]}.pdf"
    return Response(
        data,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "ETag": f'"{document.sha256}"',
            "X-Content-SHA256": document.sha256,
        },
    )
