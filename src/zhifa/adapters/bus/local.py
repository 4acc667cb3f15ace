"""LocalBus: the bus in a SQLite file of its own — durable, multi-process, no server to run.

Layout::

    messages(seq AUTOINCREMENT, kind, partition, payload, published_at)  -- the log
    offsets(kind, grp, partition, committed_seq, delivered_seq)          -- one row per group
    acks(kind, grp, partition, seq)                 -- acked out of order, above committed_seq

Publishing. Concurrent ``publish`` calls of one process are committed together (group commit):
the first caller to find no commit under way becomes the leader, takes every message queued so
far and writes them in one transaction (one fsync: WAL, ``synchronous=FULL``); callers that
arrive meanwhile queue their messages for the next transaction and wait. A call returns once the
transaction holding all of its messages committed, or raises BusUnavailable if it failed — its
messages are then in no transaction at all. ``seq`` is AUTOINCREMENT, so it is never reused
after truncation and commit order is seq order: once a seq is visible, no smaller one can appear.

Consuming. A subscription reads each partition after the group's committed offset. Acks may
come in any order; ``committed_seq`` moves to just below the oldest delivered-but-unacked
message of the partition and is written on every ack, and a message acked above it goes to
``acks`` until the offset passes it, so no later subscription of the group sees it again.
``delivered_seq`` (the highest seq ever
handed to the group) is written on every fetch, so a message at or below it is flagged
``redelivered``: a crashed or closed consumer's unacked messages come again to the next
subscription of the group. Within a live subscription a message not acked within ``ack_wait``
seconds is handed out again. Consumer connections write with ``synchronous=NORMAL``: an ack or a
delivery mark lost to a power cut only means a message comes again, which at-least-once allows.

One subscription per (group, partition) at a time: two live subscriptions of one group on the
same partition would both receive its messages (unlike NATS, the file holds no claims). Split a
group over processes by partitions instead.

Waiting. ``fetch`` wakes at once for publishes of this process and polls the file every
``poll_interval`` seconds for those of other processes.

Truncation. ``truncate`` deletes what every group known for a kind has committed; acks ask a
housekeeping thread to run it now and then (every 10 000 messages or 256 MB acked, or 30 s), in
short transactions. A kind no group has subscribed to is kept whole.
"""

from __future__ import annotations

import heapq
import logging
import math
import sqlite3
import threading
import time
from pathlib import Path

from zhifa.adapters.bus import (
    check_group,
    check_kind,
    check_outgoing,
    check_partition_count,
    check_partitions,
)
from zhifa.services.ports import BusUnavailable, Delivery, Outgoing

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
PAGE_SIZE = 65536  # payloads are tens to hundreds of KB: fewer overflow pages per message
TRUNCATE_EVERY_MESSAGES = 10_000
TRUNCATE_EVERY_BYTES = 256 * 1024 * 1024
TRUNCATE_EVERY_S = 30.0
# Messages deleted per transaction. Publishers wait for the write lock meanwhile (SQLite's busy
# handler sleeps 1, 2, 5, 10 … ms): 32 messages hold it about a millisecond, 256 over ten.
TRUNCATE_CHUNK = 32
_IN_CHUNK = 500  # bound on SQL parameters of one IN (...)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bus_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    partition INTEGER NOT NULL,
    payload BLOB NOT NULL,
    published_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_kind_partition_seq ON messages (kind, partition, seq);
CREATE TABLE IF NOT EXISTS offsets (
    kind TEXT NOT NULL,
    grp TEXT NOT NULL,
    partition INTEGER NOT NULL,
    committed_seq INTEGER NOT NULL DEFAULT 0,
    delivered_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, grp, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS acks (
    kind TEXT NOT NULL,
    grp TEXT NOT NULL,
    partition INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (kind, grp, partition, seq)
) WITHOUT ROWID;
"""


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE for writers, ADR 002).
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        log.exception("bus: rollback failed")


class _Batch:
    """Rows queued for one group-commit transaction, and how it ended."""

    __slots__ = ("done", "error", "rows")

    def __init__(self) -> None:
        self.rows: list[tuple[str, int, bytes, float]] = []
        self.done = False
        self.error: BaseException | None = None


class LocalBus:
    """The Bus port on a SQLite file; see the module docstring."""

    def __init__(
        self,
        path: Path,
        partitions: int = 8,
        *,
        ack_wait: float = 30.0,
        poll_interval: float = 0.025,
    ) -> None:
        if not ack_wait > 0:
            raise ValueError(f"ack_wait must be positive, not {ack_wait!r}")
        if not poll_interval > 0:
            raise ValueError(f"poll_interval must be positive, not {poll_interval!r}")
        self.path = Path(path)
        self._partitions = check_partition_count(partitions)
        self.ack_wait = float(ack_wait)
        self.poll_interval = float(poll_interval)
        self.commits = 0  # group-commit transactions of publish, for tests and monitoring

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = self._open_writer()
        self._admin = _connect(self.path, "NORMAL")
        self._admin_lock = threading.Lock()

        # Group commit: _commit guards the open batch and the leader flag.
        self._commit = threading.Condition()
        self._open = _Batch()
        self._leading = False
        self._closed = False
        # Wakes fetchers of this process when a publish committed.
        self._arrivals = threading.Condition()
        self._arrival_count = 0
        self._subscriptions: set[LocalSubscription] = set()
        self._truncator: threading.Thread | None = None
        self._truncate_wanted = threading.Event()

    def _open_writer(self) -> sqlite3.Connection:
        conn = _connect(self.path, "FULL")
        try:
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only takes effect on a new file
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                row = conn.execute("SELECT value FROM bus_meta WHERE key = 'partitions'").fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO bus_meta (key, value) VALUES ('partitions', ?)", (str(self._partitions),)
                    )
                elif int(row[0]) != self._partitions:
                    raise ValueError(
                        f"{self.path} was created with {row[0]} partitions, not {self._partitions}: "
                        "changing the count would move vehicles between partitions"
                    )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        except BaseException:
            conn.close()
            raise
        return conn

    # --- the port ----------------------------------------------------------------------------

    @property
    def partitions(self) -> int:
        return self._partitions

    def publish(self, kind: str, messages: list[Outgoing]) -> None:
        check_kind(kind)
        check_outgoing(messages, self._partitions)
        if not messages:
            return
        now = time.time()
        rows = [(kind, m.partition, m.payload, now) for m in messages]
        with self._commit:
            if self._closed:
                raise BusUnavailable("the bus is closed")
            mine = self._open
            mine.rows.extend(rows)
            while not mine.done:
                if self._leading:
                    self._commit.wait()
                    continue
                if self._closed:
                    # A close slipped in between the last commit and this wake-up.
                    raise BusUnavailable("the bus is closed")
                # No commit under way, so ``mine`` is still the open batch: lead it.
                self._lead()
            if mine.error is not None:
                raise BusUnavailable(f"publish not committed: {mine.error}") from mine.error

    def _lead(self) -> None:
        """Commit the open batch with the lock released; called and returns holding it."""
        self._leading = True
        batch, self._open = self._open, _Batch()
        error: BaseException | None = BusUnavailable("the committing thread was interrupted")
        self._commit.release()
        try:
            self._write(batch.rows)
            error = None
        except Exception as exc:
            log.warning("bus: publish transaction failed: %s", exc)
            error = exc
        finally:
            self._commit.acquire()
            self._leading = False
            batch.done = True
            batch.error = error
            self._commit.notify_all()
        if error is None:
            with self._arrivals:
                self._arrival_count += 1
                self._arrivals.notify_all()

    def _write(self, rows: list[tuple[str, int, bytes, float]]) -> None:
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT INTO messages (kind, partition, payload, published_at) VALUES (?, ?, ?, ?)", rows
            )
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        self.commits += 1

    def subscribe(self, kind: str, group: str, partitions: list[int] | None = None) -> LocalSubscription:
        check_kind(kind)
        check_group(group)
        chosen = check_partitions(partitions, self._partitions)
        if self._closed:
            raise BusUnavailable("the bus is closed")
        subscription = LocalSubscription(self, kind, group, chosen)
        with self._commit:
            self._subscriptions.add(subscription)
        return subscription

    def close(self) -> None:
        with self._commit:
            if self._closed:
                return
            self._closed = True
            while self._leading:
                self._commit.wait()
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.close()
        with self._arrivals:
            self._arrivals.notify_all()
        self._truncate_wanted.set()
        if self._truncator is not None:
            self._truncator.join(timeout=30)
        self._writer.close()
        with self._admin_lock:
            self._admin.close()

    # --- housekeeping ------------------------------------------------------------------------

    def truncate(self) -> int:
        """Delete the messages every group known for their kind has committed; how many went."""
        with self._admin_lock:
            self._check_open()
            return _truncate(self._admin)

    def pending(self, kind: str, group: str) -> int:
        """Messages of ``kind`` that ``group`` has not committed (all of them for a new group)."""
        check_kind(kind)
        check_group(group)
        with self._admin_lock:
            self._check_open()
            conn = self._admin
            committed = dict(
                conn.execute(
                    "SELECT partition, committed_seq FROM offsets WHERE kind = ? AND grp = ?", (kind, group)
                ).fetchall()
            )
            total = 0
            for p in range(self._partitions):
                (count,) = conn.execute(
                    "SELECT COUNT(*) FROM messages WHERE kind = ? AND partition = ? AND seq > ?",
                    (kind, p, committed.get(p, 0)),
                ).fetchone()
                total += count
            return total

    def _want_truncate(self) -> None:
        """Have the housekeeping thread truncate soon (deleting big payloads takes a while)."""
        with self._commit:
            if self._closed:
                return
            if self._truncator is None:
                self._truncator = threading.Thread(
                    target=self._truncate_loop, name="zhifa-bus-truncate", daemon=True
                )
                self._truncator.start()
        self._truncate_wanted.set()

    def _truncate_loop(self) -> None:
        while True:
            self._truncate_wanted.wait()
            self._truncate_wanted.clear()
            if self._closed:
                return
            try:
                deleted = self.truncate()
            except (sqlite3.Error, BusUnavailable) as exc:  # housekeeping: the next round tries again
                if not self._closed:
                    log.warning("bus: truncation failed: %s", exc)
                continue
            if deleted:
                log.debug("bus: truncated %d messages", deleted)

    def _check_open(self) -> None:
        if self._closed:
            raise BusUnavailable("the bus is closed")

    def _forget(self, subscription: LocalSubscription) -> None:
        with self._commit:
            self._subscriptions.discard(subscription)


def _truncate(conn: sqlite3.Connection) -> int:
    """Delete below every group's offset, in short transactions so publishers are not held up.

    Offsets only grow, so what was below all of them when they were read stays deletable; a
    group that joins meanwhile starts from what is still there."""
    floors = conn.execute(
        "SELECT kind, partition, MIN(committed_seq) FROM offsets GROUP BY kind, partition"
    ).fetchall()
    deleted = 0
    for kind, partition, floor in floors:
        while floor > 0:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = conn.execute(
                    "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages"
                    " WHERE kind = ? AND partition = ? AND seq <= ? ORDER BY seq LIMIT ?)",
                    (kind, partition, floor, TRUNCATE_CHUNK),
                )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
            deleted += cursor.rowcount
            if cursor.rowcount < TRUNCATE_CHUNK:
                break
    return deleted


class LocalSubscription:
    """A consumer of one group on some partitions of one kind; safe to share between threads."""

    def __init__(self, bus: LocalBus, kind: str, group: str, partitions: list[int]) -> None:
        self._bus = bus
        self.kind = kind
        self.group = group
        self.partitions = partitions
        self._ack_wait = bus.ack_wait
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._conn = _connect(bus.path, "NORMAL")
        except sqlite3.Error as exc:
            raise BusUnavailable(f"cannot open {bus.path}: {exc}") from exc
        try:
            committed, delivered, stored = self._join(bus.partitions)
        except BaseException:
            self._conn.close()
            raise
        self._committed = committed  # partition -> committed_seq as stored
        self._delivered = delivered  # partition -> highest seq ever delivered to the group
        self._stored = stored  # partition -> seqs in ``acks``: acked, so never handed out again
        self._cursor = dict(committed)  # partition -> highest seq read by this subscription
        # partition -> {seq: ack deadline}, in seq order (redeliveries update in place)
        self._inflight: dict[int, dict[int, float]] = {p: {} for p in partitions}
        self._next_expiry = math.inf
        self._acked_messages = 0
        self._acked_bytes = 0
        self._last_truncate = time.monotonic()

    def _join(self, partitions: int) -> tuple[dict[int, int], dict[int, int], dict[int, set[int]]]:
        """Make the group known on every partition of the kind (so truncation waits for it)."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR IGNORE INTO offsets (kind, grp, partition) VALUES (?, ?, ?)",
                    [(self.kind, self.group, p) for p in range(partitions)],
                )
                rows = conn.execute(
                    "SELECT partition, committed_seq, delivered_seq FROM offsets WHERE kind = ? AND grp = ?",
                    (self.kind, self.group),
                ).fetchall()
                acked = conn.execute(
                    "SELECT a.partition, a.seq FROM acks a JOIN offsets o ON o.kind = a.kind"
                    " AND o.grp = a.grp AND o.partition = a.partition"
                    " WHERE a.kind = ? AND a.grp = ? AND a.seq > o.committed_seq",
                    (self.kind, self.group),
                ).fetchall()
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        except sqlite3.Error as exc:
            raise BusUnavailable(f"cannot join group {self.group!r}: {exc}") from exc
        mine = set(self.partitions)
        committed = {p: c for p, c, _ in rows if p in mine}
        delivered = {p: d for p, _, d in rows if p in mine}
        stored: dict[int, set[int]] = {p: set() for p in self.partitions}
        for p, seq in acked:
            if p in mine:
                stored[p].add(seq)
        return committed, delivered, stored

    def fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        if max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, not {max_messages!r}")
        bus = self._bus
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            with bus._arrivals:
                seen = bus._arrival_count
            out = self._fetch_now(max_messages)
            if out:
                return out
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            with bus._arrivals:
                if bus._arrival_count == seen and not self._closed:
                    bus._arrivals.wait(min(remaining, bus.poll_interval))

    def _fetch_now(self, max_messages: int) -> list[Delivery]:
        with self._lock:
            if self._closed:
                raise BusUnavailable("the subscription is closed")
            try:
                now = time.monotonic()
                out = self._expired(now, max_messages) if now >= self._next_expiry else []
                while len(out) < max_messages:  # again when all that was read had been acked already
                    new, read = self._new(now, max_messages - len(out))
                    out.extend(new)
                    if new or not read:
                        break
                return out
            except sqlite3.Error as exc:
                _rollback(self._conn)
                raise BusUnavailable(f"fetch failed: {exc}") from exc

    def _expired(self, now: float, limit: int) -> list[Delivery]:
        """Messages handed out by this subscription whose ack_wait passed: hand them out again."""
        due: list[tuple[int, int]] = []
        for p, inflight in self._inflight.items():
            due.extend((seq, p) for seq, at in inflight.items() if at <= now)
        due.sort()
        chosen = due[:limit]
        payloads: dict[int, bytes] = {}
        for i in range(0, len(chosen), _IN_CHUNK):
            seqs = [seq for seq, _ in chosen[i : i + _IN_CHUNK]]
            marks = ",".join("?" * len(seqs))
            payloads.update(
                self._conn.execute(f"SELECT seq, payload FROM messages WHERE seq IN ({marks})", seqs)  # noqa: S608
            )
        out = []
        again = now + self._ack_wait
        for seq, p in chosen:
            payload = payloads.get(seq)
            if payload is None:  # gone (truncated by a misconfigured sharing group): nothing to redo
                del self._inflight[p][seq]
                continue
            self._inflight[p][seq] = again
            out.append(Delivery(self.kind, p, seq, payload, redelivered=True))
        # Any left over (more due than ``limit``) stay due for the next fetch.
        self._next_expiry = now if len(due) > limit else self._earliest_deadline()
        return out

    def _earliest_deadline(self) -> float:
        return min((at for inflight in self._inflight.values() for at in inflight.values()), default=math.inf)

    def _new(self, now: float, room: int) -> tuple[list[Delivery], bool]:
        """Up to ``room`` messages after the cursors, oldest first; and whether any was read."""
        conn = self._conn
        kind = self.kind
        conn.execute("BEGIN")  # one snapshot for both queries
        try:
            candidates: list[tuple[int, int]] = []
            for p in self.partitions:
                rows = conn.execute(
                    "SELECT seq FROM messages WHERE kind = ? AND partition = ? AND seq > ?"
                    " ORDER BY seq LIMIT ?",
                    (kind, p, self._cursor[p], room),
                ).fetchall()
                candidates.extend((seq, p) for (seq,) in rows)
            if not candidates:
                conn.execute("COMMIT")
                return [], False
            # The oldest ``room`` across partitions, so no partition starves another.
            if len(candidates) > room:
                candidates = heapq.nsmallest(room, candidates)
            upto: dict[int, int] = {}
            for seq, p in candidates:
                upto[p] = max(upto.get(p, 0), seq)
            out = []
            deadline = now + self._ack_wait
            for p, last in sorted(upto.items()):
                inflight = self._inflight[p]
                delivered = self._delivered[p]
                stored = self._stored[p]
                for seq, payload in conn.execute(
                    "SELECT seq, payload FROM messages WHERE kind = ? AND partition = ?"
                    " AND seq > ? AND seq <= ? ORDER BY seq",
                    (kind, p, self._cursor[p], last),
                ):
                    if seq in stored:  # acked by an earlier subscription of the group
                        continue
                    inflight[seq] = deadline
                    out.append(Delivery(kind, p, seq, payload, redelivered=seq <= delivered))
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        for p, last in upto.items():
            self._cursor[p] = last
        self._next_expiry = min(self._next_expiry, deadline)
        self._mark_delivered(upto)
        return out, True

    def _mark_delivered(self, upto: dict[int, int]) -> None:
        marks = [
            (last, self.kind, self.group, p, last) for p, last in upto.items() if last > self._delivered[p]
        ]
        if not marks:
            return
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "UPDATE offsets SET delivered_seq = ? WHERE kind = ? AND grp = ? AND partition = ?"
                    " AND delivered_seq < ?",
                    marks,
                )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        except sqlite3.Error as exc:
            # Only the redelivered flag of a later subscription depends on it; hand the messages out.
            log.warning("bus: delivery mark not stored: %s", exc)
            return
        for last, _, _, p, _ in marks:
            self._delivered[p] = last

    def ack(self, deliveries: list[Delivery]) -> None:
        with self._lock:
            if self._closed:
                raise BusUnavailable("the subscription is closed")
            acked: dict[int, dict[int, float]] = {}
            for d in deliveries:
                if d.kind != self.kind:
                    raise ValueError(f"a {d.kind!r} delivery acked on a {self.kind!r} subscription")
                if d.partition not in self._inflight:
                    raise ValueError(f"partition {d.partition} is not one of this subscription's")
            nbytes = 0
            for d in deliveries:
                deadline = self._inflight[d.partition].pop(d.seq, None)
                if deadline is not None:  # else acked before, or not handed out by this subscription
                    acked.setdefault(d.partition, {})[d.seq] = deadline
                    nbytes += len(d.payload)
            if not acked:
                return
            try:
                self._store_acks(acked)
            except BaseException:
                for p, seqs in acked.items():  # not stored: they stay unacked
                    inflight = self._inflight[p]
                    inflight.update(seqs)
                    self._inflight[p] = dict(sorted(inflight.items()))
                raise
            self._acked_messages += sum(len(seqs) for seqs in acked.values())
            self._acked_bytes += nbytes
            self._maybe_truncate()

    def _store_acks(self, acked: dict[int, dict[int, float]]) -> None:
        """Move the offsets of the partitions acked in; keep acks above them in ``acks``."""
        kind, group = self.kind, self.group
        commits: list[tuple[int, str, str, int, int]] = []
        inserts: list[tuple[str, str, int, int]] = []
        prunes: list[tuple[str, str, int, int]] = []
        stored_after: dict[int, tuple[int, set[int]]] = {}
        for p, seqs in acked.items():
            inflight = self._inflight[p]
            # Everything read below the oldest unacked message is acked.
            committed = next(iter(inflight)) - 1 if inflight else self._cursor[p]
            committed = max(committed, self._committed[p])
            if committed > self._committed[p]:
                commits.append((committed, kind, group, p, committed))
            above = [seq for seq in seqs if seq > committed]
            inserts.extend((kind, group, p, seq) for seq in above)
            stored = self._stored[p]
            if any(seq <= committed for seq in stored):
                prunes.append((kind, group, p, committed))
                stored = {seq for seq in stored if seq > committed}
            stored_after[p] = (committed, stored | set(above))
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "UPDATE offsets SET committed_seq = ? WHERE kind = ? AND grp = ? AND partition = ?"
                    " AND committed_seq < ?",
                    commits,
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO acks (kind, grp, partition, seq) VALUES (?, ?, ?, ?)", inserts
                )
                conn.executemany(
                    "DELETE FROM acks WHERE kind = ? AND grp = ? AND partition = ? AND seq <= ?", prunes
                )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        except sqlite3.Error as exc:
            raise BusUnavailable(f"ack not stored: {exc}") from exc
        for p, (committed, stored) in stored_after.items():
            self._committed[p] = committed
            self._stored[p] = stored

    def _maybe_truncate(self) -> None:
        now = time.monotonic()
        if (
            self._acked_messages < TRUNCATE_EVERY_MESSAGES
            and self._acked_bytes < TRUNCATE_EVERY_BYTES
            and now - self._last_truncate < TRUNCATE_EVERY_S
        ):
            return
        self._acked_messages = self._acked_bytes = 0
        self._last_truncate = now
        self._bus._want_truncate()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._conn.close()
        self._bus._forget(self)
        with self._bus._arrivals:
            self._bus._arrivals.notify_all()
