"""Simulated JT/T 808 terminals (simulator/jt808.py): the fleet's vectorized walk is the terminal's own,
and a fleet against a stand-in gateway registers, reports, reads answers and resends what was never
answered as 0x0704 blind-area batches."""

from __future__ import annotations

import asyncio
import copy
import pickle
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from zhifa.adapters.protocol.jt808 import (
    GMT8,
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
from zhifa.simulator.jt808 import STATUS_MOVING, Fleet, SimTerminal, _Walks, make_terminals

START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


class Draws:
    """A stand-in for ``random.random`` that replays what a numpy generator drew for the fleet."""

    def __init__(self, values: Iterator[float]) -> None:
        self.values = values

    def __call__(self) -> float:
        return next(self.values)


def decoded(frame: bytes) -> tuple[int, Location]:
    parsed = parse_frame(frame)
    location = decode_body(parsed.header.msg_id, parsed.body, parsed.header.version)
    assert isinstance(location, Location)
    return parsed.header.serial, location


@pytest.mark.parametrize("version", [2013, 2019])
def test_fleet_walk_is_the_terminal_walk(version: int) -> None:
    """Ticks of the fleet's numpy walk give each terminal the fixes SimTerminal.walk gives it from the
    same draws, encoded as the reference codec would; near the edge of Anhui they turn back alike."""
    fleet = make_terminals(30, seed=3, start=START, step=timedelta(seconds=30))
    fleet[0].lon, fleet[1].lat = 119.5999, 29.4001  # about to leave the box
    alone = copy.deepcopy(fleet)
    walks = _Walks(fleet, version, np.random.default_rng(9))
    replay = np.random.default_rng(9)
    order = random.Random(1)
    for _ in range(20):
        rows = order.sample(range(len(fleet)), order.randint(1, len(fleet)))
        serials = [order.randrange(0x10000) for _ in rows]
        frames, bodies = walks.frames(np.array(rows, dtype=np.intp), serials)
        speed, turn, altitude = replay.random((3, len(rows)))
        for i, row in enumerate(rows):
            t = alone[row]
            fix = t.walk(Draws(iter([speed[i], turn[i], altitude[i]])))
            serial, location = decoded(frames[i])
            assert serial == serials[i]
            expected = as_location(fix)
            # numpy's and libm's cos/sin may differ in the last bit on some machines: a 1e-6° step at most.
            assert location.lat == pytest.approx(expected.lat, abs=1.1e-6)
            assert location.lon == pytest.approx(expected.lon, abs=1.1e-6)
            assert (location.altitude_m, location.speed_kmh, location.heading_deg, location.time) == (
                expected.altitude_m,
                expected.speed_kmh,
                expected.heading_deg,
                expected.time,
            )
            assert location.extras == expected.extras
            assert parse_frame(frames[i]).body == bodies[i]
    walks.store()
    for t, u in zip(fleet, alone, strict=True):
        assert (t.lon, t.lat, t.heading, t.next_fix_s) == pytest.approx(
            (u.lon, u.lat, u.heading, u.next_fix_s)
        )
        assert t.mileage_km == pytest.approx(u.mileage_km)
    assert 114.9 < fleet[0].lon < 119.6 and 29.4 < fleet[1].lat < 34.6


def as_location(fix: tuple[int, int, int, int, int, float, int]) -> Location:
    lat, lon, altitude, speed, heading, when, mileage = fix
    return Location(
        alarm=0,
        status=STATUS_MOVING,
        lat=lat / 1e6,
        lon=lon / 1e6,
        altitude_m=altitude,
        speed_kmh=speed / 10,
        heading_deg=heading,
        time=datetime.fromtimestamp(int(when), GMT8),
        extras={"mileage_km": mileage / 10, "rssi": 25, "gnss_satellites": 14},
    )


def test_advance_is_the_walk_as_a_location() -> None:
    """``advance`` (the walk as a Location) round-trips through the codec and moves the clock a step."""
    t = make_terminals(1, seed=1, start=START)[0]
    first = t.next_fix_s
    location = t.advance(random.Random(4))
    _, body = encode_body(location, 2013)
    assert decode_body(0x0200, body, 2013) == location
    assert location.time.timestamp() == int(first)
    assert t.next_fix_s == first + 30
    assert t.record_id(body) == f"{t.phone}@{int(first)}"


def test_terminals_pickled_with_datetime_clocks_still_load() -> None:
    """Enrolled fleets pickled before the clock became epoch seconds (bench caches) load as they were."""
    t = make_terminals(1, seed=1, start=START)[0]
    state = {k: v for k, v in vars(t).items() if k not in {"next_fix_s", "step_s"}}
    state["next_fix"] = datetime.fromtimestamp(t.next_fix_s, UTC)
    state["step"] = timedelta(seconds=t.step_s)
    old = SimTerminal.__new__(SimTerminal)
    old.__dict__.update(state)
    data = pickle.dumps(old)
    assert pickle.loads(data) == t  # noqa: S301 - bytes pickled just above


class Gateway:
    """A stand-in gateway speaking the reference codec: registers, authenticates, answers fixes.

    With ``answering`` off it leaves fixes unanswered (as a gateway that has not committed them); with
    ``split`` on its answers go out a few bytes at a time, so the terminals read frames cut anywhere."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.answering = True
        self.split = False
        self.fixes: list[str] = []  # record ids of the fixes answered
        self.batches = 0
        self.transports: list[asyncio.Transport] = []

    def protocol(self) -> asyncio.Protocol:
        gateway = self

        class Connection(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                assert isinstance(transport, asyncio.Transport)
                self.transport = transport
                self.deframer = Deframer()
                self.serial = 0
                self.out = b""
                gateway.transports.append(transport)

            def data_received(self, data: bytes) -> None:
                for raw in self.deframer.feed(data):
                    assert not isinstance(raw, FrameError)
                    frame = parse_frame(raw)
                    h = frame.header
                    message = decode_body(h.msg_id, frame.body, h.version)
                    if isinstance(message, Register):
                        self.answer(h.phone, 0x8100, RegisterResponse(h.serial, 0, "CODE-" + h.phone[-4:]))
                    elif isinstance(message, Authenticate):
                        self.answer(h.phone, 0x8001, PlatformResponse(h.serial, h.msg_id, 0))
                    elif gateway.answering:
                        if isinstance(message, LocationBatch):
                            gateway.batches += 1
                            items = list(message.items)
                        else:
                            assert isinstance(message, Location)
                            items = [message]
                        gateway.fixes += [f"{h.phone.lstrip('0')}@{int(i.time.timestamp())}" for i in items]
                        self.answer(h.phone, 0x8001, PlatformResponse(h.serial, h.msg_id, 0))

            def answer(self, phone: str, msg_id: int, message: object) -> None:
                body = encode_body(message, gateway.version)[1]
                wire = build_frame(msg_id, phone, self.serial, body, version=gateway.version)
                self.serial += 1
                if gateway.split or self.out:
                    if not self.out:
                        asyncio.get_running_loop().call_soon(self.trickle)
                    self.out += wire
                else:
                    self.transport.write(wire)

            def trickle(self) -> None:
                if self.transport.is_closing():
                    return
                self.transport.write(self.out[:7])
                self.out = self.out[7:]
                if self.out:
                    asyncio.get_running_loop().call_later(0.001, self.trickle)

        return Connection()


@pytest.mark.parametrize("version", [2013, 2019])
def test_fleet_against_a_gateway(version: int) -> None:
    """Twenty terminals register, authenticate and report; answers come whole, split across reads, and
    not at all before the connections drop; what was never answered comes again as 0x0704 batches.
    In the end every fix generated was answered exactly once and is in ``acked_ids``."""
    terminals = make_terminals(20, seed=11, start=START)
    gateway = Gateway(version)
    fleet = Fleet("127.0.0.1", 0, terminals, rate=400, version=version, seed=5, reconnect_delay=0.05)

    async def scenario() -> None:
        server = await asyncio.get_running_loop().create_server(gateway.protocol, "127.0.0.1", 0)
        fleet.port = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        running = asyncio.create_task(fleet.run(stop, settle=3.0))
        await asyncio.sleep(0.6)
        gateway.split = True
        await asyncio.sleep(0.4)
        gateway.split, gateway.answering = False, False
        await asyncio.sleep(0.3)
        assert fleet.unacknowledged > 0
        for transport in gateway.transports:
            transport.abort()
        gateway.answering = True
        await asyncio.sleep(0.8)
        stop.set()
        await running
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
    stats = fleet.stats
    assert stats.registered == 20 and stats.connects >= 40
    assert stats.resent_fixes > 0 and gateway.batches > 0
    assert fleet.unacknowledged == 0
    assert stats.acked_fixes == stats.sent_fixes == len(gateway.fixes) == len(set(gateway.fixes))
    assert fleet.acked_ids == set(gateway.fixes)  # the phones have no leading zero to strip
    assert len(stats.latencies) > 0 and all(0 <= x < 5 for x in stats.latencies)
    assert all(t.next_fix_s > START.timestamp() for t in terminals)  # the walks were stored back


def test_batches_sort_fixes_by_time() -> None:
    """The held fixes go in GPS time order: the BCD YYMMDDhhmmss of a body sorts as its time."""
    t = make_terminals(1, seed=1, start=START)[0]
    bodies = [encode_body(t.advance(random.Random(i)), 2013)[1] for i in range(30)]
    shuffled = bodies[:]
    random.Random(2).shuffle(shuffled)
    assert sorted(shuffled, key=lambda b: b[22:28]) == bodies
