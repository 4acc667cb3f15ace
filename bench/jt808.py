"""Benchmark: the JT/T 808 codec and gateway, beside a bare asyncio TCP server (the limit).

    uv run --frozen python bench/jt808.py [--connections 10000] [--rate 20000] [--seconds 30]

1. **decode** — typical 0x0200 wire frames (a real capture and a simulator frame with extras), one
   core, in a loop: the reference decoder (``parse_frame`` + ``decode_body``) frame by frame, and the
   gateway's path (``parse_frame`` per frame, the group's bodies to columns with
   ``columnar.decode_basic`` and ``extras_json``). Goal (issue #5): ≥ 100 000 frames/s.
2. **end to end** — ``zhifa gateway`` and ``zhifa worker --kind position`` (the lake writer) run
   as their own processes on LocalBus; CONNECTIONS simulated terminals (simulator/jt808.py, in
   this process) authenticate and report RATE positions/s in all. Measured once every terminal is
   in: positions acknowledged per second, p99 time from a frame's send to its 0x8001 as the
   terminal sees it, and positions per second reaching the lake. Goals: ≥ 20 000 positions/s
   with 10 000 connections, p99 ack ≤ 200 ms.
3. **limit** — a bare asyncio server that only counts frames, fed the same 0x0200 frames over
   the same number of connections at the same rate: what this machine's loopback TCP and one
   asyncio loop manage with nothing to do. Both servers' CPU time is read from /proc.

Everything runs on this machine's cores at once (load generator included), as a 2-core
deployment would. Results are written up in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from zhifa.adapters.clock import SystemClock
from zhifa.adapters.protocol.jt808 import (
    Location,
    build_frame,
    decode_body,
    encode_body,
    parse_frame,
)
from zhifa.adapters.protocol.jt808.columnar import decode_basic, extras_json
from zhifa.bootstrap import bootstrap
from zhifa.config import Settings
from zhifa.entrypoints.cli.jt808_simulate import enrol_fleet
from zhifa.services import terminals
from zhifa.simulator.jt808 import Fleet, SimTerminal, make_terminals, percentile

DECODE_GOAL = 100_000
RATE_GOAL = 20_000
BENCH_SECRET = (
    "k3Hq9xV2pL7mZ4tR8wY1nB6cF0sJ5dG2aE9uQ4vX"  # a fixed, throw-away secret for the temporary data dir
)
P99_GOAL_MS = 200
# A real capture from a Shenzhen terminal (Traccar Jt808ProtocolDecoderTest L26): 0x0200 with
# mileage, RSSI, satellites and vendor items.
REAL_0200 = bytes.fromhex(
    "7e02000048051160004464000d00000000000c00020159885e06cbf34400000000000020080718072201040000000130"
    "011c310109e4020063e50100e60100e7080000000000000000ee0a01cc01262c009a6743001e7e"
)


def decode_samples() -> list[bytes]:
    sim = make_terminals(1, seed=1, start=datetime(2026, 11, 21, tzinfo=UTC))[0]
    import random

    loc = sim.advance(random.Random(1))
    msg_id, body = encode_body(loc, 2013)
    samples = [REAL_0200, build_frame(msg_id, sim.phone, 1, body)]
    for sample in samples:  # what is measured decodes correctly
        frame = parse_frame(sample)
        assert isinstance(decode_body(frame.header.msg_id, frame.body, frame.header.version), Location)
    return samples


def bench_decode(frames: int) -> float:
    """The reference decoder, frame by frame: parse_frame + decode_body to a Location."""
    samples = decode_samples()
    start = time.process_time()
    for i in range(frames):
        frame = parse_frame(samples[i & 1])
        decode_body(frame.header.msg_id, frame.body, frame.header.version)
    return frames / (time.process_time() - start)


def bench_gateway_decode(frames: int, group: int = 500) -> float:
    """As the gateway decodes: parse_frame per frame, then a group's bodies to columns at once."""
    samples = decode_samples()
    start = time.process_time()
    for first in range(0, frames, group):
        bodies = [parse_frame(samples[i & 1]).body for i in range(first, min(first + group, frames))]
        decode_basic(bodies)
        [extras_json(body) for body in bodies]
    return frames / (time.process_time() - start)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_listening(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def prepare(data: Path, count: int) -> tuple[list[SimTerminal], dict[str, str]]:
    """Enrol and register ``count`` terminals once (the register is a database, not the subject)."""
    settings = Settings(data_dir=data, secret_key=BENCH_SECRET, bus="local", bus_partitions=8)
    app = bootstrap(settings, clock=SystemClock())
    app.upgrade_database()
    fleet = make_terminals(count, seed=5, start=datetime.now(UTC) - timedelta(hours=20))
    new_code = terminals.auth_code_generator(app.secrets)
    enrol_fleet(app, fleet)
    for t in fleet:
        outcome = terminals.register_terminal(
            app.uow,
            t.phone,
            terminals.Registration(34, 100, "ZHIFA", "SIM-808", t.device_id, t.colour, t.plate),
            clock=app.clock,
            new_code=new_code,
        )
        t.auth_code = outcome.auth_code
    app.close()
    env = os.environ | {
        "ZHIFA_DATA_DIR": str(data),
        "ZHIFA_SECRET_KEY": BENCH_SECRET,
        "ZHIFA_BUS": "local",
        "ZHIFA_BUS_PARTITIONS": "8",
    }
    return fleet, env


def lake_rows(data: Path) -> int:
    import pyarrow.parquet as pq

    total = 0
    for path in (data / "lake" / "kind=position").glob("*/*/*.parquet"):
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except OSError:
            return -1
    return total


async def end_to_end(
    fleet_terminals: list[SimTerminal], env: dict[str, str], data: Path, rate: float, seconds: float
) -> dict[str, float]:
    port = free_port()
    cli = [sys.executable, "-c", "from zhifa.entrypoints.cli import main; main()"]
    gateway = subprocess.Popen(
        [*cli, "gateway", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [*cli, "worker", "--kind", "position"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await wait_listening(port)
    fleet = Fleet(
        "127.0.0.1", port, fleet_terminals, rate=rate, keep_acked_ids=False, connect_concurrency=500
    )
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(fleet.run(stop, settle=10.0))
    t0 = time.monotonic()
    while fleet.stats.authenticated < len(fleet_terminals) and time.monotonic() - t0 < 300:
        await asyncio.sleep(0.2)
    ramp = time.monotonic() - t0
    # Logging 10 000 terminals in (registrations and authentications against the register) leaves a
    # backlog in the sockets; the steady state is measured once the fixes in flight are down to what
    # half a second of the offered rate puts there.
    t1 = time.monotonic()
    while fleet.unacknowledged > rate * 0.5 and time.monotonic() - t1 < 180:
        await asyncio.sleep(0.5)
    settle = time.monotonic() - t1
    acked0, lake0, cpu0, start = (
        fleet.stats.acked_fixes,
        lake_rows(data),
        cpu_seconds(gateway.pid),
        time.monotonic(),
    )
    fleet.stats.latencies.clear()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - start
    acked1, cpu1 = fleet.stats.acked_fixes, cpu_seconds(gateway.pid)
    p99 = percentile(fleet.stats.latencies, 99) or 0.0
    p50 = percentile(fleet.stats.latencies, 50) or 0.0
    stop.set()
    await task
    await asyncio.sleep(3)  # the lake writer catches up
    lake1 = lake_rows(data)
    lake_rate = (lake1 - lake0) / (elapsed + 3)
    for proc in (gateway, worker):
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return {
        "connections": fleet.stats.authenticated,
        "ramp_s": ramp,
        "settle_s": settle,
        "acked_per_s": (acked1 - acked0) / elapsed,
        "lake_per_s": lake_rate,
        "p50_ms": p50 * 1000,
        "p99_ms": p99 * 1000,
        "gateway_cpu": (cpu1 - cpu0) / elapsed,
        "unacknowledged": fleet.unacknowledged,
    }


BARE_SERVER = """
import asyncio, signal, sys
count = 0
class P(asyncio.Protocol):
    def data_received(self, data):
        global count
        count += data.count(0x7e)
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(P, "127.0.0.1", int(sys.argv[1]), backlog=4096)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: print(count // 2, flush=True))
    await stop.wait()
asyncio.run(main())
"""


async def bare(connections: int, rate: float, seconds: float) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", BARE_SERVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    await wait_listening(port)
    frame = REAL_0200
    gate = asyncio.Semaphore(500)
    writers: list[asyncio.StreamWriter] = []

    async def open_one() -> None:
        async with gate:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writers.append(writer)

    await asyncio.gather(*(open_one() for _ in range(connections)))

    def frames_seen() -> int:
        server.send_signal(signal.SIGUSR1)
        assert server.stdout is not None
        return int(server.stdout.readline())

    seen0, cpu0, start = frames_seen(), cpu_seconds(server.pid), time.monotonic()
    sent = 0
    budget, last, order = 0.0, start, 0
    while time.monotonic() - start < seconds:
        await asyncio.sleep(0.02)
        now = time.monotonic()
        budget, last = min(budget + (now - last) * rate, rate), now
        while budget >= 1:
            writers[order % len(writers)].write(frame)
            order += 1
            budget -= 1
            sent += 1
    elapsed = time.monotonic() - start
    await asyncio.sleep(0.5)
    seen1, cpu1 = frames_seen(), cpu_seconds(server.pid)
    for writer in writers:
        writer.close()
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    return {"frames_per_s": (seen1 - seen0) / elapsed, "cpu": (cpu1 - cpu0) / elapsed, "sent": sent}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=20_000.0, help="positions per second offered, in all")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--decode-frames", type=int, default=300_000)
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")

    rate = bench_decode(args.decode_frames)
    print(
        f"decode 0x0200, reference (parse_frame + decode_body): {rate:,.0f} frames/s on one core "
        f"(goal ≥ {DECODE_GOAL:,})"
    )
    rate = bench_gateway_decode(args.decode_frames)
    print(
        f"decode 0x0200 as the gateway does (parse_frame, then columns per group of 500): {rate:,.0f} "
        f"frames/s on one core (goal ≥ {DECODE_GOAL:,})"
    )

    with tempfile.TemporaryDirectory(prefix="zhifa-bench-jt808-") as tmp:
        data = Path(tmp)
        t0 = time.monotonic()
        fleet, env = prepare(data, args.connections)
        print(
            f"setup: {args.connections:,} terminals enrolled and registered in {time.monotonic() - t0:.0f} s"
        )
        e2e = asyncio.run(end_to_end(fleet, env, data, args.rate, args.seconds))
    print(
        f"gateway, {e2e['connections']:,.0f} connections (all in after {e2e['ramp_s']:.0f} s, backlog "
        f"drained {e2e['settle_s']:.0f} s later), offered "
        f"{args.rate:,.0f}/s: acknowledged {e2e['acked_per_s']:,.0f} positions/s (goal ≥ {RATE_GOAL:,}), "
        f"reaching the lake {e2e['lake_per_s']:,.0f}/s; ack p50 {e2e['p50_ms']:.0f} ms, "
        f"p99 {e2e['p99_ms']:.0f} ms (goal ≤ {P99_GOAL_MS}); gateway CPU {e2e['gateway_cpu']:.2f} cores; "
        f"left unacknowledged at the end: {e2e['unacknowledged']:,.0f}"
    )
    limit = asyncio.run(bare(args.connections, args.rate, args.seconds))
    print(
        f"bare asyncio server (the limit), {args.connections:,} connections, same frames and rate: "
        f"{limit['frames_per_s']:,.0f} frames/s received, CPU {limit['cpu']:.2f} cores"
    )
    share = e2e["acked_per_s"] / limit["frames_per_s"] if limit["frames_per_s"] else float("nan")
    print(f"gateway / bare: {share:.2f} of the throughput at this offered rate")


if __name__ == "__main__":
    main()
