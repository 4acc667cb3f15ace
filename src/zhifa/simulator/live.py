"""Live replay: a simulated province's traffic played into a running platform in simulated time.

``LiveReplay`` takes a ``TrafficResult`` (traffic.simulate) and sends its readings when they fall
due on a simulated clock that runs ``speedup`` times faster than the wall clock:

* positions of the vehicles it drives, over JT/T 808 TCP, one connection per terminal: 0x0100
  register → 0x8100 auth code → 0x0102 authenticate → one 0x0200 per fix at its GPS time. A fix
  the platform has not answered with 0x8001 stays with its terminal; after a disconnect (or when
  no answer comes within ``ack_timeout_s``) the terminal reconnects, authenticates with its code
  and resends what it holds as 0x0704 type 1 blind-area batches (盲区补报), as real terminals do;
* gantry passages and weighings over HTTP ingest (signed requests, through ``HttpFeeder``).

What it sends is the result's rows, exactly: the same result gives the same records (the record
ids are the simulator's). Only when they are sent depends on the clock. Memory and CPU stay
bounded: the readings are indexed once by time and turned into messages a tick at a time, and at
most ``max_terminals`` terminals are driven (the demo machine is small). Clones (套牌车) are never
driven: the platform binds one terminal per vehicle, so a clone's own terminal would be refused.

The replay is a client of the wire protocol and the HTTP API only; see docs/simulator.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pyarrow as pa

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
from zhifa.simulator.feed import HttpFeeder
from zhifa.simulator.fleet import FleetVehicle
from zhifa.simulator.traffic import TrafficResult

log = logging.getLogger("zhifa.simulator.live")

MSG_LOCATION, MSG_BATCH = 0x0200, 0x0704
BATCH_ITEMS = 20  # fixes per 0x0704: well under the 1 023-byte body limit
BLIND_AREA = 1  # 0x0704 type 1: 盲区补报
PASSAGES_PATH, WEIGHINGS_PATH = "/api/v1/passages", "/api/v1/weighings"


@dataclass(frozen=True)
class LiveConfig:
    speedup: float = 60.0  # simulated seconds per real second
    max_terminals: int = 300  # terminals driven at most (the first in vehicle order)
    tick_s: float = 0.1  # real seconds between two looks at the simulated clock
    http_batch: int = 500  # records per HTTP request at most
    version: int = 2013  # JT/T 808 framing: 2013 or 2019
    ack_timeout_s: float = 5.0  # real seconds without an 0x8001 before the terminal reconnects
    settle_s: float = 15.0  # real seconds to wait for the last answers at the end
    connect_timeout_s: float = 20.0  # real seconds to wait for the terminals to log in at the start
    progress_every_s: float = 10.0  # real seconds between two progress reports

    def __post_init__(self) -> None:
        if self.speedup <= 0:
            raise ValueError("the speed-up must be positive")
        if self.version not in (2013, 2019):
            raise ValueError("version must be 2013 or 2019")


@dataclass
class LiveStats:
    terminals: int = 0
    logged_in: int = 0  # terminals authenticated at least once
    positions_due: int = 0  # positions of the driven terminals in the result
    positions_sent: int = 0  # fixes handed to a terminal (sent, or held while disconnected)
    positions_acked: int = 0  # answered 0x8001 result 0
    positions_refused: int = 0  # answered with another result (not resent)
    positions_resent: int = 0  # sent again in 0x0704 blind-area batches
    reconnects: int = 0
    passages_sent: int = 0
    passages_accepted: int = 0
    passages_rejected: int = 0
    weighings_sent: int = 0
    weighings_accepted: int = 0
    weighings_duplicates: int = 0
    weighings_rejected: int = 0
    overlimit: int = 0
    http_retries: int = 0
    simulated: datetime | None = None  # the simulated clock at the last report
    finished: bool = False

    @property
    def positions_open(self) -> int:
        """Fixes sent and neither acknowledged nor refused yet."""
        return self.positions_sent - self.positions_acked - self.positions_refused


def drivable(vehicles: Sequence[FleetVehicle], limit: int) -> tuple[int, ...]:
    """Indices (into ``vehicles``) of the vehicles whose terminals a replay drives: those with a
    terminal that are not clones, the first ``limit`` in vehicle order."""
    picked = [i for i, v in enumerate(vehicles) if v.terminal is not None and v.clone_of is None]
    return tuple(picked[: max(limit, 0)])


_PASSAGE_DROP = frozenset({"received_at"})
_WEIGHING_DROP = frozenset({"received_at", "content_sha256", "time", "height_mm", "width_mm", "length_mm"})


def passage_record(row: dict[str, Any]) -> dict[str, Any]:
    """A passage row of the lake as POST /api/v1/passages takes it."""
    out = {k: v for k, v in row.items() if k not in _PASSAGE_DROP and v is not None}
    out["time"] = row["time"].isoformat()
    return out


def weighing_record(row: dict[str, Any]) -> dict[str, Any]:
    """A weighing row of the lake as POST /api/v1/weighings takes it (metres for dimensions)."""
    out = {k: v for k, v in row.items() if k not in _WEIGHING_DROP and v is not None and v != []}
    out["measured_at"] = row["time"].isoformat()
    for name in ("height", "width", "length"):
        if row.get(f"{name}_mm") is not None:
            out[f"{name}_m"] = row[f"{name}_mm"] / 1000
    return out


def _micros(table: pa.Table) -> npt.NDArray[np.int64]:
    if table.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(table.column("time").cast(pa.int64()).to_numpy(), dtype=np.int64)


class _Terminal:
    """One simulated terminal's connection, its auth code and the fixes it holds."""

    def __init__(self, replay: LiveReplay, vehicle: FleetVehicle) -> None:
        assert vehicle.terminal is not None  # noqa: S101 - drivable() picks vehicles with one
        self.replay = replay
        self.vehicle = vehicle
        self.phone = vehicle.terminal.phone
        self.version = replay.config.version
        self.wire_phone = self.phone if self.version == 2013 else self.phone.zfill(20)
        self.auth_code: str | None = None
        self.serial = 0
        self.writer: asyncio.StreamWriter | None = None
        self.ready = False
        self.unacked: dict[int, list[Location]] = {}  # by the serial of the frame that carried them
        self.oldest_unacked: float | None = None  # loop time of the oldest unanswered frame
        self.held: list[Location] = []  # not answered before a disconnect, or due while offline
        self.waiting: dict[int, asyncio.Future[object]] = {}
        self.connecting: asyncio.Task[None] | None = None
        self.closing = False
        self.ever_ready = False

    def next_serial(self) -> int:
        serial, self.serial = self.serial, (self.serial + 1) & 0xFFFF
        return serial

    def _send(self, message: object) -> int:
        assert self.writer is not None  # noqa: S101
        msg_id, body = encode_body(message, self.version)
        serial = self.next_serial()
        self.writer.write(build_frame(msg_id, self.wire_phone, serial, body, version=self.version))
        return serial

    def report(self, fix: Location) -> None:
        stats = self.replay.stats
        stats.positions_sent += 1
        if not self.ready:
            self.held.append(fix)
            self.ensure_connecting()
            return
        serial = self._send(fix)
        self._track(serial, [fix])

    def _track(self, serial: int, fixes: list[Location]) -> None:
        self.unacked[serial] = fixes
        if self.oldest_unacked is None:
            self.oldest_unacked = asyncio.get_running_loop().time()

    def ensure_connecting(self) -> None:
        if self.connecting is None and not self.closing:
            self.connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _request(self, message: object, timeout: float = 10.0) -> object:
        serial = self._send(message)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.waiting[serial] = future
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.waiting.pop(serial, None)

    async def _connect(self) -> None:
        delay = 0.2
        try:
            while not self.closing:
                try:
                    await self._log_in()
                    return
                except (OSError, TimeoutError, ConnectionError, LoginRefused) as exc:
                    log.debug("terminal %s: no session (%s); retrying in %.1f s", self.phone, exc, delay)
                    self._drop()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        finally:
            self.connecting = None

    async def _log_in(self) -> None:
        replay = self.replay
        reader, self.writer = await asyncio.open_connection(replay.host, replay.port)
        asyncio.get_running_loop().create_task(self._read(reader, self.writer))
        if self.auth_code is None:
            v, t = self.vehicle, self.vehicle.terminal
            assert t is not None  # noqa: S101
            city = int(v.home_city[2:]) if v.home_city.isdigit() else 0
            reply = await self._request(
                Register(
                    int(v.home_city[:2] or 34),
                    city,
                    t.maker_id,
                    t.model,
                    t.terminal_id,
                    int(v.colour),
                    v.plate,
                )
            )
            if not isinstance(reply, RegisterResponse) or reply.result != 0 or not reply.auth_code:
                raise LoginRefused(f"register answered {reply}")
            self.auth_code = reply.auth_code
        answer = await self._request(Authenticate(self.auth_code))
        if not isinstance(answer, PlatformResponse) or answer.result != 0:
            self.auth_code = None  # register again next time
            raise LoginRefused(f"authenticate answered {answer}")
        self.ready = True
        if not self.ever_ready:
            self.ever_ready = True
            replay.stats.logged_in += 1
            # Fixes that fell due while the first session was being set up are not late: plain 0x0200.
            early, self.held = self.held, []
            for fix in early:
                self._track(self._send(fix), [fix])
        self._flush_held()
        await self.writer.drain()

    def _flush_held(self) -> None:
        held, self.held = self.held, []
        for i in range(0, len(held), BATCH_ITEMS):
            chunk = held[i : i + BATCH_ITEMS]
            self._track(self._send(LocationBatch(BLIND_AREA, tuple(chunk))), chunk)
            self.replay.stats.positions_resent += len(chunk)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        deframer = Deframer()
        try:
            while data := await reader.read(65536):
                for raw in deframer.feed(data):
                    if isinstance(raw, FrameError):
                        continue
                    try:
                        frame = parse_frame(raw)
                        message = decode_body(frame.header.msg_id, frame.body, frame.header.version)
                    except FrameError:
                        continue
                    self._answered(message)
        except (OSError, ConnectionError):
            pass
        finally:
            if self.writer is writer:
                self._drop()
                if not self.closing and (self.held or self.replay.running):
                    self.replay.stats.reconnects += 1
                    self.ensure_connecting()

    def _answered(self, message: object) -> None:
        if isinstance(message, RegisterResponse):
            serial = message.ack_serial
        elif isinstance(message, PlatformResponse):
            serial = message.ack_serial
            if message.ack_id in (MSG_LOCATION, MSG_BATCH):
                fixes = self.unacked.pop(serial, None)
                if fixes is not None:
                    if message.result == 0:
                        self.replay.stats.positions_acked += len(fixes)
                    else:
                        self.replay.stats.positions_refused += len(fixes)
                    if not self.unacked:
                        self.oldest_unacked = None
                return
        else:
            return
        future = self.waiting.get(serial)
        if future is not None and not future.done():
            future.set_result(message)

    def _drop(self) -> None:
        """The connection is gone: whatever was not answered is held for a blind-area batch."""
        self.ready = False
        # Unanswered first, then what fell due offline: the order they were due in.
        unanswered = [fix for fixes in self.unacked.values() for fix in fixes]  # in sending order
        self.held = unanswered + self.held
        self.unacked.clear()
        self.oldest_unacked = None
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
            self.writer = None

    def stale(self, now: float, timeout: float) -> bool:
        return self.ready and self.oldest_unacked is not None and now - self.oldest_unacked > timeout

    def reconnect(self) -> None:
        """No answer for too long: drop the connection; the reader's end reconnects and resends."""
        if self.writer is not None:
            self.writer.close()

    async def drain(self) -> None:
        if self.writer is not None and self.ready:
            with contextlib.suppress(OSError, ConnectionError):
                await self.writer.drain()

    async def close(self) -> None:
        self.closing = True
        if self.connecting is not None:
            self.connecting.cancel()
        writer, self.writer = self.writer, None
        self.ready = False
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class LoginRefused(Exception):
    """The gateway refused the terminal's registration or authentication."""


class LiveReplay:
    """Plays ``result`` into a platform: positions to the JT/T 808 gateway at ``gateway``
    (host, port), passages and weighings to the HTTP API at ``api_url`` signed with ``key``
    (key id, secret) and stamped by ``now`` (the platform's clock, for the signature).
    Either target may be None to skip those readings. ``http`` makes the HTTP client (tests
    pass an ASGI test client). ``on_progress`` gets the stats every ``progress_every_s``."""

    def __init__(
        self,
        result: TrafficResult,
        *,
        gateway: tuple[str, int] | None,
        api_url: str | None,
        key: tuple[str, bytes] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        config: LiveConfig | None = None,
        on_progress: Callable[[LiveStats], None] | None = None,
        http: Callable[[], httpx.Client] = httpx.Client,
    ) -> None:
        self.result = result
        self.config = config or LiveConfig()
        self.host, self.port = gateway or ("", 0)
        self.api_url = api_url
        self.key = key
        self.now = now
        self.on_progress = on_progress
        self.http = http
        self.stats = LiveStats()
        self.running = False
        self.start_s = result.start.timestamp()
        self.end_s = self.start_s + result.hours * 3600
        self.vehicle_indices = drivable(result.vehicles, self.config.max_terminals) if gateway else ()
        self.vehicles = tuple(result.vehicles[i] for i in self.vehicle_indices)
        # Positions of the driven vehicles, ordered by time: an index, not a copy of the table.
        chosen = np.zeros(len(result.vehicles), dtype=bool)
        chosen[list(self.vehicle_indices)] = True
        micros = _micros(result.positions)
        rows = np.flatnonzero(chosen[result.position_vehicle]) if len(micros) else np.zeros(0, np.int64)
        order = np.argsort(micros[rows], kind="stable")
        self._pos_rows = rows[order]
        self._pos_us = micros[rows][order]
        self.stats.positions_due = len(self._pos_rows)
        self.stats.terminals = len(self.vehicles)
        self._terminals: dict[int, _Terminal] = {}
        self._stop: asyncio.Event | None = None
        self._t0 = 0.0

    # - the simulated clock -
    def simulated_s(self) -> float:
        elapsed = asyncio.get_running_loop().time() - self._t0
        return self.start_s + elapsed * self.config.speedup

    async def _until(self, sim_s: float) -> None:
        """Sleep until the simulated clock reaches ``sim_s`` (at most one tick), or the stop."""
        assert self._stop is not None  # noqa: S101
        wait = min((sim_s - self.simulated_s()) / self.config.speedup, self.config.tick_s)
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)

    # - running -
    async def run(self, stop: asyncio.Event | None = None) -> LiveStats:
        """Connect the terminals, play the whole result, wait for the last answers; the stats."""
        self._stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        self.running = True
        self._terminals = {i: _Terminal(self, self.result.vehicles[i]) for i in self.vehicle_indices}
        for terminal in self._terminals.values():
            terminal.ensure_connecting()
        connecting = [t.connecting for t in self._terminals.values() if t.connecting is not None]
        if connecting:
            await asyncio.wait(connecting, timeout=self.config.connect_timeout_s)
        self._t0 = loop.time()
        reporter = loop.create_task(self._report())
        try:
            await asyncio.gather(
                self._positions(),
                self._http(self.result.passages, PASSAGES_PATH, passage_record, self._passages_done),
                self._http(self.result.weighings, WEIGHINGS_PATH, weighing_record, self._weighings_done),
            )
            self.running = False
            await self._settle()
        finally:
            self.running = False
            reporter.cancel()
            for terminal in self._terminals.values():
                await terminal.close()
            self.stats.finished = True
            self.stats.simulated = datetime.fromtimestamp(min(self.simulated_s(), self.end_s), UTC)
            if self.on_progress:
                self.on_progress(replace(self.stats))
        return self.stats

    async def _report(self) -> None:
        while self.on_progress:
            await asyncio.sleep(self.config.progress_every_s)
            self.stats.simulated = datetime.fromtimestamp(min(self.simulated_s(), self.end_s), UTC)
            self.on_progress(replace(self.stats))

    async def _positions(self) -> None:
        assert self._stop is not None  # noqa: S101
        cursor, total = 0, len(self._pos_rows)
        table = self.result.positions
        vehicle_of = self.result.position_vehicle
        loop = asyncio.get_running_loop()
        while cursor < total and not self._stop.is_set():
            due = int(np.searchsorted(self._pos_us, self.simulated_s() * 1e6, side="right"))
            if due > cursor:
                rows = self._pos_rows[cursor:due]
                window = table.take(pa.array(rows)).select(
                    ["time", "lon", "lat", "speed_kmh", "heading", "altitude_m", "alarm", "status"]
                )
                touched: set[_Terminal] = set()
                for row, values in zip(rows, window.to_pylist(), strict=True):
                    terminal = self._terminals[int(vehicle_of[row])]
                    terminal.report(
                        Location(
                            alarm=values["alarm"],
                            status=values["status"],
                            lat=values["lat"],
                            lon=values["lon"],
                            altitude_m=values["altitude_m"],
                            speed_kmh=values["speed_kmh"],
                            heading_deg=values["heading"],
                            time=values["time"],
                        )
                    )
                    touched.add(terminal)
                cursor = due
                await asyncio.gather(*(t.drain() for t in touched))
            now = loop.time()
            for terminal in self._terminals.values():
                if terminal.stale(now, self.config.ack_timeout_s):
                    terminal.reconnect()
            if cursor < total:
                await self._until(float(self._pos_us[cursor]) / 1e6)

    async def _settle(self) -> None:
        """Wait for the last answers; a terminal left without one reconnects and resends."""
        loop = asyncio.get_running_loop()
        stopped = self._stop is not None and self._stop.is_set()
        deadline = loop.time() + (min(self.config.settle_s, 2.0) if stopped else self.config.settle_s)
        while loop.time() < deadline:
            pending = [t for t in self._terminals.values() if t.unacked or t.held or t.connecting]
            if not pending:
                return
            now = loop.time()
            for terminal in pending:
                if terminal.stale(now, min(self.config.ack_timeout_s, 2.0)):
                    terminal.reconnect()
                elif terminal.held and terminal.ready:
                    terminal._flush_held()
            await asyncio.sleep(0.05)
        log.warning("live replay: %d positions still unanswered at the end", self.stats.positions_open)

    def _passages_done(self, records: list[dict[str, Any]], answer: dict[str, Any]) -> None:
        self.stats.passages_sent += len(records)
        self.stats.passages_accepted += int(answer.get("accepted") or 0)
        self.stats.passages_rejected += int(answer.get("rejected") or 0)

    def _weighings_done(self, records: list[dict[str, Any]], answer: dict[str, Any]) -> None:
        self.stats.weighings_sent += len(records)
        self.stats.weighings_accepted += int(answer.get("accepted") or 0)
        self.stats.weighings_duplicates += int(answer.get("duplicates") or 0)
        self.stats.weighings_rejected += int(answer.get("rejected") or 0)
        results = answer.get("results")
        if isinstance(results, list):
            self.stats.overlimit += sum(
                1
                for r in results
                if isinstance(r, dict) and str(r.get("disposition") or "").startswith("overlimit")
            )

    async def _http(
        self,
        table: pa.Table,
        path: str,
        convert: Callable[[dict[str, Any]], dict[str, Any]],
        done: Callable[[list[dict[str, Any]], dict[str, Any]], None],
    ) -> None:
        """Post the table's rows in time order as they fall due, a batch per tick at most."""
        assert self._stop is not None  # noqa: S101
        if self.api_url is None or table.num_rows == 0:
            return
        micros = _micros(table)
        order = np.argsort(micros, kind="stable")
        micros = micros[order]
        feeder = HttpFeeder(self.api_url, None, self.now, key=self.key, path=path)
        client = self.http()
        cursor, total, delay = 0, len(order), 0.5
        try:
            while cursor < total and not self._stop.is_set():
                due = int(np.searchsorted(micros, self.simulated_s() * 1e6, side="right"))
                due = min(due, cursor + self.config.http_batch)
                if due > cursor:
                    rows = table.take(pa.array(order[cursor:due])).to_pylist()
                    records = [convert(row) for row in rows]
                    try:
                        answer = await asyncio.to_thread(feeder.post_once, client, records)
                    except httpx.HTTPStatusError as exc:
                        status = exc.response.status_code
                        if 400 <= status < 500 and status not in (408, 429):
                            log.error(
                                "%s refused a batch of %d: %s", path, len(records), exc.response.text[:300]
                            )
                            done(records, {"rejected": len(records)})
                            cursor = due
                            continue
                        self.stats.http_retries += 1
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 5.0)
                        continue
                    except httpx.HTTPError as exc:
                        log.warning("%s: batch not delivered (%s); retrying", path, exc)
                        self.stats.http_retries += 1
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 5.0)
                        continue
                    delay = 0.5
                    done(records, answer)
                    cursor = due
                if cursor < total:
                    await self._until(float(micros[cursor]) / 1e6)
        finally:
            client.close()

    def start_in_thread(self) -> tuple[threading.Thread, Callable[[], None]]:
        """Run the replay in a thread of its own (the demo); return it and what stops it."""
        holder: dict[str, Any] = {}
        started = threading.Event()

        async def main() -> None:
            holder["loop"], holder["stop"] = asyncio.get_running_loop(), asyncio.Event()
            started.set()
            await self.run(holder["stop"])

        def target() -> None:
            try:
                asyncio.run(main())
            except Exception:
                log.exception("live replay failed")
                started.set()

        thread = threading.Thread(target=target, name="live-replay", daemon=True)
        thread.start()
        started.wait(10)

        def stop() -> None:
            loop = holder.get("loop")
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(holder["stop"].set)
            thread.join(timeout=self.config.settle_s + 5)

        return thread, stop


def replay_start(now: datetime, hours: float, speedup: float) -> datetime:
    """The start of a simulated span of ``hours`` such that, played at ``speedup`` from ``now``,
    simulated time never runs ahead of the wall clock and catches up with it at the end:
    ``now − hours × (1 − 1/speedup)``, floored to the minute, UTC."""
    seconds = now.timestamp() - hours * 3600 * (1 - 1 / speedup)
    return datetime.fromtimestamp(seconds - seconds % 60, UTC)


__all__ = [
    "LiveConfig",
    "LiveReplay",
    "LiveStats",
    "drivable",
    "passage_record",
    "replay_start",
    "weighing_record",
]
