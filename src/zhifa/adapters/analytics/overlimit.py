"""Vectorized over-limit assessment: 超限规定 第三条 and 第四十三条 over column arrays.

The reference is :func:`zhifa.domain.overlimit.assess`, one weighing at a time. This module applies
the same rules to a whole batch with NumPy, in int64 arithmetic only, so every output equals the
reference exactly (a property test checks it row by row). The thresholds are the domain's
constants, imported, never restated: a change to a rule changes both paths.

Input columns (one row per weighing, all the same length):

- ``axles``; ``combination``, ``single_drive_axle`` (bool); ``single_tyre_axles``;
- ``licensed_gross_kg``: the 行驶证 mass of 第三条第二款第四项, 0 meaning none;
- ``axle_load_sum_kg``: the sum of the permitted axle loads of 第二款第三项, 0 meaning none
  (the reference takes the per-axle list; only its sum matters to the rule);
- ``gb1589_exempt`` (bool): 第二款第五项;
- ``gross_kg``; ``height_mm``, ``width_mm``, ``length_mm``, 0 meaning not measured;
- ``deduct_bp``, ``threshold_bp``: the device tolerance and the decision threshold in basis points
  (5 % → 500, 105 % → 10 500), as :class:`~zhifa.domain.overlimit.Tolerance` holds them.

The part-tonne mode (:class:`~zhifa.domain.overlimit.PartTonne`) is one per batch, as it is a
provincial policy rather than a fact of the weighing.

Invalid rows raise :class:`~zhifa.domain.overlimit.OverlimitInputError` naming the first bad row,
as the reference would refuse that weighing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from zhifa.domain.overlimit import (
    FINE_CAP_YUAN,
    FINE_PER_STEP_YUAN,
    FINE_STEP_KG,
    LIMIT_2_AXLE_KG,
    LIMIT_3_AXLE_COMBINATION_KG,
    LIMIT_3_AXLE_TRUCK_KG,
    LIMIT_4_AXLE_COMBINATION_KG,
    LIMIT_4_AXLE_TRUCK_KG,
    LIMIT_5_AXLE_KG,
    LIMIT_6_AXLE_KG,
    LIMIT_6_AXLE_SINGLE_DRIVE_KG,
    LIMIT_HEIGHT_MM,
    LIMIT_LENGTH_MM,
    LIMIT_WIDTH_MM,
    MAX_AXLES,
    MIN_AXLES,
    SINGLE_TYRE_REDUCTION_KG,
    TIER_1_BOUNDS_MM,
    TIER_1_FINE_YUAN,
    TIER_2_BOUNDS_MM,
    TIER_2_FINE_YUAN,
    TIER_3_FINE_YUAN,
    WARNING_MAX_EXCESS_KG,
    OverlimitInputError,
    PartTonne,
    PenaltyKind,
)

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

# Penalty kinds as small integers; PENALTY_KINDS[code] is the domain's enum.
PENALTY_NONE: Final = 0
PENALTY_WARNING: Final = 1
PENALTY_FINE: Final = 2
PENALTY_KINDS: Final = (PenaltyKind.NONE, PenaltyKind.WARNING, PenaltyKind.FINE)

_BP: Final = 10_000  # basis points in 100 %

# Beyond this a mass times 10 000 could leave int64; no weighing comes near it (10^9 kg).
_MAX_MASS_KG: Final = 10**12


@dataclass(frozen=True)
class OverlimitColumns:
    """The assessment of a batch, one entry per weighing (cf. ``zhifa.domain.overlimit.Assessment``)."""

    limit_kg: Int64Array
    effective_gross_kg: Int64Array
    mass_overlimit: BoolArray
    within_tolerance: BoolArray
    excess_kg: Int64Array
    excess_pct_centi: Int64Array  # excess / limit in hundredths of a percent, rounded half up
    height_over: BoolArray
    width_over: BoolArray
    length_over: BoolArray
    overlimit: BoolArray
    warning: BoolArray  # the mass item is a warning (excess ≤ 1 000 kg), whatever else is fined
    penalty_kind: Int64Array  # PENALTY_NONE / PENALTY_WARNING / PENALTY_FINE
    min_yuan: Int64Array
    max_yuan: Int64Array

    def __len__(self) -> int:
        return len(self.limit_kg)


def _int_column(values: ArrayLike, name: str, n: int | None) -> Int64Array:
    array = np.asarray(values)
    if array.ndim != 1:
        raise OverlimitInputError(f"{name} must be a one-dimensional column")
    if array.dtype.kind == "b" or (array.size and array.dtype.kind not in "iu"):
        raise OverlimitInputError(f"{name} must hold integers, got dtype {array.dtype}")
    if n is not None and len(array) != n:
        raise OverlimitInputError(f"{name} has {len(array)} rows, expected {n}")
    return array.astype(np.int64, copy=False)


def _bool_column(values: ArrayLike, name: str, n: int) -> BoolArray:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n:
        raise OverlimitInputError(f"{name} must be a column of {n} rows")
    if array.size and array.dtype.kind != "b":
        raise OverlimitInputError(f"{name} must hold booleans, got dtype {array.dtype}")
    return array.astype(np.bool_, copy=False)


def _refuse(bad: BoolArray, message: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise OverlimitInputError(f"row {row}: {message}")


def gross_mass_limit(
    axles: Int64Array,
    combination: BoolArray,
    single_drive_axle: BoolArray,
    single_tyre_axles: Int64Array,
    licensed_gross_kg: Int64Array,
    axle_load_sum_kg: Int64Array,
) -> Int64Array:
    """第三条第一款第四至八项 by axle count, with the modifiers of 第三条第二款第二至四项.

    Rows are assumed valid (see :func:`assess_batch`); a row whose single-tyre reduction leaves
    no limit comes out ≤ 0, which the caller refuses.
    """
    limit = np.select(
        [axles == 2, axles == 3, axles == 4, axles == 5],
        [
            np.full(axles.shape, LIMIT_2_AXLE_KG, dtype=np.int64),  # 第四项
            np.where(combination, LIMIT_3_AXLE_COMBINATION_KG, LIMIT_3_AXLE_TRUCK_KG),  # 第五项
            np.where(combination, LIMIT_4_AXLE_COMBINATION_KG, LIMIT_4_AXLE_TRUCK_KG),  # 第六项
            np.full(axles.shape, LIMIT_5_AXLE_KG, dtype=np.int64),  # 第七项
        ],
        default=np.where(single_drive_axle, LIMIT_6_AXLE_SINGLE_DRIVE_KG, LIMIT_6_AXLE_KG),  # 第八项
    ).astype(np.int64, copy=False)
    limit -= SINGLE_TYRE_REDUCTION_KG * single_tyre_axles  # 第二款第二项
    limit = np.where((axle_load_sum_kg > 0) & (axle_load_sum_kg < limit), axle_load_sum_kg, limit)  # 第三项
    # 第四项: the 行驶证 mass replaces the table and its modifiers, as in the reference.
    return np.where(licensed_gross_kg > 0, licensed_gross_kg, limit)


def assess_batch(
    *,
    axles: ArrayLike,
    gross_kg: ArrayLike,
    combination: ArrayLike | None = None,
    single_drive_axle: ArrayLike | None = None,
    single_tyre_axles: ArrayLike | None = None,
    licensed_gross_kg: ArrayLike | None = None,
    axle_load_sum_kg: ArrayLike | None = None,
    gb1589_exempt: ArrayLike | None = None,
    height_mm: ArrayLike | None = None,
    width_mm: ArrayLike | None = None,
    length_mm: ArrayLike | None = None,
    deduct_bp: ArrayLike | None = None,
    threshold_bp: ArrayLike | None = None,
    part_tonne: PartTonne = PartTonne.DROP,
) -> OverlimitColumns:
    """Assess every row as ``zhifa.domain.overlimit.assess`` would; omitted columns take its defaults."""
    axles_ = _int_column(axles, "axles", None)
    n = len(axles_)

    def ints(values: ArrayLike | None, name: str, default: int) -> Int64Array:
        if values is None:
            return np.full(n, default, dtype=np.int64)
        return _int_column(values, name, n)

    def flags(values: ArrayLike | None, name: str) -> BoolArray:
        return np.zeros(n, dtype=np.bool_) if values is None else _bool_column(values, name, n)

    gross = ints(gross_kg, "gross_kg", 0)
    comb = flags(combination, "combination")
    single_drive = flags(single_drive_axle, "single_drive_axle")
    single_tyre = ints(single_tyre_axles, "single_tyre_axles", 0)
    licensed = ints(licensed_gross_kg, "licensed_gross_kg", 0)
    axle_sum = ints(axle_load_sum_kg, "axle_load_sum_kg", 0)
    exempt = flags(gb1589_exempt, "gb1589_exempt")
    height = ints(height_mm, "height_mm", 0)
    width = ints(width_mm, "width_mm", 0)
    length = ints(length_mm, "length_mm", 0)
    deduct = ints(deduct_bp, "deduct_bp", 0)
    threshold = ints(threshold_bp, "threshold_bp", _BP)

    # The reference's refusals, in the same spirit (VehicleConfiguration, Measurement, Tolerance).
    _refuse(
        (axles_ < MIN_AXLES) | (axles_ > MAX_AXLES), f"axle count must be between {MIN_AXLES} and {MAX_AXLES}"
    )
    _refuse(
        (single_tyre < 0) | (single_tyre >= axles_), "single-tyre (non-drive) axles must be below the axles"
    )
    _refuse(
        (licensed < 0) | (licensed > _MAX_MASS_KG),
        "licensed gross mass must be positive (0 for none) and below 10^12 kg",
    )
    _refuse(
        (axle_sum < 0) | (axle_sum > _MAX_MASS_KG),
        "axle load sum must be positive (0 for none) and below 10^12 kg",
    )
    _refuse((gross <= 0) | (gross > _MAX_MASS_KG), "gross mass must be positive and below 10^12 kg")
    _refuse((height < 0) | (width < 0) | (length < 0), "dimensions must be positive (0 for not measured)")
    _refuse((deduct < 0) | (deduct >= _BP), "tolerance must be in [0, 100) %")
    _refuse(
        (threshold < _BP) | (threshold > 2 * _BP), "decision threshold must be in [100, 200] % of the limit"
    )

    limit = gross_mass_limit(axles_, comb, single_drive, single_tyre, licensed, axle_sum)
    _refuse(limit <= 0, "single-tyre axles leave no gross-mass limit")

    # Tolerance.effective_gross_kg: deduct, then round down to whole kg, in the party's favour.
    effective = gross * (_BP - deduct) // _BP
    # Over means effective / limit > threshold / 100 %, compared in integers (超过: strictly).
    mass_over = (effective * _BP > limit * threshold) & ~exempt
    within_tolerance = ~mass_over & (gross > limit) & ~exempt
    # Once over, the excess counts from the limit itself, not from the threshold.
    excess = np.where(mass_over, effective - limit, 0)
    # round_half_up(excess × 10 000 / limit) = ⌊(2 × excess × 10 000 + limit) / (2 × limit)⌋ for excess ≥ 0.
    excess_pct_centi = (2 * excess * _BP + limit) // (2 * limit)

    # 第三条第一款第一至三项: 0 means not measured, and 0 is never over a limit.
    height_over = (height > LIMIT_HEIGHT_MM) & ~exempt
    width_over = (width > LIMIT_WIDTH_MM) & ~exempt
    length_over = (length > LIMIT_LENGTH_MM) & ~exempt
    dims_over = height_over | width_over | length_over

    # 第四十三条第一款第一项: the tier whose bounds hold all three dimensions (0 is within any).
    def within(bounds: tuple[int, int, int]) -> BoolArray:
        return (height <= bounds[0]) & (width <= bounds[1]) & (length <= bounds[2])

    tier_1, tier_2 = within(TIER_1_BOUNDS_MM), within(TIER_2_BOUNDS_MM)
    dim_min = np.where(
        tier_1, TIER_1_FINE_YUAN[0], np.where(tier_2, TIER_2_FINE_YUAN[0], TIER_3_FINE_YUAN[0])
    )
    dim_max = np.where(
        tier_1, TIER_1_FINE_YUAN[1], np.where(tier_2, TIER_2_FINE_YUAN[1], TIER_3_FINE_YUAN[1])
    )
    dim_min = np.where(dims_over, dim_min, 0)
    dim_max = np.where(dims_over, dim_max, 0)

    # 第四十三条第一款第二项: warning up to 1 000 kg; 500 yuan per 1 000 kg beyond; capped.
    steps = excess // FINE_STEP_KG
    if part_tonne is PartTonne.COUNT:
        steps += (excess % FINE_STEP_KG != 0).astype(np.int64)
    mass_fined = excess > WARNING_MAX_EXCESS_KG
    mass_fine = np.where(mass_fined, np.minimum(steps * FINE_PER_STEP_YUAN, FINE_CAP_YUAN), 0)
    warning = (excess > 0) & ~mass_fined

    # 第四十三条第二款: the fined items summed, the sum capped at 30 000 yuan.
    fined = dims_over | mass_fined
    min_yuan = np.where(fined, np.minimum(dim_min + mass_fine, FINE_CAP_YUAN), 0)
    max_yuan = np.where(fined, np.minimum(dim_max + mass_fine, FINE_CAP_YUAN), 0)
    kind = np.where(fined, PENALTY_FINE, np.where(warning, PENALTY_WARNING, PENALTY_NONE))

    return OverlimitColumns(
        limit_kg=limit,
        effective_gross_kg=effective,
        mass_overlimit=mass_over,
        within_tolerance=within_tolerance,
        excess_kg=excess,
        excess_pct_centi=excess_pct_centi,
        height_over=height_over,
        width_over=width_over,
        length_over=length_over,
        overlimit=mass_over | dims_over,
        warning=warning,
        penalty_kind=kind.astype(np.int64, copy=False),
        min_yuan=min_yuan.astype(np.int64, copy=False),
        max_yuan=max_yuan.astype(np.int64, copy=False),
    )
