"""Reviewing an offsite case: filing with a case number and the notice, or declining.

Issue #2 §7: an officer approves the draft and the platform issues a 违法行为通知书 as a PDF with
case number, facts, weighing slip fields, proposed penalty, articles and the party's rights.
"""

from __future__ import annotations

import hashlib
import re
import threading
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.factories import add_site, make_app, minutes_before, weighing
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.cases import CaseRuleViolation, CaseStatus, Officer
from zhifa.services.cases import CaseNotFound, approve_case, case_file, notice_pdf, reject_case
from zhifa.services.weighings import ingest_weighings

OFFICER = Officer("王执法", "34010020260001")


def _open_case(
    app: App, clock: FakeClock, record_id: str = "W-1", gross_kg: int = 58_000, **kw: object
) -> str:
    add_site(app)
    result = ingest_weighings(
        app.weighing_deps,
        [weighing(record_id, at=minutes_before(clock, 3), gross_kg=gross_kg, **kw)],  # type: ignore[arg-type]
    )
    case_id = result.results[0].case_id
    assert case_id is not None, result.results[0]
    return case_id


def _pdf_text(data: bytes) -> str:
    # CID-font text can come out with stray spaces and line breaks; compare without whitespace.
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages))


def test_approval_files_the_case_and_issues_the_notice(app: App, clock: FakeClock) -> None:
    """Approval assigns 皖交执罚〔2026〕1号, stores the PDF by SHA-256, and the PDF says what the law asks."""
    case_id = _open_case(app, clock)
    issued = approve_case(app.case_deps, case_id, OFFICER)

    assert issued.status is CaseStatus.NOTICE_ISSUED
    assert issued.case_number == "皖交执罚〔2026〕1号"
    assert issued.reviewed_by == OFFICER and issued.filed_at == clock.now()
    document, data = notice_pdf(app.case_deps, case_id)
    assert hashlib.sha256(data).hexdigest() == document.sha256
    assert data.startswith(b"%PDF")

    text = _pdf_text(data)
    for phrase in (
        "违法行为通知书",
        "皖交执罚〔2026〕1号",
        "瑶海区交通运输综合行政执法大队",
        "号牌为皖A12345（黄色）",
        "2026年11月21日09时57分00秒",  # the weighing time, in Asia/Shanghai
        "超过49000千克的限定标准6100千克",
        "超限率12.45%",
        "罚款人民币3000元",
        "《公路安全保护条例》第三十三条",
        "《超限运输车辆行驶公路管理规定》第四十三条第一款第二项",
        "检测单号",
        "W-1",
        "陈述",
        "申辩",
    ):
        assert phrase in text, phrase
    # A 3 000-yuan fine is below the 较大数额 threshold: no hearing right is announced.
    assert "听证" not in text.replace("或者听证要求", "")


def test_large_fine_announces_the_hearing_right(app: App, clock: FakeClock) -> None:
    """58 t over → 29 000 yuan ≥ 10 000 (较大数额, 行政处罚法 第六十三条): the notice offers a hearing,
    to be requested within 5 working days (程序规定 第八十二条)."""
    case_id = _open_case(app, clock, gross_kg=112_000)
    approve_case(app.case_deps, case_id, OFFICER)
    _, data = notice_pdf(app.case_deps, case_id)
    text = _pdf_text(data)
    assert "有权要求举行听证" in text
    assert "5个工作日内" in text
    assert "《中华人民共和国行政处罚法》第六十三条" in text


def test_case_numbers_are_sequential_without_gaps(app: App, clock: FakeClock) -> None:
    """Three approvals, one refused in between (missing picture): numbers 1, 2, 3 — the refused
    filing gives its number back."""
    add_site(app)
    at = minutes_before(clock, 3)
    result = ingest_weighings(
        app.weighing_deps,
        [
            weighing("W-1", at=at, gross_kg=58_000),
            weighing("W-2", at=at, gross_kg=58_000, images=[]),
            weighing("W-3", at=at, gross_kg=58_000),
            weighing("W-4", at=at, gross_kg=58_000),
        ],
    )
    ids = [r.case_id for r in result.results if r.case_id]
    assert len(ids) == 4
    numbers = [approve_case(app.case_deps, ids[0], OFFICER).case_number]
    with pytest.raises(CaseRuleViolation, match="缺少车头照片"):
        approve_case(app.case_deps, ids[1], OFFICER)
    numbers += [approve_case(app.case_deps, i, OFFICER).case_number for i in ids[2:]]
    assert numbers == ["皖交执罚〔2026〕1号", "皖交执罚〔2026〕2号", "皖交执罚〔2026〕3号"]
    refused = case_file(app.case_deps, ids[1])
    assert refused.case.status is CaseStatus.PENDING_REVIEW and refused.case.case_number is None


def test_missing_evidence_blocks_filing(app: App, clock: FakeClock) -> None:
    """行政处罚法 第四十一条第二款: without the side picture the record is not 完整; no filing."""
    images = [
        {"kind": k, "uri": f"https://wim.example/{k}.jpg", "sha256": hashlib.sha256(k.encode()).hexdigest()}
        for k in ("front", "rear", "panorama", "plate")
    ]
    case_id = _open_case(app, clock, images=images)
    with pytest.raises(CaseRuleViolation, match=r"缺少车身侧面照片.*第四十一条"):
        approve_case(app.case_deps, case_id, OFFICER)


def test_rejection_records_the_reason(app: App, clock: FakeClock) -> None:
    """Declining (不予立案) keeps the reason and the officer; the case can no longer be approved."""
    case_id = _open_case(app, clock)
    declined = reject_case(app.case_deps, case_id, OFFICER, "抓拍图片显示车牌为套牌，另案处理")
    assert declined.status is CaseStatus.REJECTED
    file = case_file(app.case_deps, case_id)
    assert file.case.rejection_reason == "抓拍图片显示车牌为套牌，另案处理"
    assert [h.event for h in file.history] == ["opened", "rejected"]
    assert file.history[1].actor == str(OFFICER)
    with pytest.raises(CaseRuleViolation):
        approve_case(app.case_deps, case_id, OFFICER)
    with pytest.raises(CaseNotFound):
        notice_pdf(app.case_deps, case_id)


def test_approving_twice_is_refused(app: App, clock: FakeClock) -> None:
    """A case already carrying its notice cannot be filed again (no second number, no second PDF)."""
    case_id = _open_case(app, clock)
    approve_case(app.case_deps, case_id, OFFICER)
    with pytest.raises(CaseRuleViolation):
        approve_case(app.case_deps, case_id, OFFICER)
    assert len(case_file(app.case_deps, case_id).documents) == 1


def test_case_number_format_is_configurable(tmp_path: Path, clock: FakeClock) -> None:
    """A province that numbers per unit gets one series per jurisdiction: 皖瑶海交罚〔2026〕00001号."""
    app = make_app(
        f"sqlite:///{tmp_path / 'z.db'}",
        tmp_path / "data",
        clock,
        case_number_template="{province_abbr}{jurisdiction_name}交罚〔{year}〕{seq:05d}号",
    )
    try:
        case_id = _open_case(app, clock)
        assert approve_case(app.case_deps, case_id, OFFICER).case_number == "皖瑶海区交罚〔2026〕00001号"
    finally:
        app.close()


def test_year_of_the_case_number_is_the_local_year(app: App, clock: FakeClock) -> None:
    """Filed at 2026-12-31T16:30Z, which is 2027-01-01 00:30 in Beijing: the number says 2027."""
    case_id = _open_case(app, clock)
    clock.set(clock.now().replace(year=2026, month=12, day=31, hour=16, minute=30))
    assert approve_case(app.case_deps, case_id, OFFICER).case_number == "皖交执罚〔2027〕1号"


def test_concurrent_reviews_file_the_case_once(app: App, clock: FakeClock) -> None:
    """Two officers approving the same case at once: one succeeds, the other is refused; one number."""
    case_id = _open_case(app, clock)
    outcomes: list[str] = []

    def review(officer: Officer) -> None:
        try:
            approve_case(app.case_deps, case_id, officer)
            outcomes.append("filed")
        except Exception as exc:  # the loser sees a rule violation or a concurrent update
            outcomes.append(type(exc).__name__)

    threads = [
        threading.Thread(target=review, args=(Officer(f"执法员{i}", f"3401{i:010d}"),)) for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[0] in ("CaseRuleViolation", "ConcurrentUpdate")
    assert outcomes.count("filed") == 1
    assert len(case_file(app.case_deps, case_id).documents) == 1


def test_unknown_case_is_not_found(app: App) -> None:
    with pytest.raises(CaseNotFound):
        approve_case(app.case_deps, "no-such-case", OFFICER)


@pytest.mark.postgres
def test_review_on_each_store(any_app: App, clock: FakeClock) -> None:
    """Filing and the notice work the same on SQLite and PostgreSQL."""
    case_id = _open_case(any_app, clock)
    assert approve_case(any_app.case_deps, case_id, OFFICER).case_number == "皖交执罚〔2026〕1号"
    document, data = notice_pdf(any_app.case_deps, case_id)
    assert hashlib.sha256(data).hexdigest() == document.sha256
