"""Benchmark: the traffic simulator's generation rate against its peers on the same rows.

    uv run --frozen python bench/simulator.py [--vehicles 100000] [--hours 1] [--seed 1] [--repeats 3]

Builds the province, the fleet and the routes once (not timed), then times ``simulate`` plus
``write_lake`` (readings and labels, as ``zhifa simulate`` reports it) ``--repeats`` times and
prints positions per second written (best and median). Side by side, on the same positions:

- **interpolation peer**: bare NumPy — one ``searchsorted`` of every fix's tau on the concatenated
  route axis and a linear step for lon/lat: the least any vectorized track generator must do;
- **write peer**: ``pyarrow.parquet.write_table`` of the same position table with the same options:
  what writing alone costs;
- **peer limit**: positions ÷ (interpolation + write), the rate a generator doing nothing else
  would reach on this machine.

The machine's load average is printed before and after: on a shared machine, figures move by
tens of per cent. Results are written up in docs/simulator.md ("Measured rates").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from zhifa.adapters.geodata.reference import load_road_sources
from zhifa.simulator.fleet import make_fleet
from zhifa.simulator.province.graph import build_province
from zhifa.simulator.province.routing import Router
from zhifa.simulator.traffic import TrafficConfig, build_routes, simulate, write_lake

GOAL = 1_000_000  # positions/s generated and written (issue #6)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    t0 = time.perf_counter()
    province = build_province(load_road_sources(), seed=7)
    fleet = make_fleet(args.vehicles, seed=args.seed)
    start = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    config = TrafficConfig(start=start, hours=args.hours, seed=args.seed)
    routes = build_routes(
        province, Router(province), seed=args.seed, sources=config.od_sources, per_source=config.od_per_source
    )
    print(f"setup: province, {args.vehicles:,} vehicles and {len(routes.routes):,} routes in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    print(f"load average before: {_load()}")
    rates, gen_s, write_s = [], [], []
    result = None
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="zhifa-bench-sim-") as tmp:
            a = time.perf_counter()
            result = simulate(province, fleet, config, routes=routes)
            b = time.perf_counter()
            counts = write_lake(Path(tmp), result)
            c = time.perf_counter()
        rates.append(counts["position"] / (c - a))
        gen_s.append(b - a)
        write_s.append(c - b)
    assert result is not None
    n = result.positions.num_rows
    best = int(np.argmax(rates))
    print(
        f"simulate + write_lake, {args.vehicles:,} vehicles × {args.hours:g} h: {n:,} positions, "
        f"{result.passages.num_rows:,} passages, {result.weighings.num_rows:,} weighings, "
        f"{result.labels.num_rows:,} labels, {result.permits.num_rows:,} permits; best "
        f"{gen_s[best]:.2f} s + {write_s[best]:.2f} s = {rates[best]:,.0f} positions/s, median "
        f"{statistics.median(rates):,.0f}/s (goal ≥ {GOAL:,})"
    )
    runs = ", ".join(f"{g:.2f} + {w:.2f} s" for g, w in zip(gen_s, write_s, strict=True))
    print(f"runs (generate + write): {runs}")

    # Peer 1: the bare interpolation of the same number of fixes on the same route axis.
    rng = np.random.default_rng(args.seed)
    axis = routes.tau[1]
    g = np.sort(rng.uniform(axis[0], axis[-1], n))
    rng.shuffle(g[: n // 2])  # half sorted (within a span), half not
    interp = []
    for _ in range(args.repeats):
        a = time.perf_counter()
        at = np.clip(np.searchsorted(axis, g, side="right") - 1, 0, len(axis) - 2)
        frac = (g - axis[at]) / np.maximum(axis[at + 1] - axis[at], 1e-9)
        lon = routes.lon[at] + frac * (routes.lon[at + 1] - routes.lon[at])
        lat = routes.lat[at] + frac * (routes.lat[at + 1] - routes.lat[at])
        interp.append(time.perf_counter() - a)
    del lon, lat
    # Peer 2: writing the same position table with the simulator's options.
    writes = []
    with tempfile.TemporaryDirectory(prefix="zhifa-bench-sim-") as tmp:
        path = Path(tmp) / "positions.parquet"
        names = result.positions.column_names
        for _ in range(args.repeats):
            a = time.perf_counter()
            pq.write_table(
                result.positions,
                path,
                compression="zstd",
                compression_level=-1,
                use_dictionary=False,
                write_statistics=[x for x in names if x in ("time", "received_at", "plate", "terminal")],
                column_encoding={"lon": "BYTE_STREAM_SPLIT", "lat": "BYTE_STREAM_SPLIT"},
            )
            writes.append(time.perf_counter() - a)
    i, w = min(interp), min(writes)
    print(f"interpolation peer (searchsorted + lon/lat on the route axis): {n / i:,.0f} fixes/s ({i:.2f} s)")
    print(f"write peer (pyarrow write_table of the same positions): {n / w:,.0f} rows/s ({w:.2f} s)")
    print(
        f"peer limit (interpolation + write only): {n / (i + w):,.0f} positions/s; simulator / limit: "
        f"{rates[best] / (n / (i + w)):.2f}"
    )
    print(f"load average after: {_load()}  (run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
