"""Weighing sites: validation, the tolerance each kind gives, and whether a record is admissible.

超限规定 第三十八条 (verified devices only) and 行政处罚法 第四十一条第一款 (reviewed, published
devices only) decide admissibility; each table row names the rule it exercises.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from tests.unit.domain.samples import APPROVED_ON, VALID_UNTIL, WIM_SITE
from zhifa.domain.overlimit import Tolerance
from zhifa.domain.sites import (
    ACCURACY_CLASSES,
    REVIEWED_DEVICE,
    VERIFIED_DEVICE,
    InvalidSite,
    SiteKind,
    admissibility,
)

SITE = WIM_SITE

NOT_VERIFIED_TEXT = "检测设备无有效检定记录，检测数据不得作为执法依据"
NOT_REVIEWED_TEXT = "检测设备未经法制和技术审核或设置地点未向社会公布，记录不得作为处罚证据"


def test_citations_are_the_articles_of_the_rules() -> None:
    """The two admissibility rules cite 超限规定 第三十八条 and 行政处罚法 第四十一条第一款."""
    assert str(VERIFIED_DEVICE) == "《超限运输车辆行驶公路管理规定》第三十八条"
    assert str(REVIEWED_DEVICE) == "《中华人民共和国行政处罚法》第四十一条第一款"


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ACCURACY_CLASSES, ids=[str(c) for c in ACCURACY_CLASSES])
def test_every_jjg_907_class_is_accepted(cls: Decimal) -> None:
    """Each accuracy class of JJG 907 (and the static-scale classes) is a valid site."""
    assert replace(SITE, accuracy_class=cls).accuracy_class == cls


@pytest.mark.parametrize(
    "cls", [Decimal(3), Decimal("0.1"), Decimal(0), Decimal(20)], ids=["3", "0.1", "0", "20"]
)
def test_accuracy_class_outside_jjg_907_is_refused(cls: Decimal) -> None:
    """A class not in the set is a data error; the message lists the valid classes."""
    with pytest.raises(InvalidSite, match=r"accuracy class must be one of 0\.2, 0\.5, 1, 2, 5, 10$"):
        replace(SITE, accuracy_class=cls)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        pytest.param(181.0, 31.0, id="lon-over"),
        pytest.param(-180.5, 31.0, id="lon-under"),
        pytest.param(117.0, 90.5, id="lat-over"),
        pytest.param(117.0, -91.0, id="lat-under"),
    ],
)
def test_coordinates_outside_wgs84_are_refused(lon: float, lat: float) -> None:
    """Longitude in [-180, 180] and latitude in [-90, 90], or the site is refused."""
    with pytest.raises(InvalidSite, match="are not WGS-84"):
        replace(SITE, lon=lon, lat=lat)


def test_coordinate_bounds_are_inclusive() -> None:
    """The bounds themselves are valid coordinates."""
    assert replace(SITE, lon=180.0, lat=-90.0).lon == 180.0


def test_verification_ending_before_it_starts_is_refused() -> None:
    """A certificate valid until a day before it was issued is a data error."""
    with pytest.raises(InvalidSite, match="verification ends before it starts"):
        replace(SITE, verified_on=date(2026, 3, 1), verification_valid_until=date(2026, 2, 28))


def test_verification_of_one_day_is_accepted() -> None:
    """Valid until the day it was verified is still a (short) valid period."""
    site = replace(SITE, verified_on=date(2026, 3, 1), verification_valid_until=date(2026, 3, 1))
    assert admissibility(replace(site, enforcement_approved_on=date(2026, 1, 1)), date(2026, 3, 1)).admissible


@pytest.mark.parametrize(("site_id", "name"), [("", "站"), (" ", "站"), ("S1", ""), ("S1", "  ")])
def test_site_needs_id_and_name(site_id: str, name: str) -> None:
    """A site is identified by its id and named on documents."""
    with pytest.raises(InvalidSite, match="a site needs an id and a name"):
        replace(SITE, id=site_id, name=name)


# ---------------------------------------------------------------------------------------------
# tolerance()
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "accuracy_class", "tolerance_pct", "expected", "basis"),
    [
        pytest.param(
            SiteKind.WEIGH_IN_MOTION, Decimal(5), None, Tolerance(Decimal(5), Decimal(100)),
            "weigh-in-motion deducts its accuracy class [S]", id="wim-class-5",
        ),
        pytest.param(
            SiteKind.WEIGH_IN_MOTION, Decimal("0.5"), None, Tolerance(Decimal("0.5"), Decimal(100)),
            "class 0.5 deducts 0.5 %", id="wim-class-0.5",
        ),
        pytest.param(
            SiteKind.WEIGH_IN_MOTION, Decimal(10), None, Tolerance(Decimal(10), Decimal(100)),
            "class 10 deducts 10 %", id="wim-class-10",
        ),
        pytest.param(
            SiteKind.FIXED_STATION, Decimal(5), None, Tolerance(Decimal(0), Decimal(100)),
            "a static scale deducts nothing", id="fixed-station",
        ),
        pytest.param(
            SiteKind.EXPRESSWAY_ENTRANCE, Decimal(5), None, Tolerance(Decimal(0), Decimal(105)),
            "交办公路明电〔2019〕117号: ≤105 % is not over-limit", id="expressway-entrance",
        ),
        pytest.param(
            SiteKind.WEIGH_IN_MOTION, Decimal(5), Decimal(3), Tolerance(Decimal(3), Decimal(100)),
            "the site record overrides the class", id="wim-override",
        ),
        pytest.param(
            SiteKind.WEIGH_IN_MOTION, Decimal(5), Decimal(0), Tolerance(Decimal(0), Decimal(100)),
            "an override of 0 is an override, not 'unset'", id="wim-override-zero",
        ),
        pytest.param(
            SiteKind.FIXED_STATION, Decimal(1), Decimal("2.5"), Tolerance(Decimal("2.5"), Decimal(100)),
            "a static station deducts what its record says", id="fixed-override",
        ),
        pytest.param(
            SiteKind.EXPRESSWAY_ENTRANCE, Decimal(5), Decimal(1), Tolerance(Decimal(1), Decimal(105)),
            "override and entrance threshold together", id="entrance-override",
        ),
    ],
)  # fmt: skip
def test_tolerance_per_kind(
    kind: SiteKind, accuracy_class: Decimal, tolerance_pct: Decimal | None, expected: Tolerance, basis: str
) -> None:
    """The benefit of the doubt each kind of site gives its readings."""
    site = replace(SITE, kind=kind, accuracy_class=accuracy_class, tolerance_pct=tolerance_pct)
    assert site.tolerance() == expected


def test_entrance_threshold_is_a_parameter() -> None:
    """A province may set another entrance threshold; it applies at entrances only."""
    entrance = replace(SITE, kind=SiteKind.EXPRESSWAY_ENTRANCE)
    assert entrance.tolerance(Decimal(110)) == Tolerance(Decimal(0), Decimal(110))
    assert replace(SITE, kind=SiteKind.WEIGH_IN_MOTION).tolerance(Decimal(110)) == Tolerance(
        Decimal(5), Decimal(100)
    )
    assert replace(SITE, kind=SiteKind.FIXED_STATION).tolerance(Decimal(110)) == Tolerance(
        Decimal(0), Decimal(100)
    )


# ---------------------------------------------------------------------------------------------
# admissibility()
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "on", "reasons", "basis"),
    [
        pytest.param({}, date(2026, 6, 1), (), (), id="valid"),
        pytest.param({}, VALID_UNTIL, (), (), id="last-valid-day"),
        pytest.param({}, APPROVED_ON, (), (), id="approval-day"),
        pytest.param(
            {},
            date(2027, 3, 1),
            ("检测设备检定有效期至2027-02-28，已过期，检测数据不得作为执法依据",),
            (VERIFIED_DEVICE,),
            id="day-after-expiry",
        ),
        pytest.param(
            {"enforcement_approved_on": date(2026, 1, 1)},
            date(2026, 2, 28),
            ("检测时设备尚未检定（检定日期2026-03-01），检测数据不得作为执法依据",),
            (VERIFIED_DEVICE,),
            id="before-verification",
        ),
        pytest.param(
            {"verified_on": None, "verification_valid_until": None},
            date(2026, 6, 1),
            (NOT_VERIFIED_TEXT,),
            (VERIFIED_DEVICE,),
            id="no-verification-record",
        ),
        pytest.param(
            {"verification_valid_until": None},
            date(2026, 6, 1),
            (NOT_VERIFIED_TEXT,),
            (VERIFIED_DEVICE,),
            id="verification-without-end",
        ),
        pytest.param(
            {"enforcement_approved_on": None},
            date(2026, 6, 1),
            (NOT_REVIEWED_TEXT,),
            (REVIEWED_DEVICE,),
            id="never-approved",
        ),
        pytest.param(
            {},
            date(2026, 3, 14),
            (NOT_REVIEWED_TEXT,),
            (REVIEWED_DEVICE,),
            id="day-before-approval",
        ),
        pytest.param(
            {"verified_on": None, "verification_valid_until": None, "enforcement_approved_on": None},
            date(2026, 6, 1),
            (NOT_VERIFIED_TEXT, NOT_REVIEWED_TEXT),
            (VERIFIED_DEVICE, REVIEWED_DEVICE),
            id="neither",
        ),
        pytest.param(
            {},
            date(2026, 2, 1),
            ("检测时设备尚未检定（检定日期2026-03-01），检测数据不得作为执法依据", NOT_REVIEWED_TEXT),
            (VERIFIED_DEVICE, REVIEWED_DEVICE),
            id="before-both",
        ),
    ],
)
def test_admissibility(
    changes: dict[str, date | None], on: date, reasons: tuple[str, ...], basis: tuple[object, ...]
) -> None:
    """A record founds a penalty only from a verified (第三十八条), reviewed (第四十一条) device.

    Reasons are Chinese, name the date that decides, and each carries its citation.
    """
    site = replace(SITE, **changes)  # type: ignore[arg-type]
    result = admissibility(site, on)
    assert result.admissible is (not reasons)
    assert result.reasons == reasons
    assert result.basis == basis
