"""/api/v1/cases: offsite cases — list, case file, review (file or decline), the notice PDF."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from zhifa.domain.cases import Case, CaseStatus, Officer, Procedure
from zhifa.entrypoints.api.deps import AppDep, PageDep, PageOut, ScopeDep, aware
from zhifa.services import cases as case_service
from zhifa.services.queries import CaseFilter

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class CaseOut(BaseModel):
    id: str
    case_number: str | None
    procedure: Procedure
    status: CaseStatus
    jurisdiction_code: str
    jurisdiction_name: str
    plate: str
    plate_colour: int
    party_name: str
    opened_at: datetime
    proposed_penalty: dict[str, Any]
    reviewer_name: str | None


@router.get("", response_model=PageOut[CaseOut], summary="List cases, newest first")
def list_cases(
    app: AppDep,
    page: PageDep,
    scope: ScopeDep,
    status: CaseStatus | None = None,
    plate: Annotated[str | None, Query(description="Plate or its beginning")] = None,
    case_number: Annotated[str | None, Query(description="Part of the case number (案号)")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PageOut[CaseOut]:
    f = CaseFilter(
        under=scope,
        status=status.value if status else None,
        plate=plate,
        case_number=case_number,
        since=aware(since, app),
        until=aware(until, app),
    )
    result = app.read_model.cases(f, page)
    return PageOut.of(CaseOut, result)


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


def _detail(file: case_service.CaseFile) -> CaseDetail:
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
        party_name=case.party.name,
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


@router.get("/{case_id}", response_model=CaseDetail, summary="The case file (案卷)")
def get_case(case_id: str, app: AppDep) -> CaseDetail:
    return _detail(case_service.case_file(app.case_deps, case_id))


class OfficerIn(BaseModel):
    officer_name: str = Field(min_length=1, max_length=64, description="Reviewing officer's name")
    officer_credential: str = Field(
        min_length=1, max_length=32, description="Enforcement credential number (执法证号)"
    )


class RejectIn(OfficerIn):
    reason: str = Field(min_length=1, max_length=2000, description="Why the case is not filed (不予立案理由)")


@router.post(
    "/{case_id}/approve",
    response_model=CaseDetail,
    summary="File the case and issue its 违法行为通知书",
    description="The officer has reviewed the device record (行政处罚法 第四十一条第二款). Assigns the "
    "case number, renders the notice as PDF and stores it by SHA-256. Refused (422) when required "
    "pictures are missing or the case is not awaiting review.",
)
async def approve(case_id: str, body: OfficerIn, app: AppDep) -> CaseDetail:
    officer = Officer(body.officer_name.strip(), body.officer_credential.strip())
    await run_in_threadpool(case_service.approve_case, app.case_deps, case_id, officer)
    return _detail(await run_in_threadpool(case_service.case_file, app.case_deps, case_id))


@router.post("/{case_id}/reject", response_model=CaseDetail, summary="Decline to file the case (不予立案)")
async def reject(case_id: str, body: RejectIn, app: AppDep) -> CaseDetail:
    officer = Officer(body.officer_name.strip(), body.officer_credential.strip())
    await run_in_threadpool(case_service.reject_case, app.case_deps, case_id, officer, body.reason)
    return _detail(await run_in_threadpool(case_service.case_file, app.case_deps, case_id))


@router.get(
    "/{case_id}/notice.pdf",
    response_class=Response,
    summary="The issued 违法行为通知书, byte for byte as issued",
    responses={200: {"content": {"application/pdf": {}}}},
)
def notice(case_id: str, app: AppDep) -> Response:
    document, data = case_service.notice_pdf(app.case_deps, case_id)
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
