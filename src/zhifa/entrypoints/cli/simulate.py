"""``zhifa simulate``: a province's simulated traffic with ground truth, written as a lake.

Builds the reference province from the packaged road data (through bootstrap), the fleet and its
traffic, and writes the readings in the lake layout plus ``labels.parquet`` and the registers.
Streaming into a running platform (``--live``) is not implemented yet.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from zhifa.bootstrap import reference_road_sources
from zhifa.simulator.fleet import make_fleet
from zhifa.simulator.province.graph import build_province
from zhifa.simulator.province.routing import Router
from zhifa.simulator.traffic import (
    TrafficConfig,
    build_routes,
    default_start,
    write_lake,
    write_registers,
)
from zhifa.simulator.traffic import (
    simulate as run_traffic,
)


def _start(value: str | None) -> datetime:
    if value is None:
        return default_start()
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise typer.BadParameter("give a time zone, e.g. 2026-01-05T10:00:00+08:00")
    return parsed.astimezone(UTC)


def simulate(
    vehicles: Annotated[int, typer.Option("--vehicles", min=1, help="Vehicles in the fleet.")] = 1000,
    hours: Annotated[float, typer.Option("--hours", min=0.01, help="Hours to simulate.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the lake into.")] = Path("simulated"),
    start: Annotated[str | None, typer.Option("--start", help="ISO start time with zone.")] = None,
    interval: Annotated[int, typer.Option("--interval", min=1, help="Seconds between positions.")] = 30,
) -> None:
    """Simulate traffic with injected violations; write readings, labels and registers."""
    began = time.perf_counter()
    province = build_province(reference_road_sources(), seed=seed)
    fleet = make_fleet(vehicles, seed=seed)
    config = TrafficConfig(start=_start(start), hours=hours, seed=seed, interval_s=interval)
    routes = build_routes(
        province, Router(province), seed=seed, sources=config.od_sources, per_source=config.od_per_source
    )
    prepared = time.perf_counter()
    result = run_traffic(province, fleet, config, routes=routes)
    generated = time.perf_counter()
    counts = write_lake(out, result)
    written = time.perf_counter()
    write_registers(out, fleet, province)
    for name, count in counts.items():
        typer.echo(f"{name}: {count}")
    seconds = written - prepared
    rate = counts["position"] / seconds if seconds > 0 else 0.0
    typer.echo(
        f"province, fleet and routes {prepared - began:.1f} s; traffic {generated - prepared:.1f} s; "
        f"readings written {written - generated:.1f} s; {rate:,.0f} positions/s generated and written"
    )
    typer.echo(f"wrote {out}")
