"""``zhifa gateway``: key vehicles' JT/T 808 terminals connect here (docs/jt808.md).

One asyncio process holds thousands of TCP connections. Each connection is a ``TerminalSession``:
it splits the byte stream into frames, decodes them with the pure codec
(adapters/protocol/jt808), registers and authenticates the terminal against the terminal register
(services/terminals.py), and hands positions to the ``GroupCommit``. That one task sends the
positions of every connection to the bus together, at most every ``gateway_flush_ms``, and only
then answers each frame with 0x8001: an acknowledged position is on the bus, so it is never lost
(JT/T 808-2019 §8.1: a terminal resends what was not answered).

What a connection may do is bounded: frame size, frames per second, malformed frames per minute.
A malformed frame is logged and quarantined with its bytes; the connection survives it unless it
floods. Stopping (SIGTERM) stops accepting and reading, commits what was read, answers it, then
closes.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from zhifa.adapters.protocol.jt808 import (
    MSG_LOCATION,
    Authenticate,
    Deframer,
    FrameError,
    Header,
    Heartbeat,
    Location,
    LocationBatch,
    LocationQueryResponse,
    Logout,
    Reassembler,
    Register,
    RegisterResponse,
    TerminalResponse,
    TimeQuery,
    TimeResponse,
    build_frame,
    decode_body,
    decode_location,
    encode_body,
    encode_location,
    parse_frame,
)
from zhifa.adapters.protocol.jt808.answers import AckEncoder
from zhifa.adapters.protocol.jt808.columnar import decode_basic, extras_json
from zhifa.adapters.protocol.jt808.location import BASIC_SIZE
from zhifa.bootstrap import App
from zhifa.domain.readings import ReadingKind
from zhifa.domain.terminals import InvalidTerminal, normalise_phone
from zhifa.services import ingest, terminals
from zhifa.services.ports import Quarantine

log = logging.getLogger("zhifa.gateway")

# 0x8001 results, JT/T 808-2019 表 5 (平台通用应答).
ACK_OK, ACK_FAILURE, ACK_MESSAGE_ERROR, ACK_UNSUPPORTED = 0, 1, 2, 3
# Before authentication a terminal may only register, authenticate, log out, beat or ask the time.
_BEFORE_AUTH = (Register, Authenticate, Logout, Heartbeat, TimeQuery)
MAX_AUTH_FAILURES = 3
MAX_REFUSED_BEFORE_AUTH = 10
BURST_SECONDS = 5.0


@dataclass(frozen=True)
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 6808
    idle_timeout: float = 180.0
    max_frame_bytes: int = 4096
    frames_per_second: float = 50.0
    max_bad_frames: int = 20
    flush_seconds: float = 0.05
    max_flush_rows: int = 8192
    subpackage_timeout: float = 60.0

    @classmethod
    def from_app(cls, app: App, **overrides: Any) -> GatewayConfig:
        s = app.settings
        values: dict[str, Any] = {
            "host": s.gateway_host,
            "port": s.gateway_port,
            "idle_timeout": s.gateway_idle_timeout_seconds,
            "max_frame_bytes": s.gateway_max_frame_bytes,
            "frames_per_second": s.gateway_frames_per_second,
            "max_bad_frames": s.gateway_max_bad_frames,
            "flush_seconds": s.gateway_flush_ms / 1000,
            "subpackage_timeout": s.gateway_subpackage_timeout_seconds,
        }
        return cls(**(values | overrides))


@dataclass
class Stats:
    connections: int = 0
    open: int = 0
    frames: int = 0
    positions: int = 0
    acknowledged: int = 0
    refused_positions: int = 0
    malformed: int = 0
    dropped_rate: int = 0
    closed_flooding: int = 0
    closed_idle: int = 0
    bus_failures: int = 0


@dataclass(slots=True)
class _Pending:
    session: TerminalSession
    header: Header
    parts: int  # a subpackaged message is answered part by part: serials header.serial … + parts − 1
    start: int  # its first row in the group
    rows: int
    received: float  # loop time the (last part of the) frame arrived
    raw: bytes  # the wire frame (its last part), quarantined if a fix in it turns out unreadable


_UTC_MICROS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class _Group:
    """What one commit stores: a 0x0200 body per row, whose connection sent it, and if it was late."""

    bodies: list[bytes]
    owners: list[TerminalSession]
    backfill: list[bool]


def group_columns(group: _Group) -> tuple[dict[str, Any], np.ndarray]:
    """The position columns of a group, and the indexes of rows whose time is not a real time.

    The bodies are decoded together (adapters/protocol/jt808/columnar.py, held to ``decode_location``
    by property tests); unreadable rows are left out of the columns, so the second value maps them.
    """
    basic = decode_basic(group.bodies)
    columns: dict[str, Any] = {
        "terminal": [o.terminal for o in group.owners],
        "plate": [o.vehicle.plate for o in group.owners],
        "plate_colour": [int(o.vehicle.colour) for o in group.owners],
        # numpy times carry no zone; the checks accept only aware ones, and these are UTC.
        "time": pa.array(basic.time, type=_UTC_MICROS),
        "lon": basic.lon,
        "lat": basic.lat,
        "speed_kmh": basic.speed_kmh,
        "heading": basic.heading,
        "altitude_m": basic.altitude_m,
        "alarm": basic.alarm,
        "status": basic.status,
        "extras": [extras_json(b) for b in group.bodies],
        "backfill": group.backfill,
    }
    unreadable = np.flatnonzero(~basic.valid)
    if unreadable.size:
        keep = basic.valid
        kept = [bool(k) for k in keep]
        columns = {
            name: values[keep]
            if isinstance(values, np.ndarray)
            else [v for v, k in zip(values, kept, strict=True) if k]
            for name, values in columns.items()
        }
    return columns, unreadable


class GroupCommit:
    """Positions of all connections go to the bus together; each frame is answered after."""

    def __init__(
        self,
        publish: Callable[[dict[str, list[Any]]], Sequence[int]],
        executor: ThreadPoolExecutor,
        stats: Stats,
        *,
        interval: float,
        max_rows: int,
    ) -> None:
        self.publish = publish  # blocking: returns the indexes of refused rows; raises if the bus fails
        self.executor = executor
        self.stats = stats
        self.interval = interval
        self.max_rows = max_rows
        self._bodies: list[bytes] = []
        self._owners: list[TerminalSession] = []
        self._backfill: list[bool] = []
        self._pending: list[_Pending] = []
        self._rows = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    def add(
        self,
        session: TerminalSession,
        header: Header,
        parts: int,
        raw: bytes,
        bodies: Sequence[bytes],
        backfill: bool,
    ) -> None:
        """Hold the 0x0200 bodies of one message (one for 0x0200, many for 0x0704) until the commit."""
        if session.terminal is None or session.vehicle is None:
            raise RuntimeError("positions of an unauthenticated connection")
        n = len(bodies)
        self._bodies.extend(bodies)
        self._owners.extend([session] * n)
        self._backfill.extend([backfill] * n)
        self._pending.append(_Pending(session, header, parts, self._rows, n, session.loop_time(), raw))
        self._rows += n
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._pending:
                self._idle.set()
                if self._stopping:
                    return
                continue
            # Wait out the rest of the interval from the oldest frame, unless the group is full.
            wait = self._pending[0].received + self.interval - loop.time()
            if wait > 0 and self._rows < self.max_rows and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full(), wait)
            group, pending = _Group(self._bodies, self._owners, self._backfill), self._pending
            self._bodies, self._owners, self._backfill = [], [], []
            self._pending, self._rows = [], 0
            try:
                refused, unreadable = await loop.run_in_executor(self.executor, self._commit, group)
            except Exception:  # the bus refused: answer nothing, terminals resend (JT/T 808 §8.1)
                self.stats.bus_failures += 1
                log.exception("bus refused %d positions; they stay unacknowledged", len(group.bodies))
                self._wake.set()
                continue
            self._quarantine(pending, group.bodies, unreadable)
            self._answer(pending, sorted([*refused, *unreadable]))
            self._wake.set()

    def _commit(self, group: _Group) -> tuple[list[int], list[int]]:
        """Columns, then the bus (in the executor): rows refused by the checks, rows unreadable."""
        columns, unreadable = group_columns(group)
        refused = self.publish(columns)
        if unreadable.size:  # the refused indexes count the rows that were published
            published = np.flatnonzero(np.isin(np.arange(len(group.bodies)), unreadable, invert=True))
            refused = published[np.asarray(refused, dtype=np.int64)].tolist()
        return list(refused), unreadable.tolist()

    def _quarantine(self, pending: list[_Pending], bodies: list[bytes], unreadable: list[int]) -> None:
        """A fix whose time is not a time: the reference decoder says why, the frame is quarantined."""
        starts = [p.start for p in pending]
        for row in unreadable:
            p = pending[bisect.bisect_right(starts, row) - 1]
            try:
                decode_location(bodies[row])
            except FrameError as exc:
                p.session.bad_frame(exc, p.raw)

    async def _full(self) -> None:
        while self._rows < self.max_rows and not self._stopping:
            await self._wake.wait()
            self._wake.clear()

    def _answer(self, pending: list[_Pending], refused: Sequence[int]) -> None:
        starts = [p.start for p in pending]
        refused_per_frame = [0] * len(pending)
        for row in refused:
            refused_per_frame[bisect.bisect_right(starts, row) - 1] += 1
        for p, bad in zip(pending, refused_per_frame, strict=True):
            # A frame none of whose fixes could be stored is a message error (it would fail again);
            # otherwise it is acknowledged, and the refused fixes are counted.
            result = ACK_MESSAGE_ERROR if p.rows and bad == p.rows else ACK_OK
            self.stats.positions += p.rows - bad
            self.stats.refused_positions += bad
            for part in range(p.parts):
                p.session.ack((p.header.serial + part) & 0xFFFF, p.header.msg_id, result)
            self.stats.acknowledged += 1

    async def drain(self) -> None:
        """Commit and answer everything received so far, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task


class Gateway:
    """The listening server, its sessions, the idle sweep and the group commit."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        publish: Callable[[dict[str, list[Any]]], Sequence[int]],
        register: Callable[[str, Register], tuple[int, str | None]],
        authenticate: Callable[[str, str], Any],
        quarantine: Quarantine,
        now: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.register = register
        self.authenticate = authenticate
        self.quarantine = quarantine
        self.now = now
        self.stats = Stats()
        self.sessions: set[TerminalSession] = set()
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gateway-io")
        self.commit = GroupCommit(
            publish, self.executor, self.stats, interval=config.flush_seconds, max_rows=config.max_flush_rows
        )
        self.server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.port: int | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.commit.start()
        self.server = await loop.create_server(
            lambda: TerminalSession(self),
            self.config.host,
            self.config.port,
            backlog=4096,
            reuse_address=True,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self._sweeper = loop.create_task(self._sweep(), name="idle-sweep")
        log.info("JT/T 808 gateway listening on %s:%s", self.config.host, self.port)

    async def _sweep(self) -> None:
        """One task closes idle connections, instead of a timer per connection."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(5.0, self.config.idle_timeout / 4))
            limit = loop.time() - self.config.idle_timeout
            for session in [s for s in self.sessions if s.last_seen < limit]:
                self.stats.closed_idle += 1
                session.close("idle")

    async def stop(self) -> None:
        """Graceful: no new connections or frames; commit and answer what was read; close."""
        if self.server is not None:
            self.server.close()
        for session in list(self.sessions):
            session.pause()
        await self.commit.drain()
        for session in list(self.sessions):
            session.close("shutdown")
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.server is not None:
            await self.server.wait_closed()
        self.executor.shutdown(wait=True)
        log.info("gateway stopped: %s", self.stats)

    def quarantine_frame(self, session: TerminalSession, error: FrameError, data: bytes) -> None:
        self.stats.malformed += 1
        source = f"{session.peer} {session.phone or '?'}"
        log.warning("malformed frame from %s: %s", source, error)
        try:
            self.quarantine.put(self.now(), source, error.reason, str(error), data)
        except OSError:
            log.exception("could not quarantine a frame from %s", source)


class TerminalSession(asyncio.Protocol):
    """One terminal's TCP connection."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.config = gateway.config
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.deframer = Deframer(self.config.max_frame_bytes)
        self.reassembler = Reassembler(self.config.subpackage_timeout)
        self.phone: str | None = None  # as the terminal sends it (12 or 20 digits)
        self.version = 2013
        self.acks: AckEncoder | None = None  # made with the first frame, from its phone and version
        self.terminal: str | None = None  # the register's phone, once authenticated
        self.vehicle: Any = None
        self.serial = 0
        self.tokens = self.config.frames_per_second * BURST_SECONDS
        self.excess = 0.0
        self.last_refill = self.last_seen = 0.0
        self.bad_frames: list[float] = []
        self.auth_failures = self.refused_before_auth = 0
        self.closing = self.paused = False
        self._loop = asyncio.get_running_loop()

    def loop_time(self) -> float:
        return self._loop.time()

    # --- connection --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP server's is a Transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.last_seen = self.last_refill = self.loop_time()
        self.gateway.sessions.add(self)
        self.gateway.stats.connections += 1
        self.gateway.stats.open += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        if self in self.gateway.sessions:
            self.gateway.sessions.discard(self)
            self.gateway.stats.open -= 1

    def pause(self) -> None:
        self.paused = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def close(self, why: str) -> None:
        if not self.closing:
            log.info("closing %s (%s): %s", self.peer, self.phone, why)
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    # --- frames in -----------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.closing or self.paused:
            return
        now = self.last_seen = self.loop_time()
        for item in self.deframer.feed(data):
            if isinstance(item, FrameError):
                self._bad(item, b"", now)
            elif self._take_token(now):
                self._frame(item, now)
            if self.closing:
                return

    def _take_token(self, now: float) -> bool:
        """A token bucket of ``frames_per_second`` with a burst of BURST_SECONDS; frames beyond it
        are dropped unanswered (the terminal resends them later). Dropped frames fill a second
        bucket that drains at the same rate: a connection that overflows it too is flooding."""
        rate, elapsed = self.config.frames_per_second, now - self.last_refill
        self.last_refill = now
        self.tokens = min(rate * BURST_SECONDS, self.tokens + elapsed * rate)
        self.excess = max(0.0, self.excess - elapsed * rate)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.gateway.stats.dropped_rate += 1
        self.excess += 1
        if self.excess > rate * BURST_SECONDS:
            self.gateway.stats.closed_flooding += 1
            self.close("flooding: far over the frame rate")
        return False

    def bad_frame(self, error: FrameError, data: bytes) -> None:
        self._bad(error, data, self.loop_time())

    def _bad(self, error: FrameError, data: bytes, now: float) -> None:
        self.gateway.quarantine_frame(self, error, data)
        self.bad_frames = [t for t in self.bad_frames if t > now - 60.0] + [now]
        if len(self.bad_frames) > self.config.max_bad_frames:
            self.gateway.stats.closed_flooding += 1
            self.close(f"flooding: more than {self.config.max_bad_frames} malformed frames in a minute")

    def _frame(self, raw: bytes, now: float) -> None:
        self.gateway.stats.frames += 1
        try:
            frame = parse_frame(raw)
        except FrameError as exc:
            self._bad(exc, raw, now)  # nothing in it can be trusted, not even the serial to answer
            return
        header = frame.header
        if (
            header.msg_id == MSG_LOCATION
            and header.packet is None
            and header.phone == self.phone
            and self.terminal is not None
            and len(frame.body) >= BASIC_SIZE
        ):
            # Nearly every frame: a whole 0x0200 of the authenticated terminal. Its body is decoded
            # with the rest of its group at the commit (group_columns), not here one by one.
            self.gateway.commit.add(self, header, 1, raw, (frame.body,), False)
            return
        parts = header.packet[0] if header.packet else 1
        if self.phone is None:
            self.phone, self.version = header.phone, header.version
            self.acks = AckEncoder(header.phone, header.version)
        try:
            whole = self.reassembler.add(frame, now)
            if whole is None:
                return
            message = decode_body(whole.header.msg_id, whole.body, whole.header.version)
        except FrameError as exc:
            self._bad(exc, raw, now)
            self.respond(header, ACK_UNSUPPORTED if exc.reason == "unsupported" else ACK_MESSAGE_ERROR)
            return
        self._dispatch(whole.header, message, parts, raw)

    def _dispatch(self, header: Header, message: object, parts: int, raw: bytes) -> None:
        if self.terminal is None and not isinstance(message, _BEFORE_AUTH):
            self.refused_before_auth += 1
            self.respond(header, ACK_FAILURE)
            if self.refused_before_auth > MAX_REFUSED_BEFORE_AUTH:
                self.close("keeps sending before authenticating")
            return
        if self.terminal is not None and _normalised(header.phone) != self.terminal:
            self.respond(header, ACK_FAILURE)  # one connection speaks for one terminal
            return
        # Fixes that came another way than a whole 0x0200 go to the commit as 0x0200 bodies again:
        # the codec's round trips are exact, and the commit decodes one kind of row only.
        if isinstance(message, Location):
            self.gateway.commit.add(self, header, parts, raw, [encode_location(message)], False)
        elif isinstance(message, LocationBatch):
            # 0x0704 type 1 is 盲区补报: fixes stored while out of coverage, sent late on purpose.
            bodies = [encode_location(item) for item in message.items]
            self.gateway.commit.add(self, header, parts, raw, bodies, message.type == 1)
        elif isinstance(message, LocationQueryResponse):
            self.gateway.commit.add(self, header, parts, raw, [encode_location(message.location)], False)
        elif isinstance(message, Heartbeat):
            self.respond(header, ACK_OK)
        elif isinstance(message, TimeQuery):
            # JT/T 808-2019 8.5: the answer is UTC, unlike location times (GMT+8).
            self.send(TimeResponse(self.gateway.now().astimezone(UTC)))
        elif isinstance(message, Register):
            self._later(self._register(header, message))
        elif isinstance(message, Authenticate):
            self._later(self._authenticate(header, message))
        elif isinstance(message, Logout):
            self.respond(header, ACK_OK)
            self.close("logged out (0x0003)")
        elif isinstance(message, TerminalResponse):
            log.info(
                "%s answered 0x%04X #%d: %d", self.phone, message.ack_id, message.ack_serial, message.result
            )
        else:
            self.respond(header, ACK_UNSUPPORTED)

    def _later(self, work: Any) -> None:
        self._loop.create_task(work)

    async def _register(self, header: Header, message: Register) -> None:
        try:
            phone = normalise_phone(header.phone)
        except InvalidTerminal:
            self.send(RegisterResponse(header.serial, terminals.RegisterResult.NO_SUCH_TERMINAL, None))
            return
        result, code = await self._loop.run_in_executor(
            self.gateway.executor, self.gateway.register, phone, message
        )
        self.send(RegisterResponse(header.serial, result, code))

    async def _authenticate(self, header: Header, message: Authenticate) -> None:
        try:
            phone = normalise_phone(header.phone)
        except InvalidTerminal:
            self.respond(header, ACK_FAILURE)
            return
        bound = await self._loop.run_in_executor(
            self.gateway.executor, self.gateway.authenticate, phone, message.auth_code
        )
        if bound is None:
            self.auth_failures += 1
            self.respond(header, ACK_FAILURE)
            if self.auth_failures >= MAX_AUTH_FAILURES:
                self.close("authentication failed")
            return
        self.terminal, self.vehicle = bound.phone, bound.vehicle
        self.respond(header, ACK_OK)

    # --- frames out ----------------------------------------------------------------------------
    def next_serial(self) -> int:
        serial, self.serial = self.serial, (self.serial + 1) & 0xFFFF
        return serial

    def respond(self, header: Header, result: int) -> None:
        """0x8001 平台通用应答 to one terminal message."""
        self.ack(header.serial, header.msg_id, result)

    def ack(self, ack_serial: int, ack_id: int, result: int) -> None:
        transport = self.transport
        if transport is None or self.acks is None or transport.is_closing():
            return
        transport.write(self.acks.frame(self.next_serial(), ack_serial, ack_id, result))

    def send(self, message: object) -> None:
        if self.transport is None or self.transport.is_closing() or self.phone is None:
            return
        msg_id, body = encode_body(message, self.version)
        self.transport.write(build_frame(msg_id, self.phone, self.next_serial(), body, version=self.version))


def _normalised(phone: str) -> str | None:
    try:
        return normalise_phone(phone)
    except InvalidTerminal:
        return None


def app_gateway(app: App, **overrides: Any) -> Gateway:
    """A gateway wired to the platform's terminal register, bus and quarantine."""

    def publish(columns: dict[str, list[Any]]) -> list[int]:
        batch = app.readings.from_columns(ReadingKind.POSITION, columns)
        report = ingest.ingest_batch(app.ingest_deps, ReadingKind.POSITION, batch)
        for r in report.rejected[:5]:
            log.warning("position refused: %s", "; ".join(f"{e.field}: {e.reason}" for e in r.errors))
        return [r.index for r in report.rejected]

    def register(phone: str, message: Register) -> tuple[int, str | None]:
        outcome = terminals.register_terminal(
            app.uow,
            phone,
            terminals.Registration(
                province=message.province,
                city=message.city,
                maker=message.maker,
                model=message.model,
                device_id=message.terminal_id,
                plate_colour=message.plate_colour,
                plate=message.plate,
            ),
            clock=app.clock,
            new_code=app.secrets.token,
        )
        return int(outcome.result), outcome.auth_code

    def authenticate(phone: str, code: str) -> Any:
        return terminals.authenticate_terminal(app.uow, phone, code)

    return Gateway(
        GatewayConfig.from_app(app, **overrides),
        publish=publish,
        register=register,
        authenticate=authenticate,
        quarantine=app.quarantine,
        now=app.clock.now,
    )


async def serve_gateway(
    gateway: Gateway, stop: asyncio.Event, ready: Callable[[int], None] | None = None
) -> None:
    await gateway.start()
    if ready is not None and gateway.port is not None:
        ready(gateway.port)
    await stop.wait()
    await gateway.stop()


def run(app: App, **overrides: Any) -> Stats:
    """Run until SIGTERM or SIGINT, then stop gracefully (the ``zhifa gateway`` command)."""
    gateway = app_gateway(app, **overrides)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve_gateway(gateway, stop)

    asyncio.run(main())
    return gateway.stats


def start_in_thread(app: App, **overrides: Any) -> tuple[Gateway, Callable[[], None]]:
    """Run the gateway in a thread of this process (``zhifa serve``, the demo); return what stops it."""
    gateway = app_gateway(app, **overrides)
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        holder["loop"], holder["stop"] = asyncio.get_running_loop(), asyncio.Event()
        await serve_gateway(gateway, holder["stop"], lambda _port: started.set())

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="jt808-gateway", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the JT/T 808 gateway did not start")

    def stopper() -> None:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=15)

    return gateway, stopper
