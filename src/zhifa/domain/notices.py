"""The 违法行为通知书 (notice of proposed penalty) of an offsite over-limit case.

Its content is law, so it is built here; adapters only lay it out. What it must say:
- 行政处罚法 第四十四条 / 程序规定 第六十九条: the facts, reasons and legal basis, the proposed
  penalty, and the rights to 陈述 and 申辩 and, where applicable, to a hearing;
- 行政处罚法 第四十五条: the party may state and defend, and will not be penalised more heavily
  for doing so;
- 行政处罚法 第六十三条、第六十四条 / 程序规定 第八十条、第八十二条: a hearing for 较大数额罚款,
  to be requested within 5 days (working days, 处罚法 第八十五条) of receiving the notice;
- 行政处罚法 第四十一条第三款: the party can query, state and defend online;
- weighing slip fields of a non-site over-limit case [S]: slip number, site, time, lane, axles,
  gross mass, limit, excess, excess %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from zhifa.domain.alerts import OverlimitFinding
from zhifa.domain.cases import Case, hearing_applies
from zhifa.domain.legal import Citation, Law
from zhifa.domain.overlimit import Assessment, Dimension, PenaltyKind

NOTICE_TITLE = "违法行为通知书"
HEARING_REQUEST_WORKING_DAYS = 5  # 行政处罚法 第六十四条第一项; 程序规定 第八十二条; 第八十五条: 工作日

ROAD_RULE = Citation(Law.HIGHWAY_SAFETY_REGULATION, 33)
PENALTY_LAW = Citation(Law.HIGHWAY_SAFETY_REGULATION, 64)
STATEMENT_RIGHTS = (
    Citation(Law.ADMINISTRATIVE_PENALTY_LAW, 44),
    Citation(Law.ADMINISTRATIVE_PENALTY_LAW, 45),
)
HEARING_RIGHTS = (
    Citation(Law.ADMINISTRATIVE_PENALTY_LAW, 63),
    Citation(Law.ADMINISTRATIVE_PENALTY_LAW, 64),
    Citation(Law.ENFORCEMENT_PROCEDURE_RULES, 80),
    Citation(Law.ENFORCEMENT_PROCEDURE_RULES, 82),
)
ONLINE_RIGHTS = Citation(Law.ADMINISTRATIVE_PENALTY_LAW, 41, 3)

_DIMENSION_WORDS = {Dimension.HEIGHT: "总高度", Dimension.WIDTH: "总宽度", Dimension.LENGTH: "总长度"}
_DIMENSION_LIMITS = {Dimension.HEIGHT: "4米", Dimension.WIDTH: "2.55米", Dimension.LENGTH: "18.1米"}


@dataclass(frozen=True)
class NoticeTerms:
    """Provincial parameters that shape the notice."""

    hearing_threshold_individual_yuan: int
    hearing_threshold_organisation_yuan: int
    statement_period_working_days: int  # [U] not set by national law; local practice
    public_portal_url: str = ""
    contact: str = ""  # the authority's address and telephone for statements and hearings


class NoNoticeWithoutPenalty(ValueError):
    pass


@dataclass(frozen=True)
class Notice:
    title: str
    case_number: str
    authority: str
    addressee: str
    facts: str
    violated: str
    penalty_basis: str
    proposed_penalty: str
    body: str  # the paragraph that states facts, provisions broken and the proposed penalty
    slip: tuple[tuple[str, str], ...]
    evidence: tuple[tuple[str, str], ...]
    rights: tuple[str, ...]
    hearing_applies: bool
    issued_on: date
    contact: str = ""


def _local(at: datetime, zone: tzinfo) -> str:
    local = at.astimezone(zone)
    return (
        f"{local.year}年{local.month}月{local.day}日"
        f"{local.hour:02d}时{local.minute:02d}分{local.second:02d}秒"
    )


def _mm_as_m(mm: int) -> str:
    return f"{mm / 1000:g}米"


def proposed_penalty_text(assessment: Assessment) -> str:
    penalty = assessment.penalty
    parts = []
    for item in penalty.items:
        if item.kind is PenaltyKind.WARNING:
            parts.append("警告")
    if penalty.kind is PenaltyKind.FINE:
        if penalty.is_range:
            parts.append(f"罚款人民币{penalty.min_yuan}元至{penalty.max_yuan}元（具体数额依照裁量基准确定）")
        else:
            parts.append(f"罚款人民币{penalty.min_yuan}元")
    return "、".join(parts) if parts else "不予处罚"


def facts_text(finding: OverlimitFinding, assessment: Assessment, zone: tzinfo) -> str:
    """The statement of facts, in the words a 违法行为通知书 uses."""
    reading = finding.reading
    site = finding.site
    # On the road a tractor with its trailer is an 汽车列车, whatever the register calls the unit.
    if finding.profile.configuration.combination:
        kind = "汽车列车"
    else:
        kind = finding.profile.kind.label if finding.profile.kind else "货车"
    plate = f"{finding.vehicle.plate}（{finding.vehicle.colour.label}）"
    text = (
        f"{_local(reading.measured_at, zone)}，号牌为{plate}的{reading.axles}轴{kind}"
        f"在{site.name}（{site.road or site.kind.label}）经{site.kind.label}检测"
        f"（检测单号{reading.record_id}）"
    )
    sentences = []
    if assessment.mass_overlimit:
        measured = f"车货总质量{assessment.measured_gross_kg}千克"
        if assessment.tolerance.deduct_bp:
            measured += (
                f"，扣除检测设备允许误差{assessment.tolerance.deduct_pct}%"
                f"后为{assessment.effective_gross_kg}千克"
            )
        sentences.append(
            f"{measured}，超过{assessment.limit_kg}千克的限定标准{assessment.excess_kg}千克，"
            f"超限率{assessment.excess_pct}%"
        )
    dims = {
        Dimension.HEIGHT: reading.height_mm,
        Dimension.WIDTH: reading.width_mm,
        Dimension.LENGTH: reading.length_mm,
    }
    for dim in assessment.dimensions_over:
        value = dims[dim]
        if value is not None:
            sentences.append(
                f"车货{_DIMENSION_WORDS[dim]}{_mm_as_m(value)}，超过{_DIMENSION_LIMITS[dim]}的限定标准"
            )
    return text + "，" + "；".join(sentences) + "。"


def slip_rows(finding: OverlimitFinding, assessment: Assessment, zone: tzinfo) -> tuple[tuple[str, str], ...]:
    reading = finding.reading
    site = finding.site
    rows = [
        ("检测单号", reading.record_id),
        ("检测地点", f"{site.name}（{site.road}）" if site.road else site.name),
        ("检测时间", _local(reading.measured_at, zone)),
        ("车道", str(reading.lane) if reading.lane is not None else "—"),
        ("号牌号码及颜色", str(finding.vehicle)),
        ("轴数", str(reading.axles)),
        ("车货总重", f"{assessment.measured_gross_kg}千克"),
    ]
    if assessment.tolerance.deduct_bp:
        rows.append(
            (
                f"扣除{assessment.tolerance.deduct_pct}%设备允许误差后总重",
                f"{assessment.effective_gross_kg}千克",
            )
        )
    rows += [
        ("限定标准（限重）", f"{assessment.limit_kg}千克"),
        ("超限重量", f"{assessment.excess_kg}千克"),
        ("超限率", f"{assessment.excess_pct}%"),
    ]
    if reading.axle_loads_kg:
        rows.append(("轴重", "、".join(f"{x}千克" for x in reading.axle_loads_kg)))
    if reading.speed_kmh is not None:
        rows.append(("车速", f"{reading.speed_kmh}千米/小时"))
    for dim, value in (
        ("车货总高", reading.height_mm),
        ("车货总宽", reading.width_mm),
        ("车货总长", reading.length_mm),
    ):
        if value is not None:
            rows.append((dim, _mm_as_m(value)))
    rows.append(("检测设备", f"精度等级{site.accuracy_class}级，编号{site.device_serial or '—'}"))
    valid = site.verification_valid_until.isoformat() if site.verification_valid_until else "—"
    rows.append(("计量检定", f"证书{site.verification_certificate or '—'}，有效期至{valid}"))
    return tuple(rows)


def build_overlimit_notice(
    *,
    case: Case,
    finding: OverlimitFinding,
    assessment: Assessment,
    authority: str,
    terms: NoticeTerms,
    issued_at: datetime,
    zone: tzinfo,
) -> Notice:
    if case.case_number is None:
        raise ValueError("a notice is issued only for a filed case with a case number")
    if assessment.penalty.kind is PenaltyKind.NONE:
        raise NoNoticeWithoutPenalty("no penalty is proposed, so there is no 违法行为通知书 to issue")
    party = case.party
    hearing = assessment.penalty.kind is PenaltyKind.FINE and hearing_applies(
        assessment.penalty.max_yuan,
        party.kind,
        individual_yuan=terms.hearing_threshold_individual_yuan,
        organisation_yuan=terms.hearing_threshold_organisation_yuan,
    )
    # 公路安全保护条例 第三十三条 forbids driving over the limits; 超限规定 第三条 says which. A basis
    # without an article (the 105 % entrance telegram) is a benefit to the party, not a rule broken.
    broken = [c for c in assessment.basis if c.article is not None]
    violated = "、".join(str(c) for c in (ROAD_RULE, *broken)) + "的规定"
    penalty_articles = [PENALTY_LAW, *assessment.penalty.basis]
    penalty_basis = "、".join(str(c) for c in penalty_articles)
    you = "你（单位）"
    rights = [
        f"根据{'、'.join(str(c) for c in STATEMENT_RIGHTS)}的规定，{you}有权进行陈述和申辩。"
        f"{you}可以在收到本通知书之日起{terms.statement_period_working_days}个工作日内向本机关提出陈述、申辩意见，"
        "本机关将充分听取并进行复核；事实、理由或者证据成立的，本机关将予以采纳。"
        "本机关不因当事人陈述、申辩而给予更重的处罚。",
    ]
    if hearing:
        rights.append(
            f"根据{'、'.join(str(c) for c in HEARING_RIGHTS)}的规定，拟作出的罚款属于较大数额罚款，"
            f"{you}有权要求举行听证。要求听证的，应当在收到本通知书之日起"
            f"{HEARING_REQUEST_WORKING_DAYS}个工作日内以书面或者口头形式提出；本机关不因当事人要求听证而加重处罚。"
        )
    online = f"根据{ONLINE_RIGHTS}的规定，{you}可以通过本机关公布的查询渠道"
    if terms.public_portal_url:
        online += f"（{terms.public_portal_url}）"
    online += (
        "查询违法记录及证据，并在线提出陈述、申辩。"
        "下列证据文件以SHA-256校验值固定，可据此核验所调取的证据与本通知书所列证据一致。"
    )
    rights.append(online)
    rights.append(f"逾期未提出陈述、申辩{'或者听证要求' if hearing else ''}的，视为放弃上述权利。")

    evidence = tuple(
        (f"{i}. {ref.kind.label}", ref.sha256) for i, ref in enumerate(finding.reading.images, start=1)
    )
    facts = facts_text(finding, assessment, zone)
    proposed = proposed_penalty_text(assessment)
    body = (
        f"经查，{facts}{you}的上述行为违反了{violated}，依据{penalty_basis}的规定，"
        f"本机关拟对{you}作出如下行政处罚：{proposed}。"
    )
    return Notice(
        title=NOTICE_TITLE,
        case_number=case.case_number,
        authority=authority,
        addressee=party.addressee(case.vehicle),
        facts=facts,
        violated=violated,
        penalty_basis=penalty_basis,
        proposed_penalty=proposed,
        body=body,
        slip=slip_rows(finding, assessment, zone),
        evidence=evidence,
        rights=tuple(rights),
        hearing_applies=hearing,
        issued_on=issued_at.astimezone(zone).date(),
        contact=terms.contact,
    )
