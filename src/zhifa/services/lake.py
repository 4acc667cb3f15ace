"""Use case: the lake writer moves readings from the bus into the telemetry lake.

It consumes every kind as the durable consumer group ``lake``: fetch messages, decode them,
append them to the lake (which keeps one row per record id), and only then acknowledge them. A
crash anywhere in between leaves the messages unacknowledged; they come again and the lake's
deduplication makes the second delivery a no-op, so the lake holds each reading exactly once.

A gateway publishes a few hundred rows every 50 ms, and every append costs the same few
milliseconds however few its rows (a Parquet file per partition hour, its fsyncs, an ack). So once
a kind's messages start coming, the writer lingers (half a second by default) to gather what
follows, and appends and acknowledges them together: a file per partition hour every half second
rather than every publish, a quarter of the CPU per row, and fewer bus transactions for a publisher
to wait behind. When the bus holds a backlog it does not linger but takes up to ``max_rows`` at once.

Hourly it compacts closed hours into one file each and deletes what is past retention
(道路运输车辆动态监督管理办法 第二十五条: monitoring data at least six months).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from threading import Event

from zhifa.domain.readings import ReadingKind
from zhifa.services.ports import (
    Batch,
    Bus,
    Clock,
    ColumnarReadings,
    Compaction,
    Delivery,
    Lake,
    Subscription,
    UnreadableMessage,
)

log = logging.getLogger(__name__)

LAKE_GROUP = "lake"


@dataclass
class LakeDeps:
    bus: Bus
    readings: ColumnarReadings
    lake: Lake
    clock: Clock


@dataclass
class WriterStats:
    messages: int = 0
    rows_in: int = 0
    rows_written: int = 0
    quarantined: int = 0
    compactions: list[Compaction] = field(default_factory=list)
    retained: list[str] = field(default_factory=list)


class LakeWriter:
    def __init__(
        self,
        deps: LakeDeps,
        kinds: Sequence[ReadingKind] = tuple(ReadingKind),
        *,
        group: str = LAKE_GROUP,
        max_messages: int = 64,
        max_rows: int = 250_000,
        linger: float = 0.5,
        maintenance_every: timedelta = timedelta(hours=1),
    ) -> None:
        if linger < 0 or max_rows < 1 or max_messages < 1:
            raise ValueError("linger must not be negative; max_rows and max_messages must be positive")
        self.deps = deps
        self.kinds = tuple(kinds)
        self.max_messages = max_messages  # per fetch
        self.max_rows = max_rows  # per append: more may be fetched in one go, not another fetch
        self.linger = linger
        self.maintenance_every = maintenance_every
        self.stats = WriterStats()
        self._subscriptions: dict[ReadingKind, Subscription] = {
            kind: deps.bus.subscribe(kind.value, group) for kind in self.kinds
        }
        self._last_maintenance: datetime | None = None
        self._stop = Event()

    def step(self, timeout: float = 0.5, *, linger: float | None = None) -> int:
        """One round over every kind; return the rows newly written to the lake.

        A kind whose messages come while its bus is caught up waits ``linger`` seconds (the
        writer's by default) for more before appending them; ``stop`` of :meth:`run` cuts it short.
        """
        linger = self.linger if linger is None else linger
        written = 0
        wait = timeout / len(self.kinds)
        for kind, subscription in self._subscriptions.items():
            deliveries, tables = self._gather(kind, subscription, wait, linger)
            if not deliveries:
                continue
            new_rows = self.deps.lake.append(kind, tables)
            # Acknowledged only once the lake has published the rows: a crash before this line
            # means redelivery, which deduplication absorbs.
            subscription.ack(deliveries)
            self.stats.messages += len(deliveries)
            self.stats.rows_in += sum(t.num_rows for t in tables)
            self.stats.rows_written += new_rows
            written += new_rows
        return written

    def _gather(
        self, kind: ReadingKind, subscription: Subscription, wait: float, linger: float
    ) -> tuple[list[Delivery], list[Batch]]:
        """What one append takes: the messages there are, and, when they were all, what comes
        within ``linger``; decoded (unreadable ones quarantined, but acknowledged with the rest)."""
        deliveries: list[Delivery] = []
        tables: list[Batch] = []
        rows = 0
        lingered = linger <= 0
        fetched = subscription.fetch(self.max_messages, wait)
        while fetched:
            deliveries += fetched
            for delivery in fetched:
                try:
                    table = self.deps.readings.from_message(kind, delivery.payload)
                except UnreadableMessage as exc:
                    where = self.deps.lake.quarantine(kind, delivery.seq, delivery.payload, str(exc))
                    log.error("bus message %s/%s quarantined at %s: %s", kind.value, delivery.seq, where, exc)
                    self.stats.quarantined += 1
                    continue
                tables.append(table)
                rows += table.num_rows
            if rows >= self.max_rows:
                break
            if len(fetched) < self.max_messages:  # caught up with the bus
                if lingered:
                    break
                lingered = True
                self._stop.wait(linger)
            fetched = subscription.fetch(self.max_messages, 0)
        return deliveries, tables

    def maintain(self) -> None:
        """Compact closed hours and apply retention (both idempotent)."""
        now = self.deps.clock.now()
        self.stats.compactions.append(self.deps.lake.compact(now))
        self.stats.retained += self.deps.lake.retain(now.date())
        self._last_maintenance = now

    def run(self, stop: Event, *, timeout: float = 0.5) -> None:
        """Until ``stop`` is set: move readings, and maintain the lake when it is due."""
        self._stop = stop
        while not stop.is_set():
            self.step(timeout)
            now = self.deps.clock.now()
            if self._last_maintenance is None or now - self._last_maintenance >= self.maintenance_every:
                self.maintain()

    def drain(self, *, idle_rounds: int = 2, timeout: float = 0.2) -> int:
        """Step until nothing came for ``idle_rounds`` rounds (tests, imports, the demo's start)."""
        total, idle = 0, 0
        while idle < idle_rounds:
            before = self.stats.messages
            total += self.step(timeout, linger=0)
            idle = idle + 1 if self.stats.messages == before else 0
        return total

    def close(self) -> None:
        for subscription in self._subscriptions.values():
            subscription.close()
