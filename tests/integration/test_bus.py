"""One bus contract, both adapters: LocalBus (a SQLite file) and NatsBus (JetStream).

``bus_factory`` makes a bus on fresh storage, and again on the same storage to stand for a
restart. Under CI=true the NATS half fails rather than skips when the server is down. The last
tests are LocalBus's own: kill -9, another process publishing, truncation and group commit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from zhifa.adapters.bus.local import LocalBus
from zhifa.adapters.bus.nats import NatsBus
from zhifa.services.ports import Bus, BusUnavailable, Delivery, Outgoing, Subscription

PARTITIONS = 4


class BusFactory:
    """Makes buses on one storage: each call is a fresh instance, as after a restart."""

    def __init__(self, name: str, make: Callable[[float], Bus]) -> None:
        self.name = name
        self._make = make
        self.made: list[Bus] = []

    def __call__(self, ack_wait: float = 5.0) -> Bus:
        bus = self._make(ack_wait)
        self.made.append(bus)
        return bus


@pytest.fixture(params=["local", pytest.param("nats", marks=pytest.mark.nats)])
def bus_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BusFactory]:
    if request.param == "local":
        path = tmp_path / "bus.db"
        factory = BusFactory("local", lambda ack_wait: LocalBus(path, PARTITIONS, ack_wait=ack_wait))
        yield factory
        for bus in factory.made:
            bus.close()
        return
    url = request.getfixturevalue("nats_server")
    prefix = f"t{uuid4().hex[:10]}"
    factory = BusFactory("nats", lambda ack_wait: NatsBus(url, PARTITIONS, prefix=prefix, ack_wait=ack_wait))
    try:
        yield factory
    finally:
        for bus in factory.made:
            bus.close()
        cleaner = NatsBus(url, PARTITIONS, prefix=prefix)
        cleaner.delete_streams()
        cleaner.close()


def drain(sub: Subscription, count: int, timeout: float = 5.0, ack: bool = True) -> list[Delivery]:
    """Fetch until ``count`` deliveries came (or ``timeout`` passed), acking them if ``ack``."""
    got: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        batch = sub.fetch(count - len(got), min(remaining, 1.0))
        if ack and batch:
            sub.ack(batch)
        got.extend(batch)
    return got


def publish_numbered(bus: Bus, kind: str, count: int, start: int = 0, tag: str = "m") -> list[Outgoing]:
    """``count`` messages, one publish call each, spread over the partitions round-robin."""
    sent = [Outgoing(i % PARTITIONS, f"{tag}{i}".encode()) for i in range(start, start + count)]
    for message in sent:
        bus.publish(kind, [message])
    return sent


def test_round_trip_keeps_payloads_and_per_partition_order_and_isolates_kinds(
    bus_factory: BusFactory,
) -> None:
    """Messages published over several partitions come back intact, each partition's in publish
    order, with seq increasing in publish order; another kind's messages stay on their own."""
    bus = bus_factory()
    big = os.urandom(200_000)
    sent = [Outgoing(i % PARTITIONS, f"p{i}".encode()) for i in range(20)]
    bus.publish("position", sent[:7])  # several messages per call, and several calls
    bus.publish("position", [Outgoing(3, big)])
    bus.publish("position", sent[7:])
    bus.publish("passage", [Outgoing(0, b"x0"), Outgoing(1, b"x1")])

    got = drain(bus.subscribe("position", "g"), 21)
    assert len(got) == 21
    assert all(d.kind == "position" and not d.redelivered for d in got)
    by_seq = sorted(got, key=lambda d: d.seq)
    assert len({d.seq for d in got}) == 21
    assert [d.payload for d in by_seq] == [m.payload for m in sent[:7]] + [big] + [
        m.payload for m in sent[7:]
    ]
    per_partition: dict[int, list[Delivery]] = defaultdict(list)
    for d in got:
        per_partition[d.partition].append(d)
    expected = [*sent[:7], Outgoing(3, big), *sent[7:]]
    for p in range(PARTITIONS):
        deliveries = per_partition[p]
        assert [d.payload for d in deliveries] == [m.payload for m in expected if m.partition == p]
        assert [d.seq for d in deliveries] == sorted(d.seq for d in deliveries)

    other = drain(bus.subscribe("passage", "g"), 2)
    assert sorted(d.payload for d in other) == [b"x0", b"x1"]
    assert all(d.kind == "passage" for d in other)
    assert bus.subscribe("weighing", "g").fetch(10, 0.2) == []


def test_acked_never_come_again_and_unacked_do_after_restart(bus_factory: BusFactory) -> None:
    """A group's acked messages are not delivered to its later subscriptions, also after the bus
    is closed and reopened; unacked ones are, flagged redelivered (on NATS once ack_wait passed)."""
    bus = bus_factory(ack_wait=1.0)
    sent = publish_numbered(bus, "position", 10)
    first = bus.subscribe("position", "workers")
    got = drain(first, 10, ack=False)
    assert len(got) == 10
    acked = [d for d in got if int(d.payload[1:]) % 3 != 0]  # out of order across the log
    first.ack(acked)
    first.close()
    bus.close()

    bus = bus_factory(ack_wait=1.0)
    second = bus.subscribe("position", "workers")
    again = drain(second, 4)
    assert sorted(d.payload for d in again) == sorted(m.payload for m in sent if int(m.payload[1:]) % 3 == 0)
    assert all(d.redelivered for d in again)
    second.close()

    third = bus.subscribe("position", "workers")
    assert third.fetch(10, 1.5) == []  # longer than ack_wait: nothing acked comes back
    later = publish_numbered(bus, "position", 2, start=10)
    fresh = drain(third, 2)
    assert [d.payload for d in sorted(fresh, key=lambda d: d.seq)] == [m.payload for m in later]
    assert not any(d.redelivered for d in fresh)


def test_unacked_come_again_within_a_subscription_after_ack_wait(bus_factory: BusFactory) -> None:
    """A message fetched but not acked within ack_wait is delivered again to the same live
    subscription, flagged redelivered; once acked it stays away."""
    bus = bus_factory(ack_wait=1.0)
    bus.publish("position", [Outgoing(1, b"once")])
    sub = bus.subscribe("position", "g")
    (first,) = drain(sub, 1, ack=False)
    assert not first.redelivered
    (second,) = drain(sub, 1, timeout=4.0, ack=False)
    assert (second.seq, second.payload, second.redelivered) == (first.seq, b"once", True)
    sub.ack([second])
    assert sub.fetch(10, 1.5) == []


def test_each_group_receives_every_message(bus_factory: BusFactory) -> None:
    """Two groups each get every message, whatever the other acked."""
    bus = bus_factory()
    sent = publish_numbered(bus, "passage", 12)
    a = drain(bus.subscribe("passage", "alerts"), 12)
    b = drain(bus.subscribe("passage", "lake-writer"), 12)
    assert sorted(d.payload for d in a) == sorted(d.payload for d in b) == sorted(m.payload for m in sent)


def test_partitions_split_a_group_between_subscriptions(bus_factory: BusFactory) -> None:
    """A subscription on partitions [0, 1] gets only theirs; another of the same group on the
    rest gets the others: together exactly every message, none twice."""
    bus = bus_factory()
    sent = publish_numbered(bus, "weighing", 16)
    low = drain(bus.subscribe("weighing", "g", [0, 1]), 8)
    high = drain(bus.subscribe("weighing", "g", [2, 3]), 8)
    assert {d.partition for d in low} == {0, 1}
    assert {d.partition for d in high} == {2, 3}
    payloads = [d.payload for d in low + high]
    assert sorted(payloads) == sorted(m.payload for m in sent)
    assert len(set(payloads)) == 16
    assert bus.subscribe("weighing", "g").fetch(10, 0.3) == []


def test_concurrent_publishers_lose_and_duplicate_nothing(bus_factory: BusFactory) -> None:
    """8 threads × 50 publish calls while a consumer fetches and acks: every message arrives
    exactly once."""
    bus = bus_factory()
    sub = bus.subscribe("position", "g")
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def publisher(t: int) -> None:
        try:
            start.wait()
            for i in range(50):
                bus.publish(
                    "position", [Outgoing((t + i) % PARTITIONS, f"{t}-{i}-{j}".encode()) for j in (0, 1)]
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publisher, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    got = drain(sub, 800, timeout=15.0)
    for thread in threads:
        thread.join()
    assert errors == []
    payloads = [d.payload for d in got]
    expected = {f"{t}-{i}-{j}".encode() for t in range(8) for i in range(50) for j in (0, 1)}
    assert len(payloads) == 800
    assert set(payloads) == expected
    assert sub.fetch(10, 0.2) == []


def test_fetch_on_nothing_returns_empty_after_about_the_timeout(bus_factory: BusFactory) -> None:
    """An idle fetch waits its timeout, not much longer, and returns []; timeout 0 only polls."""
    bus = bus_factory()
    sub = bus.subscribe("position", "g")
    began = time.monotonic()
    assert sub.fetch(10, 0.5) == []
    assert 0.45 <= time.monotonic() - began < 1.0
    began = time.monotonic()
    assert sub.fetch(10, 0) == []
    assert time.monotonic() - began < 0.5


def test_fetch_wakes_for_a_publish_while_waiting(bus_factory: BusFactory) -> None:
    """A fetch waiting on an idle stream returns soon after a publish, well before its timeout."""
    bus = bus_factory()
    sub = bus.subscribe("position", "g")
    sub.fetch(1, 0.05)  # consumers exist before the publish
    timer = threading.Timer(0.3, bus.publish, args=("position", [Outgoing(2, b"late")]))
    timer.start()
    began = time.monotonic()
    got = sub.fetch(10, 5.0)
    timer.join()
    assert [d.payload for d in got] == [b"late"]
    assert time.monotonic() - began < 1.5


@pytest.mark.parametrize("kind", ["", "Position", "1st", "a" * 33, "pos.ition", "pos-ition", "pos*"])
def test_bad_kinds_are_refused(bus_factory: BusFactory, kind: str) -> None:
    """A kind outside [a-z][a-z0-9_]{0,31} is a ValueError, for publish and subscribe alike."""
    bus = bus_factory()
    with pytest.raises(ValueError, match="kind"):
        bus.publish(kind, [Outgoing(0, b"x")])
    with pytest.raises(ValueError, match="kind"):
        bus.subscribe(kind, "g")


def test_bad_groups_and_partitions_are_refused(bus_factory: BusFactory) -> None:
    """Bad group names and partitions outside 0..partitions-1 are ValueErrors; nothing is sent."""
    bus = bus_factory()
    assert bus.partitions == PARTITIONS
    for group in ["", "G", "1g", "a b", "a.b", "a" * 65]:
        with pytest.raises(ValueError, match="group"):
            bus.subscribe("position", group)
    for partition in [-1, PARTITIONS, True]:
        with pytest.raises(ValueError, match="partition"):
            bus.publish("position", [Outgoing(0, b"ok"), Outgoing(partition, b"x")])
        with pytest.raises(ValueError, match="partition"):
            bus.subscribe("position", "g", [0, partition])
    with pytest.raises(ValueError, match="partition"):
        bus.subscribe("position", "g", [])
    assert bus.subscribe("position", "g").fetch(10, 0.2) == []  # the refused calls sent nothing


def test_nats_on_a_closed_port_is_unavailable_quickly() -> None:
    """NatsBus fails fast with BusUnavailable when nothing listens, instead of hanging."""
    began = time.monotonic()
    with pytest.raises(BusUnavailable, match="unreachable"):
        NatsBus("nats://127.0.0.1:1", connect_timeout=1.0)
    assert time.monotonic() - began < 4.0


# --- LocalBus's own ------------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from zhifa.adapters.bus.local import LocalBus
    from zhifa.services.ports import Outgoing

    bus = LocalBus(Path(sys.argv[1]), {partitions})
    for i in range(int(sys.argv[2])):
        bus.publish("position", [Outgoing(i % {partitions}, b"k%d" % i)])
    os.kill(os.getpid(), signal.SIGKILL)
    """
).format(partitions=PARTITIONS)


def _child(path: Path, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(count)], stderr=subprocess.PIPE)


def test_local_publish_survives_kill_9(tmp_path: Path) -> None:
    """What publish acknowledged is on disk: a process killed with SIGKILL right after its last
    publish returned loses none of it, as a fresh LocalBus on the file shows."""
    path = tmp_path / "bus.db"
    child = _child(path, 200)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, stderr.decode()
    bus = LocalBus(path, PARTITIONS)
    try:
        got = drain(bus.subscribe("position", "g"), 200, timeout=5.0)
        assert sorted(d.payload for d in got) == sorted(b"k%d" % i for i in range(200))
        assert bus.pending("position", "g") == 0
    finally:
        bus.close()


def test_local_fetch_sees_another_process_publish(tmp_path: Path) -> None:
    """A worker process's fetch picks up what an API process publishes to the same file."""
    path = tmp_path / "bus.db"
    bus = LocalBus(path, PARTITIONS)
    try:
        sub = bus.subscribe("position", "g")
        assert sub.fetch(10, 0) == []
        child = _child(path, 30)
        got = drain(sub, 30, timeout=15.0)
        child.communicate(timeout=30)
        assert sorted(d.payload for d in got) == sorted(b"k%d" % i for i in range(30))
    finally:
        bus.close()


def test_local_partition_count_is_fixed_per_file(tmp_path: Path) -> None:
    """Reopening a file with another partition count is refused: vehicles would change partition."""
    LocalBus(tmp_path / "bus.db", 4).close()
    with pytest.raises(ValueError, match="partitions"):
        LocalBus(tmp_path / "bus.db", 8)


def test_local_truncate_keeps_what_any_group_still_needs_and_pending_counts(tmp_path: Path) -> None:
    """truncate() deletes only what every known group committed (acks out of order commit only
    the acked prefix); a kind no group follows is kept whole; pending() counts per group."""
    bus = LocalBus(tmp_path / "bus.db", PARTITIONS)
    try:
        for i in range(10):
            bus.publish("position", [Outgoing(0, b"m%d" % i)])
        bus.publish("passage", [Outgoing(1, b"kept%d" % i) for i in range(5)])
        assert bus.truncate() == 0  # no group yet: keep everything
        assert bus.pending("position", "a") == 10

        a = bus.subscribe("position", "a")
        got_a = drain(a, 10, ack=False)
        a.ack([got_a[5]])  # out of order: nothing before it is acked, nothing commits
        assert bus.pending("position", "a") == 10
        a.ack(got_a[:6])
        assert bus.pending("position", "a") == 4

        b = bus.subscribe("position", "b")
        got_b = drain(b, 10, ack=False)
        b.ack(got_b[:3])
        assert bus.pending("position", "b") == 7

        assert bus.truncate() == 3  # b committed the first 3 only
        assert (bus.pending("position", "a"), bus.pending("position", "b")) == (4, 7)
        assert bus.pending("passage", "anyone") == 5
        b.close()
        rest = drain(bus.subscribe("position", "b"), 7)
        assert [d.payload for d in rest] == [b"m%d" % i for i in range(3, 10)]
        assert all(d.redelivered for d in rest)
        assert bus.truncate() == 3  # now a, which committed 6, is the one holding back
        a.ack(got_a[6:])
        assert bus.truncate() == 4
        assert bus.pending("position", "a") == bus.pending("position", "b") == 0
        bus.publish("position", [Outgoing(0, b"after")])  # seq is never reused after truncation
        assert [d.payload for d in drain(bus.subscribe("position", "c"), 1)] == [b"after"]
    finally:
        bus.close()


def test_local_group_commit_batches_concurrent_publishes(tmp_path: Path) -> None:
    """Concurrent publish calls share transactions: fewer commits than calls, nothing lost."""
    bus = LocalBus(tmp_path / "bus.db", PARTITIONS)
    try:
        start = threading.Barrier(16)

        def publisher(t: int) -> None:
            start.wait()
            for i in range(20):
                bus.publish("position", [Outgoing(i % PARTITIONS, b"%d-%d" % (t, i))])

        threads = [threading.Thread(target=publisher, args=(t,)) for t in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert bus.pending("position", "g") == 320
        assert bus.commits < 320
    finally:
        bus.close()


def test_local_failed_commit_fails_every_caller_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the transaction fails, publish raises BusUnavailable and stores none of its messages;
    the bus works again afterwards."""
    import sqlite3

    bus = LocalBus(tmp_path / "bus.db", PARTITIONS)
    try:
        real = bus._write

        def broken(rows: list[tuple[str, int, bytes, float]]) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(bus, "_write", broken)
        with pytest.raises(BusUnavailable, match="disk I/O error"):
            bus.publish("position", [Outgoing(0, b"lost"), Outgoing(1, b"lost too")])
        monkeypatch.setattr(bus, "_write", real)
        bus.publish("position", [Outgoing(0, b"stored")])
        assert [d.payload for d in drain(bus.subscribe("position", "g"), 2, timeout=0.5)] == [b"stored"]
    finally:
        bus.close()
