"""Over-limit determination and penalty.

超限运输车辆行驶公路管理规定 (交通运输部令2016年第62号, 2021年8月11日修正):
- 第三条: when a goods vehicle is 超限 (dimensions, gross mass by axle count) and the modifiers
  of 第二款 (single tyres, sum of axle loads, licensed mass, GB 1589 exemptions);
- 第四十三条: the penalty (dimension tiers as ranges, 500 yuan per 1 000 kg over, a warning up to
  1 000 kg, items summed, 30 000 yuan cap).

Masses are whole kilograms and lengths whole millimetres, so every comparison is exact. Device
tolerance and the expressway-entrance threshold are percentages with at most two decimals, so they
too are applied in integer basis points; the vectorized path (adapters/analytics) reproduces this
arithmetic bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from zhifa.domain.errors import DomainError
from zhifa.domain.legal import Citation, Law, overlimit_rules

# 超限规定 第三条第一款第一至三项: dimensions of vehicle and load.
LIMIT_HEIGHT_MM = 4_000  # 第三条第一款第一项, from the ground
LIMIT_WIDTH_MM = 2_550  # 第三条第一款第二项
LIMIT_LENGTH_MM = 18_100  # 第三条第一款第三项

# 超限规定 第三条第一款第四至八项: gross mass (车货总质量) by axle count.
LIMIT_2_AXLE_KG = 18_000  # 第四项, 二轴货车
LIMIT_3_AXLE_TRUCK_KG = 25_000  # 第五项, 三轴货车
LIMIT_3_AXLE_COMBINATION_KG = 27_000  # 第五项, 三轴汽车列车
LIMIT_4_AXLE_TRUCK_KG = 31_000  # 第六项, 四轴货车
LIMIT_4_AXLE_COMBINATION_KG = 36_000  # 第六项, 四轴汽车列车
LIMIT_5_AXLE_KG = 43_000  # 第七项, 五轴汽车列车
LIMIT_6_AXLE_KG = 49_000  # 第八项, 六轴及六轴以上汽车列车
LIMIT_6_AXLE_SINGLE_DRIVE_KG = 46_000  # 第八项, 牵引车驱动轴为单轴

# 超限规定 第三条第二款第二项: a non-drive axle with single tyres per side lowers the limit.
SINGLE_TYRE_REDUCTION_KG = 3_000

# 超限规定 第四十三条第一款第一项: dimension tiers (upper bounds, inclusive) and fine ranges.
TIER_1_BOUNDS_MM = (4_200, 3_000, 20_000)  # height, width, length: 可以处200元以下罚款
TIER_1_FINE_YUAN = (0, 200)
TIER_2_BOUNDS_MM = (4_500, 3_750, 28_000)  # 处200元以上1000元以下罚款
TIER_2_FINE_YUAN = (200, 1_000)
TIER_3_FINE_YUAN = (1_000, 3_000)  # beyond tier 2: 处1000元以上3000元以下罚款

# 超限规定 第四十三条第一款第二项: mass.
WARNING_MAX_EXCESS_KG = 1_000  # 未超过1000千克的，予以警告
FINE_STEP_KG = 1_000  # 每超1000千克
FINE_PER_STEP_YUAN = 500  # 罚款500元
FINE_CAP_YUAN = 30_000  # 最高不得超过30000元; 第四十三条第二款: the same cap on the summed items

MIN_AXLES = 2
MAX_AXLES = 20  # no road vehicle has more; larger values are data errors, not trucks


class OverlimitInputError(DomainError):
    """The facts given cannot be assessed (e.g. one axle, a negative mass)."""


class PartTonne(StrEnum):
    """How the part of a 1 000 kg step beyond the last whole one counts (第四十三条第一款第二项).

    The article says 每超1000千克罚款500元 and is silent on a part step. The default drops it,
    in the party's favour [U]; a province that counts a begun step as whole sets COUNT.
    """

    DROP = "drop"
    COUNT = "count"


class PenaltyKind(StrEnum):
    NONE = "none"
    WARNING = "warning"
    FINE = "fine"


class Dimension(StrEnum):
    HEIGHT = "height"
    WIDTH = "width"
    LENGTH = "length"


@dataclass(frozen=True)
class VehicleConfiguration:
    """What Art. 3 needs to know about the vehicle, beyond what the scale measured.

    Fields that the register does not know default to the reading in the party's favour
    (the higher limit): not single-drive, no single-tyre axles.
    """

    axles: int
    combination: bool = False  # 汽车列车 (tractor with semi-trailer, truck with full trailer)
    single_drive_axle: bool = False  # 牵引车驱动轴为单轴 (only matters with 6+ axles)
    single_tyre_axles: int = 0  # non-drive axles with single tyres per side, no wide tyres
    licensed_gross_kg: int | None = None  # 拖拉机、农用车、低速货车: 行驶证核定的总质量
    axle_load_limits_kg: tuple[int, ...] | None = None  # max permitted load of each axle
    gb1589_exempt: bool = False  # GB 1589 冷藏车、汽车列车、空气悬架车辆、专用作业车

    def __post_init__(self) -> None:
        if not MIN_AXLES <= self.axles <= MAX_AXLES:
            raise OverlimitInputError(
                f"axle count must be between {MIN_AXLES} and {MAX_AXLES}, got {self.axles}"
            )
        # 第二款第二项 exempts drive axles, and every vehicle has at least one.
        if not 0 <= self.single_tyre_axles < self.axles:
            raise OverlimitInputError(
                f"single-tyre (non-drive) axles must be between 0 and {self.axles - 1}, "
                f"got {self.single_tyre_axles}"
            )
        if self.licensed_gross_kg is not None and self.licensed_gross_kg <= 0:
            raise OverlimitInputError("licensed gross mass must be positive")
        if self.axle_load_limits_kg is not None:
            if len(self.axle_load_limits_kg) != self.axles:
                raise OverlimitInputError(
                    f"{len(self.axle_load_limits_kg)} axle load limits given for {self.axles} axles"
                )
            if any(x <= 0 for x in self.axle_load_limits_kg):
                raise OverlimitInputError("axle load limits must be positive")


@dataclass(frozen=True)
class Measurement:
    """What the scale and profile sensors measured. Dimensions are optional: not every site has them."""

    gross_kg: int
    height_mm: int | None = None
    width_mm: int | None = None
    length_mm: int | None = None

    def __post_init__(self) -> None:
        if self.gross_kg <= 0:
            raise OverlimitInputError(f"gross mass must be positive, got {self.gross_kg} kg")
        for name in ("height_mm", "width_mm", "length_mm"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise OverlimitInputError(f"{name} must be positive, got {value}")


def millimetres(metres: Decimal) -> int:
    """Whole millimetres, rounded half up, so the 超过 comparisons of 第三条 are exact integers."""
    return int((metres * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _basis_points(pct: Decimal, what: str) -> int:
    scaled = pct * 100
    if scaled != scaled.to_integral_value():
        raise OverlimitInputError(f"{what} may have at most two decimals, got {pct}")
    return int(scaled)


@dataclass(frozen=True)
class Tolerance:
    """How much benefit of the doubt the measurement gets before Art. 3 is applied.

    deduct_pct: the device's accuracy class, deducted from the measured gross mass
        (a class-5 weigh-in-motion device deducts 5 %) [S]; the result is rounded down to
        whole kilograms, in the party's favour.
    threshold_pct: the vehicle counts as over the mass limit only above this share of the limit;
        100 everywhere except at expressway entrances, where 交办公路明电〔2019〕117号 treats up to
        105 % as not over-limit [S]. The excess, once over, is still counted from the limit.
    """

    deduct_pct: Decimal = Decimal(0)
    threshold_pct: Decimal = Decimal(100)

    def __post_init__(self) -> None:
        if not (self.deduct_pct.is_finite() and self.threshold_pct.is_finite()):
            raise OverlimitInputError("tolerance and threshold must be finite percentages")
        if not Decimal(0) <= self.deduct_pct < Decimal(100):
            raise OverlimitInputError(f"tolerance must be in [0, 100) %, got {self.deduct_pct}")
        if not Decimal(100) <= self.threshold_pct <= Decimal(200):
            raise OverlimitInputError(
                f"decision threshold must be in [100, 200] % of the limit, got {self.threshold_pct}"
            )
        _basis_points(self.deduct_pct, "tolerance")
        _basis_points(self.threshold_pct, "decision threshold")

    @property
    def deduct_bp(self) -> int:
        return _basis_points(self.deduct_pct, "tolerance")

    @property
    def threshold_bp(self) -> int:
        return _basis_points(self.threshold_pct, "decision threshold")

    def effective_gross_kg(self, measured_kg: int) -> int:
        return measured_kg * (10_000 - self.deduct_bp) // 10_000


NO_TOLERANCE = Tolerance()
EXPRESSWAY_ENTRANCE_THRESHOLD_PCT = Decimal(105)  # 交办公路明电〔2019〕117号 [S]


@dataclass(frozen=True)
class PenaltyPolicy:
    part_tonne: PartTonne = PartTonne.DROP


DEFAULT_POLICY = PenaltyPolicy()


@dataclass(frozen=True)
class MassLimit:
    kg: int
    basis: tuple[Citation, ...]


def gross_mass_limit(vehicle: VehicleConfiguration) -> MassLimit:
    """The gross-mass limit of 第三条第一款第四至八项 with the modifiers of 第三条第二款."""
    if vehicle.licensed_gross_kg is not None:
        # 第二款第四项: 拖拉机、农用车、低速货车 are held to the mass on their 行驶证.
        return MassLimit(vehicle.licensed_gross_kg, (overlimit_rules(3, 2, 4),))
    axles = vehicle.axles
    if axles == 2:
        kg, item = LIMIT_2_AXLE_KG, 4
    elif axles == 3:
        kg = LIMIT_3_AXLE_COMBINATION_KG if vehicle.combination else LIMIT_3_AXLE_TRUCK_KG
        item = 5
    elif axles == 4:
        kg = LIMIT_4_AXLE_COMBINATION_KG if vehicle.combination else LIMIT_4_AXLE_TRUCK_KG
        item = 6
    elif axles == 5:
        # 第七项 names only the 五轴汽车列车; a vehicle of five or more axles is a combination
        # under GB 1589, so the combination limit is the only one the article offers.
        kg, item = LIMIT_5_AXLE_KG, 7
    else:
        kg = LIMIT_6_AXLE_SINGLE_DRIVE_KG if vehicle.single_drive_axle else LIMIT_6_AXLE_KG
        item = 8
    basis = [overlimit_rules(3, 1, item)]
    if vehicle.single_tyre_axles:
        kg -= SINGLE_TYRE_REDUCTION_KG * vehicle.single_tyre_axles
        basis.append(overlimit_rules(3, 2, 2))
    if vehicle.axle_load_limits_kg is not None and sum(vehicle.axle_load_limits_kg) < kg:
        kg = sum(vehicle.axle_load_limits_kg)
        basis.append(overlimit_rules(3, 2, 3))
    if kg <= 0:
        raise OverlimitInputError(
            f"{vehicle.single_tyre_axles} single-tyre axles leave no gross-mass limit "
            f"for a {axles}-axle vehicle"
        )
    return MassLimit(kg, tuple(basis))


@dataclass(frozen=True)
class PenaltyItem:
    """One violation's penalty under 第四十三条第一款, before summing."""

    violation: str  # "mass" or "dimensions"
    kind: PenaltyKind
    min_yuan: int
    max_yuan: int
    basis: Citation


@dataclass(frozen=True)
class Penalty:
    """The summed penalty of 第四十三条. A fixed amount has min == max."""

    kind: PenaltyKind
    min_yuan: int
    max_yuan: int
    items: tuple[PenaltyItem, ...]
    basis: tuple[Citation, ...]

    @property
    def is_range(self) -> bool:
        return self.min_yuan != self.max_yuan

    @property
    def warning(self) -> bool:
        return any(item.kind is PenaltyKind.WARNING for item in self.items)


NO_PENALTY = Penalty(PenaltyKind.NONE, 0, 0, (), ())


@dataclass(frozen=True)
class Assessment:
    """The outcome of Art. 3 and Art. 43 for one weighing."""

    overlimit: bool
    mass_overlimit: bool
    limit_kg: int
    measured_gross_kg: int
    effective_gross_kg: int
    excess_kg: int  # over the limit after tolerance; 0 when not over-limit by mass
    excess_pct: Decimal  # excess / limit, two decimals
    within_tolerance: bool  # measured above the limit, but not after tolerance/threshold
    dimensions_over: tuple[Dimension, ...]
    penalty: Penalty
    tolerance: Tolerance
    basis: tuple[Citation, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())


def mass_fine_yuan(excess_kg: int, policy: PenaltyPolicy = DEFAULT_POLICY) -> int:
    """500 yuan for each 1 000 kg over, capped at 30 000 (第四十三条第一款第二项)."""
    if excess_kg <= WARNING_MAX_EXCESS_KG:
        return 0
    steps = excess_kg // FINE_STEP_KG
    if policy.part_tonne is PartTonne.COUNT and excess_kg % FINE_STEP_KG:
        steps += 1
    return min(steps * FINE_PER_STEP_YUAN, FINE_CAP_YUAN)


def dimensions_over(measurement: Measurement) -> tuple[Dimension, ...]:
    """Which of 第三条第一款第一至三项 the measured vehicle exceeds (strictly 超过)."""
    over = []
    if measurement.height_mm is not None and measurement.height_mm > LIMIT_HEIGHT_MM:
        over.append(Dimension.HEIGHT)
    if measurement.width_mm is not None and measurement.width_mm > LIMIT_WIDTH_MM:
        over.append(Dimension.WIDTH)
    if measurement.length_mm is not None and measurement.length_mm > LIMIT_LENGTH_MM:
        over.append(Dimension.LENGTH)
    return tuple(over)


def _within(measurement: Measurement, bounds: tuple[int, int, int]) -> bool:
    values = (measurement.height_mm, measurement.width_mm, measurement.length_mm)
    return all(v is None or v <= bound for v, bound in zip(values, bounds, strict=True))


def dimension_fine_range(measurement: Measurement) -> tuple[int, int]:
    """The fine range of 第四十三条第一款第一项 for a vehicle over a dimension limit."""
    if _within(measurement, TIER_1_BOUNDS_MM):
        return TIER_1_FINE_YUAN
    if _within(measurement, TIER_2_BOUNDS_MM):
        return TIER_2_FINE_YUAN
    return TIER_3_FINE_YUAN


def penalty_for(excess_kg: int, measurement: Measurement, policy: PenaltyPolicy = DEFAULT_POLICY) -> Penalty:
    """第四十三条: the items of 第一款, summed and capped as 第二款 requires."""
    items: list[PenaltyItem] = []
    if dimensions_over(measurement):
        low, high = dimension_fine_range(measurement)
        items.append(PenaltyItem("dimensions", PenaltyKind.FINE, low, high, overlimit_rules(43, 1, 1)))
    if excess_kg > 0:
        fine = mass_fine_yuan(excess_kg, policy)
        kind = PenaltyKind.FINE if fine else PenaltyKind.WARNING
        items.append(PenaltyItem("mass", kind, fine, fine, overlimit_rules(43, 1, 2)))
    if not items:
        return NO_PENALTY
    fines = [item for item in items if item.kind is PenaltyKind.FINE]
    if not fines:
        return Penalty(PenaltyKind.WARNING, 0, 0, tuple(items), (items[0].basis,))
    basis = [item.basis for item in items]
    low = sum(item.min_yuan for item in fines)
    high = sum(item.max_yuan for item in fines)
    if len(items) > 1:
        basis.append(overlimit_rules(43, 2))  # 累计, 最高不得超过30000元
    return Penalty(
        PenaltyKind.FINE,
        min(low, FINE_CAP_YUAN),
        min(high, FINE_CAP_YUAN),
        tuple(items),
        tuple(basis),
    )


def _pct_of(excess_kg: int, limit_kg: int) -> Decimal:
    return (Decimal(excess_kg) * 100 / Decimal(limit_kg)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def assess(
    vehicle: VehicleConfiguration,
    measurement: Measurement,
    tolerance: Tolerance = NO_TOLERANCE,
    policy: PenaltyPolicy = DEFAULT_POLICY,
) -> Assessment:
    """Decide whether the weighed vehicle is 超限 and what 第四十三条 proposes for it."""
    limit = gross_mass_limit(vehicle)
    effective = tolerance.effective_gross_kg(measurement.gross_kg)
    notes: list[str] = []
    basis: list[Citation] = list(limit.basis)
    if tolerance.deduct_bp:
        notes.append(f"扣除检测设备允许误差{tolerance.deduct_pct}%")

    if vehicle.gb1589_exempt:
        # 第三条第二款第五项: GB 1589-compliant special vehicles are not 超限运输车辆.
        return Assessment(
            overlimit=False,
            mass_overlimit=False,
            limit_kg=limit.kg,
            measured_gross_kg=measurement.gross_kg,
            effective_gross_kg=effective,
            excess_kg=0,
            excess_pct=Decimal("0.00"),
            within_tolerance=False,
            dimensions_over=(),
            penalty=NO_PENALTY,
            tolerance=tolerance,
            basis=(overlimit_rules(3, 2, 5),),
            notes=("符合GB1589的车辆，不认定为超限运输车辆",),
        )

    # Over the threshold means effective / limit > threshold_pct / 100, compared in integers.
    mass_over = effective * 10_000 > limit.kg * tolerance.threshold_bp
    if tolerance.threshold_bp != 10_000:
        basis.append(Citation(Law.EXPRESSWAY_ENTRANCE_NOTICE))
        notes.append(f"高速公路入口称重，未超过限定标准{tolerance.threshold_pct}%的不认定为超限")
    excess = effective - limit.kg if mass_over else 0
    within_tolerance = not mass_over and measurement.gross_kg > limit.kg

    over_dims = dimensions_over(measurement)
    basis.extend(overlimit_rules(3, 1, _DIMENSION_ITEM[d]) for d in over_dims)
    penalty = penalty_for(excess, measurement, policy)
    return Assessment(
        overlimit=mass_over or bool(over_dims),
        mass_overlimit=mass_over,
        limit_kg=limit.kg,
        measured_gross_kg=measurement.gross_kg,
        effective_gross_kg=effective,
        excess_kg=excess,
        excess_pct=_pct_of(excess, limit.kg),
        within_tolerance=within_tolerance,
        dimensions_over=over_dims,
        penalty=penalty,
        tolerance=tolerance,
        basis=tuple(basis),
        notes=tuple(notes),
    )


_DIMENSION_ITEM = {Dimension.HEIGHT: 1, Dimension.WIDTH: 2, Dimension.LENGTH: 3}


def _citations(items: tuple[Citation, ...]) -> list[str]:
    return [str(c) for c in items]


def penalty_to_dict(penalty: Penalty) -> dict[str, Any]:
    """The penalty as the CLI and API print it: a fixed amount, or a range for the discretion schedule."""
    out: dict[str, Any] = {"kind": penalty.kind.value}
    if penalty.kind is PenaltyKind.FINE:
        if penalty.is_range:
            out["min_yuan"] = penalty.min_yuan
            out["max_yuan"] = penalty.max_yuan
        else:
            out["amount_yuan"] = penalty.min_yuan
    out["warning"] = penalty.warning
    out["items"] = [
        {
            "violation": item.violation,
            "kind": item.kind.value,
            "min_yuan": item.min_yuan,
            "max_yuan": item.max_yuan,
            "basis": str(item.basis),
        }
        for item in penalty.items
    ]
    out["basis"] = _citations(penalty.basis)
    return out


def assessment_to_dict(a: Assessment) -> dict[str, Any]:
    """The JSON form of an assessment (the `zhifa overlimit assess` contract, plus detail)."""
    return {
        "overlimit": a.overlimit,
        "mass_overlimit": a.mass_overlimit,
        "limit_kg": a.limit_kg,
        "measured_gross_kg": a.measured_gross_kg,
        "effective_gross_kg": a.effective_gross_kg,
        "excess_kg": a.excess_kg,
        "excess_pct": float(a.excess_pct),
        "within_tolerance": a.within_tolerance,
        "tolerance_pct": float(a.tolerance.deduct_pct),
        "threshold_pct": float(a.tolerance.threshold_pct),
        "dimensions": [d.value for d in a.dimensions_over],
        "penalty": penalty_to_dict(a.penalty),
        "basis": _citations(a.basis),
        "notes": list(a.notes),
    }
