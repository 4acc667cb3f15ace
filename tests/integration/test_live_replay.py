"""The live replay (simulator/live.py) against the real platform: the JT/T 808 gateway over TCP and
the HTTP ingest API, on SQLite, with the registers filled as the demo fills them.

A small simulated province (80 vehicles, 20 simulated minutes before the test clock) is
played at a high speed-up; the lake then holds exactly the simulated readings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import make_app, unit_at
from tests.fakes import FakeClock
from zhifa.bootstrap import App, reference_road_sources
from zhifa.domain.readings import ReadingKind
from zhifa.entrypoints.api import create_api
from zhifa.entrypoints.gateway import app_gateway, start_in_thread
from zhifa.entrypoints.simulated import register_simulated, replay_key
from zhifa.services.lake import LakeWriter
from zhifa.services.ports import BusUnavailable
from zhifa.simulator.fleet import Fleet, make_fleet
from zhifa.simulator.live import LiveConfig, LiveReplay, LiveStats, drivable, replay_start
from zhifa.simulator.province.graph import build_province
from zhifa.simulator.province.model import Province
from zhifa.simulator.traffic import TrafficConfig, TrafficResult, simulate

SEED = 3
MINUTES = 20
# HttpFeeder sets a request timeout, which the ASGI test client warns about and ignores.
pytestmark = pytest.mark.filterwarnings("ignore:You should not use the 'timeout' argument")


@cache
def _province() -> Province:
    return build_province(reference_road_sources(), seed=SEED)


@cache
def _fleet(vehicles: int) -> Fleet:
    return make_fleet(vehicles, seed=SEED)


@cache
def _traffic(vehicles: int) -> TrafficResult:
    start = FakeClock().now() - timedelta(minutes=MINUTES)
    config = TrafficConfig(start=start, hours=MINUTES / 60, seed=SEED, od_sources=12, od_per_source=6)
    return simulate(_province(), _fleet(vehicles), config)


def _lake(app: App, kind: ReadingKind, view: str) -> list[dict[str, Any]]:
    writer = LakeWriter(app.lake_deps, (kind,))
    writer.drain(timeout=0.2)
    writer.close()
    with app.lake.connect() as con:  # type: ignore[attr-defined]
        cursor = con.execute(f"SELECT * FROM {view}")  # noqa: S608 - a fixed view name
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _replay(app: App, result: TrafficResult, **config: Any) -> tuple[LiveReplay, LiveStats]:
    """Register the province as the demo does, start the gateway and play ``result`` into it and
    into the API (through an ASGI test client)."""
    today = app.clock.now().date()
    driven = [result.vehicles[i] for i in drivable(result.vehicles, config.get("max_terminals", 300))]
    fleet = _fleet(sum(1 for v in result.vehicles if v.clone_of is None))
    register_simulated(app, _province(), fleet, driven, today)
    unit_at(app, "340000")  # the province unit, which the replay's API key belongs to
    key = replay_key(app)
    api = create_api(app)
    client: Callable[[], httpx.Client] = lambda: TestClient(api, base_url="http://testserver")  # noqa: E731

    async def scenario() -> tuple[LiveReplay, LiveStats]:
        gateway = app_gateway(app, host="127.0.0.1", port=0)
        await gateway.start()
        try:
            assert gateway.port is not None
            replay = LiveReplay(
                result,
                gateway=("127.0.0.1", gateway.port),
                api_url="http://testserver",
                key=key,
                now=app.clock.now,
                config=LiveConfig(**({"speedup": 2400.0, "tick_s": 0.02} | config)),
                http=client,
            )
            return replay, await replay.run()
        finally:
            await gateway.stop()

    return asyncio.run(scenario())


def test_every_position_of_a_driven_terminal_reaches_the_lake_once_with_its_values(app: App) -> None:
    """Played at 2400x over real TCP, each fix of every terminal the replay drives is answered and
    stored exactly once, with the simulated plate, time, coordinates, speed (to the wire's 0.1
    km/h), heading, altitude and status, as a live (not backfilled) position; nothing of vehicles
    without a terminal or of clones is sent. Passages and weighings arrive over signed HTTP
    ingest: every one is accepted and lands in the lake under its simulator record id."""
    result = _traffic(80)
    replay, stats = _replay(app, result)
    assert stats.finished and stats.terminals == len(replay.vehicles) > 3
    assert stats.logged_in == stats.terminals
    assert stats.positions_due > 200
    assert stats.positions_acked == stats.positions_sent == stats.positions_due
    assert stats.positions_refused == 0

    phones = {v.terminal.phone for v in replay.vehicles if v.terminal}
    expected = {row["record_id"]: row for row in result.positions.to_pylist() if row["terminal"] in phones}
    assert len(expected) == stats.positions_due
    rows = _lake(app, ReadingKind.POSITION, "positions")
    assert sorted(r["record_id"] for r in rows) == sorted(expected)  # exactly once each, nothing else
    for row in rows:
        sim = expected[row["record_id"]]
        assert (row["terminal"], row["plate"], row["plate_colour"]) == (
            sim["terminal"],
            sim["plate"],
            sim["plate_colour"],
        )
        assert row["time"] == sim["time"]
        assert (row["lon"], row["lat"]) == (sim["lon"], sim["lat"])
        assert row["speed_kmh"] == pytest.approx(round(sim["speed_kmh"], 1))
        assert (row["heading"], row["altitude_m"], row["status"], row["alarm"]) == (
            sim["heading"],
            sim["altitude_m"],
            sim["status"],
            sim["alarm"],
        )
        assert row["backfill"] is False

    passages = _lake(app, ReadingKind.PASSAGE, "passages")
    assert result.passages.num_rows > 0
    assert stats.passages_accepted == stats.passages_sent == result.passages.num_rows
    assert sorted(p["record_id"] for p in passages) == sorted(result.passages.column("record_id").to_pylist())
    assert result.weighings.num_rows > 0
    assert stats.weighings_accepted + stats.weighings_duplicates == result.weighings.num_rows
    assert stats.weighings_rejected == 0
    weighings = _lake(app, ReadingKind.WEIGHING, "weighings")
    assert sorted(w["record_id"] for w in weighings) == sorted(
        result.weighings.column("record_id").to_pylist()
    )
    assert unit_at(app, "340000") is not None


def test_the_terminal_cap_drives_only_the_first_terminals(app: App) -> None:
    """With ``max_terminals`` 3, exactly three terminals log in and only their fixes are sent and
    stored: the demo machine never carries more connections than it was told to."""
    result = _traffic(80)
    replay, stats = _replay(app, result, max_terminals=3)
    assert stats.terminals == stats.logged_in == 3
    phones = {v.terminal.phone for v in replay.vehicles if v.terminal}
    rows = _lake(app, ReadingKind.POSITION, "positions")
    assert {r["terminal"] for r in rows} <= phones
    assert len(rows) == stats.positions_due == stats.positions_acked


def test_unanswered_fixes_are_resent_as_blind_area_batches_and_stored_once(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the bus refuses, the gateway answers no 0x0200; the terminals give up waiting, reconnect,
    authenticate with their codes and resend what they hold as 0x0704 type 1 batches. Once the bus
    is back every fix is stored exactly once, the resent ones marked as backfill (盲区补报)."""
    bus = app.bus
    real_publish = bus.publish
    down: list[float] = []  # when the first position came: the bus is down for 1.5 s from then

    def publish(kind: str, messages: Any) -> None:
        if kind == ReadingKind.POSITION:
            down[:] = down or [time.monotonic()]
            if time.monotonic() < down[0] + 1.5:
                raise BusUnavailable("bus down for the test")
        real_publish(kind, messages)

    monkeypatch.setattr(bus, "publish", publish)
    result = _traffic(80)
    _, stats = _replay(app, result, max_terminals=6, ack_timeout_s=0.5, settle_s=20.0)
    assert stats.reconnects > 0 and stats.positions_resent > 0
    assert stats.positions_acked == stats.positions_due
    rows = _lake(app, ReadingKind.POSITION, "positions")
    assert len(rows) == len({r["record_id"] for r in rows}) == stats.positions_due
    assert any(r["backfill"] for r in rows)


def test_simulate_live_command_enrols_the_fleet_and_streams_its_positions(
    tmp_path: Path, clock: FakeClock
) -> None:
    """``zhifa simulate --live --enrol`` against a running gateway: it registers the fleet, the
    terminals and the weighing sites in the platform's store, drives the terminals over TCP and
    exits 0 once every fix is answered; the lake then holds exactly those fixes."""
    from typer.testing import CliRunner

    from zhifa.entrypoints.cli import app as cli

    data = tmp_path / "data"
    platform = make_app("", data, clock)  # the store the command opens from --data-dir
    gateway, stop = start_in_thread(platform, host="127.0.0.1", port=0)
    try:
        start = (clock.now() - timedelta(minutes=MINUTES)).isoformat()
        outcome = CliRunner().invoke(
            cli,
            ["simulate", "--live", "--vehicles", "80", "--hours", str(MINUTES / 60), "--seed", str(SEED),
             "--start", start, "--gateway", f"127.0.0.1:{gateway.port}", "--speedup", "3000",
             "--enrol", "--data-dir", str(data)],
        )  # fmt: skip
    finally:
        stop()
    try:
        assert outcome.exit_code == 0, outcome.output
        assert "registered" in outcome.output and "25 sites" in outcome.output
        with platform.uow() as uow:
            assert len(uow.sites.list()) == 25
        rows = _lake(platform, ReadingKind.POSITION, "positions")
        assert rows and len(rows) == len({r["record_id"] for r in rows})
        assert f"定位 {len(rows)}/{len(rows)} 已应答" in outcome.output
    finally:
        platform.close()


def test_replay_start_never_runs_ahead_of_the_clock() -> None:
    """The demo's simulated day starts so that, played at the speed-up, simulated time reaches
    the wall clock exactly at the end and never passes it (the platform refuses future readings)."""
    now = FakeClock().now()
    start = replay_start(now, 24, 60)
    assert start.second == 0 and start <= now - timedelta(hours=24) * (1 - 1 / 60)
    assert now - start - timedelta(hours=24) * (1 - 1 / 60) < timedelta(minutes=1)
