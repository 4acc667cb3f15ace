"""Sample domain objects shared by the domain tests: one real-looking weigh-in-motion site."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.sites import SiteKind, WeighingSite

VERIFIED_ON = date(2026, 3, 1)
VALID_UNTIL = date(2027, 2, 28)
APPROVED_ON = date(2026, 3, 15)

# 合肥市瑶海区, class-5 weigh-in-motion, verified for a year, reviewed and published.
WIM_SITE = WeighingSite(
    id="WIM-340102-01",
    name="合肥东不停车检测点",
    kind=SiteKind.WEIGH_IN_MOTION,
    lon=117.35,
    lat=31.87,
    jurisdiction=DivisionCode.parse("340102"),
    accuracy_class=Decimal(5),
    device_serial="DEV-01",
    verification_certificate="皖计检〔2026〕01号",
    verified_on=VERIFIED_ON,
    verification_valid_until=VALID_UNTIL,
    enforcement_approved_on=APPROVED_ON,
    road="G40 沪陕高速",
)
