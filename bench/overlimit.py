"""Benchmark: over-limit assessment, reference (one weighing at a time) against vectorized (NumPy).

    uv run --frozen python bench/overlimit.py [--n 1000000] [--seed 20261121]

Generates N synthetic weighings with a fixed seed, times ``zhifa.domain.overlimit.assess`` in a
Python loop and ``zhifa.adapters.analytics.overlimit.assess_batch`` on the same data in the same
process, checks that both agree on a random sample of rows, and prints records/s and the ratio.
Results are written up in docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from zhifa.adapters.analytics.overlimit import PENALTY_KINDS, OverlimitColumns, assess_batch, gross_mass_limit
from zhifa.domain.overlimit import (
    DEFAULT_POLICY,
    Dimension,
    Measurement,
    Tolerance,
    VehicleConfiguration,
    assess,
)

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

# The reference loop is timed on all rows only if a pilot run predicts it fits this budget;
# otherwise on as many rows as fit REFERENCE_SUBSET_S, and the output says so.
REFERENCE_FULL_BUDGET_S = 90.0
REFERENCE_SUBSET_S = 60.0
PILOT_ROWS = 20_000
CHUNK_ROWS = 100_000  # the reference converts columns to Python objects chunk by chunk
SAMPLE_ROWS = 100_000
VECTORIZED_REPEATS = 5


@dataclass(frozen=True)
class Weighings:
    axles: Ints
    combination: Bools
    single_drive_axle: Bools
    single_tyre_axles: Ints
    licensed_gross_kg: Ints  # 0: none
    axle_load_sum_kg: Ints  # 0: none
    gb1589_exempt: Bools
    gross_kg: Ints
    height_mm: Ints  # 0: not measured
    width_mm: Ints
    length_mm: Ints
    deduct_bp: Ints
    threshold_bp: Ints

    def __len__(self) -> int:
        return len(self.axles)


def generate(n: int, seed: int) -> Weighings:
    """A plausible day of weigh stations: mostly 2- and 6-axle traffic, about 15 % over the mass limit.

    - axles 2/3/4/5/6 with shares 30/12/13/10/35 %; 3- and 4-axle vehicles are combinations 40 % of
      the time, 5 and 6 always; 25 % of 6-axle tractors have a single drive axle;
    - 4 % have one single-tyre non-drive axle; 2 % of 2-axle vehicles are low-speed trucks with a
      licensed mass of 4 495 kg; 3 % carry an axle-load sum slightly below the table limit;
      1 % are GB 1589-exempt;
    - tolerance: 55 % static scales (none), 35 % weigh-in-motion class 5 (5 % deducted), 10 %
      expressway entrances (105 % threshold);
    - 15 % are loaded beyond the limit after tolerance (by up to half the limit), the rest weigh
      35–100 % of it; 40 % pass a profile scanner (height, width, length), of which a few per cent
      exceed a dimension.
    """
    rng = np.random.default_rng(seed)
    axles = rng.choice(np.array([2, 3, 4, 5, 6], dtype=np.int64), size=n, p=[0.30, 0.12, 0.13, 0.10, 0.35])
    combination = (axles >= 5) | (((axles == 3) | (axles == 4)) & (rng.random(n) < 0.40))
    single_drive_axle = (axles == 6) & (rng.random(n) < 0.25)
    single_tyre_axles = (rng.random(n) < 0.04).astype(np.int64)
    licensed = np.where((axles == 2) & (rng.random(n) < 0.02), 4_495, 0).astype(np.int64)
    gb1589_exempt = rng.random(n) < 0.01

    table_limit = gross_mass_limit(
        axles, combination, single_drive_axle, single_tyre_axles, np.zeros(n, np.int64), np.zeros(n, np.int64)
    )
    axle_load_sum = np.where(
        (licensed == 0) & (rng.random(n) < 0.03), table_limit - rng.integers(0, 2_001, n), 0
    ).astype(np.int64)
    limit = gross_mass_limit(
        axles, combination, single_drive_axle, single_tyre_axles, licensed, axle_load_sum
    )

    kind = rng.random(n)
    deduct_bp = np.where((kind >= 0.55) & (kind < 0.90), 500, 0).astype(np.int64)
    threshold_bp = np.where(kind >= 0.90, 10_500, 10_000).astype(np.int64)

    # Choose the mass after tolerance, then invert the deduction exactly (ceil), so that the
    # over-limit share is what we asked for whatever the device.
    over = rng.random(n) < 0.15
    over_target = limit * threshold_bp // 10_000 + 1 + (rng.random(n) * limit * 0.5).astype(np.int64)
    under_target = (limit * rng.uniform(0.35, 1.0, n)).astype(np.int64)
    target = np.maximum(np.where(over, over_target, under_target), 1)
    gross_kg = -(-target * 10_000 // (10_000 - deduct_bp))

    scanned = rng.random(n) < 0.40
    height = np.clip(rng.normal(3_600, 200, n), 2_000, 5_200).astype(np.int64)
    width = np.clip(rng.normal(2_450, 40, n), 1_800, 3_900).astype(np.int64)
    base_length = np.where(axles == 2, 9_000, np.where(axles <= 4, 12_000, 16_500))
    length = np.clip(base_length + rng.normal(0, 900, n), 4_000, 30_000).astype(np.int64)
    zero = np.zeros(n, np.int64)

    return Weighings(
        axles=axles,
        combination=combination,
        single_drive_axle=single_drive_axle,
        single_tyre_axles=single_tyre_axles,
        licensed_gross_kg=licensed,
        axle_load_sum_kg=axle_load_sum,
        gb1589_exempt=gb1589_exempt,
        gross_kg=gross_kg.astype(np.int64),
        height_mm=np.where(scanned, height, zero),
        width_mm=np.where(scanned, width, zero),
        length_mm=np.where(scanned, length, zero),
        deduct_bp=deduct_bp,
        threshold_bp=threshold_bp,
    )


def _axle_limits(total: int, axles: int) -> tuple[int, ...] | None:
    """Any per-axle split with the given sum: the rule (第三条第二款第三项) looks only at the sum."""
    if total == 0:
        return None
    share = total // axles
    return (*([share] * (axles - 1)), total - share * (axles - 1))


class Reference:
    """The domain's ``assess`` over rows, as a service handling weighings one by one would call it."""

    def __init__(self, data: Weighings) -> None:
        self.data = data
        # A device's tolerance is configured once, not parsed per weighing.
        self._tolerances: dict[tuple[int, int], Tolerance] = {}

    def tolerance(self, deduct_bp: int, threshold_bp: int) -> Tolerance:
        key = (deduct_bp, threshold_bp)
        if key not in self._tolerances:
            self._tolerances[key] = Tolerance(Decimal(deduct_bp) / 100, Decimal(threshold_bp) / 100)
        return self._tolerances[key]

    def rows(self, index: Ints) -> list[tuple[VehicleConfiguration, Measurement, Tolerance]]:
        d = self.data
        columns = zip(
            *(
                getattr(d, name)[index].tolist()
                for name in (
                    "axles",
                    "combination",
                    "single_drive_axle",
                    "single_tyre_axles",
                    "licensed_gross_kg",
                    "axle_load_sum_kg",
                    "gb1589_exempt",
                    "gross_kg",
                    "height_mm",
                    "width_mm",
                    "length_mm",
                    "deduct_bp",
                    "threshold_bp",
                )
            ),
            strict=True,
        )
        out = []
        for (
            axles,
            comb,
            drive,
            tyres,
            licensed,
            axle_sum,
            exempt,
            gross,
            h,
            w,
            ln,
            deduct,
            threshold,
        ) in columns:
            vehicle = VehicleConfiguration(
                axles,
                combination=comb,
                single_drive_axle=drive,
                single_tyre_axles=tyres,
                licensed_gross_kg=licensed or None,
                axle_load_limits_kg=_axle_limits(axle_sum, axles),
                gb1589_exempt=exempt,
            )
            measurement = Measurement(gross, h or None, w or None, ln or None)
            out.append((vehicle, measurement, self.tolerance(deduct, threshold)))
        return out

    def run(self, stop: int) -> float:
        """Seconds to build the inputs and assess rows [0, stop), results discarded."""
        started = time.perf_counter()
        for begin in range(0, stop, CHUNK_ROWS):
            for vehicle, measurement, tolerance in self.rows(np.arange(begin, min(begin + CHUNK_ROWS, stop))):
                assess(vehicle, measurement, tolerance, DEFAULT_POLICY)
        return time.perf_counter() - started


def vectorized(data: Weighings) -> OverlimitColumns:
    return assess_batch(
        axles=data.axles,
        combination=data.combination,
        single_drive_axle=data.single_drive_axle,
        single_tyre_axles=data.single_tyre_axles,
        licensed_gross_kg=data.licensed_gross_kg,
        axle_load_sum_kg=data.axle_load_sum_kg,
        gb1589_exempt=data.gb1589_exempt,
        gross_kg=data.gross_kg,
        height_mm=data.height_mm,
        width_mm=data.width_mm,
        length_mm=data.length_mm,
        deduct_bp=data.deduct_bp,
        threshold_bp=data.threshold_bp,
        part_tonne=DEFAULT_POLICY.part_tonne,
    )


def disagreements(reference: Reference, columns: OverlimitColumns, index: Ints) -> list[str]:
    """Rows of the sample where any output differs from the reference (empty when all agree)."""
    bad = []
    for i, (vehicle, measurement, tolerance) in zip(index.tolist(), reference.rows(index), strict=True):
        a = assess(vehicle, measurement, tolerance, DEFAULT_POLICY)
        expected = (
            a.limit_kg,
            a.effective_gross_kg,
            a.mass_overlimit,
            a.within_tolerance,
            a.excess_kg,
            int(a.excess_pct * 100),
            Dimension.HEIGHT in a.dimensions_over,
            Dimension.WIDTH in a.dimensions_over,
            Dimension.LENGTH in a.dimensions_over,
            a.overlimit,
            a.penalty.warning,
            a.penalty.kind,
            a.penalty.min_yuan,
            a.penalty.max_yuan,
        )
        got = (
            int(columns.limit_kg[i]),
            int(columns.effective_gross_kg[i]),
            bool(columns.mass_overlimit[i]),
            bool(columns.within_tolerance[i]),
            int(columns.excess_kg[i]),
            int(columns.excess_pct_centi[i]),
            bool(columns.height_over[i]),
            bool(columns.width_over[i]),
            bool(columns.length_over[i]),
            bool(columns.overlimit[i]),
            bool(columns.warning[i]),
            PENALTY_KINDS[int(columns.penalty_kind[i])],
            int(columns.min_yuan[i]),
            int(columns.max_yuan[i]),
        )
        if got != expected:
            bad.append(f"row {i}: vectorized {got} != reference {expected}")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1_000_000, help="weighings to generate (default 1 000 000)")
    parser.add_argument("--seed", type=int, default=20261121, help="random seed (default 20261121)")
    args = parser.parse_args(argv)
    n: int = args.n
    if n < 1:
        parser.error("--n must be positive")

    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    started = time.perf_counter()
    data = generate(n, args.seed)
    print(f"generated {n:,} weighings (seed {args.seed}) in {time.perf_counter() - started:.2f} s")

    times = []
    for _ in range(VECTORIZED_REPEATS):
        t0 = time.perf_counter()
        columns = vectorized(data)
        times.append(time.perf_counter() - t0)
    vec_s = min(times)
    print(
        f"mix: {columns.mass_overlimit.mean():.1%} over the mass limit, "
        f"{(columns.height_over | columns.width_over | columns.length_over).mean():.2%} over a dimension, "
        f"{columns.overlimit.mean():.1%} over-limit in all, "
        f"{(data.height_mm > 0).mean():.0%} with dimensions"
    )

    reference = Reference(data)
    pilot_rows = min(PILOT_ROWS, n)
    pilot_rate = pilot_rows / reference.run(pilot_rows)
    if n / pilot_rate <= REFERENCE_FULL_BUDGET_S:
        ref_rows = n
        note = "all rows"
    else:
        ref_rows = max(pilot_rows, int(REFERENCE_SUBSET_S * pilot_rate) // CHUNK_ROWS * CHUNK_ROWS)
        note = (
            f"SUBSET: the first {ref_rows:,} rows only (all {n:,} would take "
            f"~{n / pilot_rate:.0f} s by the pilot run)"
        )
    ref_s = reference.run(ref_rows)
    ref_rate = ref_rows / ref_s
    vec_rate = n / vec_s

    rng = np.random.default_rng(args.seed + 1)
    sample = np.sort(rng.choice(n, size=min(SAMPLE_ROWS, n), replace=False)).astype(np.int64)
    bad = disagreements(reference, columns, sample)

    print(
        f"reference  (assess in a Python loop): {ref_rows:>10,} rows in {ref_s:8.3f} s "
        f"= {ref_rate:>12,.0f} rows/s [{note}]"
    )
    print(
        f"vectorized (assess_batch, NumPy int64): {n:>8,} rows in {vec_s:8.3f} s = {vec_rate:>12,.0f} rows/s "
        f"[best of {VECTORIZED_REPEATS}; median {sorted(times)[len(times) // 2]:.3f} s]"
    )
    print(f"ratio: vectorized is {vec_rate / ref_rate:,.0f}x the reference")
    if bad:
        print(f"DISAGREEMENT on {len(bad)} of {len(sample):,} sampled rows:", *bad[:10], sep="\n  ")
        return 1
    print(f"agreement: all {len(sample):,} sampled rows equal on all 14 output columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
