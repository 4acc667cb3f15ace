"""Weighing sites (治超站 / 不停车检测点) and whether their records may serve as evidence.

- 超限规定 第三十八条: only devices verified by the metrology authority (检定合格) may be used;
  data from a device not verified on schedule, or failing verification, is no basis for
  enforcement.
- 行政处罚法 第四十一条第一款: an electronic monitoring device must pass legal and technical review
  (法制和技术审核) and its location must be published before its records can found a penalty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from zhifa.domain.errors import DomainError
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.legal import Citation, Law, overlimit_rules
from zhifa.domain.overlimit import EXPRESSWAY_ENTRANCE_THRESHOLD_PCT, Tolerance

# JJG 907 动态公路车辆自动衡器 accuracy classes, and static-scale classes used at fixed stations.
ACCURACY_CLASSES = (Decimal("0.2"), Decimal("0.5"), Decimal(1), Decimal(2), Decimal(5), Decimal(10))


class InvalidSite(DomainError):
    pass


class SiteKind(StrEnum):
    FIXED_STATION = "fixed_station"  # 公路超限检测站 (static scale, vehicles stop)
    WEIGH_IN_MOTION = "weigh_in_motion"  # 不停车检测点 (动态称重, 非现场执法)
    EXPRESSWAY_ENTRANCE = "expressway_entrance"  # 高速公路入口称重检测

    @property
    def label(self) -> str:
        return {
            "fixed_station": "超限检测站",
            "weigh_in_motion": "不停车检测点",
            "expressway_entrance": "高速公路入口称重",
        }[self.value]


@dataclass(frozen=True)
class WeighingSite:
    id: str
    name: str
    kind: SiteKind
    lon: float
    lat: float
    jurisdiction: DivisionCode
    accuracy_class: Decimal
    device_serial: str = ""
    verification_certificate: str = ""  # 检定证书编号
    verified_on: date | None = None
    verification_valid_until: date | None = None
    enforcement_approved_on: date | None = None  # 法制和技术审核通过并向社会公布之日
    road: str = ""  # e.g. G3 京台高速
    tolerance_pct: Decimal | None = None  # overrides the accuracy class when set

    def __post_init__(self) -> None:
        if not self.id.strip() or not self.name.strip():
            raise InvalidSite("a site needs an id and a name")
        if not (-180 <= self.lon <= 180 and -90 <= self.lat <= 90):
            raise InvalidSite(f"site {self.id}: coordinates ({self.lon}, {self.lat}) are not WGS-84")
        if self.accuracy_class not in ACCURACY_CLASSES:
            classes = ", ".join(str(c) for c in ACCURACY_CLASSES)
            raise InvalidSite(f"site {self.id}: accuracy class must be one of {classes}")
        if self.tolerance_pct is not None:
            try:
                Tolerance(deduct_pct=self.tolerance_pct)
            except DomainError as exc:
                raise InvalidSite(f"site {self.id}: {exc}") from None
        if (
            self.verified_on is not None
            and self.verification_valid_until is not None
            and self.verification_valid_until < self.verified_on
        ):
            raise InvalidSite(f"site {self.id}: verification ends before it starts")

    def tolerance(self, entrance_threshold_pct: Decimal = EXPRESSWAY_ENTRANCE_THRESHOLD_PCT) -> Tolerance:
        """The benefit of the doubt this site's readings get (see overlimit.Tolerance).

        Weigh-in-motion deducts the device's accuracy class [S]; expressway entrances apply the
        105 % threshold of 交办公路明电〔2019〕117号 [S]; a static station deducts nothing unless
        the site record says otherwise.
        """
        if self.tolerance_pct is not None:
            deduct = self.tolerance_pct
        elif self.kind is SiteKind.WEIGH_IN_MOTION:
            deduct = self.accuracy_class
        else:
            deduct = Decimal(0)
        threshold = entrance_threshold_pct if self.kind is SiteKind.EXPRESSWAY_ENTRANCE else Decimal(100)
        return Tolerance(deduct_pct=deduct, threshold_pct=threshold)


@dataclass(frozen=True)
class Admissibility:
    """Whether a site's record on a given day may found a penalty, and if not, why."""

    admissible: bool
    reasons: tuple[str, ...]
    basis: tuple[Citation, ...]


VERIFIED_DEVICE = overlimit_rules(38)
REVIEWED_DEVICE = Citation(Law.ADMINISTRATIVE_PENALTY_LAW, 41, 1)


def admissibility(site: WeighingSite, on: date) -> Admissibility:
    """Judge the site's device on the local (Asia/Shanghai) date of the weighing."""
    reasons: list[str] = []
    basis: list[Citation] = []
    if site.verified_on is None or site.verification_valid_until is None:
        reasons.append("检测设备无有效检定记录，检测数据不得作为执法依据")
        basis.append(VERIFIED_DEVICE)
    elif on < site.verified_on:
        reasons.append(
            f"检测时设备尚未检定（检定日期{site.verified_on.isoformat()}），检测数据不得作为执法依据"
        )
        basis.append(VERIFIED_DEVICE)
    elif on > site.verification_valid_until:
        reasons.append(
            f"检测设备检定有效期至{site.verification_valid_until.isoformat()}，已过期，"
            "检测数据不得作为执法依据"
        )
        basis.append(VERIFIED_DEVICE)
    if site.enforcement_approved_on is None or on < site.enforcement_approved_on:
        reasons.append("检测设备未经法制和技术审核或设置地点未向社会公布，记录不得作为处罚证据")
        basis.append(REVIEWED_DEVICE)
    return Admissibility(not reasons, tuple(reasons), tuple(basis))
