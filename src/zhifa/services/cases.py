"""Use cases of an offsite case: review (file or decline), the notice, and the case file."""

from __future__ import annotations

from dataclasses import dataclass

from zhifa.domain import cases as case_rules
from zhifa.domain.alerts import Alert, finding_from_evidence
from zhifa.domain.audit import SYSTEM, Actor
from zhifa.domain.cases import Case, CaseRecordEntry, CaseRuleViolation, Officer
from zhifa.domain.documents import Document, DocumentKind
from zhifa.domain.jurisdictions import province_abbreviation
from zhifa.domain.notices import build_overlimit_notice
from zhifa.domain.overlimit import assessment_to_dict
from zhifa.domain.sites import WeighingSite
from zhifa.services.audit import note
from zhifa.services.policy import Policy
from zhifa.services.ports import (
    Clock,
    EvidenceStore,
    IdGenerator,
    NoticeRenderer,
    StoredWeighing,
    UnitOfWork,
    UnitOfWorkFactory,
)

PDF = "application/pdf"


class CaseNotFound(LookupError):
    pass


class EvidenceChanged(CaseRuleViolation):
    """Re-assessing the stored evidence no longer gives what the alert recorded."""


@dataclass
class CaseDeps:
    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    evidence: EvidenceStore
    renderer: NoticeRenderer
    policy: Policy


@dataclass(frozen=True)
class CaseFile:
    """Everything the case page shows (案卷)."""

    case: Case
    alert: Alert
    weighing: StoredWeighing
    site: WeighingSite | None
    documents: tuple[Document, ...]
    history: tuple[CaseRecordEntry, ...]
    jurisdiction_name: str


def _load(uow: UnitOfWork, case_id: str) -> tuple[Case, Alert, StoredWeighing]:
    case = uow.cases.get(case_id)
    if case is None:
        raise CaseNotFound(f"案件不存在：{case_id}")
    alert = uow.alerts.get(case.alert_id)
    weighing = uow.weighings.get(case.weighing_record_id)
    if alert is None or weighing is None:  # foreign keys make this impossible; say so if not
        raise CaseNotFound(f"case {case_id} lost its alert or weighing")
    return case, alert, weighing


def case_file(deps: CaseDeps, case_id: str) -> CaseFile:
    with deps.uow() as uow:
        case, alert, weighing = _load(uow, case_id)
        jurisdiction = uow.jurisdictions.get(case.jurisdiction)
        return CaseFile(
            case=case,
            alert=alert,
            weighing=weighing,
            site=uow.sites.get(alert.site_id),
            documents=tuple(uow.documents.for_case(case.id)),
            history=tuple(uow.cases.history(case.id)),
            jurisdiction_name=jurisdiction.name if jurisdiction else case.jurisdiction.code,
        )


def approve_case(deps: CaseDeps, case_id: str, officer: Officer, actor: Actor = SYSTEM) -> Case:
    """File the case (立案) and issue its 违法行为通知书, in one transaction.

    The case number is drawn inside the transaction, so a filing that fails (missing evidence,
    a concurrent review) gives its number back and the series stays gap-free.
    """
    policy = deps.policy
    with deps.uow() as uow:
        case, alert, weighing = _load(uow, case_id)
        finding = finding_from_evidence(alert.evidence, weighing.reading)
        assessment = finding.assess()
        if assessment_to_dict(assessment) != alert.evidence["assessment"]:
            raise EvidenceChanged(
                "re-assessing the stored weighing gives a different result than the alert recorded; "
                "the case must be reviewed again before filing"
            )
        jurisdiction = uow.jurisdictions.get(case.jurisdiction)
        if jurisdiction is None:
            raise CaseRuleViolation(f"jurisdiction {case.jurisdiction} is not registered")
        now = deps.clock.now()
        year = now.astimezone(policy.zone).year
        province = province_abbreviation(case.jurisdiction)
        series = policy.case_numbers.series(
            province_abbr=province,
            jurisdiction_code=jurisdiction.code.code,
            jurisdiction_name=jurisdiction.name,
            year=year,
        )
        number = policy.case_numbers.render(
            province_abbr=province,
            jurisdiction_code=jurisdiction.code.code,
            jurisdiction_name=jurisdiction.name,
            year=year,
            seq=uow.sequences.next(series),
        )
        present = {ref.kind for ref in weighing.reading.images}
        filed = case_rules.approve(
            case,
            officer=officer,
            case_number=number,
            missing=case_rules.missing_evidence(present, policy.required_images),
            now=now,
        )
        uow.cases.save(filed, expected_version=case.version)
        uow.cases.record(case.id, CaseRecordEntry(now, str(officer), "filed", {"case_number": number}))

        notice = build_overlimit_notice(
            case=filed,
            finding=finding,
            assessment=assessment,
            authority=jurisdiction.authority,
            terms=policy.notice_terms,
            issued_at=now,
            zone=policy.zone,
        )
        pdf = deps.renderer.render(notice)
        digest = deps.evidence.put(pdf)
        document = Document(
            id=deps.ids.new_id(),
            case_id=case.id,
            kind=DocumentKind.NOTICE,
            case_number=number,
            sha256=digest,
            media_type=PDF,
            size=len(pdf),
            created_at=now,
        )
        uow.documents.add(document)
        issued = case_rules.issue_notice(filed, document_id=document.id, now=now)
        uow.cases.save(issued, expected_version=filed.version)
        note(
            uow,
            now,
            actor,
            "case.file",
            "case",
            case.id,
            before=case,
            after=issued,
            case_number=number,
            notice_sha256=digest,
        )
        uow.cases.record(
            case.id,
            CaseRecordEntry(
                now,
                str(officer),
                "notice_issued",
                {"document_id": document.id, "sha256": digest, "hearing": notice.hearing_applies},
            ),
        )
        uow.commit()
        return issued


def reject_case(deps: CaseDeps, case_id: str, officer: Officer, reason: str, actor: Actor = SYSTEM) -> Case:
    """Decline to file (不予立案), with the reason on record."""
    with deps.uow() as uow:
        case, _, _ = _load(uow, case_id)
        now = deps.clock.now()
        declined = case_rules.reject(case, officer=officer, reason=reason, now=now)
        uow.cases.save(declined, expected_version=case.version)
        note(uow, now, actor, "case.reject", "case", case.id, before=case, after=declined)
        uow.cases.record(
            case.id, CaseRecordEntry(now, str(officer), "rejected", {"reason": declined.rejection_reason})
        )
        uow.commit()
        return declined


def notice_pdf(deps: CaseDeps, case_id: str) -> tuple[Document, bytes]:
    """The issued notice exactly as issued: the stored bytes, checked against their digest."""
    with deps.uow() as uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise CaseNotFound(f"案件不存在：{case_id}")
        if case.notice_document_id is None:
            raise CaseNotFound(f"案件{case.case_number or case_id}尚未制发违法行为通知书")
        document = uow.documents.get(case.notice_document_id)
    if document is None:
        raise CaseNotFound(f"notice of case {case_id} is missing")
    data = deps.evidence.get(document.sha256)
    if data is None:
        raise CaseNotFound(f"the bytes of notice {document.sha256} are missing from the evidence store")
    return document, data
