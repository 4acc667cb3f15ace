"""The 违法行为通知书, built through the real chain: reading → site → profile → finding → assess →
case → approve → notice. Every time is a literal; the zone is Asia/Shanghai.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.unit.domain.samples import WIM_SITE
from zhifa.domain.alerts import OverlimitFinding, SiteSnapshot, vehicle_profile
from zhifa.domain.cases import Case, Officer, Party, PartyKind, approve, open_offsite_case
from zhifa.domain.notices import (
    NOTICE_TITLE,
    NoNoticeWithoutPenalty,
    Notice,
    NoticeTerms,
    build_overlimit_notice,
    facts_text,
)
from zhifa.domain.overlimit import DEFAULT_POLICY, Assessment, assessment_to_dict
from zhifa.domain.sites import SiteKind, WeighingSite
from zhifa.domain.vehicles import PlateColour, Vehicle, VehicleKey, VehicleKind
from zhifa.domain.weighings import EvidenceRef, ImageKind, WeighingReading

ZONE = ZoneInfo("Asia/Shanghai")
KEY = VehicleKey("皖A12345", PlateColour.YELLOW)
RECORD_ID = "WIM-340102-01-20260501100304-000001"
MEASURED_AT = datetime(2026, 5, 1, 2, 3, 4, tzinfo=UTC)  # 10:03:04 in Hefei
OPENED_AT = datetime(2026, 5, 1, 2, 3, 9, tzinfo=UTC)
REVIEWED_AT = datetime(2026, 5, 2, 1, 30, tzinfo=UTC)
ISSUED_AT = datetime(2026, 5, 2, 17, 0, tzinfo=UTC)  # 01:00 on 3 May in Hefei
CASE_NUMBER = "皖交执罚〔2026〕12号"
AUTHORITY = "合肥市交通运输综合行政执法支队"
PORTAL = "https://zhifa.example/query"
CONTACT = "合肥市交通运输综合行政执法支队，地址：合肥市瑶海区示例路1号，电话：0551-00000000"
TERMS = NoticeTerms(
    hearing_threshold_individual_yuan=10_000,
    hearing_threshold_organisation_yuan=100_000,
    statement_period_working_days=3,
    public_portal_url=PORTAL,
    contact=CONTACT,
)
KINDS = (ImageKind.FRONT, ImageKind.SIDE, ImageKind.REAR, ImageKind.PANORAMA, ImageKind.PLATE)
IMAGES = tuple(
    EvidenceRef(
        k, f"https://wim.example/{RECORD_ID}/{k.value}.jpg", hashlib.sha256(k.value.encode()).hexdigest()
    )
    for k in KINDS
)

WIM = WIM_SITE
STATION = replace(WIM, id="ST-340102-01", name="合肥东超限检测站", kind=SiteKind.FIXED_STATION)
TRACTOR = Vehicle("v1", KEY, VehicleKind.TRACTOR, axles=3)
UNKNOWN_OWNER = Party(PartyKind.INDIVIDUAL, "")


@dataclass(frozen=True)
class Chain:
    finding: OverlimitFinding
    assessment: Assessment
    filed: Case


def chain(
    gross_kg: int = 60_000,
    *,
    site: WeighingSite = WIM,
    party: Party = UNKNOWN_OWNER,
    registered: Vehicle | None = TRACTOR,
    axles: int = 6,
    height_mm: int | None = None,
    images: tuple[EvidenceRef, ...] = IMAGES,
) -> Chain:
    """The platform's path from a weighing to a filed case, step by step."""
    reading = WeighingReading(
        record_id=RECORD_ID,
        site_id=site.id,
        measured_at=MEASURED_AT,
        vehicle=KEY,
        axles=axles,
        gross_kg=gross_kg,
        axle_loads_kg=(6_000, 10_000, 11_000, 11_000, 11_000, 11_000) if axles == 6 else None,
        height_mm=height_mm,
        speed_kmh=Decimal("62.5"),
        lane=2,
        images=images,
    )
    finding = OverlimitFinding(
        record_id=reading.record_id,
        vehicle=reading.vehicle,
        measured_at=reading.measured_at,
        site=SiteSnapshot.of(site),
        profile=vehicle_profile(reading, registered),
        tolerance=site.tolerance(),
        policy=DEFAULT_POLICY,
        reading=reading,
    )
    assessment = finding.assess()
    case = open_offsite_case(
        case_id="C1",
        alert_id="A1",
        weighing_record_id=reading.record_id,
        jurisdiction=site.jurisdiction,
        vehicle=reading.vehicle,
        party=party,
        facts=facts_text(finding, assessment, ZONE),
        proposed_penalty=assessment_to_dict(assessment)["penalty"],
        basis=tuple(str(c) for c in assessment.basis),
        now=OPENED_AT,
    )
    filed = approve(
        case, officer=Officer("张三", "34010001"), case_number=CASE_NUMBER, missing=(), now=REVIEWED_AT
    )
    return Chain(finding, assessment, filed)


def notice_of(c: Chain, terms: NoticeTerms = TERMS) -> Notice:
    return build_overlimit_notice(
        case=c.filed,
        finding=c.finding,
        assessment=c.assessment,
        authority=AUTHORITY,
        terms=terms,
        issued_at=ISSUED_AT,
        zone=ZONE,
    )


MAIN = chain()
NOTICE = notice_of(MAIN)

# ---------------------------------------------------------------------------------------------
# The main case: a 6-axle train at a class-5 weigh-in-motion site, 60 000 kg measured
# ---------------------------------------------------------------------------------------------


def test_chain_arithmetic() -> None:
    """60 000 kg less 5 % is 57 000 kg: 8 000 kg over 49 000 (16.33 %), 8 × 500 = 4 000 yuan."""
    a = MAIN.assessment
    assert (a.limit_kg, a.effective_gross_kg, a.excess_kg, a.excess_pct) == (
        49_000,
        57_000,
        8_000,
        Decimal("16.33"),
    )
    assert (a.penalty.min_yuan, a.penalty.max_yuan) == (4_000, 4_000)


def test_header_fields() -> None:
    """Title, number, authority, addressee, and the issue date in local time."""
    assert NOTICE.title == NOTICE_TITLE == "违法行为通知书"
    assert NOTICE.case_number == CASE_NUMBER
    assert NOTICE.authority == AUTHORITY
    assert NOTICE.addressee == "皖A12345（黄色）号车辆所有人"
    # 17:00 UTC on 2 May is already 3 May in Hefei.
    assert NOTICE.issued_on == date(2026, 5, 3)
    assert NOTICE.contact == CONTACT


def test_facts_text() -> None:
    """The facts: local time, plate with colour, site, slip number, masses after tolerance, excess."""
    assert NOTICE.facts == (
        "2026年5月1日10时03分04秒，号牌为皖A12345（黄色）的6轴汽车列车"
        "在合肥东不停车检测点（G40 沪陕高速）经不停车检测点检测"
        f"（检测单号{RECORD_ID}），"
        "车货总质量60000千克，扣除检测设备允许误差5%后为57000千克，"
        "超过49000千克的限定标准8000千克，超限率16.33%。"
    )
    local = MEASURED_AT.astimezone(ZONE)
    assert f"{local.hour:02d}时{local.minute:02d}分{local.second:02d}秒" in NOTICE.facts
    assert "号牌为皖A12345（黄色）的" in NOTICE.facts
    assert NOTICE.facts == MAIN.filed.facts  # the case keeps the same statement


def test_violated_provisions() -> None:
    """公路安全保护条例 第三十三条 forbids it; 超限规定 第三条 (the item that applied) defines it."""
    assert NOTICE.violated == (
        "《公路安全保护条例》第三十三条、《超限运输车辆行驶公路管理规定》第三条第一款第八项的规定"
    )


def test_penalty_basis() -> None:
    """The penalty rests on 公路安全保护条例 第六十四条 and 超限规定 第四十三条."""
    assert NOTICE.penalty_basis == (
        "《公路安全保护条例》第六十四条、《超限运输车辆行驶公路管理规定》第四十三条第一款第二项"
    )


def test_body_states_facts_provisions_and_penalty() -> None:
    """The body opens with 经查 and the facts and closes with the proposed penalty."""
    assert NOTICE.proposed_penalty == "罚款人民币4000元"
    assert NOTICE.body.startswith("经查，" + NOTICE.facts)
    assert f"违反了{NOTICE.violated}" in NOTICE.body
    assert f"依据{NOTICE.penalty_basis}的规定" in NOTICE.body
    assert NOTICE.body.endswith("本机关拟对你（单位）作出如下行政处罚：罚款人民币4000元。")


def test_statement_rights() -> None:
    """行政处罚法 第四十四、四十五条: 陈述 and 申辩 within the configured period, and no heavier penalty."""
    first = NOTICE.rights[0]
    assert first.startswith(
        "根据《中华人民共和国行政处罚法》第四十四条、《中华人民共和国行政处罚法》第四十五条的规定"
    )
    assert "陈述" in first
    assert "申辩" in first
    assert "收到本通知书之日起3个工作日内" in first
    assert "不因当事人陈述、申辩而给予更重的处罚" in first


def test_statement_period_is_the_configured_one() -> None:
    """The period is a provincial parameter [U]."""
    notice = notice_of(MAIN, replace(TERMS, statement_period_working_days=7))
    assert "收到本通知书之日起7个工作日内" in notice.rights[0]


def test_no_hearing_below_threshold() -> None:
    """4 000 yuan < 10 000: no hearing paragraph, and the waiver sentence does not mention one."""
    assert NOTICE.hearing_applies is False
    assert not any("听证" in right for right in NOTICE.rights)
    assert NOTICE.rights[-1] == "逾期未提出陈述、申辩的，视为放弃上述权利。"
    assert len(NOTICE.rights) == 3


def test_online_rights_with_portal() -> None:
    """行政处罚法 第四十一条第三款: the party can query and object online, at the published portal."""
    online = NOTICE.rights[1]
    assert online.startswith("根据《中华人民共和国行政处罚法》第四十一条第三款的规定")
    assert f"查询渠道（{PORTAL}）查询违法记录及证据" in online


def test_online_rights_without_portal_or_contact() -> None:
    """Without a configured portal the channel is named without a URL; the contact stays empty."""
    notice = notice_of(MAIN, replace(TERMS, public_portal_url="", contact=""))
    assert "查询渠道查询违法记录及证据" in notice.rights[1]
    assert "https://" not in "".join(notice.rights)
    assert notice.contact == ""


def test_evidence_rows_are_numbered_with_labels_and_digests() -> None:
    """Each picture: its number, its label, its SHA-256."""
    assert NOTICE.evidence == (
        ("1. 车头照片", IMAGES[0].sha256),
        ("2. 车身侧面照片", IMAGES[1].sha256),
        ("3. 车尾照片", IMAGES[2].sha256),
        ("4. 全景照片", IMAGES[3].sha256),
        ("5. 车牌特写", IMAGES[4].sha256),
    )


def test_slip_rows_with_tolerance() -> None:
    """The weighing slip of a weigh-in-motion site, with the row after deducting the tolerance."""
    assert NOTICE.slip == (
        ("检测单号", RECORD_ID),
        ("检测地点", "合肥东不停车检测点（G40 沪陕高速）"),
        ("检测时间", "2026年5月1日10时03分04秒"),
        ("车道", "2"),
        ("号牌号码及颜色", "皖A12345（黄色）"),
        ("轴数", "6"),
        ("车货总重", "60000千克"),
        ("扣除5%设备允许误差后总重", "57000千克"),
        ("限定标准（限重）", "49000千克"),
        ("超限重量", "8000千克"),
        ("超限率", "16.33%"),
        ("轴重", "6000千克、10000千克、11000千克、11000千克、11000千克、11000千克"),
        ("车速", "62.5千米/小时"),
        ("检测设备", "精度等级5级，编号DEV-01"),
        ("计量检定", "证书皖计检〔2026〕01号，有效期至2027-02-28"),
    )


def test_slip_without_tolerance_has_no_deduction_row() -> None:
    """A static station deducts nothing: no 扣除…后总重 row, and the facts say nothing of it."""
    c = chain(58_000, site=STATION)
    notice = notice_of(c)
    labels = [label for label, _ in notice.slip]
    assert not any(label.startswith("扣除") for label in labels)
    assert labels[6:8] == ["车货总重", "限定标准（限重）"]
    assert "扣除" not in notice.facts
    assert "车货总质量58000千克，超过49000千克的限定标准9000千克" in notice.facts


# ---------------------------------------------------------------------------------------------
# The hearing paragraph (行政处罚法 第六十三条; 5 working days)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross_kg", "party_kind", "org_threshold", "max_fine", "hearing"),
    [
        pytest.param(69_000, PartyKind.INDIVIDUAL, 100_000, 10_000, True, id="individual-at-threshold"),
        pytest.param(68_999, PartyKind.INDIVIDUAL, 100_000, 9_500, False, id="individual-below"),
        pytest.param(109_000, PartyKind.ORGANISATION, 100_000, 30_000, False, id="organisation-default"),
        pytest.param(69_000, PartyKind.ORGANISATION, 20_000, 10_000, False, id="organisation-below"),
        pytest.param(89_000, PartyKind.ORGANISATION, 20_000, 20_000, True, id="organisation-at"),
    ],
)
def test_hearing_paragraph(
    gross_kg: int, party_kind: PartyKind, org_threshold: int, max_fine: int, hearing: bool
) -> None:
    """Only when the fine reaches the party's threshold: the paragraph, and the waiver names 听证."""
    party = Party(party_kind, "安徽顺达物流有限公司" if party_kind is PartyKind.ORGANISATION else "")
    c = chain(gross_kg, site=STATION, party=party)
    assert c.assessment.penalty.max_yuan == max_fine
    notice = notice_of(c, replace(TERMS, hearing_threshold_organisation_yuan=org_threshold))
    assert notice.hearing_applies is hearing
    hearing_rights = [r for r in notice.rights if "要求举行听证" in r]
    if hearing:
        (paragraph,) = hearing_rights
        assert paragraph.startswith("根据《中华人民共和国行政处罚法》第六十三条、")
        assert "《交通运输行政执法程序规定》第八十二条" in paragraph
        assert "收到本通知书之日起5个工作日内" in paragraph
        assert notice.rights[-1] == "逾期未提出陈述、申辩或者听证要求的，视为放弃上述权利。"
    else:
        assert hearing_rights == []
        assert notice.rights[-1] == "逾期未提出陈述、申辩的，视为放弃上述权利。"


def test_organisation_is_addressed_by_name() -> None:
    """An identified party is addressed by its name, not as the vehicle's owner."""
    notice = notice_of(chain(party=Party(PartyKind.ORGANISATION, "安徽顺达物流有限公司")))
    assert notice.addressee == "安徽顺达物流有限公司"


# ---------------------------------------------------------------------------------------------
# Other penalties: a range, a warning, both, none
# ---------------------------------------------------------------------------------------------


def test_dimension_range_penalty() -> None:
    """4.3 m high (≤4.5 m): 200-1 000 yuan under 第四十三条第一款第一项, the amount left to the schedule."""
    notice = notice_of(chain(40_000, site=STATION, height_mm=4_300))
    assert notice.proposed_penalty == "罚款人民币200元至1000元（具体数额依照裁量基准确定）"
    assert notice.body.endswith("作出如下行政处罚：罚款人民币200元至1000元（具体数额依照裁量基准确定）。")
    assert notice.facts.endswith("车货总高度4.3米，超过4米的限定标准。")
    assert "车货总质量" not in notice.facts
    assert notice.violated == (
        "《公路安全保护条例》第三十三条、《超限运输车辆行驶公路管理规定》第三条第一款第八项、"
        "《超限运输车辆行驶公路管理规定》第三条第一款第一项的规定"
    )
    assert notice.penalty_basis == (
        "《公路安全保护条例》第六十四条、《超限运输车辆行驶公路管理规定》第四十三条第一款第一项"
    )
    assert ("车货总高", "4.3米") in notice.slip


def test_warning_only() -> None:
    """500 kg over (≤1 000 kg): 警告, no fine and no hearing."""
    notice = notice_of(chain(49_500, site=STATION))
    assert notice.proposed_penalty == "警告"
    assert notice.body.endswith("作出如下行政处罚：警告。")
    assert notice.hearing_applies is False


def test_warning_and_dimension_fine_together() -> None:
    """Items are summed (第四十三条第二款): the warning and the dimension fine both appear."""
    notice = notice_of(chain(49_500, site=STATION, height_mm=4_300))
    assert notice.proposed_penalty == "警告、罚款人民币200元至1000元（具体数额依照裁量基准确定）"


def test_no_notice_without_a_penalty() -> None:
    """Within the limit there is nothing to propose, so no 违法行为通知书."""
    c = chain(48_000, site=STATION)
    with pytest.raises(NoNoticeWithoutPenalty):
        notice_of(c)


def test_no_notice_without_a_case_number() -> None:
    """A case still under review has no 案号: no notice can carry it."""
    c = chain()
    pending = replace(c.filed, case_number=None)
    with pytest.raises(ValueError, match="filed case with a case number"):
        notice_of(Chain(c.finding, c.assessment, pending))


def test_no_images_no_evidence_rows() -> None:
    """A reading without pictures lists no evidence rows (the review would have refused filing)."""
    assert notice_of(chain(images=())).evidence == ()


# ---------------------------------------------------------------------------------------------
# Defect found by this test and fixed: kept so it stays fixed.
# ---------------------------------------------------------------------------------------------


def test_entrance_tolerance_notice_is_not_a_violated_provision() -> None:
    """At an expressway entrance the 105 % threshold is a benefit, not a rule the party broke."""
    notice = notice_of(chain(52_000, site=replace(WIM, kind=SiteKind.EXPRESSWAY_ENTRANCE)))
    assert "117号" not in notice.violated
