"""Administrative penalty cases (行政处罚案件): the offsite procedure's first steps.

An over-limit alert opens a case draft awaiting review (待审核) for the jurisdiction where the
vehicle was weighed (交通运输行政执法程序规定 第六条; 超限规定 第五十条). An officer reviews the
device record (行政处罚法 第四十一条第二款) and either files the case (立案, which assigns the case
number) or declines it with a reason. A filed case gets its 违法行为通知书, without which no
penalty may be decided (行政处罚法 第六十二条).

Transitions are an explicit table; a command outside it raises CaseRuleViolation naming the rule.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from zhifa.domain.errors import DomainError
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.vehicles import VehicleKey
from zhifa.domain.weighings import ImageKind


class CaseRuleViolation(DomainError):
    pass


class Procedure(StrEnum):
    OFFSITE = "offsite"  # 非现场执法 (from device records)

    @property
    def label(self) -> str:
        return {"offsite": "非现场执法"}[self.value]


class CaseStatus(StrEnum):
    PENDING_REVIEW = "pending_review"  # 待审核
    REJECTED = "rejected"  # 不予立案
    FILED = "filed"  # 已立案
    NOTICE_ISSUED = "notice_issued"  # 已告知 (违法行为通知书已制作)

    @property
    def label(self) -> str:
        return {
            "pending_review": "待审核",
            "rejected": "不予立案",
            "filed": "已立案",
            "notice_issued": "已制发违法行为通知书",
        }[self.value]


class CaseEvent(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ISSUE_NOTICE = "issue_notice"

    @property
    def label(self) -> str:
        return {"approve": "审核立案", "reject": "不予立案", "issue_notice": "制发违法行为通知书"}[self.value]


TRANSITIONS: dict[tuple[CaseStatus, CaseEvent], CaseStatus] = {
    (CaseStatus.PENDING_REVIEW, CaseEvent.APPROVE): CaseStatus.FILED,
    (CaseStatus.PENDING_REVIEW, CaseEvent.REJECT): CaseStatus.REJECTED,
    (CaseStatus.FILED, CaseEvent.ISSUE_NOTICE): CaseStatus.NOTICE_ISSUED,
}


class PartyKind(StrEnum):
    INDIVIDUAL = "individual"  # 自然人
    ORGANISATION = "organisation"  # 法人或者其他组织

    @property
    def label(self) -> str:
        return {"individual": "自然人", "organisation": "法人或其他组织"}[self.value]


@dataclass(frozen=True)
class Party:
    """Who the case is against. Offsite, the vehicle's registered owner or operator."""

    kind: PartyKind
    name: str  # empty until identified; the notice then addresses the vehicle's owner
    enterprise_id: str | None = None

    def addressee(self, vehicle: VehicleKey) -> str:
        return self.name or f"{vehicle.plate}（{vehicle.colour.label}）号车辆所有人"


@dataclass(frozen=True)
class Officer:
    """An enforcement officer; the credential (执法证号) is what makes a review lawful."""

    name: str
    credential: str

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.credential.strip():
            raise CaseRuleViolation(
                "审核须填写执法人员姓名和执法证号（行政处罚法第四十二条：执法人员应当具有执法资格）"
            )

    def __str__(self) -> str:
        return f"{self.name}（执法证号{self.credential}）"


@dataclass(frozen=True)
class Case:
    id: str
    procedure: Procedure
    status: CaseStatus
    jurisdiction: DivisionCode
    vehicle: VehicleKey
    party: Party
    alert_id: str
    weighing_record_id: str
    opened_at: datetime
    facts: str
    proposed_penalty: dict[str, Any]
    basis: tuple[str, ...]
    case_number: str | None = None
    filed_at: datetime | None = None
    reviewed_by: Officer | None = None
    reviewed_at: datetime | None = None
    rejection_reason: str = ""
    notice_document_id: str | None = None
    notice_issued_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True)
class CaseRecordEntry:
    """One line of the case's history (案件流转记录)."""

    at: datetime
    actor: str
    event: str
    detail: dict[str, Any]


def _move(case: Case, event: CaseEvent) -> CaseStatus:
    try:
        return TRANSITIONS[(case.status, event)]
    except KeyError:
        raise CaseRuleViolation(
            f"案件{case.case_number or case.id}当前为“{case.status.label}”，不能{event.label}"
        ) from None


def open_offsite_case(
    *,
    case_id: str,
    alert_id: str,
    weighing_record_id: str,
    jurisdiction: DivisionCode,
    vehicle: VehicleKey,
    party: Party,
    facts: str,
    proposed_penalty: dict[str, Any],
    basis: tuple[str, ...],
    now: datetime,
) -> Case:
    return Case(
        id=case_id,
        procedure=Procedure.OFFSITE,
        status=CaseStatus.PENDING_REVIEW,
        jurisdiction=jurisdiction,
        vehicle=vehicle,
        party=party,
        alert_id=alert_id,
        weighing_record_id=weighing_record_id,
        opened_at=now,
        facts=facts,
        proposed_penalty=proposed_penalty,
        basis=basis,
    )


def missing_evidence(present: set[ImageKind], required: tuple[ImageKind, ...]) -> tuple[ImageKind, ...]:
    return tuple(kind for kind in required if kind not in present)


def approve(
    case: Case,
    *,
    officer: Officer,
    case_number: str,
    missing: tuple[ImageKind, ...],
    now: datetime,
) -> Case:
    """File the case (立案) after review of the device record.

    行政处罚法 第四十一条第二款: a device record that is not 完整 may not be used as evidence, so
    a case whose required pictures are missing cannot be filed; decline it instead.
    """
    status = _move(case, CaseEvent.APPROVE)
    if missing:
        labels = "、".join(kind.label for kind in missing)
        raise CaseRuleViolation(
            f"证据不完整，缺少{labels}：电子技术监控设备记录应当真实、清晰、完整、准确"
            "（行政处罚法第四十一条第二款），不得立案"
        )
    if not case_number.strip():
        raise CaseRuleViolation("filing needs a case number (案号)")
    return replace(
        case,
        status=status,
        case_number=case_number,
        filed_at=now,
        reviewed_by=officer,
        reviewed_at=now,
        version=case.version + 1,
    )


def reject(case: Case, *, officer: Officer, reason: str, now: datetime) -> Case:
    status = _move(case, CaseEvent.REJECT)
    if not reason.strip():
        raise CaseRuleViolation("不予立案须写明理由")
    return replace(
        case,
        status=status,
        reviewed_by=officer,
        reviewed_at=now,
        rejection_reason=reason.strip(),
        version=case.version + 1,
    )


def issue_notice(case: Case, *, document_id: str, now: datetime) -> Case:
    status = _move(case, CaseEvent.ISSUE_NOTICE)
    return replace(
        case,
        status=status,
        notice_document_id=document_id,
        notice_issued_at=now,
        version=case.version + 1,
    )


def hearing_applies(
    max_fine_yuan: int, party: PartyKind, *, individual_yuan: int, organisation_yuan: int
) -> bool:
    """行政处罚法 第六十三条第一款第一项 / 程序规定 第八十条: 较大数额罚款 gives a right to a hearing.

    The amount is provincial (第八十条第二款); the thresholds are parameters. Where the party is not
    yet known to be an organisation, the individual threshold applies: the lower one, in the
    party's favour.
    """
    threshold = organisation_yuan if party is PartyKind.ORGANISATION else individual_yuan
    return max_fine_yuan >= threshold


CASE_NUMBER_FIELDS = frozenset({"province_abbr", "jurisdiction_code", "jurisdiction_name", "year", "seq"})


class InvalidCaseNumberFormat(DomainError):
    pass


@dataclass(frozen=True)
class CaseNumberFormat:
    """The provincial case-number (案号) format, e.g. ``{province_abbr}交执罚〔{year}〕{seq}号``.

    Each distinct rendering without the sequence number is a series with its own counter, so a
    template that includes the jurisdiction numbers each unit's cases separately.
    """

    template: str

    def __post_init__(self) -> None:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None]
        except ValueError as exc:
            raise InvalidCaseNumberFormat(f"case-number template {self.template!r}: {exc}") from None
        unknown = set(fields) - CASE_NUMBER_FIELDS
        if unknown:
            raise InvalidCaseNumberFormat(
                f"case-number template uses unknown fields {sorted(unknown)}; "
                f"known: {sorted(CASE_NUMBER_FIELDS)}"
            )
        for needed in ("year", "seq"):
            if needed not in fields:
                raise InvalidCaseNumberFormat(f"case-number template must contain {{{needed}}}")
        self.render(
            province_abbr="皖", jurisdiction_code="340100", jurisdiction_name="合肥市", year=2026, seq=1
        )

    def series(self, *, province_abbr: str, jurisdiction_code: str, jurisdiction_name: str, year: int) -> str:
        out = []
        for literal, field, spec, conversion in string.Formatter().parse(self.template):
            out.append(literal)
            if field is None:
                continue
            if field == "seq":
                out.append("{seq}")
                continue
            value = {
                "province_abbr": province_abbr,
                "jurisdiction_code": jurisdiction_code,
                "jurisdiction_name": jurisdiction_name,
                "year": year,
            }[field]
            out.append(format(value, spec or ""))
            del conversion
        return "".join(out)

    def render(
        self, *, province_abbr: str, jurisdiction_code: str, jurisdiction_name: str, year: int, seq: int
    ) -> str:
        if seq < 1:
            raise InvalidCaseNumberFormat("case sequence numbers start at 1")
        try:
            return self.template.format(
                province_abbr=province_abbr,
                jurisdiction_code=jurisdiction_code,
                jurisdiction_name=jurisdiction_name,
                year=year,
                seq=seq,
            )
        except (ValueError, TypeError) as exc:
            raise InvalidCaseNumberFormat(f"case-number template {self.template!r}: {exc}") from None


DEFAULT_CASE_NUMBER_TEMPLATE = "{province_abbr}交执罚〔{year}〕{seq}号"  # [U] RULES.md §3
DEFAULT_REQUIRED_IMAGES = (
    ImageKind.FRONT,
    ImageKind.SIDE,
    ImageKind.REAR,
    ImageKind.PANORAMA,
    ImageKind.PLATE,
)  # [S] RULES.md §1: evidence of a non-site case
