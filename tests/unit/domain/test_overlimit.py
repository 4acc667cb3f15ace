"""超限运输车辆行驶公路管理规定 第三条 and 第四十三条, one table row per rule.

Every row carries the provision it proves in its ``basis`` column, and the test checks that the
assessment cites that provision, so a row cannot silently prove something else.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from zhifa.domain.legal import Citation, Law, overlimit_rules
from zhifa.domain.overlimit import (
    EXPRESSWAY_ENTRANCE_THRESHOLD_PCT,
    Dimension,
    Measurement,
    OverlimitInputError,
    PartTonne,
    PenaltyKind,
    PenaltyPolicy,
    Tolerance,
    VehicleConfiguration,
    assess,
    assessment_to_dict,
    dimension_fine_range,
    gross_mass_limit,
    mass_fine_yuan,
)

ENTRANCE = Tolerance(threshold_pct=EXPRESSWAY_ENTRANCE_THRESHOLD_PCT)
EXPRESSWAY_NOTICE = Citation(Law.EXPRESSWAY_ENTRANCE_NOTICE)
COUNT = PenaltyPolicy(PartTonne.COUNT)

# ---------------------------------------------------------------------------------------------
# 第三条第一款第四至八项: the gross-mass limit by axle count; "超过" means strictly over.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("axles", "combination", "single_drive_axle", "limit_kg", "basis"),
    [
        pytest.param(2, False, False, 18_000, overlimit_rules(3, 1, 4), id="2-axle-truck"),
        pytest.param(3, False, False, 25_000, overlimit_rules(3, 1, 5), id="3-axle-truck"),
        pytest.param(3, True, False, 27_000, overlimit_rules(3, 1, 5), id="3-axle-combination"),
        pytest.param(4, False, False, 31_000, overlimit_rules(3, 1, 6), id="4-axle-truck"),
        pytest.param(4, True, False, 36_000, overlimit_rules(3, 1, 6), id="4-axle-combination"),
        pytest.param(5, True, False, 43_000, overlimit_rules(3, 1, 7), id="5-axle-combination"),
        # 第七项 names only the combination: a 5-axle "truck" gets the same limit.
        pytest.param(5, False, False, 43_000, overlimit_rules(3, 1, 7), id="5-axle-not-flagged"),
        # A single drive axle lowers the limit only from six axles on (第八项).
        pytest.param(5, True, True, 43_000, overlimit_rules(3, 1, 7), id="5-axle-single-drive-ignored"),
        pytest.param(6, True, False, 49_000, overlimit_rules(3, 1, 8), id="6-axle"),
        pytest.param(6, True, True, 46_000, overlimit_rules(3, 1, 8), id="6-axle-single-drive"),
        pytest.param(7, True, False, 49_000, overlimit_rules(3, 1, 8), id="7-axle"),
        pytest.param(7, True, True, 46_000, overlimit_rules(3, 1, 8), id="7-axle-single-drive"),
        pytest.param(8, True, False, 49_000, overlimit_rules(3, 1, 8), id="8-axle"),
        pytest.param(8, True, True, 46_000, overlimit_rules(3, 1, 8), id="8-axle-single-drive"),
        pytest.param(20, True, False, 49_000, overlimit_rules(3, 1, 8), id="20-axle"),
        # The combination flag means nothing for two axles.
        pytest.param(2, True, False, 18_000, overlimit_rules(3, 1, 4), id="2-axle-combination-flag"),
    ],
)
def test_gross_mass_limit_by_axles(
    axles: int, combination: bool, single_drive_axle: bool, limit_kg: int, basis: Citation
) -> None:
    vehicle = VehicleConfiguration(axles, combination=combination, single_drive_axle=single_drive_axle)
    limit = gross_mass_limit(vehicle)
    assert limit.kg == limit_kg
    assert limit.basis == (basis,)

    # Exactly at the limit is not 超过.
    at_limit = assess(vehicle, Measurement(limit_kg))
    assert not at_limit.overlimit
    assert not at_limit.mass_overlimit
    assert at_limit.excess_kg == 0
    assert at_limit.penalty.kind is PenaltyKind.NONE
    assert at_limit.basis == (basis,)

    # One kilogram more is.
    over = assess(vehicle, Measurement(limit_kg + 1))
    assert over.overlimit
    assert over.mass_overlimit
    assert over.limit_kg == limit_kg
    assert over.excess_kg == 1
    assert over.penalty.kind is PenaltyKind.WARNING
    assert basis in over.basis


# ---------------------------------------------------------------------------------------------
# 第三条第二款: modifiers of the gross-mass limit.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vehicle", "limit_kg", "basis"),
    [
        # 第二项: 3 000 kg less per non-drive axle with single tyres per side.
        pytest.param(
            VehicleConfiguration(2, single_tyre_axles=1),
            15_000,
            (overlimit_rules(3, 1, 4), overlimit_rules(3, 2, 2)),
            id="single-tyre-2-axle",
        ),
        pytest.param(
            VehicleConfiguration(3, single_tyre_axles=2),
            19_000,
            (overlimit_rules(3, 1, 5), overlimit_rules(3, 2, 2)),
            id="single-tyre-3-axle-truck-two-axles",
        ),
        pytest.param(
            VehicleConfiguration(4, combination=True, single_tyre_axles=1),
            33_000,
            (overlimit_rules(3, 1, 6), overlimit_rules(3, 2, 2)),
            id="single-tyre-4-axle-combination",
        ),
        pytest.param(
            VehicleConfiguration(6, combination=True, single_tyre_axles=3),
            40_000,
            (overlimit_rules(3, 1, 8), overlimit_rules(3, 2, 2)),
            id="single-tyre-6-axle-three-axles",
        ),
        pytest.param(
            VehicleConfiguration(6, combination=True, single_drive_axle=True, single_tyre_axles=1),
            43_000,
            (overlimit_rules(3, 1, 8), overlimit_rules(3, 2, 2)),
            id="single-tyre-6-axle-single-drive",
        ),
        # 第三项: never above the sum of the axle limits ...
        pytest.param(
            VehicleConfiguration(2, axle_load_limits_kg=(7_000, 10_000)),
            17_000,
            (overlimit_rules(3, 1, 4), overlimit_rules(3, 2, 3)),
            id="axle-sum-below-limit",
        ),
        # ... which only ever lowers it ...
        pytest.param(
            VehicleConfiguration(2, axle_load_limits_kg=(7_000, 11_500)),
            18_000,
            (overlimit_rules(3, 1, 4),),
            id="axle-sum-above-limit",
        ),
        # ... and a sum equal to the limit changes nothing.
        pytest.param(
            VehicleConfiguration(2, axle_load_limits_kg=(8_000, 10_000)),
            18_000,
            (overlimit_rules(3, 1, 4),),
            id="axle-sum-equal-to-limit",
        ),
        pytest.param(
            VehicleConfiguration(3, single_tyre_axles=1, axle_load_limits_kg=(6_000, 7_000, 8_000)),
            21_000,
            (overlimit_rules(3, 1, 5), overlimit_rules(3, 2, 2), overlimit_rules(3, 2, 3)),
            id="axle-sum-below-single-tyre-limit",
        ),
        pytest.param(
            VehicleConfiguration(3, single_tyre_axles=1, axle_load_limits_kg=(7_000, 8_000, 8_000)),
            22_000,
            (overlimit_rules(3, 1, 5), overlimit_rules(3, 2, 2)),
            id="axle-sum-above-single-tyre-limit",
        ),
        # 第四项: tractors, farm vehicles and low-speed trucks carry their 行驶证 mass ...
        pytest.param(
            VehicleConfiguration(2, licensed_gross_kg=4_495),
            4_495,
            (overlimit_rules(3, 2, 4),),
            id="licensed-low-speed-truck",
        ),
        # ... which replaces the axle table and its modifiers, even when higher.
        pytest.param(
            VehicleConfiguration(
                2, single_tyre_axles=1, axle_load_limits_kg=(3_000, 3_000), licensed_gross_kg=20_000
            ),
            20_000,
            (overlimit_rules(3, 2, 4),),
            id="licensed-replaces-modifiers",
        ),
    ],
)
def test_gross_mass_limit_modifiers(
    vehicle: VehicleConfiguration, limit_kg: int, basis: tuple[Citation, ...]
) -> None:
    limit = gross_mass_limit(vehicle)
    assert limit.kg == limit_kg
    assert limit.basis == basis

    assert not assess(vehicle, Measurement(limit_kg)).overlimit
    over = assess(vehicle, Measurement(limit_kg + 1))
    assert over.overlimit
    assert over.limit_kg == limit_kg
    assert over.excess_kg == 1
    assert over.basis == basis


def test_gb1589_vehicle_is_not_overlimit() -> None:
    """第三条第二款第五项: a GB 1589-compliant special vehicle is not 超限, whatever it weighs."""
    vehicle = VehicleConfiguration(6, combination=True, gb1589_exempt=True)
    a = assess(vehicle, Measurement(60_000, height_mm=4_600, width_mm=3_800, length_mm=30_000))
    assert not a.overlimit
    assert not a.mass_overlimit
    assert a.limit_kg == 49_000
    assert a.excess_kg == 0
    assert a.excess_pct == Decimal("0.00")
    assert a.dimensions_over == ()
    assert a.penalty.kind is PenaltyKind.NONE
    assert a.penalty.items == ()
    assert a.basis == (overlimit_rules(3, 2, 5),)
    assert a.notes == ("符合GB1589的车辆，不认定为超限运输车辆",)


# ---------------------------------------------------------------------------------------------
# Tolerance [S]: device accuracy deducted (rounded down, in the party's favour) and the
# expressway-entrance threshold of 交办公路明电〔2019〕117号.
# ---------------------------------------------------------------------------------------------

WIM_CLASS_5 = overlimit_rules(3, 1, 4)  # 2-axle rows: the limit proven is 第四项 after deduction


@pytest.mark.parametrize(
    ("tolerance", "measured_kg", "effective_kg", "overlimit", "excess_kg", "within", "basis"),
    [
        # 18 950 × 0.95 = 18 002.5 → 18 002: the half kilogram is the party's.
        pytest.param(
            Tolerance(Decimal(5)), 18_950, 18_002, True, 2, False, WIM_CLASS_5, id="5pct-rounds-down"
        ),
        # 18 948 × 0.95 = 18 000.6 → 18 000: at the limit after deduction, so not over.
        pytest.param(Tolerance(Decimal(5)), 18_948, 18_000, False, 0, True, WIM_CLASS_5, id="5pct-to-limit"),
        pytest.param(Tolerance(Decimal(5)), 18_949, 18_001, True, 1, False, WIM_CLASS_5, id="5pct-limit+1"),
        # 18 463 × 0.975 = 18 001.425 → 18 001.
        pytest.param(
            Tolerance(Decimal("2.5")), 18_463, 18_001, True, 1, False, WIM_CLASS_5, id="2.5pct-rounds-down"
        ),
        # 18 002 × 0.9999 = 18 000.1998 → 18 000.
        pytest.param(
            Tolerance(Decimal("0.01")), 18_002, 18_000, False, 0, True, WIM_CLASS_5, id="0.01pct-rounds-down"
        ),
        # Expressway entrance: up to 105 % of the limit (18 900 kg) is not over-limit ...
        pytest.param(ENTRANCE, 18_900, 18_900, False, 0, True, EXPRESSWAY_NOTICE, id="entrance-105pct"),
        # ... 105 % + 1 kg is, and the excess counts from the limit, not from 105 %.
        pytest.param(ENTRANCE, 18_901, 18_901, True, 901, False, EXPRESSWAY_NOTICE, id="entrance-105pct+1"),
        pytest.param(ENTRANCE, 18_001, 18_001, False, 0, True, EXPRESSWAY_NOTICE, id="entrance-limit+1"),
        # Deduction first, then the threshold: 19 896 × 0.95 = 18 901.2 → 18 901 > 18 900.
        pytest.param(
            Tolerance(Decimal(5), EXPRESSWAY_ENTRANCE_THRESHOLD_PCT),
            19_896,
            18_901,
            True,
            901,
            False,
            EXPRESSWAY_NOTICE,
            id="entrance-and-5pct",
        ),
    ],
)
def test_tolerance_2_axle(
    tolerance: Tolerance,
    measured_kg: int,
    effective_kg: int,
    overlimit: bool,
    excess_kg: int,
    within: bool,
    basis: Citation,
) -> None:
    a = assess(VehicleConfiguration(2), Measurement(measured_kg), tolerance)
    assert a.limit_kg == 18_000
    assert a.measured_gross_kg == measured_kg
    assert a.effective_gross_kg == effective_kg
    assert a.overlimit is overlimit
    assert a.mass_overlimit is overlimit
    assert a.excess_kg == excess_kg
    assert a.within_tolerance is within
    assert basis in a.basis


def test_entrance_threshold_compares_exactly_on_an_odd_limit() -> None:
    """105 % of 4 510 kg is 4 735.5 kg: 4 735 is not over, 4 736 is (excess from 4 510)."""
    vehicle = VehicleConfiguration(2, licensed_gross_kg=4_510)
    assert not assess(vehicle, Measurement(4_735), ENTRANCE).overlimit
    a = assess(vehicle, Measurement(4_736), ENTRANCE)
    assert a.overlimit
    assert a.excess_kg == 226
    assert a.basis == (overlimit_rules(3, 2, 4), EXPRESSWAY_NOTICE)


def test_entrance_excess_is_fined_from_the_limit() -> None:
    """51 451 kg on a 6-axle combination: over 105 % (51 450), fined on 2 451 kg over 49 000."""
    a = assess(VehicleConfiguration(6, combination=True), Measurement(51_451), ENTRANCE)
    assert a.excess_kg == 2_451
    assert a.penalty.kind is PenaltyKind.FINE
    assert (a.penalty.min_yuan, a.penalty.max_yuan) == (1_000, 1_000)
    assert a.excess_pct == Decimal("5.00")


def test_tolerance_notes() -> None:
    a = assess(VehicleConfiguration(2), Measurement(20_000), Tolerance(Decimal(5), Decimal(105)))
    assert a.notes == (
        "扣除检测设备允许误差5%",
        "高速公路入口称重，未超过限定标准105%的不认定为超限",
    )
    assert assess(VehicleConfiguration(2), Measurement(20_000)).notes == ()


# ---------------------------------------------------------------------------------------------
# 第四十三条第一款第二项: warning up to 1 000 kg, then 500 yuan per 1 000 kg, capped at 30 000.
# ---------------------------------------------------------------------------------------------

MASS_PENALTY = overlimit_rules(43, 1, 2)


@pytest.mark.parametrize(
    ("excess_kg", "policy", "kind", "amount_yuan", "basis"),
    [
        pytest.param(1, PenaltyPolicy(), PenaltyKind.WARNING, 0, MASS_PENALTY, id="1kg-warning"),
        pytest.param(999, PenaltyPolicy(), PenaltyKind.WARNING, 0, MASS_PENALTY, id="999kg-warning"),
        # 未超过1000千克的，予以警告: exactly 1 000 kg is still a warning.
        pytest.param(1_000, PenaltyPolicy(), PenaltyKind.WARNING, 0, MASS_PENALTY, id="1000kg-warning"),
        pytest.param(1_001, PenaltyPolicy(), PenaltyKind.FINE, 500, MASS_PENALTY, id="1001kg-500"),
        # The part tonne is dropped by default [U].
        pytest.param(1_999, PenaltyPolicy(), PenaltyKind.FINE, 500, MASS_PENALTY, id="1999kg-500"),
        pytest.param(2_000, PenaltyPolicy(), PenaltyKind.FINE, 1_000, MASS_PENALTY, id="2000kg-1000"),
        pytest.param(2_001, PenaltyPolicy(), PenaltyKind.FINE, 1_000, MASS_PENALTY, id="2001kg-1000"),
        pytest.param(59_999, PenaltyPolicy(), PenaltyKind.FINE, 29_500, MASS_PENALTY, id="59999kg-29500"),
        pytest.param(60_000, PenaltyPolicy(), PenaltyKind.FINE, 30_000, MASS_PENALTY, id="60000kg-30000"),
        # 最高不得超过30000元.
        pytest.param(61_000, PenaltyPolicy(), PenaltyKind.FINE, 30_000, MASS_PENALTY, id="61000kg-cap"),
        pytest.param(500_000, PenaltyPolicy(), PenaltyKind.FINE, 30_000, MASS_PENALTY, id="huge-cap"),
        # PartTonne.COUNT: a begun 1 000 kg step counts whole, but the warning band is the same.
        pytest.param(1_000, COUNT, PenaltyKind.WARNING, 0, MASS_PENALTY, id="count-1000kg-warning"),
        pytest.param(1_001, COUNT, PenaltyKind.FINE, 1_000, MASS_PENALTY, id="count-1001kg-1000"),
        pytest.param(2_000, COUNT, PenaltyKind.FINE, 1_000, MASS_PENALTY, id="count-2000kg-1000"),
        pytest.param(2_001, COUNT, PenaltyKind.FINE, 1_500, MASS_PENALTY, id="count-2001kg-1500"),
        pytest.param(58_001, COUNT, PenaltyKind.FINE, 29_500, MASS_PENALTY, id="count-58001kg-29500"),
        pytest.param(59_001, COUNT, PenaltyKind.FINE, 30_000, MASS_PENALTY, id="count-59001kg-30000"),
        pytest.param(500_000, COUNT, PenaltyKind.FINE, 30_000, MASS_PENALTY, id="count-huge-cap"),
    ],
)
def test_mass_penalty(
    excess_kg: int, policy: PenaltyPolicy, kind: PenaltyKind, amount_yuan: int, basis: Citation
) -> None:
    assert mass_fine_yuan(excess_kg, policy) == amount_yuan

    a = assess(VehicleConfiguration(2), Measurement(18_000 + excess_kg), policy=policy)
    assert a.excess_kg == excess_kg
    assert a.penalty.kind is kind
    assert (a.penalty.min_yuan, a.penalty.max_yuan) == (amount_yuan, amount_yuan)
    assert a.penalty.warning is (kind is PenaltyKind.WARNING)
    assert a.penalty.basis == (basis,)
    assert [item.violation for item in a.penalty.items] == ["mass"]


def test_no_excess_no_fine() -> None:
    assert mass_fine_yuan(0) == 0
    assert mass_fine_yuan(0, COUNT) == 0


# ---------------------------------------------------------------------------------------------
# 第三条第一款第一至三项 (dimensions, strictly over) and the tiers of 第四十三条第一款第一项.
# ---------------------------------------------------------------------------------------------

NOT_OVER = None


@pytest.mark.parametrize(
    ("dimension", "value_mm", "fine_range", "basis"),
    [
        pytest.param(Dimension.HEIGHT, 4_000, NOT_OVER, overlimit_rules(3, 1, 1), id="height-4.000-not-over"),
        pytest.param(Dimension.HEIGHT, 4_001, (0, 200), overlimit_rules(3, 1, 1), id="height-4.001-tier1"),
        pytest.param(Dimension.HEIGHT, 4_200, (0, 200), overlimit_rules(3, 1, 1), id="height-4.200-tier1"),
        pytest.param(
            Dimension.HEIGHT, 4_201, (200, 1_000), overlimit_rules(3, 1, 1), id="height-4.201-tier2"
        ),
        pytest.param(
            Dimension.HEIGHT, 4_500, (200, 1_000), overlimit_rules(3, 1, 1), id="height-4.500-tier2"
        ),
        pytest.param(
            Dimension.HEIGHT, 4_501, (1_000, 3_000), overlimit_rules(3, 1, 1), id="height-4.501-tier3"
        ),
        pytest.param(Dimension.WIDTH, 2_550, NOT_OVER, overlimit_rules(3, 1, 2), id="width-2.550-not-over"),
        pytest.param(Dimension.WIDTH, 2_551, (0, 200), overlimit_rules(3, 1, 2), id="width-2.551-tier1"),
        pytest.param(Dimension.WIDTH, 3_000, (0, 200), overlimit_rules(3, 1, 2), id="width-3.000-tier1"),
        pytest.param(Dimension.WIDTH, 3_001, (200, 1_000), overlimit_rules(3, 1, 2), id="width-3.001-tier2"),
        pytest.param(Dimension.WIDTH, 3_750, (200, 1_000), overlimit_rules(3, 1, 2), id="width-3.750-tier2"),
        pytest.param(
            Dimension.WIDTH, 3_751, (1_000, 3_000), overlimit_rules(3, 1, 2), id="width-3.751-tier3"
        ),
        pytest.param(Dimension.LENGTH, 18_100, NOT_OVER, overlimit_rules(3, 1, 3), id="length-18.1-not-over"),
        pytest.param(Dimension.LENGTH, 18_101, (0, 200), overlimit_rules(3, 1, 3), id="length-18.101-tier1"),
        pytest.param(Dimension.LENGTH, 20_000, (0, 200), overlimit_rules(3, 1, 3), id="length-20-tier1"),
        pytest.param(
            Dimension.LENGTH, 20_001, (200, 1_000), overlimit_rules(3, 1, 3), id="length-20.001-tier2"
        ),
        pytest.param(Dimension.LENGTH, 28_000, (200, 1_000), overlimit_rules(3, 1, 3), id="length-28-tier2"),
        pytest.param(
            Dimension.LENGTH, 28_001, (1_000, 3_000), overlimit_rules(3, 1, 3), id="length-28.001-tier3"
        ),
    ],
)
def test_single_dimension(
    dimension: Dimension, value_mm: int, fine_range: tuple[int, int] | None, basis: Citation
) -> None:
    measurement = Measurement(10_000, **{f"{dimension.value}_mm": value_mm})
    a = assess(VehicleConfiguration(2), measurement)
    assert not a.mass_overlimit
    if fine_range is None:
        assert not a.overlimit
        assert a.dimensions_over == ()
        assert a.penalty.kind is PenaltyKind.NONE
        assert basis not in a.basis
        return
    assert a.overlimit
    assert a.dimensions_over == (dimension,)
    assert basis in a.basis
    assert dimension_fine_range(measurement) == fine_range
    assert a.penalty.kind is PenaltyKind.FINE
    assert (a.penalty.min_yuan, a.penalty.max_yuan) == fine_range
    assert a.penalty.basis == (overlimit_rules(43, 1, 1),)
    assert not a.penalty.warning


DIMENSION_PENALTY = overlimit_rules(43, 1, 1)
H, W, L = Dimension.HEIGHT, Dimension.WIDTH, Dimension.LENGTH


@pytest.mark.parametrize(
    ("height_mm", "width_mm", "length_mm", "dimensions", "fine_range", "basis"),
    [
        # The worst dimension sets the tier: 第一档 needs all three within 4.2 m / 3 m / 20 m.
        pytest.param(4_100, 3_100, 18_000, (H, W), (200, 1_000), DIMENSION_PENALTY, id="tier2-by-width"),
        pytest.param(
            4_100, 2_600, 28_001, (H, W, L), (1_000, 3_000), DIMENSION_PENALTY, id="tier3-by-length"
        ),
        # A dimension within its Art. 3 limit still counts for the tier bounds, but cannot reach them.
        pytest.param(3_900, 2_500, 18_200, (L,), (0, 200), DIMENSION_PENALTY, id="only-length-over"),
        pytest.param(
            4_500, 3_750, 28_000, (H, W, L), (200, 1_000), DIMENSION_PENALTY, id="all-at-tier2-bounds"
        ),
    ],
)
def test_several_dimensions_are_one_item(
    height_mm: int,
    width_mm: int,
    length_mm: int,
    dimensions: tuple[Dimension, ...],
    fine_range: tuple[int, int],
    basis: Citation,
) -> None:
    """第四十三条第一款第一项 fines the vehicle's dimensions as one item, by its worst tier."""
    a = assess(VehicleConfiguration(2), Measurement(10_000, height_mm, width_mm, length_mm))
    assert a.dimensions_over == dimensions
    item_of = {H: 1, W: 2, L: 3}
    assert a.basis == (overlimit_rules(3, 1, 4), *(overlimit_rules(3, 1, item_of[d]) for d in dimensions))
    assert len(a.penalty.items) == 1
    assert (a.penalty.min_yuan, a.penalty.max_yuan) == fine_range
    assert a.penalty.basis == (basis,)


# ---------------------------------------------------------------------------------------------
# 第四十三条第二款: several violations, fines summed, the sum capped at 30 000 yuan.
# ---------------------------------------------------------------------------------------------

SUMMED = (overlimit_rules(43, 1, 1), overlimit_rules(43, 1, 2), overlimit_rules(43, 2))


@pytest.mark.parametrize(
    ("gross_kg", "height_mm", "kind", "min_yuan", "max_yuan", "warning", "basis"),
    [
        # Tier 3 (1 000–3 000) plus 5 000 kg over (2 500).
        pytest.param(23_000, 4_600, PenaltyKind.FINE, 3_500, 5_500, False, SUMMED, id="tier3+2500"),
        # Tier 2 (200–1 000) plus 59 000 kg over (29 500): the top of the range is capped.
        pytest.param(
            77_000, 4_300, PenaltyKind.FINE, 29_700, 30_000, False, SUMMED, id="tier2+29500-cap-max"
        ),
        # Tier 3 plus 60 000 kg over (30 000): both ends capped, a fixed 30 000.
        pytest.param(
            78_000, 4_600, PenaltyKind.FINE, 30_000, 30_000, False, SUMMED, id="tier3+30000-cap-both"
        ),
        # A warning for the mass and a fine for the dimensions: the fine, and the warning kept.
        pytest.param(18_500, 4_100, PenaltyKind.FINE, 0, 200, True, SUMMED, id="warning+tier1"),
        pytest.param(19_000, 4_600, PenaltyKind.FINE, 1_000, 3_000, True, SUMMED, id="warning-1000kg+tier3"),
        # A warning alone cites only the mass item.
        pytest.param(
            18_500, None, PenaltyKind.WARNING, 0, 0, True, (overlimit_rules(43, 1, 2),), id="warning"
        ),
    ],
)
def test_summed_penalty(
    gross_kg: int,
    height_mm: int | None,
    kind: PenaltyKind,
    min_yuan: int,
    max_yuan: int,
    warning: bool,
    basis: tuple[Citation, ...],
) -> None:
    a = assess(VehicleConfiguration(2), Measurement(gross_kg, height_mm=height_mm))
    assert a.overlimit
    assert a.penalty.kind is kind
    assert (a.penalty.min_yuan, a.penalty.max_yuan) == (min_yuan, max_yuan)
    assert a.penalty.warning is warning
    assert a.penalty.basis == basis


def test_combined_assessment_cites_every_provision_applied() -> None:
    a = assess(VehicleConfiguration(2), Measurement(23_000, height_mm=4_600, width_mm=2_600))
    assert a.basis == (overlimit_rules(3, 1, 4), overlimit_rules(3, 1, 1), overlimit_rules(3, 1, 2))
    assert [(i.violation, i.kind, i.min_yuan, i.max_yuan, i.basis) for i in a.penalty.items] == [
        ("dimensions", PenaltyKind.FINE, 1_000, 3_000, overlimit_rules(43, 1, 1)),
        ("mass", PenaltyKind.FINE, 2_500, 2_500, overlimit_rules(43, 1, 2)),
    ]


# ---------------------------------------------------------------------------------------------
# excess_pct: excess / limit × 100, two decimals, rounded half up.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit_kg", "excess_kg", "excess_pct"),
    [
        pytest.param(18_000, 1, "0.01", id="0.0056-up"),
        pytest.param(49_000, 1, "0.00", id="0.0020-down"),
        pytest.param(18_000, 9, "0.05", id="exact-0.05"),
        pytest.param(18_000, 9_000, "50.00", id="exact-50"),
        pytest.param(18_000, 18_000, "100.00", id="exact-100"),
        pytest.param(18_000, 1_001, "5.56", id="5.561-down"),
        # Exact halves: half up, not the banker's half-even of Decimal's default context.
        pytest.param(40_000, 2, "0.01", id="half-0.005-up"),
        pytest.param(16_000, 4, "0.03", id="half-0.025-up"),
        pytest.param(16_000, 20, "0.13", id="half-0.125-up"),
        pytest.param(16_000, 12, "0.08", id="half-0.075-up"),
    ],
)
def test_excess_pct_rounding(limit_kg: int, excess_kg: int, excess_pct: str) -> None:
    # A licensed mass (第三条第二款第四项) gives any limit we need for the rounding cases.
    a = assess(VehicleConfiguration(2, licensed_gross_kg=limit_kg), Measurement(limit_kg + excess_kg))
    assert a.excess_kg == excess_kg
    assert str(a.excess_pct) == excess_pct


def test_excess_pct_is_zero_when_not_over() -> None:
    assert str(assess(VehicleConfiguration(2), Measurement(17_000)).excess_pct) == "0.00"


# ---------------------------------------------------------------------------------------------
# Facts that cannot be assessed.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: VehicleConfiguration(1), "axle count must be between 2 and 20, got 1", id="1-axle"
        ),
        pytest.param(
            lambda: VehicleConfiguration(0), "axle count must be between 2 and 20, got 0", id="0-axles"
        ),
        pytest.param(
            lambda: VehicleConfiguration(21), "axle count must be between 2 and 20, got 21", id="21-axles"
        ),
        pytest.param(lambda: Measurement(-1), "gross mass must be positive, got -1 kg", id="negative-mass"),
        pytest.param(lambda: Measurement(0), "gross mass must be positive, got 0 kg", id="zero-mass"),
        pytest.param(
            lambda: Measurement(10_000, height_mm=-1),
            "height_mm must be positive, got -1",
            id="negative-height",
        ),
        pytest.param(
            lambda: Measurement(10_000, length_mm=0), "length_mm must be positive, got 0", id="zero-length"
        ),
        # Every vehicle has a drive axle, which 第二款第二项 exempts.
        pytest.param(
            lambda: VehicleConfiguration(2, single_tyre_axles=2),
            r"single-tyre \(non-drive\) axles must be between 0 and 1, got 2",
            id="single-tyre-all-axles",
        ),
        pytest.param(
            lambda: VehicleConfiguration(6, single_tyre_axles=-1),
            r"single-tyre \(non-drive\) axles must be between 0 and 5, got -1",
            id="single-tyre-negative",
        ),
        pytest.param(
            lambda: gross_mass_limit(VehicleConfiguration(20, single_tyre_axles=17)),
            "17 single-tyre axles leave no gross-mass limit for a 20-axle vehicle",
            id="no-limit-left",
        ),
        pytest.param(
            lambda: VehicleConfiguration(2, licensed_gross_kg=0),
            "licensed gross mass must be positive",
            id="licensed-zero",
        ),
        pytest.param(
            lambda: VehicleConfiguration(2, axle_load_limits_kg=(7_000, 10_000, 10_000)),
            "3 axle load limits given for 2 axles",
            id="axle-limits-too-many",
        ),
        pytest.param(
            lambda: VehicleConfiguration(3, axle_load_limits_kg=(7_000,)),
            "1 axle load limits given for 3 axles",
            id="axle-limits-too-few",
        ),
        pytest.param(
            lambda: VehicleConfiguration(2, axle_load_limits_kg=(7_000, 0)),
            "axle load limits must be positive",
            id="axle-limit-zero",
        ),
        pytest.param(
            lambda: Tolerance(Decimal("5.125")),
            r"tolerance may have at most two decimals, got 5\.125",
            id="tolerance-3-decimals",
        ),
        pytest.param(
            lambda: Tolerance(Decimal(-1)),
            r"tolerance must be in \[0, 100\) %, got -1",
            id="tolerance-negative",
        ),
        pytest.param(
            lambda: Tolerance(Decimal(100)), r"tolerance must be in \[0, 100\) %, got 100", id="tolerance-100"
        ),
        pytest.param(
            lambda: Tolerance(threshold_pct=Decimal("99.99")),
            r"decision threshold must be in \[100, 200\] % of the limit, got 99\.99",
            id="threshold-low",
        ),
        pytest.param(
            lambda: Tolerance(threshold_pct=Decimal("200.01")),
            r"decision threshold must be in \[100, 200\] % of the limit, got 200\.01",
            id="threshold-high",
        ),
        pytest.param(
            lambda: Tolerance(Decimal("NaN")),
            "tolerance and threshold must be finite percentages",
            id="tolerance-nan",
        ),
        pytest.param(
            lambda: Tolerance(threshold_pct=Decimal("Infinity")),
            "tolerance and threshold must be finite percentages",
            id="threshold-infinite",
        ),
        pytest.param(
            lambda: Tolerance(threshold_pct=Decimal("105.001")),
            r"decision threshold may have at most two decimals, got 105\.001",
            id="threshold-3-decimals",
        ),
    ],
)
def test_input_errors(build: Callable[[], object], message: str) -> None:
    with pytest.raises(OverlimitInputError, match=f"^{message}$"):
        build()


def test_threshold_bounds_are_inclusive() -> None:
    assert Tolerance(threshold_pct=Decimal(100)).threshold_bp == 10_000
    assert Tolerance(threshold_pct=Decimal(200)).threshold_bp == 20_000
    assert Tolerance(Decimal("99.99")).deduct_bp == 9_999


def test_input_error_is_a_value_error() -> None:
    """Callers that only know ValueError (Typer, pydantic) still catch it."""
    assert issubclass(OverlimitInputError, ValueError)


# ---------------------------------------------------------------------------------------------
# The JSON form (the `zhifa overlimit assess` contract).
# ---------------------------------------------------------------------------------------------


def test_assessment_to_dict_fine_range() -> None:
    a = assess(
        VehicleConfiguration(2),
        Measurement(23_000, height_mm=4_600),
        Tolerance(Decimal("0"), Decimal(100)),
    )
    assert assessment_to_dict(a) == {
        "overlimit": True,
        "mass_overlimit": True,
        "limit_kg": 18_000,
        "measured_gross_kg": 23_000,
        "effective_gross_kg": 23_000,
        "excess_kg": 5_000,
        "excess_pct": 27.78,
        "within_tolerance": False,
        "tolerance_pct": 0.0,
        "threshold_pct": 100.0,
        "dimensions": ["height"],
        "penalty": {
            "kind": "fine",
            "min_yuan": 3_500,
            "max_yuan": 5_500,
            "warning": False,
            "items": [
                {
                    "violation": "dimensions",
                    "kind": "fine",
                    "min_yuan": 1_000,
                    "max_yuan": 3_000,
                    "basis": "《超限运输车辆行驶公路管理规定》第四十三条第一款第一项",
                },
                {
                    "violation": "mass",
                    "kind": "fine",
                    "min_yuan": 2_500,
                    "max_yuan": 2_500,
                    "basis": "《超限运输车辆行驶公路管理规定》第四十三条第一款第二项",
                },
            ],
            "basis": [
                "《超限运输车辆行驶公路管理规定》第四十三条第一款第一项",
                "《超限运输车辆行驶公路管理规定》第四十三条第一款第二项",
                "《超限运输车辆行驶公路管理规定》第四十三条第二款",
            ],
        },
        "basis": [
            "《超限运输车辆行驶公路管理规定》第三条第一款第四项",
            "《超限运输车辆行驶公路管理规定》第三条第一款第一项",
        ],
        "notes": [],
    }


def test_assessment_to_dict_fixed_fine_and_tolerance() -> None:
    a = assess(VehicleConfiguration(6, combination=True), Measurement(53_000), Tolerance(Decimal("2.5")))
    d = assessment_to_dict(a)
    # 53 000 × 0.975 = 51 675; 2 675 kg over 49 000 → 2 whole tonnes → 1 000 yuan.
    assert d["effective_gross_kg"] == 51_675
    assert d["excess_kg"] == 2_675
    assert d["excess_pct"] == 5.46
    assert d["tolerance_pct"] == 2.5
    assert d["penalty"]["kind"] == "fine"
    assert d["penalty"]["amount_yuan"] == 1_000
    assert "min_yuan" not in d["penalty"]
    assert "max_yuan" not in d["penalty"]
    assert d["notes"] == ["扣除检测设备允许误差2.5%"]


@pytest.mark.parametrize(
    ("gross_kg", "kind", "warning"),
    [
        pytest.param(17_000, "none", False, id="none"),
        pytest.param(18_500, "warning", True, id="warning"),
    ],
)
def test_assessment_to_dict_without_fine_has_no_amount(gross_kg: int, kind: str, warning: bool) -> None:
    penalty = assessment_to_dict(assess(VehicleConfiguration(2), Measurement(gross_kg)))["penalty"]
    assert penalty["kind"] == kind
    assert penalty["warning"] is warning
    assert set(penalty) == {"kind", "warning", "items", "basis"}
