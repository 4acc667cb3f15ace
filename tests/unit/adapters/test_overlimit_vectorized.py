"""The vectorized assessment equals the reference ``zhifa.domain.overlimit.assess``, row by row."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifa.adapters.analytics.overlimit import (
    PENALTY_FINE,
    PENALTY_KINDS,
    PENALTY_NONE,
    PENALTY_WARNING,
    OverlimitColumns,
    assess_batch,
)
from zhifa.domain.overlimit import (
    Assessment,
    Dimension,
    Measurement,
    OverlimitInputError,
    PartTonne,
    PenaltyPolicy,
    Tolerance,
    VehicleConfiguration,
    assess,
    gross_mass_limit,
)


@dataclass(frozen=True)
class Row:
    vehicle: VehicleConfiguration
    measurement: Measurement
    deduct_bp: int
    threshold_bp: int

    @property
    def tolerance(self) -> Tolerance:
        return Tolerance(Decimal(self.deduct_bp) / 100, Decimal(self.threshold_bp) / 100)


def _near(bounds: list[int], low: int, high: int) -> st.SearchStrategy[int | None]:
    """A dimension: absent, on or next to a legal boundary, or anywhere."""
    edges = sorted({b + d for b in bounds for d in (-1, 0, 1)})
    return st.one_of(st.none(), st.sampled_from(edges), st.integers(low, high))


@st.composite
def rows(draw: st.DrawFn) -> Row:
    axles = draw(st.one_of(st.integers(2, 6), st.integers(2, 20)))
    combination = draw(st.booleans())
    single_drive_axle = draw(st.booleans())
    base = gross_mass_limit(VehicleConfiguration(axles, combination, single_drive_axle)).kg
    # At most as many single-tyre axles as leave a positive limit (the reference refuses the rest).
    single_tyre_axles = draw(st.integers(0, min(axles - 1, (base - 1) // 3_000)))
    # Limits of 16 000 and 40 000 kg make exact halves of 0.01 % (excess 4 kg: 0.025 %) reachable.
    licensed = draw(
        st.one_of(st.none(), st.none(), st.integers(1, 60_000), st.sampled_from([16_000, 40_000]))
    )
    axle_limits = draw(
        st.one_of(st.none(), st.lists(st.integers(1_000, 13_000), min_size=axles, max_size=axles).map(tuple))
    )
    vehicle = VehicleConfiguration(
        axles,
        combination=combination,
        single_drive_axle=single_drive_axle,
        single_tyre_axles=single_tyre_axles,
        licensed_gross_kg=licensed,
        axle_load_limits_kg=axle_limits,
        gb1589_exempt=draw(st.integers(0, 9)) == 0,
    )
    limit = gross_mass_limit(vehicle).kg
    deduct_bp = draw(
        st.one_of(st.just(0), st.just(0), st.sampled_from([1, 250, 500, 1_000]), st.integers(0, 9_999))
    )
    threshold_bp = draw(st.one_of(st.just(10_000), st.just(10_500), st.integers(10_000, 20_000)))
    # Masses around the limit, around the threshold, around the fine steps, and anywhere.
    gross = draw(
        st.one_of(
            st.integers(-3, 3).map(lambda d: limit + d),
            st.integers(1, 50).map(lambda e: limit + e),
            st.integers(-3, 3).map(lambda d: limit * threshold_bp // 10_000 + d),
            st.sampled_from([1_000, 1_001, 1_999, 2_000, 2_001, 60_000, 61_000]).map(lambda e: limit + e),
            st.integers(1, 150_000),
            st.integers(1, 10**9),
        ).filter(lambda kg: kg > 0)
    )
    measurement = Measurement(
        gross,
        height_mm=draw(_near([4_000, 4_200, 4_500], 1, 6_000)),
        width_mm=draw(_near([2_550, 3_000, 3_750], 1, 5_000)),
        length_mm=draw(_near([18_100, 20_000, 28_000], 1, 40_000)),
    )
    return Row(vehicle, measurement, deduct_bp, threshold_bp)


def _batch(batch: list[Row], part_tonne: PartTonne) -> OverlimitColumns:
    vehicles = [r.vehicle for r in batch]
    measurements = [r.measurement for r in batch]
    return assess_batch(
        axles=np.array([v.axles for v in vehicles], dtype=np.int64),
        combination=np.array([v.combination for v in vehicles], dtype=bool),
        single_drive_axle=np.array([v.single_drive_axle for v in vehicles], dtype=bool),
        single_tyre_axles=np.array([v.single_tyre_axles for v in vehicles], dtype=np.int64),
        licensed_gross_kg=np.array([v.licensed_gross_kg or 0 for v in vehicles], dtype=np.int64),
        axle_load_sum_kg=np.array([sum(v.axle_load_limits_kg or ()) for v in vehicles], dtype=np.int64),
        gb1589_exempt=np.array([v.gb1589_exempt for v in vehicles], dtype=bool),
        gross_kg=np.array([m.gross_kg for m in measurements], dtype=np.int64),
        height_mm=np.array([m.height_mm or 0 for m in measurements], dtype=np.int64),
        width_mm=np.array([m.width_mm or 0 for m in measurements], dtype=np.int64),
        length_mm=np.array([m.length_mm or 0 for m in measurements], dtype=np.int64),
        deduct_bp=np.array([r.deduct_bp for r in batch], dtype=np.int64),
        threshold_bp=np.array([r.threshold_bp for r in batch], dtype=np.int64),
        part_tonne=part_tonne,
    )


def _row_of(columns: OverlimitColumns, i: int) -> dict[str, object]:
    return {
        "limit_kg": int(columns.limit_kg[i]),
        "effective_gross_kg": int(columns.effective_gross_kg[i]),
        "mass_overlimit": bool(columns.mass_overlimit[i]),
        "within_tolerance": bool(columns.within_tolerance[i]),
        "excess_kg": int(columns.excess_kg[i]),
        "excess_pct_centi": int(columns.excess_pct_centi[i]),
        "height_over": bool(columns.height_over[i]),
        "width_over": bool(columns.width_over[i]),
        "length_over": bool(columns.length_over[i]),
        "overlimit": bool(columns.overlimit[i]),
        "warning": bool(columns.warning[i]),
        "penalty_kind": PENALTY_KINDS[int(columns.penalty_kind[i])],
        "min_yuan": int(columns.min_yuan[i]),
        "max_yuan": int(columns.max_yuan[i]),
    }


def _reference(a: Assessment) -> dict[str, object]:
    return {
        "limit_kg": a.limit_kg,
        "effective_gross_kg": a.effective_gross_kg,
        "mass_overlimit": a.mass_overlimit,
        "within_tolerance": a.within_tolerance,
        "excess_kg": a.excess_kg,
        "excess_pct_centi": int(a.excess_pct * 100),
        "height_over": Dimension.HEIGHT in a.dimensions_over,
        "width_over": Dimension.WIDTH in a.dimensions_over,
        "length_over": Dimension.LENGTH in a.dimensions_over,
        "overlimit": a.overlimit,
        "warning": a.penalty.warning,
        "penalty_kind": a.penalty.kind,
        "min_yuan": a.penalty.min_yuan,
        "max_yuan": a.penalty.max_yuan,
    }


@settings(max_examples=200, deadline=None)
@given(batch=st.lists(rows(), min_size=1, max_size=40), part_tonne=st.sampled_from(PartTonne))
def test_vectorized_equals_reference(batch: list[Row], part_tonne: PartTonne) -> None:
    columns = _batch(batch, part_tonne)
    assert len(columns) == len(batch)
    policy = PenaltyPolicy(part_tonne)
    for i, row in enumerate(batch):
        expected = _reference(assess(row.vehicle, row.measurement, row.tolerance, policy))
        assert _row_of(columns, i) == expected, f"row {i}: {row}"


def test_defaults_match_the_reference_defaults() -> None:
    columns = assess_batch(axles=[2, 6, 6], gross_kg=[19_001, 49_000, 49_001])
    assert columns.limit_kg.tolist() == [18_000, 49_000, 49_000]
    assert columns.excess_kg.tolist() == [1_001, 0, 1]
    assert columns.penalty_kind.tolist() == [PENALTY_FINE, PENALTY_NONE, PENALTY_WARNING]
    assert columns.min_yuan.tolist() == [500, 0, 0]
    assert columns.excess_pct_centi.tolist() == [556, 0, 0]


def test_empty_batch() -> None:
    columns = assess_batch(axles=[], gross_kg=[])
    assert len(columns) == 0
    assert columns.overlimit.dtype == np.bool_
    assert columns.min_yuan.dtype == np.int64


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"axles": [2, 1]}, "row 1: axle count must be between 2 and 20", id="1-axle"),
        pytest.param({"axles": [2, 21]}, "row 1: axle count must be between 2 and 20", id="21-axles"),
        pytest.param({"gross_kg": [-1, 10_000]}, "row 0: gross mass must be positive", id="negative-mass"),
        pytest.param(
            {"single_tyre_axles": [0, 2]}, r"row 1: single-tyre \(non-drive\) axles", id="single-tyre"
        ),
        pytest.param({"deduct_bp": [0, 10_000]}, r"row 1: tolerance must be in \[0, 100\) %", id="tolerance"),
        pytest.param({"threshold_bp": [9_999, 10_000]}, "row 0: decision threshold", id="threshold-low"),
        pytest.param({"threshold_bp": [10_000, 20_001]}, "row 1: decision threshold", id="threshold-high"),
        pytest.param({"height_mm": [0, -1]}, "row 1: dimensions must be positive", id="negative-height"),
        pytest.param({"licensed_gross_kg": [-1, 0]}, "row 0: licensed gross mass", id="negative-licensed"),
        pytest.param({"gross_kg": [1, 2, 3]}, "gross_kg has 3 rows, expected 2", id="ragged"),
        pytest.param({"gross_kg": [1.5, 2.0]}, "gross_kg must hold integers", id="float-mass"),
        pytest.param({"combination": [1, 0]}, "combination must hold booleans", id="int-flag"),
        pytest.param(
            {"axles": [20, 2], "single_tyre_axles": [17, 0]},
            "row 0: single-tyre axles leave no gross-mass limit",
            id="no-limit-left",
        ),
    ],
)
def test_invalid_rows_are_refused(overrides: dict[str, object], message: str) -> None:
    columns: dict[str, object] = {"axles": [2, 2], "gross_kg": [10_000, 10_000], **overrides}
    with pytest.raises(OverlimitInputError, match=message):
        assess_batch(**columns)  # type: ignore[arg-type]
