"""End to end: simulated terminals stream into ``zhifa gateway`` while it is killed mid-stream.

The gateway runs as its own process; a fleet of simulated terminals (simulator/jt808.py) connects,
registers, authenticates and reports. The gateway is killed with SIGKILL twice and restarted.
Terminals reconnect, authenticate with the codes they were given, and send what was never
answered as 0x0704 blind-area batches. Afterwards the bus is drained into the lake, which must
hold every fix any terminal saw acknowledged (nothing acknowledged is lost) and, since the
terminals resend the rest, every fix they generated, exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.factories import TEST_SETTINGS, make_app
from zhifa.adapters.clock import SystemClock
from zhifa.domain.readings import ReadingKind
from zhifa.entrypoints.cli.jt808_simulate import enrol_fleet
from zhifa.services.lake import LakeWriter
from zhifa.simulator.jt808 import Fleet, make_terminals

TERMINALS = 40
RATE = 150.0  # positions per second, all terminals together


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_gateway(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from zhifa.entrypoints.cli import main; main()",
            "gateway",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def listening(port: int, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"the gateway did not listen on {port}")


@pytest.mark.slow
def test_killed_gateway_loses_nothing_acknowledged(tmp_path: Path, bus_settings: dict[str, Any]) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{tmp_path / 'zhifa.db'}"
    app = make_app(url, data, SystemClock(), **bus_settings)
    fleet_terminals = make_terminals(
        TERMINALS, seed=7, start=datetime.now(UTC) - timedelta(hours=3), step=timedelta(seconds=30)
    )
    enrol_fleet(app, fleet_terminals)
    port = free_port()
    env = os.environ | {
        "ZHIFA_DATA_DIR": str(data),
        "ZHIFA_DATABASE_URL": url,
        "ZHIFA_SECRET_KEY": TEST_SETTINGS["secret_key"],
        "ZHIFA_GATEWAY_FRAMES_PER_SECOND": "1000",
    }
    env |= {f"ZHIFA_{name.upper()}": str(value) for name, value in bus_settings.items()}
    fleet = Fleet("127.0.0.1", port, fleet_terminals, rate=RATE, seed=7, reconnect_delay=0.3)
    kills: list[int] = []

    async def scenario() -> None:
        gateway = start_gateway(env, port)
        await listening(port)
        stop = asyncio.Event()
        streaming = asyncio.get_running_loop().create_task(fleet.run(stop, settle=20.0))
        try:
            for _ in range(2):
                await asyncio.sleep(2.5)
                kills.append(fleet.stats.acked_fixes)
                gateway.send_signal(signal.SIGKILL)
                await asyncio.get_running_loop().run_in_executor(None, gateway.wait)
                await asyncio.sleep(0.5)  # terminals notice, hold their unanswered fixes
                gateway = start_gateway(env, port)
                await listening(port)
            await asyncio.sleep(2.5)
            stop.set()
            await streaming
        finally:
            gateway.send_signal(signal.SIGTERM)
            await asyncio.get_running_loop().run_in_executor(None, gateway.wait)
        assert gateway.returncode == 0, gateway.stderr.read().decode() if gateway.stderr else ""

    asyncio.run(scenario())
    assert len(kills) == 2 and 0 < kills[0] < kills[1], "both kills land while fixes are acknowledged"
    assert fleet.stats.connects >= 3 * TERMINALS  # everyone reconnected after each kill
    assert fleet.stats.resent_fixes > 0  # unanswered fixes went again as blind-area batches
    assert fleet.unacknowledged == 0

    writer = LakeWriter(app.lake_deps, (ReadingKind.POSITION,))
    writer.drain(timeout=0.2)
    writer.close()
    with app.lake.connect() as con:  # type: ignore[attr-defined]
        rows = con.execute("SELECT record_id, backfill FROM positions").fetchall()
    stored = [record_id for record_id, _ in rows]
    assert len(stored) == len(set(stored))  # exactly once
    assert fleet.acked_ids is not None and fleet.acked_ids <= set(stored)  # nothing acknowledged lost
    assert len(stored) == fleet.stats.sent_fixes  # and, with the resends, nothing lost at all
    assert any(backfill for _, backfill in rows)
    app.close()
