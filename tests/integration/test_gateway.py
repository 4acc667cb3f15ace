"""The JT/T 808 gateway (entrypoints/gateway.py) over real TCP, against the platform on SQLite.

Each test opens raw connections and speaks the protocol frame by frame, so it sees exactly what a
terminal would: registration bound to the terminal register, authentication, 0x8001 answers sent
only once the bus holds the positions, blind-area batches stored as backfill, subpackages,
malformed frames quarantined without losing the connection, floods and idle connections closed,
and a graceful stop that answers everything already read.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from zhifa.adapters.protocol.jt808 import (
    Authenticate,
    Deframer,
    Header,
    Heartbeat,
    Location,
    LocationBatch,
    Logout,
    PlatformResponse,
    Register,
    RegisterResponse,
    TimeQuery,
    TimeResponse,
    build_frame,
    build_frames,
    decode_body,
    encode_body,
    parse_frame,
)
from zhifa.bootstrap import App
from zhifa.domain.readings import ReadingKind
from zhifa.domain.vehicles import VehicleKey, VehicleKind
from zhifa.entrypoints.gateway import Gateway, app_gateway
from zhifa.services import registers, terminals
from zhifa.services.lake import LakeWriter
from zhifa.services.ports import BusUnavailable

CHINA = timezone(timedelta(hours=8))
PHONE, PLATE = "13800138000", "皖A12345"
T0 = datetime(2026, 11, 21, 9, 59, 0, tzinfo=CHINA)  # one minute before the test clock


def enrol(app: App, phone: str = PHONE, plate: str = PLATE, colour: int = 2) -> None:
    registers.register_vehicle(
        app.uow, app.ids, registers.VehicleInput(plate, colour, VehicleKind.TRUCK, 2), clock=app.clock
    )
    terminals.enrol_terminal(app.uow, phone, VehicleKey.parse(plate, colour), clock=app.clock)


def fix(seconds: int = 0, **changes: Any) -> Location:
    values: dict[str, Any] = {
        "alarm": 0,
        "status": 0b11,
        "lat": 31.820591,
        "lon": 117.227239,
        "altitude_m": 30,
        "speed_kmh": 62.5,
        "heading_deg": 90,
        "time": T0 + timedelta(seconds=seconds),
        "extras": {"mileage_km": 1234.5, "rssi": 25},
    }
    return Location(**(values | changes))


class Wire:
    """One terminal's side of a connection."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, phone: str, version: int
    ) -> None:
        self.reader, self.writer = reader, writer
        self.phone, self.version = phone, version
        self.serial = 0
        self.deframer = Deframer()
        self.inbox: list[tuple[Header, object]] = []

    async def send(self, message: object, *, phone: str | None = None) -> int:
        msg_id, body = encode_body(message, self.version)
        serial = self.serial
        self.serial += 1
        await self.send_raw(build_frame(msg_id, phone or self.phone, serial, body, version=self.version))
        return serial

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, timeout: float = 3.0) -> tuple[Header, object]:
        while not self.inbox:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionResetError("the gateway closed the connection")
            for raw in self.deframer.feed(data):
                assert isinstance(raw, bytes)
                frame = parse_frame(raw)
                self.inbox.append(
                    (frame.header, decode_body(frame.header.msg_id, frame.body, frame.header.version))
                )
        return self.inbox.pop(0)

    async def answer(self, timeout: float = 3.0) -> PlatformResponse:
        _, message = await self.recv(timeout)
        assert isinstance(message, PlatformResponse), message
        return message

    async def closed(self, timeout: float = 3.0) -> bool:
        try:
            while await asyncio.wait_for(self.reader.read(65536), timeout):
                pass
        except (TimeoutError, ConnectionResetError):
            return False
        return True

    async def log_in(self) -> str:
        await self.send(Register(34, 100, "ZHIFA", "T-1", "DEV0001", 2, PLATE))
        _, reply = await self.recv()
        assert isinstance(reply, RegisterResponse) and reply.result == 0 and reply.auth_code
        serial = await self.send(Authenticate(reply.auth_code))
        assert await self.answer() == PlatformResponse(serial, 0x0102, 0)
        return reply.auth_code


@asynccontextmanager
async def running(app: App, **overrides: Any) -> AsyncIterator[Gateway]:
    gateway = app_gateway(app, host="127.0.0.1", port=0, **overrides)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


@asynccontextmanager
async def connect(gateway: Gateway, phone: str = PHONE, version: int = 2013) -> AsyncIterator[Wire]:
    assert gateway.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        yield Wire(reader, writer, phone if version == 2013 else phone.zfill(20), version)
    finally:
        writer.close()


def lake_positions(app: App) -> list[dict[str, Any]]:
    writer = LakeWriter(app.lake_deps, (ReadingKind.POSITION,))
    writer.drain(timeout=0.1)
    writer.close()
    with app.lake.connect() as con:  # type: ignore[attr-defined]
        cursor = con.execute("SELECT * FROM positions ORDER BY time")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run(scenario: Callable[[], Any]) -> Any:
    return asyncio.run(scenario())


def test_unknown_terminal_is_refused_with_result_4(app: App) -> None:
    """A phone not in the terminal register gets 0x8100 result 4 and no auth code; the same
    terminal's positions are refused (0x8001 result 1) because it never authenticated."""

    async def scenario() -> None:
        async with running(app) as gateway, connect(gateway) as wire:
            serial = await wire.send(Register(34, 100, "ZHIFA", "T-1", "DEV0001", 2, PLATE))
            _, reply = await wire.recv()
            assert reply == RegisterResponse(serial, 4, None)
            serial = await wire.send(fix())
            assert await wire.answer() == PlatformResponse(serial, 0x0200, 1)

    run(scenario)
    assert lake_positions(app) == []


@pytest.mark.parametrize("version", [2013, 2019])
def test_register_authenticate_report_and_store(app: App, version: int) -> None:
    """The whole session of an enrolled terminal, in 2013 and 2019 framing: the auth code it gets
    opens later connections; its position reaches the lake with the register's plate, the terminal
    number without padding, the fix's values and its extras as JSON."""
    enrol(app)

    async def scenario() -> None:
        async with running(app) as gateway:
            async with connect(gateway, version=version) as wire:
                code = await wire.log_in()
                serial = await wire.send(fix())
                assert await wire.answer() == PlatformResponse(serial, 0x0200, 0)
                serial = await wire.send(Heartbeat())
                assert await wire.answer() == PlatformResponse(serial, 0x0002, 0)
            async with connect(gateway, version=version) as again:
                serial = await again.send(Authenticate(code))
                assert await again.answer() == PlatformResponse(serial, 0x0102, 0)
                serial = await again.send(Authenticate("wrong"))
                assert (await again.answer()).result == 1

    run(scenario)
    [row] = lake_positions(app)
    assert (row["terminal"], row["plate"], row["plate_colour"]) == (PHONE, PLATE, 2)
    assert row["time"] == T0.astimezone(UTC)
    assert (row["lon"], row["lat"], row["speed_kmh"], row["heading"]) == (117.227239, 31.820591, 62.5, 90)
    assert (row["valid"], row["backfill"]) == (True, False)
    assert json.loads(row["extras"]) == {"mileage_km": 1234.5, "rssi": 25}


def test_nothing_is_acknowledged_before_the_bus_holds_it(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the bus refuses, positions get no 0x8001 at all (the terminal keeps them and resends);
    once it accepts again, the resent frame is answered and stored exactly once."""
    enrol(app)
    bus = app.bus
    real_publish = bus.publish
    failing = {"on": True}

    def publish(kind: str, messages: Any) -> None:
        if failing["on"]:
            raise BusUnavailable("bus down for the test")
        real_publish(kind, messages)

    monkeypatch.setattr(bus, "publish", publish)

    async def scenario() -> None:
        async with running(app) as gateway, connect(gateway) as wire:
            await wire.log_in()
            await wire.send(fix())
            with pytest.raises(TimeoutError):
                await wire.recv(timeout=0.5)
            assert gateway.stats.bus_failures >= 1
            failing["on"] = False
            serial = await wire.send(fix())  # the terminal's resend, with a new serial
            assert await wire.answer() == PlatformResponse(serial, 0x0200, 0)

    run(scenario)
    assert len(lake_positions(app)) == 1


def test_blind_area_batch_is_stored_as_backfill_and_normal_batch_is_not(app: App) -> None:
    """0x0704 type 1 (盲区补报) rows are marked backfill; type 0 rows are not; one answer per frame."""
    enrol(app)

    async def scenario() -> None:
        async with running(app) as gateway, connect(gateway) as wire:
            await wire.log_in()
            serial = await wire.send(LocationBatch(1, tuple(fix(-600 + i * 30) for i in range(5))))
            assert await wire.answer() == PlatformResponse(serial, 0x0704, 0)
            serial = await wire.send(LocationBatch(0, (fix(10), fix(20))))
            assert await wire.answer() == PlatformResponse(serial, 0x0704, 0)

    run(scenario)
    rows = lake_positions(app)
    assert [r["backfill"] for r in rows] == [True] * 5 + [False] * 2


def test_subpackaged_batch_is_reassembled_and_every_part_answered(app: App) -> None:
    """A 0x0704 too long for one frame arrives in parts (JT/T 808 §4.4.3), out of order; the
    gateway stores it whole and answers each part's serial after the bus holds the fixes."""
    enrol(app)
    items = tuple(fix(-3000 + i * 30) for i in range(60))
    msg_id, body = encode_body(LocationBatch(1, items), 2013)

    async def scenario() -> None:
        async with running(app) as gateway, connect(gateway) as wire:
            await wire.log_in()
            frames = build_frames(msg_id, PHONE, 100, body, max_body=512)
            assert len(frames) >= 3
            for frame in reversed(frames):
                await wire.send_raw(frame)
            answers = [await wire.answer() for _ in frames]
            assert sorted(a.ack_serial for a in answers) == list(range(100, 100 + len(frames)))
            assert {(a.ack_id, a.result) for a in answers} == {(0x0704, 0)}

    run(scenario)
    assert len(lake_positions(app)) == 60


def test_malformed_frames_are_quarantined_and_the_connection_survives(app: App) -> None:
    """A bad checksum and a broken escape are quarantined with their bytes and reason; the
    connection goes on; an unsupported message gets result 3."""
    enrol(app)
    good = build_frame(0x0002, PHONE, 7, b"")
    bad_checksum = good[:-2] + bytes([good[-2] ^ 0x55]) + good[-1:]

    async def scenario() -> None:
        async with running(app) as gateway, connect(gateway) as wire:
            await wire.log_in()
            await wire.send_raw(bad_checksum)
            await wire.send_raw(b"\x7e\x00\x02\x7d\x05\x7e")
            serial = await wire.send(Heartbeat())
            assert await wire.answer() == PlatformResponse(serial, 0x0002, 0)
            await wire.send_raw(build_frame(0x0F01, PHONE, 50, b"\x01"))
            assert await wire.answer() == PlatformResponse(50, 0x0F01, 3)

    run(scenario)
    reasons = [item["reason"] for item in app.quarantine.items()]
    assert reasons[:2] == ["checksum", "escape"]
    assert app.quarantine.items()[0]["hex"] == bad_checksum[1:-1].hex()


def test_a_fix_with_an_impossible_time_is_quarantined_and_its_neighbours_stored(app: App) -> None:
    """A 0x0200 whose BCD time is 30 February passes the framing checks, so it reaches the group
    commit with good fixes; its row alone is left out, the frame is quarantined with the reason the
    reference decoder gives and answered with result 2, and the fixes around it are stored."""
    enrol(app)
    msg_id, good_body = encode_body(fix(), 2013)
    bad_body = good_body[:22] + bytes.fromhex("260230") + good_body[25:]  # 2026-02-30

    async def scenario() -> None:
        async with running(app, flush_seconds=0.2) as gateway, connect(gateway) as wire:
            await wire.log_in()
            first = await wire.send(fix(1))
            await wire.send_raw(build_frame(msg_id, PHONE, 500, bad_body))
            last = await wire.send(fix(2))
            answers = {a.ack_serial: a for a in [await wire.answer() for _ in range(3)]}
            assert answers == {
                first: PlatformResponse(first, 0x0200, 0),
                500: PlatformResponse(500, 0x0200, 2),
                last: PlatformResponse(last, 0x0200, 0),
            }

    run(scenario)
    assert [r["time"] for r in lake_positions(app)] == [
        T0.astimezone(UTC) + timedelta(seconds=s) for s in (1, 2)
    ]
    [item] = app.quarantine.items()
    assert item["reason"] == "body" and "location time 260230" in item["detail"]


def test_a_flood_of_malformed_frames_closes_the_connection(app: App) -> None:
    """More malformed frames per minute than allowed: the connection is closed, others live on."""
    enrol(app)

    async def scenario() -> None:
        async with running(app, max_bad_frames=5) as gateway:
            async with connect(gateway, phone="13900000000") as flooder, connect(gateway) as wire:
                await wire.log_in()
                await flooder.send_raw(b"\x7e\x00\x01\x02\x7e" * 10)
                assert await flooder.closed()
                serial = await wire.send(Heartbeat())
                assert await wire.answer() == PlatformResponse(serial, 0x0002, 0)
            assert gateway.stats.closed_flooding == 1

    run(scenario)


def test_oversized_frames_and_rate_limits(app: App) -> None:
    """A frame beyond the size limit is discarded as too_large; frames beyond the rate (2/s with a
    10-frame burst) are dropped unanswered and the connection survives; a connection that keeps
    going far beyond the rate is closed as flooding."""
    enrol(app)

    async def scenario() -> None:
        async with (
            running(app, max_frame_bytes=256, frames_per_second=2.0) as gateway,
            connect(gateway) as wire,
        ):
            await wire.send_raw(b"\x7e" + b"\x01" * 600 + b"\x7e")
            await wire.log_in()  # 2 frames of the 10-frame burst
            for _ in range(15):
                await wire.send(Heartbeat())
            answers = 0
            with pytest.raises(TimeoutError):
                while True:
                    await wire.answer(timeout=0.5)
                    answers += 1
            assert 8 <= answers <= 10
            assert gateway.stats.dropped_rate >= 5
            serial = await wire.send(Heartbeat())  # tokens came back: still served
            assert await wire.answer() == PlatformResponse(serial, 0x0002, 0)
            for _ in range(40):
                await wire.send(Heartbeat())
            with pytest.raises(ConnectionResetError):
                while True:
                    await wire.answer(timeout=2.0)
            assert gateway.stats.closed_flooding == 1

    run(scenario)
    assert app.quarantine.items()[0]["reason"] == "too_large"


def test_idle_connections_are_closed(app: App) -> None:
    """A connection that sends nothing for the idle timeout is closed by the sweep."""

    async def scenario() -> None:
        async with running(app, idle_timeout=0.4) as gateway, connect(gateway) as wire:
            assert await wire.closed(timeout=5.0)
            assert gateway.stats.closed_idle == 1

    run(scenario)


def test_time_query_logout_and_foreign_phone(app: App) -> None:
    """0x0004 gets the platform's UTC time (0x8004); a frame for another phone on an authenticated
    connection is refused; 0x0003 is answered and the connection closed."""
    enrol(app)

    async def scenario() -> None:
        async with running(app) as gateway, connect(gateway, version=2019) as wire:
            await wire.log_in()
            await wire.send(TimeQuery())
            _, reply = await wire.recv()
            assert reply == TimeResponse(app.clock.now())
            serial = await wire.send(fix(), phone="13999999999".zfill(20))
            assert await wire.answer() == PlatformResponse(serial, 0x0200, 1)
            serial = await wire.send(Logout())
            assert await wire.answer() == PlatformResponse(serial, 0x0003, 0)
            assert await wire.closed()

    run(scenario)


def test_graceful_stop_answers_everything_already_read(app: App) -> None:
    """Frames written just before the stop are committed and answered before connections close."""
    enrol(app)

    async def scenario() -> None:
        gateway = app_gateway(app, host="127.0.0.1", port=0, flush_seconds=0.1)
        await gateway.start()
        async with connect(gateway) as wire:
            await wire.log_in()
            serials = [await wire.send(fix(i)) for i in range(20)]
            await asyncio.sleep(0.05)  # read by the gateway, not yet committed (group of 100 ms)
            await gateway.stop()
            answers = []
            while True:
                try:
                    answers.append(await wire.answer(timeout=1.0))
                except (ConnectionResetError, TimeoutError):
                    break
            assert [a.ack_serial for a in answers] == serials

    run(scenario)
    assert len(lake_positions(app)) == 20
