"""The offsite case: its transition table, filing, declining, hearing thresholds and case numbers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypedDict

import pytest

from zhifa.domain.cases import (
    DEFAULT_CASE_NUMBER_TEMPLATE,
    DEFAULT_REQUIRED_IMAGES,
    TRANSITIONS,
    Case,
    CaseEvent,
    CaseNumberFormat,
    CaseRuleViolation,
    CaseStatus,
    InvalidCaseNumberFormat,
    Officer,
    Party,
    PartyKind,
    Procedure,
    approve,
    hearing_applies,
    issue_notice,
    missing_evidence,
    open_offsite_case,
    reject,
)
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.vehicles import PlateColour, VehicleKey
from zhifa.domain.weighings import ImageKind

OPENED_AT = datetime(2026, 5, 1, 2, 3, 9, tzinfo=UTC)
REVIEWED_AT = datetime(2026, 5, 2, 1, 30, tzinfo=UTC)
ISSUED_AT = datetime(2026, 5, 2, 2, 0, tzinfo=UTC)
OFFICER = Officer("张三", "34010001")
CASE_NUMBER = "皖交执罚〔2026〕12号"
KEY = VehicleKey("皖A12345", PlateColour.YELLOW)

CASE = open_offsite_case(
    case_id="C1",
    alert_id="A1",
    weighing_record_id="R1",
    jurisdiction=DivisionCode.parse("340102"),
    vehicle=KEY,
    party=Party(PartyKind.INDIVIDUAL, ""),
    facts="……",
    proposed_penalty={"kind": "fine", "amount_yuan": 4000},
    basis=("《超限运输车辆行驶公路管理规定》第三条第一款第八项",),
    now=OPENED_AT,
)


def test_open_offsite_case_awaits_review() -> None:
    """A new offsite case is 待审核, version 1, without a number."""
    assert CASE.status is CaseStatus.PENDING_REVIEW
    assert CASE.procedure is Procedure.OFFSITE
    assert (CASE.version, CASE.case_number, CASE.filed_at, CASE.reviewed_by) == (1, None, None, None)
    assert CASE.opened_at == OPENED_AT


# ---------------------------------------------------------------------------------------------
# The transition table
# ---------------------------------------------------------------------------------------------

COMMANDS: dict[CaseEvent, Callable[[Case], Case]] = {
    CaseEvent.APPROVE: lambda c: approve(
        c, officer=OFFICER, case_number=CASE_NUMBER, missing=(), now=REVIEWED_AT
    ),
    CaseEvent.REJECT: lambda c: reject(c, officer=OFFICER, reason="车牌识别错误", now=REVIEWED_AT),
    CaseEvent.ISSUE_NOTICE: lambda c: issue_notice(c, document_id="D1", now=ISSUED_AT),
}

ALL_PAIRS = list(itertools.product(CaseStatus, CaseEvent))


def test_table_is_the_documented_procedure() -> None:
    """待审核 → 立案 or 不予立案; 立案 → 通知书. Nothing else."""
    assert TRANSITIONS == {
        (CaseStatus.PENDING_REVIEW, CaseEvent.APPROVE): CaseStatus.FILED,
        (CaseStatus.PENDING_REVIEW, CaseEvent.REJECT): CaseStatus.REJECTED,
        (CaseStatus.FILED, CaseEvent.ISSUE_NOTICE): CaseStatus.NOTICE_ISSUED,
    }


@pytest.mark.parametrize(
    ("status", "event"),
    [pair for pair in ALL_PAIRS if pair not in TRANSITIONS],
    ids=[f"{s.value}-{e.value}" for s, e in ALL_PAIRS if (s, e) not in TRANSITIONS],
)
def test_pairs_outside_the_table_are_refused(status: CaseStatus, event: CaseEvent) -> None:
    """Every (state, event) pair not in TRANSITIONS raises CaseRuleViolation naming state and event."""
    case = replace(
        CASE, status=status, case_number=CASE_NUMBER if status is not CaseStatus.PENDING_REVIEW else None
    )
    with pytest.raises(CaseRuleViolation) as info:
        COMMANDS[event](case)
    assert str(info.value) == f"案件{case.case_number or case.id}当前为“{status.label}”，不能{event.label}"


@pytest.mark.parametrize(
    ("status", "event"), list(TRANSITIONS), ids=[f"{s.value}-{e.value}" for s, e in TRANSITIONS]
)
def test_pairs_in_the_table_move_the_case(status: CaseStatus, event: CaseEvent) -> None:
    """Each allowed pair moves the case to the table's state and bumps its version."""
    case = replace(CASE, status=status)
    moved = COMMANDS[event](case)
    assert moved.status is TRANSITIONS[(status, event)]
    assert moved.version == case.version + 1


# ---------------------------------------------------------------------------------------------
# approve (立案)
# ---------------------------------------------------------------------------------------------


def test_approve_files_the_case() -> None:
    """Filing assigns the number, the filing time and the reviewer; nothing else changes."""
    filed = approve(CASE, officer=OFFICER, case_number=CASE_NUMBER, missing=(), now=REVIEWED_AT)
    assert filed == replace(
        CASE,
        status=CaseStatus.FILED,
        case_number=CASE_NUMBER,
        filed_at=REVIEWED_AT,
        reviewed_by=OFFICER,
        reviewed_at=REVIEWED_AT,
        version=2,
    )


def test_approve_refuses_incomplete_evidence() -> None:
    """行政处罚法第四十一条: a record missing required pictures is not complete; it cannot be filed."""
    with pytest.raises(CaseRuleViolation) as info:
        approve(
            CASE,
            officer=OFFICER,
            case_number=CASE_NUMBER,
            missing=(ImageKind.SIDE, ImageKind.PLATE),
            now=REVIEWED_AT,
        )
    message = str(info.value)
    assert message.startswith("证据不完整，缺少车身侧面照片、车牌特写：")
    assert "行政处罚法第四十一条" in message
    assert message.endswith("不得立案")


@pytest.mark.parametrize("number", ["", "   "], ids=["empty", "blank"])
def test_approve_refuses_empty_case_number(number: str) -> None:
    """A filed case needs its 案号."""
    with pytest.raises(CaseRuleViolation, match=r"filing needs a case number \(案号\)"):
        approve(CASE, officer=OFFICER, case_number=number, missing=(), now=REVIEWED_AT)


def test_missing_evidence_keeps_the_required_order() -> None:
    """The missing kinds come back in the order of the requirement, whatever the set holds."""
    present = {ImageKind.FRONT, ImageKind.SIDE, ImageKind.VIDEO}
    assert missing_evidence(present, DEFAULT_REQUIRED_IMAGES) == (
        ImageKind.REAR,
        ImageKind.PANORAMA,
        ImageKind.PLATE,
    )
    assert missing_evidence(set(ImageKind), DEFAULT_REQUIRED_IMAGES) == ()


@pytest.mark.parametrize(
    ("name", "credential"), [("张三", ""), ("", "34010001"), ("  ", "34010001"), ("张三", "  ")]
)
def test_officer_needs_name_and_credential(name: str, credential: str) -> None:
    """行政处罚法 第四十二条: enforcement by officers with credentials; no credential, no review."""
    with pytest.raises(CaseRuleViolation, match="执法证号"):
        Officer(name, credential)


def test_officer_str_shows_the_credential() -> None:
    """Documents print the officer with the credential number."""
    assert str(OFFICER) == "张三（执法证号34010001）"


# ---------------------------------------------------------------------------------------------
# reject (不予立案) and issue_notice
# ---------------------------------------------------------------------------------------------


def test_reject_records_the_reason() -> None:
    """Declining keeps the reviewer and the trimmed reason; no number is assigned."""
    rejected = reject(CASE, officer=OFFICER, reason="  车牌识别错误 ", now=REVIEWED_AT)
    assert rejected == replace(
        CASE,
        status=CaseStatus.REJECTED,
        reviewed_by=OFFICER,
        reviewed_at=REVIEWED_AT,
        rejection_reason="车牌识别错误",
        version=2,
    )


@pytest.mark.parametrize("reason", ["", " \n "], ids=["empty", "blank"])
def test_reject_needs_a_reason(reason: str) -> None:
    """不予立案 without a reason is refused."""
    with pytest.raises(CaseRuleViolation, match="不予立案须写明理由"):
        reject(CASE, officer=OFFICER, reason=reason, now=REVIEWED_AT)


def test_issue_notice_only_from_filed() -> None:
    """The 违法行为通知书 comes after filing: from 待审核 it is refused, from 已立案 recorded."""
    with pytest.raises(CaseRuleViolation, match="当前为“待审核”，不能制发违法行为通知书"):
        issue_notice(CASE, document_id="D1", now=ISSUED_AT)
    filed = approve(CASE, officer=OFFICER, case_number=CASE_NUMBER, missing=(), now=REVIEWED_AT)
    issued = issue_notice(filed, document_id="D1", now=ISSUED_AT)
    assert issued == replace(
        filed, status=CaseStatus.NOTICE_ISSUED, notice_document_id="D1", notice_issued_at=ISSUED_AT, version=3
    )


def test_party_addressee() -> None:
    """An unidentified party is addressed as the vehicle's owner; a named one by name."""
    assert Party(PartyKind.INDIVIDUAL, "").addressee(KEY) == "皖A12345（黄色）号车辆所有人"
    assert Party(PartyKind.ORGANISATION, "安徽顺达物流有限公司").addressee(KEY) == "安徽顺达物流有限公司"


# ---------------------------------------------------------------------------------------------
# hearing_applies (行政处罚法 第六十三条; 程序规定 第八十条)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_fine", "party", "applies", "reason"),
    [
        pytest.param(10_000, PartyKind.INDIVIDUAL, True, "exactly the threshold is 较大数额", id="ind-at"),
        pytest.param(9_999, PartyKind.INDIVIDUAL, False, "one yuan below", id="ind-below"),
        pytest.param(30_000, PartyKind.INDIVIDUAL, True, "above", id="ind-above"),
        pytest.param(0, PartyKind.INDIVIDUAL, False, "a warning", id="ind-zero"),
        pytest.param(100_000, PartyKind.ORGANISATION, True, "organisation threshold", id="org-at"),
        pytest.param(99_999, PartyKind.ORGANISATION, False, "one yuan below", id="org-below"),
        pytest.param(
            10_000, PartyKind.ORGANISATION, False, "individual threshold is not theirs", id="org-ind"
        ),
    ],
)
def test_hearing_applies(max_fine: int, party: PartyKind, applies: bool, reason: str) -> None:
    """A hearing for 较大数额罚款: at or above the party's threshold (default 10 000 / 100 000 [U])."""
    assert hearing_applies(max_fine, party, individual_yuan=10_000, organisation_yuan=100_000) is applies


# ---------------------------------------------------------------------------------------------
# CaseNumberFormat
# ---------------------------------------------------------------------------------------------


class Place(TypedDict):
    province_abbr: str
    jurisdiction_code: str
    jurisdiction_name: str
    year: int


PLACE: Place = {
    "province_abbr": "皖",
    "jurisdiction_code": "340100",
    "jurisdiction_name": "合肥市",
    "year": 2026,
}


@pytest.mark.parametrize(
    ("template", "seq", "rendered", "series"),
    [
        pytest.param(
            DEFAULT_CASE_NUMBER_TEMPLATE, 12, "皖交执罚〔2026〕12号", "皖交执罚〔2026〕{seq}号", id="default"
        ),
        pytest.param(
            "{province_abbr}交执罚〔{year}〕{seq:05d}号", 12, "皖交执罚〔2026〕00012号",
            "皖交执罚〔2026〕{seq}号", id="zero-padded",
        ),
        pytest.param(
            "{jurisdiction_name}交执罚〔{year}〕{jurisdiction_code}-{seq:04d}号", 7,
            "合肥市交执罚〔2026〕340100-0007号", "合肥市交执罚〔2026〕340100-{seq}号", id="per-jurisdiction",
        ),
        pytest.param("{year}{seq}", 1, "20261", "2026{seq}", id="bare"),
    ],
)  # fmt: skip
def test_case_number_format(template: str, seq: int, rendered: str, series: str) -> None:
    """render() fills every field; series() fills all but the sequence, which keys the counter."""
    fmt = CaseNumberFormat(template)
    assert fmt.render(**PLACE, seq=seq) == rendered
    assert fmt.series(**PLACE) == series


def test_series_differs_by_year() -> None:
    """A new year starts a new series (and so a new counter)."""
    fmt = CaseNumberFormat(DEFAULT_CASE_NUMBER_TEMPLATE)
    assert (
        fmt.series(province_abbr="皖", jurisdiction_code="340100", jurisdiction_name="合肥市", year=2027)
        == "皖交执罚〔2027〕{seq}号"
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param(
            "{province_abbr}{month}〔{year}〕{seq}号", r"unknown fields \['month'\]", id="unknown-field"
        ),
        pytest.param("{province_abbr}交执罚〔{}〕{seq}号", r"unknown fields \[''\]", id="positional"),
        pytest.param("{province_abbr}交执罚〔{year}〕号", r"must contain \{seq\}", id="no-seq"),
        pytest.param("{province_abbr}交执罚{seq}号", r"must contain \{year\}", id="no-year"),
        pytest.param("{province_abbr}交执罚〔{year}〕{seq号", "case-number template", id="unbalanced"),
        pytest.param("{year}{seq:q}", "case-number template", id="bad-format-spec"),
    ],
)
def test_bad_case_number_templates_are_refused(template: str, message: str) -> None:
    """A template that cannot number cases is refused when configured, not when the first case is filed."""
    with pytest.raises(InvalidCaseNumberFormat, match=message):
        CaseNumberFormat(template)


@pytest.mark.parametrize("seq", [0, -1], ids=["zero", "negative"])
def test_sequence_starts_at_one(seq: int) -> None:
    """Case sequence numbers start at 1."""
    with pytest.raises(InvalidCaseNumberFormat, match="start at 1"):
        CaseNumberFormat(DEFAULT_CASE_NUMBER_TEMPLATE).render(**PLACE, seq=seq)
