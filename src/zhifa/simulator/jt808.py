"""Simulated JT/T 808 terminals: many concurrent connections that behave like real ones.

Each terminal connects, registers (0x0100) when it has no auth code yet, authenticates (0x0102),
then reports 0x0200 positions. A position the platform has not answered with 0x8001 stays in the
terminal's memory; after a reconnect it is sent again in a 0x0704 blind-area batch (盲区补报,
type 1), as real terminals do (JT/T 808-2019 §8.45). So whatever happens to the gateway, a fix is
either acknowledged or still held by its terminal.

The simulator is a client: it speaks only the wire protocol (through the shared pure codec).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from zhifa.adapters.protocol.jt808 import (
    Authenticate,
    Deframer,
    FrameError,
    Location,
    LocationBatch,
    PlatformResponse,
    Register,
    RegisterResponse,
    build_frame,
    decode_body,
    encode_body,
    parse_frame,
)

log = logging.getLogger("zhifa.simulator.jt808")

CHINA = timezone(timedelta(hours=8))
MSG_LOCATION, MSG_BATCH, MSG_AUTH = 0x0200, 0x0704, 0x0102
BATCH_ITEMS = 20  # 20 fixes with their extras stay under the 1 023-byte body limit
# JT/T 808-2019 表 25: ACC on, positioned, GPS and BeiDou in use.
STATUS_MOVING = (1 << 0) | (1 << 1) | (1 << 18) | (1 << 19)
# Hefei, where the simulated fleet starts; the walk stays inside Anhui's extent.
HEFEI = (117.227, 31.820)
ANHUI_BOX = (114.9, 29.4, 119.6, 34.6)


@dataclass
class SimTerminal:
    phone: str  # the SIM number (11 digits), sent as 12 or 20 BCD digits
    plate: str
    colour: int
    device_id: str
    lon: float
    lat: float
    heading: float
    next_fix: datetime  # GPS time of the next report
    step: timedelta  # GPS time between two reports
    auth_code: str | None = None
    mileage_km: float = 0.0
    serial: int = 0
    unacked: dict[int, list[Location]] = field(default_factory=dict)  # by the frame's serial
    held: list[Location] = field(default_factory=list)  # not answered before a disconnect

    def record_id(self, loc: Location) -> str:
        return f"{self.phone}@{int(loc.time.timestamp())}"

    def next_serial(self) -> int:
        serial, self.serial = self.serial, (self.serial + 1) & 0xFFFF
        return serial

    def advance(self, rng: random.Random) -> Location:
        """The next fix of a vehicle driving on: speed 40–100 km/h, gentle turns, kept inside Anhui."""
        speed = rng.uniform(40.0, 100.0)
        self.heading = (self.heading + rng.uniform(-20.0, 20.0)) % 360
        km = speed * self.step.total_seconds() / 3600
        lat = self.lat + km / 111.0 * math.cos(math.radians(self.heading))
        lon = self.lon + km / (111.0 * math.cos(math.radians(self.lat))) * math.sin(
            math.radians(self.heading)
        )
        if not (ANHUI_BOX[0] < lon < ANHUI_BOX[2] and ANHUI_BOX[1] < lat < ANHUI_BOX[3]):
            self.heading = (self.heading + 180) % 360
            lon, lat = self.lon, self.lat
        self.lon, self.lat, self.mileage_km = lon, lat, self.mileage_km + km
        when, self.next_fix = self.next_fix, self.next_fix + self.step
        return Location(
            alarm=0,
            status=STATUS_MOVING,
            lat=round(lat, 6),
            lon=round(lon, 6),
            altitude_m=rng.randint(10, 80),
            speed_kmh=round(speed, 1),
            heading_deg=int(self.heading) % 360,
            time=when.astimezone(CHINA).replace(microsecond=0),
            extras={"mileage_km": round(self.mileage_km, 1), "rssi": 25, "gnss_satellites": 14},
        )


_PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # GA 36-2018: no I or O in a serial


def sim_plate(index: int) -> str:
    """A distinct yellow 皖A plate per index (34⁵ of them), the serial in base 34."""
    chars = []
    for _ in range(5):
        index, digit = divmod(index, len(_PLATE_CHARS))
        chars.append(_PLATE_CHARS[digit])
    return "皖A" + "".join(reversed(chars))


def _base36(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        digits.append("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit])
    return "".join(reversed(digits))


def make_terminals(
    count: int, *, seed: int, start: datetime, step: timedelta = timedelta(seconds=30)
) -> list[SimTerminal]:
    """``count`` terminals with phones 144SS000001…, yellow 皖A plates, spread around Hefei."""
    rng = random.Random(seed)
    return [
        SimTerminal(
            phone=f"144{seed % 100:02d}{i:06d}",
            plate=sim_plate(seed * 1_000_000 + i),
            colour=2,
            device_id=f"{seed % 100:02d}{_base36(i, 5)}",  # BYTE[7] in 2013 (表 8)
            lon=HEFEI[0] + rng.uniform(-0.3, 0.3),
            lat=HEFEI[1] + rng.uniform(-0.3, 0.3),
            heading=rng.uniform(0, 360),
            next_fix=start + timedelta(seconds=rng.randrange(max(1, int(step.total_seconds())))),
            step=step,
        )
        for i in range(count)
    ]


@dataclass
class FleetStats:
    connected: int = 0
    connects: int = 0
    registered: int = 0
    authenticated: int = 0
    refused: int = 0
    sent_frames: int = 0
    sent_fixes: int = 0
    resent_fixes: int = 0
    acked_fixes: int = 0
    failed_acks: int = 0
    latencies: list[float] = field(default_factory=list)


class _Client(asyncio.Protocol):
    def __init__(self, fleet: Fleet, terminal: SimTerminal) -> None:
        self.fleet = fleet
        self.t = terminal
        self.transport: asyncio.Transport | None = None
        self.deframer = Deframer()
        self.ready = False
        self.sent_at: dict[int, float] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP connection's is a Transport
        self.fleet.stats.connected += 1
        self.fleet.stats.connects += 1
        if self.t.auth_code is None:
            self.send(
                Register(
                    province=34, city=100, maker="ZHIFA", model="SIM-808", terminal_id=self.t.device_id,
                    plate_colour=self.t.colour, plate=self.t.plate,
                )
            )  # fmt: skip
        else:
            self.send(Authenticate(self.t.auth_code))

    def connection_lost(self, exc: Exception | None) -> None:
        self.fleet.stats.connected -= 1
        self.ready = False
        # Whatever was not answered is held, to be sent again as 盲区补报 after reconnecting.
        for fixes in self.t.unacked.values():
            self.t.held.extend(fixes)
        self.t.unacked.clear()
        self.fleet.lost(self)

    def send(self, message: object) -> int:
        if self.transport is None:
            raise ConnectionError("not connected")
        msg_id, body = encode_body(message, self.fleet.version)
        serial = self.t.next_serial()
        self.transport.write(build_frame(msg_id, self.t.phone, serial, body, version=self.fleet.version))
        self.fleet.stats.sent_frames += 1
        return serial

    def report(self, loc: Location) -> None:
        serial = self.send(loc)
        self.t.unacked[serial] = [loc]
        self.sent_at[serial] = self.fleet.loop.time()
        self.fleet.stats.sent_fixes += 1

    def resend_held(self) -> None:
        held, self.t.held = sorted(self.t.held, key=lambda x: x.time), []
        for start in range(0, len(held), BATCH_ITEMS):
            items = tuple(held[start : start + BATCH_ITEMS])
            serial = self.send(LocationBatch(type=1, items=items))
            self.t.unacked[serial] = list(items)
            self.sent_at[serial] = self.fleet.loop.time()
            self.fleet.stats.resent_fixes += len(items)

    def data_received(self, data: bytes) -> None:
        for raw in self.deframer.feed(data):
            if isinstance(raw, FrameError):
                continue
            try:
                frame = parse_frame(raw)
                message = decode_body(frame.header.msg_id, frame.body, frame.header.version)
            except FrameError:
                log.warning("terminal %s got an unreadable frame", self.t.phone)
                continue
            if isinstance(message, RegisterResponse):
                self.registered(message)
            elif isinstance(message, PlatformResponse):
                self.answered(message)

    def registered(self, message: RegisterResponse) -> None:
        if message.result != 0 or not message.auth_code:
            self.fleet.stats.refused += 1
            log.warning("terminal %s: registration refused (%d)", self.t.phone, message.result)
            self.fleet.give_up(self)
            return
        self.fleet.stats.registered += 1
        self.t.auth_code = message.auth_code
        self.send(Authenticate(message.auth_code))

    def answered(self, message: PlatformResponse) -> None:
        if message.ack_id == MSG_AUTH:
            if message.result != 0:
                self.t.auth_code = None  # re-register on the next connection
                if self.transport is not None:
                    self.transport.close()
                return
            self.fleet.stats.authenticated += 1
            self.ready = True
            self.resend_held()
            return
        fixes = self.t.unacked.pop(message.ack_serial, None)
        sent = self.sent_at.pop(message.ack_serial, None)
        if fixes is None:
            return
        if message.result != 0:
            self.fleet.stats.failed_acks += 1
            if message.result == 1:  # not taken: keep it for the next connection
                self.t.held.extend(fixes)
            return
        self.fleet.stats.acked_fixes += len(fixes)
        if sent is not None:
            self.fleet.stats.latencies.append(self.fleet.loop.time() - sent)
        if self.fleet.acked_ids is not None:
            self.fleet.acked_ids.update(self.t.record_id(f) for f in fixes)


class Fleet:
    """``terminals`` connected to one gateway, reporting ``rate`` positions per second in all."""

    def __init__(
        self,
        host: str,
        port: int,
        terminals: list[SimTerminal],
        *,
        rate: float,
        version: int = 2013,
        seed: int = 0,
        connect_concurrency: int = 200,
        reconnect_delay: float = 1.0,
        keep_acked_ids: bool = True,
        tick: float = 0.02,
    ) -> None:
        self.host, self.port = host, port
        self.terminals = terminals
        self.rate = rate
        self.version = version
        self.rng = random.Random(seed)
        self.connect_concurrency = connect_concurrency
        self.reconnect_delay = reconnect_delay
        self.tick = tick
        self.stats = FleetStats()
        self.acked_ids: set[str] | None = set() if keep_acked_ids else None
        self.clients: dict[str, _Client] = {}
        self._stopping = False
        self._given_up: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate = asyncio.Semaphore(connect_concurrency)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the fleet is not running")
        return self._loop

    @property
    def unacknowledged(self) -> int:
        """Fixes sent or held but not yet answered: what the terminals would still send again."""
        return sum(len(t.held) + sum(map(len, t.unacked.values())) for t in self.terminals)

    def held_ids(self) -> set[str]:
        return {
            t.record_id(f)
            for t in self.terminals
            for f in [*t.held, *(x for fixes in t.unacked.values() for x in fixes)]
        }

    async def _connect(self, terminal: SimTerminal, gate: asyncio.Semaphore) -> None:
        while not self._stopping and terminal.phone not in self._given_up:
            async with gate:
                try:
                    _, client = await self.loop.create_connection(
                        lambda: _Client(self, terminal), self.host, self.port
                    )
                    self.clients[terminal.phone] = client
                    return
                except OSError:
                    pass
            await asyncio.sleep(self.reconnect_delay * (0.5 + self.rng.random()))

    def lost(self, client: _Client) -> None:
        if self.clients.get(client.t.phone) is client:
            del self.clients[client.t.phone]
        if not self._stopping and client.t.phone not in self._given_up:
            self.loop.create_task(self._reconnect(client.t))

    async def _reconnect(self, terminal: SimTerminal) -> None:
        await asyncio.sleep(self.reconnect_delay * (0.5 + self.rng.random()))
        await self._connect(terminal, self._gate)

    def give_up(self, client: _Client) -> None:
        self._given_up.add(client.t.phone)
        if client.transport is not None:
            client.transport.close()

    async def run(self, stop: asyncio.Event, *, settle: float = 5.0) -> FleetStats:
        """Connect everyone, report until ``stop``, then wait up to ``settle`` s for the last answers."""
        self._loop = asyncio.get_running_loop()
        for terminal in self.terminals:
            self.loop.create_task(self._connect(terminal, self._gate))
        order = 0
        budget = 0.0
        last = self.loop.time()
        while not stop.is_set():
            await asyncio.sleep(self.tick)
            now = self.loop.time()
            budget = min(budget + (now - last) * self.rate, self.rate)  # at most one second behind
            last = now
            ready = [c for c in self.clients.values() if c.ready]
            if not ready:
                continue
            while budget >= 1:
                client = ready[order % len(ready)]
                order += 1
                budget -= 1
                client.report(client.t.advance(self.rng))
        deadline = self.loop.time() + settle
        while self.loop.time() < deadline and any(c.t.unacked for c in self.clients.values()):
            await asyncio.sleep(0.05)
        self._stopping = True
        for client in list(self.clients.values()):
            if client.transport is not None:
                client.transport.close()
        await asyncio.sleep(0)
        return self.stats


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def summary(stats: FleetStats, unacknowledged: int) -> dict[str, object]:
    p99 = percentile(stats.latencies, 99)
    return {
        "connects": stats.connects,
        "registered": stats.registered,
        "authenticated": stats.authenticated,
        "refused": stats.refused,
        "sent_fixes": stats.sent_fixes,
        "resent_fixes": stats.resent_fixes,
        "acked_fixes": stats.acked_fixes,
        "failed_acks": stats.failed_acks,
        "unacknowledged": unacknowledged,
        "ack_p99_ms": None if p99 is None else round(p99 * 1000, 1),
    }
