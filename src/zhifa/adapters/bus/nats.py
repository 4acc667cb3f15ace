"""NatsBus: the bus on NATS JetStream, for production.

One stream per kind, ``{PREFIX}_{KIND}`` on subjects ``{prefix}.{kind}.*`` (file storage, limits
retention, ``max_age``); a message goes to ``{prefix}.{kind}.{partition}``. The server we run
(2.9) lets a consumer filter on one subject only, so a group is one durable pull consumer per
partition, ``{group}-{kind}-{partition}``: explicit acks, ``ack_wait``, deliver-all. A group may
be split across processes by partitions, or several processes may share the same partitions —
JetStream hands each message to one of them.

The port is synchronous and nats-py is asyncio: the bus runs a private event loop in a daemon
thread and every call waits on a coroutine submitted to it.

Fetching. A subscription has one inbox subject per partition (``{inbox}.{partition}``, under one
wildcard subscription) and keeps at most one pull request outstanding per partition. ``fetch``
sends a request to every partition that has none, then returns as soon as messages are in:
waiting for all partitions would cost the full timeout whenever one of them is idle. A request
still open when ``fetch`` returns keeps delivering into the subscription's buffer, which the next
``fetch`` drains first; the server drops requests whose inbox lost interest, so a closed
subscription leaves nothing behind, and ``close`` naks what it buffered but never handed out so
it comes again at once instead of after ``ack_wait``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import math
import re
import threading
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError

from zhifa.adapters.bus import (
    check_group,
    check_kind,
    check_outgoing,
    check_partition_count,
    check_partitions,
)
from zhifa.services.ports import BusUnavailable, Delivery, Outgoing

log = logging.getLogger(__name__)

T = TypeVar("T")

_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,31}")
_STREAM_IN_USE = 10058  # JetStream: stream name already in use with a different configuration
MAX_ACK_PENDING = 100_000
LINGER_S = 0.005  # after the first message, how long fetch waits for the rest of the round
GRACE_S = 0.5  # a pull request unanswered this long after it expired is taken as lost
_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


class NatsBus:
    """The Bus port on NATS JetStream; see the module docstring."""

    def __init__(
        self,
        url: str,
        partitions: int = 8,
        *,
        prefix: str = "zhifa",
        ack_wait: float = 30.0,
        max_age_days: float = 7.0,
        connect_timeout: float = 5.0,
        request_timeout: float = 10.0,
        replicas: int = 1,
    ) -> None:
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(f"bad subject prefix {prefix!r}: expected [a-z][a-z0-9_]{{0,31}}")
        if not ack_wait > 0 or not max_age_days > 0 or not connect_timeout > 0 or not request_timeout > 0:
            raise ValueError("ack_wait, max_age_days and the timeouts must be positive")
        self._partitions = check_partition_count(partitions)
        self.prefix = prefix
        self.ack_wait = float(ack_wait)
        self.max_age_days = float(max_age_days)
        self.request_timeout = float(request_timeout)
        self.replicas = replicas
        self._streams: set[str] = set()  # kinds whose stream this instance has created or checked
        self._subscriptions: set[NatsSubscription] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._closing = False

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="zhifa-nats-bus", daemon=True)
        self._thread.start()
        try:
            self._nc = self._call(self._connect(url, connect_timeout), connect_timeout + 2)
        except BaseException:
            self._stop_loop()
            raise
        self._js: JetStreamContext = self._nc.jetstream(timeout=self.request_timeout)

    # --- the loop ----------------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the bus's loop; BusUnavailable if it fails with a NATS error or hangs."""
        if self._closed:
            coro.close()
            raise BusUnavailable("the bus is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise BusUnavailable(f"NATS did not answer within {timeout:.1f} s") from exc
        except _ERRORS as exc:
            raise BusUnavailable(f"NATS: {type(exc).__name__}: {exc}") from exc

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    async def _connect(self, url: str, timeout: float) -> NATS:
        async def on_error(exc: Exception) -> None:
            log.warning("bus: NATS connection error: %s", exc)

        async def on_disconnected() -> None:
            if not self._closing:
                log.warning("bus: disconnected from NATS, reconnecting")

        nc = NATS()
        try:
            await asyncio.wait_for(
                nc.connect(
                    url,
                    name="zhifa-bus",
                    error_cb=on_error,
                    disconnected_cb=on_disconnected,
                    connect_timeout=max(1, math.ceil(timeout)),
                    reconnect_time_wait=1,
                    max_reconnect_attempts=-1,  # a long-running worker waits out a server restart
                ),
                timeout,
            )
        except (*_ERRORS, asyncio.CancelledError) as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise BusUnavailable(f"NATS unreachable at {url}: {type(exc).__name__}: {exc}") from exc
        return nc

    # --- names -------------------------------------------------------------------------------

    def stream_name(self, kind: str) -> str:
        return _name(f"{self.prefix.upper()}_{kind.upper()}")

    def subject(self, kind: str, partition: int) -> str:
        return f"{self.prefix}.{kind}.{partition}"

    @staticmethod
    def consumer_name(group: str, kind: str, partition: int) -> str:
        return _name(f"{group}-{kind}-{partition}")

    async def _ensure_stream(self, kind: str) -> str:
        name = self.stream_name(kind)
        if kind in self._streams:
            return name
        config = api.StreamConfig(
            name=name,
            subjects=[f"{self.prefix}.{kind}.*"],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.OLD,
            max_age=self.max_age_days * 86400,
            num_replicas=self.replicas,
        )
        try:
            await self._js.add_stream(config)  # idempotent when the configuration is the same
        except BadRequestError as exc:
            if exc.err_code != _STREAM_IN_USE:
                raise
            await self._js.update_stream(config)
        self._streams.add(kind)
        return name

    # --- the port ----------------------------------------------------------------------------

    @property
    def partitions(self) -> int:
        return self._partitions

    def publish(self, kind: str, messages: list[Outgoing]) -> None:
        check_kind(kind)
        check_outgoing(messages, self._partitions)
        if not messages:
            return
        limit = self._nc.max_payload
        for message in messages:
            if len(message.payload) > limit:
                # Retrying would never help: refuse loudly instead of BusUnavailable.
                raise ValueError(
                    f"a bus message of {len(message.payload)} bytes exceeds NATS's limit of {limit}"
                )
        rounds = math.ceil(len(messages) / 1000)
        self._call(self._publish(kind, messages), self.request_timeout * rounds + 5)

    async def _publish(self, kind: str, messages: list[Outgoing]) -> None:
        stream = await self._ensure_stream(kind)
        # Sent one after the other (so a partition's messages keep their order on the wire and in
        # the stream), acknowledged concurrently: one round trip for the whole call.
        futures: list[asyncio.Future[api.PubAck]] = []
        try:
            for message in messages:
                futures.append(
                    await self._js.publish_async(
                        self.subject(kind, message.partition), bytes(message.payload), stream=stream
                    )
                )
            await asyncio.wait_for(asyncio.gather(*futures), self.request_timeout)
        except nats.js.errors.NoStreamResponseError:
            self._streams.discard(kind)  # deleted behind our back: the retry recreates it
            raise
        finally:
            for future in futures:
                future.cancel()  # no-op for the answered; stops tracking the rest

    def subscribe(self, kind: str, group: str, partitions: list[int] | None = None) -> NatsSubscription:
        check_kind(kind)
        check_group(group)
        chosen = check_partitions(partitions, self._partitions)
        subscription = NatsSubscription(self, kind, group, chosen)
        self._call(subscription._start(), self.request_timeout * 2 + 5)
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def close(self) -> None:
        with self._lock:
            if self._closed or self._closing:
                return
            self._closing = True
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            with contextlib.suppress(BusUnavailable):
                subscription.close()
        with contextlib.suppress(BusUnavailable, nats.errors.Error):
            self._call(self._nc.drain(), 10)
        with self._lock:
            self._closed = True
        self._stop_loop()

    def delete_streams(self) -> int:
        """Delete every stream of this prefix (tests, resets); how many were deleted."""

        async def run() -> int:
            names: list[str] = []
            while True:
                page = await self._js.streams_info(offset=len(names))
                if not page:
                    break
                names.extend(info.config.name or "" for info in page)
            mine = set()
            for info_name in names:
                info = await self._js.stream_info(info_name)
                subjects = info.config.subjects or []
                if subjects and all(re.fullmatch(rf"{self.prefix}\.[a-z0-9_]+\.\*", s) for s in subjects):
                    mine.add(info_name)
            for name in mine:
                await self._js.delete_stream(name)
            self._streams.clear()
            return len(mine)

        return self._call(run(), self.request_timeout * 3)

    def _forget(self, subscription: NatsSubscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)


@dataclass
class _Pull:
    """One partition's consumer and its outstanding pull request, if any."""

    partition: int
    consumer: str
    next_subject: str
    inbox: str
    waiting: bool = False  # a request is outstanding
    batch: int = 0
    received: int = 0
    expires_at: float = 0.0  # loop time


class NatsSubscription:
    """A group's durable pull consumers on some partitions of one kind."""

    def __init__(self, bus: NatsBus, kind: str, group: str, partitions: list[int]) -> None:
        self._bus = bus
        self.kind = kind
        self.group = group
        self.partitions = partitions
        self._stream = bus.stream_name(kind)
        self._pulls: dict[int, _Pull] = {}
        self._buffer: deque[Msg] = deque()
        self._event = asyncio.Event()  # binds to the bus's loop on first use
        self._sub: Any = None
        self._closed = False

    async def _start(self) -> None:
        bus = self._bus
        js = bus._js
        await bus._ensure_stream(self.kind)

        async def ensure_consumer(partition: int) -> str:
            name = bus.consumer_name(self.group, self.kind, partition)
            config = api.ConsumerConfig(
                name=name,
                durable_name=name,
                filter_subject=bus.subject(self.kind, partition),
                deliver_policy=api.DeliverPolicy.ALL,
                ack_policy=api.AckPolicy.EXPLICIT,
                ack_wait=bus.ack_wait,
                max_ack_pending=MAX_ACK_PENDING,
            )
            try:
                await js.add_consumer(self._stream, config)  # creates, or updates ack_wait
            except BadRequestError:
                await js.consumer_info(self._stream, name)  # exists with a fixed field changed: use it
            return name

        names = await asyncio.gather(*(ensure_consumer(p) for p in self.partitions))
        inbox = bus._nc.new_inbox()
        for partition, name in zip(self.partitions, names, strict=True):
            self._pulls[partition] = _Pull(
                partition=partition,
                consumer=name,
                next_subject=f"{api.DEFAULT_PREFIX}.CONSUMER.MSG.NEXT.{self._stream}.{name}",
                inbox=f"{inbox}.{partition}",
            )
        self._sub = await bus._nc.subscribe(
            f"{inbox}.*",
            cb=self._on_message,
            pending_msgs_limit=1_000_000,
            pending_bytes_limit=1024 * 1024 * 1024,
        )

    async def _on_message(self, msg: Msg) -> None:
        """Runs on the loop for each message or status sent to one of the inboxes."""
        try:
            pull = self._pulls[int(msg.subject.rpartition(".")[2])]
        except (KeyError, ValueError):
            return
        status = msg.headers.get(api.Header.STATUS) if msg.headers else None
        if status is None:
            if self._closed:
                with contextlib.suppress(*_ERRORS):
                    await msg.nak()
                return
            self._buffer.append(msg)
            pull.received += 1
            if pull.received >= pull.batch:
                pull.waiting = False  # a fulfilled request ends without a status
        elif status == "100":  # idle heartbeat
            return
        else:  # 404 no messages, 408 request expired, 409 consumer changes: the request is over
            pull.waiting = False
        self._event.set()

    async def _request(self, max_messages: int, expires: float | None) -> list[_Pull]:
        """Ask every partition without an outstanding request for messages; which were asked."""
        loop = self._bus._loop
        now = loop.time()
        asked = []
        batch = max(1, math.ceil(max_messages / len(self._pulls)))
        for pull in self._pulls.values():
            if pull.waiting and now < pull.expires_at + GRACE_S:
                continue
            request: dict[str, Any] = {"batch": batch}
            if expires is None:
                request["no_wait"] = True
                pull.expires_at = now
            else:
                request["expires"] = int(expires * 1e9)
                pull.expires_at = now + expires
            pull.waiting = True
            pull.batch = batch
            pull.received = 0
            asked.append(pull)
            await self._bus._nc.publish(pull.next_subject, json.dumps(request).encode(), reply=pull.inbox)
        return asked

    async def _wait(self, until: float) -> bool:
        """Wait for the next message or status, at most until loop time ``until``; False on timeout."""
        remaining = until - self._bus._loop.time()
        if remaining <= 0:
            return False
        self._event.clear()
        try:
            await asyncio.wait_for(self._event.wait(), remaining)
        except TimeoutError:
            return False
        return True

    async def _fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        if self._closed:
            raise BusUnavailable("the subscription is closed")
        loop = self._bus._loop
        start = loop.time()
        deadline = start + timeout
        if not self._buffer:
            if timeout < 0.01:  # a poll: what is there right now
                asked = await self._request(max_messages, None)
                while any(p.waiting for p in asked) and await self._wait(start + 1.0):
                    pass
            else:
                while not self._buffer:
                    remaining = deadline - loop.time()
                    if remaining < 0.002:
                        break
                    await self._request(max_messages, remaining)
                    if not await self._wait(deadline):
                        break
                    if not self._buffer:  # only statuses came: do not spin on a refusing server
                        await asyncio.sleep(0.005)
        if self._buffer and len(self._buffer) < max_messages:
            until = min(deadline, loop.time() + LINGER_S)
            while (
                len(self._buffer) < max_messages
                and any(p.waiting for p in self._pulls.values())
                and await self._wait(until)
            ):
                pass
        out: list[Delivery] = []
        while self._buffer and len(out) < max_messages:
            msg = self._buffer.popleft()
            meta = msg.metadata
            out.append(
                Delivery(
                    kind=self.kind,
                    partition=int(msg.subject.rpartition(".")[2]),
                    seq=meta.sequence.stream,
                    payload=msg.data,
                    redelivered=meta.num_delivered > 1,
                    token=msg,
                )
            )
        return out

    def fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        if max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, not {max_messages!r}")
        timeout = max(0.0, timeout)
        return self._bus._call(self._fetch(max_messages, timeout), timeout + self._bus.request_timeout)

    async def _ack(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            with contextlib.suppress(nats.errors.MsgAlreadyAckdError):
                await msg.ack()
        await self._bus._nc.flush(timeout=max(1, math.ceil(self._bus.request_timeout)))

    def ack(self, deliveries: list[Delivery]) -> None:
        msgs = []
        for d in deliveries:
            if d.kind != self.kind:
                raise ValueError(f"a {d.kind!r} delivery acked on a {self.kind!r} subscription")
            if not isinstance(d.token, Msg):
                raise ValueError("not a delivery of a NATS subscription (its token is no NATS message)")
            msgs.append(d.token)
        if msgs:
            self._bus._call(self._ack(msgs), self._bus.request_timeout + 5)

    async def _close(self) -> None:
        self._closed = True
        if self._sub is not None:
            with contextlib.suppress(*_ERRORS):
                await self._sub.unsubscribe()
        while self._buffer:  # buffered but never handed out: let another consumer have them now
            with contextlib.suppress(*_ERRORS):
                await self._buffer.popleft().nak()
        with contextlib.suppress(*_ERRORS):
            await self._bus._nc.flush(timeout=2)

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._bus._call(self._close(), 5)
        finally:
            self._closed = True
            self._bus._forget(self)
