"""``zhifa simulate``: a province's simulated traffic with ground truth, written as a lake.

Builds the reference province from the packaged road data (through bootstrap), the fleet and its
traffic, and writes the readings in the lake layout plus ``labels.parquet`` and the registers.
With ``--live`` it streams the traffic into a running platform instead, in simulated time at a
speed-up (simulator/live.py): positions over JT/T 808 TCP to ``--gateway``, passages and
weighings over signed HTTP ingest to ``--api``. ``--enrol`` first puts the simulated fleet, its
terminals and the weighing sites into the registers of ``--data-dir`` (``register_simulated``,
which the demo uses too).
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer

from zhifa.bootstrap import reference_road_sources
from zhifa.entrypoints.cli.platform import DataDir, open_app, settings_with
from zhifa.entrypoints.simulated import NoProvinceUnit, register_simulated, replay_key
from zhifa.simulator.fleet import Fleet, make_fleet
from zhifa.simulator.live import LiveConfig, LiveReplay, LiveStats, replay_start
from zhifa.simulator.province.graph import build_province
from zhifa.simulator.province.model import Province
from zhifa.simulator.province.routing import Router
from zhifa.simulator.traffic import (
    TrafficConfig,
    TrafficResult,
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


def _gateway(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise typer.BadParameter(f"--gateway takes HOST:PORT, not {value!r}")
    return host, int(port)


def _key(value: str) -> tuple[str, bytes]:
    key_id, _, secret = value.partition(":")
    try:
        return key_id, bytes.fromhex(secret)
    except ValueError:
        raise typer.BadParameter("--key takes KEY_ID:SECRET_HEX, as `zhifa api-keys` prints them") from None


def describe(stats: LiveStats) -> str:
    """One progress line of a live replay."""
    when = f"{stats.simulated.astimezone(timezone_china()):%m-%d %H:%M}" if stats.simulated else "--"
    return (
        f"[模拟时间 {when}] 终端 {stats.logged_in}/{stats.terminals} 在线；"
        f"定位 {stats.positions_acked}/{stats.positions_due} 已应答（补报 {stats.positions_resent}）；"
        f"门架 {stats.passages_accepted}/{stats.passages_sent}；"
        f"称重 {stats.weighings_accepted}/{stats.weighings_sent}（超限 {stats.overlimit}）"
    )


def timezone_china() -> timezone:
    return timezone(timedelta(hours=8))


def simulate(
    vehicles: Annotated[int, typer.Option("--vehicles", min=1, help="Vehicles in the fleet.")] = 1000,
    hours: Annotated[float, typer.Option("--hours", min=0.01, help="Hours to simulate.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the lake into.")] = Path("simulated"),
    start: Annotated[str | None, typer.Option("--start", help="ISO start time with zone.")] = None,
    interval: Annotated[int, typer.Option("--interval", min=1, help="Seconds between positions.")] = 30,
    live: Annotated[
        bool, typer.Option("--live", help="Stream into a running platform instead of writing a lake.")
    ] = False,
    api: Annotated[str | None, typer.Option("--api", help="--live: the platform's base URL.")] = None,
    gateway: Annotated[
        str | None, typer.Option("--gateway", help="--live: the JT/T 808 gateway, HOST:PORT.")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", envvar="ZHIFA_SIMULATE_KEY", help="--live: API key KEY_ID:SECRET_HEX."),
    ] = None,
    speedup: Annotated[
        float, typer.Option("--speedup", min=1.0, help="--live: simulated seconds per real second.")
    ] = 60.0,
    live_vehicles: Annotated[
        int, typer.Option("--live-vehicles", min=0, help="--live: terminals driven at most.")
    ] = 300,
    enrol: Annotated[
        bool,
        typer.Option("--enrol", help="--live: first register the fleet, terminals and sites in --data-dir."),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Simulate traffic with injected violations; write readings, labels and registers, or with
    --live stream them into a running platform at a speed-up."""
    began = time.perf_counter()
    province = build_province(reference_road_sources(), seed=seed)
    fleet = make_fleet(vehicles, seed=seed)
    # Live, the span ends when it has been played: simulated time never runs ahead of the clock.
    first = replay_start(datetime.now(UTC), hours, speedup) if live and start is None else _start(start)
    config = TrafficConfig(start=first, hours=hours, seed=seed, interval_s=interval)
    routes = build_routes(
        province, Router(province), seed=seed, sources=config.od_sources, per_source=config.od_per_source
    )
    prepared = time.perf_counter()
    result = run_traffic(province, fleet, config, routes=routes)
    generated = time.perf_counter()
    if live:
        config_live = LiveConfig(speedup=speedup, max_terminals=live_vehicles)
        _live(result, province, fleet, api, gateway, key, config_live, enrol, data_dir)
        return
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


def _live(
    result: TrafficResult,
    province: Province,
    fleet: Fleet,
    api: str | None,
    gateway: str | None,
    key: str | None,
    config: LiveConfig,
    enrol: bool,
    data_dir: Path | None,
) -> None:
    if api is None and gateway is None:
        raise typer.BadParameter("--live needs --api, --gateway or both")
    keys = _key(key) if key else None
    replay = LiveReplay(
        result,
        gateway=_gateway(gateway) if gateway else None,
        api_url=api,
        key=keys,
        config=config,
        on_progress=lambda stats: typer.echo(describe(stats)),
    )
    if enrol:
        app = open_app(settings_with(data_dir))
        try:
            today = datetime.now(UTC).astimezone(timezone_china()).date()
            added = register_simulated(app, province, fleet, replay.vehicles, today)
            typer.echo("registered " + ", ".join(f"{n} {k}" for k, n in added.items()))
            if keys is None and api is not None:
                try:
                    replay.key = replay_key(app)
                except NoProvinceUnit as exc:
                    raise typer.BadParameter(str(exc)) from None
        finally:
            app.close()
    if api is not None and replay.key is None:
        raise typer.BadParameter("--live with --api needs --key (or --enrol to issue one)")
    typer.echo(
        f"live: {result.positions.num_rows} positions ({replay.stats.positions_due} of "
        f"{len(replay.vehicles)} terminals driven), {result.passages.num_rows} passages, "
        f"{result.weighings.num_rows} weighings from {result.start:%Y-%m-%d %H:%M} UTC at {config.speedup:g}x"
    )

    async def main() -> LiveStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await replay.run(stop)

    stats = asyncio.run(main())
    typer.echo(describe(stats))
    if stats.positions_open:
        raise typer.Exit(1)
