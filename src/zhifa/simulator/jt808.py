"""Simulated JT/T 808 terminals: many concurrent connections that behave like real ones.

Each terminal connects, registers (0x0100) when it has no auth code yet, authenticates (0x0102),
then reports 0x0200 positions. A position the platform has not answered with 0x8001 stays in the
terminal's memory; after a reconnect it is sent again in a 0x0704 blind-area batch (盲区补报,
type 1), as real terminals do (JT/T 808-2019 §8.45). So whatever happens to the gateway, a fix is
either acknowledged or still held by its terminal.

The simulator is a client: it speaks only the wire protocol (through the shared pure codec). It is
also the load generator of the gateway benchmark, sharing its cores, so the positions of a tick are
walked and encoded together (``_Walks``, ``jt808.fast``) and answers read without the generic decoder.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from math import cos, radians, sin
from time import monotonic
from typing import Any

import numpy as np
import numpy.typing as npt

from zhifa.adapters.protocol.jt808 import (
    GMT8,
    Authenticate,
    Deframer,
    FrameError,
    Location,
    PlatformResponse,
    Register,
    RegisterResponse,
    build_frame,
    decode_body,
    encode_body,
    parse_frame,
)
from zhifa.adapters.protocol.jt808.fast import (
    sim_batch_body,
    sim_location_frames,
    sim_location_header,
    sim_platform_responses,
)
from zhifa.adapters.protocol.jt808.location import decode_bcd_time

log = logging.getLogger("zhifa.simulator.jt808")

CHINA = timezone(timedelta(hours=8))
MSG_LOCATION, MSG_BATCH, MSG_AUTH = 0x0200, 0x0704, 0x0102
BATCH_ITEMS = 20  # 20 fixes with their extras stay under the 1 023-byte body limit
# JT/T 808-2019 表 25: ACC on, positioned, GPS and BeiDou in use.
STATUS_MOVING = (1 << 0) | (1 << 1) | (1 << 18) | (1 << 19)
RSSI, SATELLITES = 25, 14  # 表27 items 0x30 and 0x31, sent with every fix
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
    next_fix_s: float  # GPS time of the next report, epoch seconds (sent in whole seconds)
    step_s: float  # GPS seconds between two reports
    auth_code: str | None = None
    mileage_km: float = 0.0
    serial: int = 0
    # The fixes as their 0x0200 bodies: what a 0x0704 carries, and what the platform was sent.
    unacked: dict[int, list[bytes]] = field(default_factory=dict)  # by the frame's serial
    held: list[bytes] = field(default_factory=list)  # not answered before a disconnect

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Benchmark harnesses pickle enrolled fleets; those from before the GPS clock was kept in
        # epoch seconds carry datetime/timedelta.
        if "next_fix" in state:
            state["next_fix_s"] = state.pop("next_fix").timestamp()
            state["step_s"] = state.pop("step").total_seconds()
        self.__dict__.update(state)

    def record_id(self, fix: bytes) -> str:
        """The platform's id of a fix (its 0x0200 body): the phone and the GPS time in epoch seconds."""
        return f"{self.phone}@{int(decode_bcd_time(fix, 22, GMT8, 'location time').timestamp())}"

    def next_serial(self) -> int:
        serial, self.serial = self.serial, (self.serial + 1) & 0xFFFF
        return serial

    def walk(self, random: Callable[[], float]) -> tuple[int, int, int, int, int, float, int]:
        """Drive on to the next fix: speed 40–100 km/h, gentle turns, kept inside Anhui. Returns the fix's
        wire integers: lat and lon in 1e-6°, altitude m, speed 0.1 km/h, heading °, GPS time (epoch s)
        and mileage 0.1 km. ``random`` is drawn three times (speed, turn, altitude).

        A running ``Fleet`` walks its terminals a tick at a time in ``_Walks``, which must agree with this.
        """
        speed = 40.0 + 60.0 * random()
        heading = (self.heading + 40.0 * random() - 20.0) % 360
        km = speed * self.step_s / 3600
        lat = self.lat + km / 111.0 * cos(radians(heading))
        lon = self.lon + km / (111.0 * cos(radians(self.lat))) * sin(radians(heading))
        if ANHUI_BOX[0] < lon < ANHUI_BOX[2] and ANHUI_BOX[1] < lat < ANHUI_BOX[3]:
            self.lon, self.lat = lon, lat
        else:
            heading = (heading + 180) % 360
        self.heading = heading
        self.mileage_km += km
        when, self.next_fix_s = self.next_fix_s, self.next_fix_s + self.step_s
        return (
            round(self.lat * 1e6),
            round(self.lon * 1e6),
            10 + int(71 * random()),
            round(speed * 10),
            int(heading) % 360,
            when,
            round(self.mileage_km * 10),
        )

    def advance(self, rng: random.Random) -> Location:
        """The next fix (``walk``) as the ``Location`` a 0x0200 carries."""
        lat, lon, altitude, speed, heading, when, mileage = self.walk(rng.random)
        return Location(
            alarm=0,
            status=STATUS_MOVING,
            lat=lat / 1e6,
            lon=lon / 1e6,
            altitude_m=altitude,
            speed_kmh=speed / 10,
            heading_deg=heading,
            time=datetime.fromtimestamp(int(when), CHINA),
            extras={"mileage_km": mileage / 10, "rssi": RSSI, "gnss_satellites": SATELLITES},
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
            next_fix_s=start.timestamp() + rng.randrange(max(1, int(step.total_seconds()))),
            step_s=step.total_seconds(),
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


class _Walks:
    """The walks (``SimTerminal.walk``) of a fleet's terminals, as arrays with a row per terminal.

    A tick's fixes are worked out together: numpy does the walk and lays the frames out in one record
    array, for a fraction of what the same arithmetic costs one fix at a time in Python, which would be
    taken from the gateway the fleet measures. The terminals get their state back from ``store``.
    """

    def __init__(self, terminals: list[SimTerminal], version: int, rng: np.random.Generator) -> None:
        self.terminals = terminals
        self.rng = rng
        # One array, a column per terminal, so that a tick's terminals are read and written back at once.
        self.state = np.array(
            [[t.lon, t.lat, t.heading, t.mileage_km, t.next_fix_s, t.step_s] for t in terminals],
            dtype=np.float64,
        ).T.copy()
        headers = [sim_location_header(t.phone, version) for t in terminals]
        size = len(headers[0]) if headers else 0
        self.headers = np.frombuffer(b"".join(headers), dtype=np.uint8).reshape(len(headers), size)

    def frames(self, rows: npt.NDArray[np.intp], serials: list[int]) -> tuple[list[bytes], list[bytes]]:
        """The next fix of the terminal in each of ``rows`` (no row twice), as (0x0200 frames, bodies)
        with ``serials``; the same arithmetic as ``SimTerminal.walk``, draws included."""
        state = self.state[:, rows]
        lon, lat, heading, mileage, when, step = state
        speed, turn, altitude = self.rng.random((3, len(rows)))
        speed = 40.0 + 60.0 * speed
        heading = (heading + 40.0 * turn - 20.0) % 360
        km = speed * step / 3600
        rad = np.radians(heading)
        to_lat = lat + km / 111.0 * np.cos(rad)
        to_lon = lon + km / (111.0 * np.cos(np.radians(lat))) * np.sin(rad)
        west, south, east, north = ANHUI_BOX
        inside = (west < to_lon) & (to_lon < east) & (south < to_lat) & (to_lat < north)
        if inside.all():
            lon[:], lat[:] = to_lon, to_lat
        else:
            lon[inside], lat[inside] = to_lon[inside], to_lat[inside]
            heading[~inside] = (heading[~inside] + 180) % 360
        state[2] = heading
        mileage += km
        sent = when.copy()
        when += step
        self.state[:, rows] = state
        return sim_location_frames(
            self.headers[rows],
            serials,
            np.round(lat * 1e6).astype(np.int64),
            np.round(lon * 1e6).astype(np.int64),
            10 + (71 * altitude).astype(np.int64),
            np.round(speed * 10).astype(np.int64),
            heading.astype(np.int64) % 360,
            sent,
            np.round(mileage * 10).astype(np.int64),
            alarm=0,
            status=STATUS_MOVING,
            rssi=RSSI,
            satellites=SATELLITES,
        )

    def store(self) -> None:
        """Give the terminals their walks' state back (after a run)."""
        for t, (lon, lat, heading, mileage, when, _) in zip(
            self.terminals, self.state.T.tolist(), strict=True
        ):
            t.lon, t.lat, t.heading, t.mileage_km, t.next_fix_s = lon, lat, heading, mileage, when


class _Client(asyncio.BufferedProtocol):
    def __init__(self, fleet: Fleet, row: int) -> None:
        self.fleet = fleet
        self.row = row  # in fleet.terminals and its walks
        self.t = fleet.terminals[row]
        self.transport: asyncio.Transport | None = None
        self.deframer = Deframer()
        self.partial = False  # the deframer holds the start of a frame: the fast path would miss it
        self.slot = -1  # index in the fleet's ready list, -1 until authenticated
        self.sent_at: dict[int, float] = {}  # by serial, on time.monotonic's clock

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
        self.fleet.stop_reporting(self)
        # Whatever was not answered is held, to be sent again as 盲区补报 after reconnecting.
        for fixes in self.t.unacked.values():
            self.t.held.extend(fixes)
        self.t.unacked.clear()
        self.sent_at.clear()
        self.fleet.lost(self)

    def send(self, message: object) -> int:
        if self.transport is None:
            raise ConnectionError("not connected")
        msg_id, body = encode_body(message, self.fleet.version)
        serial = self.t.next_serial()
        self.transport.write(build_frame(msg_id, self.t.phone, serial, body, version=self.fleet.version))
        self.fleet.stats.sent_frames += 1
        return serial

    def resend_held(self) -> None:
        if not self.t.held or self.transport is None:
            return
        # The BCD YYMMDDhhmmss at offset 22 of a body sorts as its time does.
        held, self.t.held = sorted(self.t.held, key=lambda fix: fix[22:28]), []
        frames = []
        now = monotonic()
        for start in range(0, len(held), BATCH_ITEMS):
            items = held[start : start + BATCH_ITEMS]
            serial = self.t.next_serial()
            body = sim_batch_body(1, items)
            frames.append(build_frame(MSG_BATCH, self.t.phone, serial, body, version=self.fleet.version))
            self.t.unacked[serial] = items
            self.sent_at[serial] = now
            self.fleet.stats.resent_fixes += len(items)
        self.fleet.stats.sent_frames += len(frames)
        self.transport.write(b"".join(frames))

    def get_buffer(self, sizehint: int) -> memoryview:
        # A plain Protocol's transport recv()s into a new 256 KiB bytes per read and shrinks it to the
        # 20 bytes of a 0x8001, which can cost a page mapping per read. All clients share the fleet's
        # buffer instead: the transport hands it straight on to buffer_updated, nothing runs between.
        return self.fleet._read_view

    def buffer_updated(self, nbytes: int) -> None:
        # The arrival time is taken before any of the simulator's own work on the data.
        now = monotonic()
        data = self.fleet._read_buffer[:nbytes]
        if not self.partial:
            acks = sim_platform_responses(data)
            if acks is not None:
                for ack_serial, ack_id, result in acks:
                    self.answered(ack_serial, ack_id, result, now)
                return
        frames = self.deframer.feed(bytes(data))
        self.partial = self.deframer.buffered > 0
        for raw in frames:
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
                self.answered(message.ack_serial, message.ack_id, message.result, now)

    def registered(self, message: RegisterResponse) -> None:
        if message.result != 0 or not message.auth_code:
            self.fleet.stats.refused += 1
            log.warning("terminal %s: registration refused (%d)", self.t.phone, message.result)
            self.fleet.give_up(self)
            return
        self.fleet.stats.registered += 1
        self.t.auth_code = message.auth_code
        self.send(Authenticate(message.auth_code))

    def answered(self, ack_serial: int, ack_id: int, result: int, now: float) -> None:
        if ack_id == MSG_AUTH:
            if result != 0:
                self.t.auth_code = None  # re-register on the next connection
                if self.transport is not None:
                    self.transport.close()
                return
            self.fleet.stats.authenticated += 1
            self.fleet.start_reporting(self)
            self.resend_held()
            return
        fixes = self.t.unacked.pop(ack_serial, None)
        sent = self.sent_at.pop(ack_serial, None)
        if fixes is None:
            return
        stats = self.fleet.stats
        if result != 0:
            stats.failed_acks += 1
            if result == 1:  # not taken: keep it for the next connection
                self.t.held.extend(fixes)
            return
        stats.acked_fixes += len(fixes)
        if sent is not None:
            stats.latencies.append(now - sent)
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
        self._draws = np.random.default_rng(seed)  # for the walks
        self.connect_concurrency = connect_concurrency
        self.reconnect_delay = reconnect_delay
        self.tick = tick
        self.stats = FleetStats()
        self.acked_ids: set[str] | None = set() if keep_acked_ids else None
        self.clients: dict[str, _Client] = {}
        self._ready: list[_Client] = []  # authenticated clients, in turn order
        self._read_buffer = bytearray(1 << 16)
        self._read_view = memoryview(self._read_buffer)
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

    def start_reporting(self, client: _Client) -> None:
        if client.slot < 0:
            client.slot = len(self._ready)
            self._ready.append(client)

    def stop_reporting(self, client: _Client) -> None:
        # Swapping the last client into the gap keeps this O(1) when thousands disconnect at once.
        slot = client.slot
        if slot < 0:
            return
        last = self._ready.pop()
        if last is not client:
            self._ready[slot] = last
            last.slot = slot
        client.slot = -1

    async def _connect(self, row: int) -> None:
        phone = self.terminals[row].phone
        while not self._stopping and phone not in self._given_up:
            async with self._gate:
                try:
                    _, client = await self.loop.create_connection(
                        lambda: _Client(self, row), self.host, self.port
                    )
                    self.clients[phone] = client
                    return
                except OSError:
                    pass
            await asyncio.sleep(self.reconnect_delay * (0.5 + self.rng.random()))

    def lost(self, client: _Client) -> None:
        if self.clients.get(client.t.phone) is client:
            del self.clients[client.t.phone]
        if not self._stopping and client.t.phone not in self._given_up:
            self.loop.create_task(self._reconnect(client.row))

    async def _reconnect(self, row: int) -> None:
        await asyncio.sleep(self.reconnect_delay * (0.5 + self.rng.random()))
        await self._connect(row)

    def give_up(self, client: _Client) -> None:
        self._given_up.add(client.t.phone)
        if client.transport is not None:
            client.transport.close()

    async def run(self, stop: asyncio.Event, *, settle: float = 5.0) -> FleetStats:
        """Connect everyone, report until ``stop``, then wait up to ``settle`` s for the last answers."""
        self._loop = asyncio.get_running_loop()
        walks = _Walks(self.terminals, self.version, self._draws)
        for row in range(len(self.terminals)):
            self.loop.create_task(self._connect(row))
        try:
            await self._report(stop, walks)
            deadline = self.loop.time() + settle
            while self.loop.time() < deadline and any(c.t.unacked for c in self.clients.values()):
                await asyncio.sleep(0.05)
        finally:
            walks.store()
        self._stopping = True
        for client in list(self.clients.values()):
            if client.transport is not None:
                client.transport.close()
        await asyncio.sleep(0)
        return self.stats

    async def _report(self, stop: asyncio.Event, walks: _Walks) -> None:
        # One timer drives the whole fleet: each tick, the positions due go out round-robin over the
        # authenticated terminals, in rounds that take each terminal at most once.
        ready = self._ready
        turn = 0
        budget = 0.0
        last = self.loop.time()
        while not stop.is_set():
            await asyncio.sleep(self.tick)
            now = self.loop.time()
            budget = min(budget + (now - last) * self.rate, self.rate)  # at most one second behind
            last = now
            # Nothing else runs until the next await, so no client leaves the list meanwhile.
            while budget >= 1 and ready:
                n = min(int(budget), len(ready))
                turn %= len(ready)
                clients = ready[turn : turn + n]
                clients += ready[: n - len(clients)]
                turn += n
                budget -= n
                self._send_fixes(walks, clients)

    def _send_fixes(self, walks: _Walks, clients: list[_Client]) -> None:
        serials = [c.t.serial for c in clients]
        rows = np.fromiter([c.row for c in clients], dtype=np.intp, count=len(clients))
        frames, bodies = walks.frames(rows, serials)
        for client, serial, frame, body in zip(clients, serials, frames, bodies, strict=True):
            t = client.t
            t.serial = (serial + 1) & 0xFFFF
            t.unacked[serial] = [body]
            # Stamped as the frame goes to the socket: the walk and encoding are not the platform's time.
            client.sent_at[serial] = monotonic()
            client.transport.write(frame)  # type: ignore[union-attr]  # ready clients are connected
        self.stats.sent_frames += len(clients)
        self.stats.sent_fixes += len(clients)


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
