"""ParquetLake: the telemetry lake, append-only Parquet files partitioned by kind and UTC hour.

Layout (Hive style)::

    <root>/kind=<kind>/date=YYYY-MM-DD/hour=HH/part-<UTC yyyymmddThhmmss>-<uuid>.parquet
    <root>/_staging/   files being written (never read; emptied on open)
    <root>/_journal/   compactions in progress (finished or undone on open)
    <root>/_trash/     partitions being deleted by retention (emptied on open)
    <root>/_quarantine/<kind>/   unreadable bus messages kept aside, with why (never deleted)

A row's partition is the UTC hour of ``min(time, received_at)``: a reading cannot have happened
after it was received, and a terminal whose clock runs ahead must not create future partitions.
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import shutil
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zhifa.adapters.lake import compaction, durable, index
from zhifa.adapters.lake.batches import conform, first_occurrences
from zhifa.adapters.lake.compaction import CompactionReport, Journal
from zhifa.adapters.lake.views import GLOB_CHARACTERS, create_views
from zhifa.domain.readings import ReadingKind

# 道路运输车辆动态监督管理办法 (2022) 第二十五条: monitoring data kept ≥ 6 months, violation
# records and their handling ≥ 3 years (RULES.md §2). Weighings are the evidence of 超限 cases.
MIN_RETENTION_MONTHS = 6
DEFAULT_RETENTION_MONTHS: Mapping[ReadingKind, int] = {
    ReadingKind.POSITION: 6,
    ReadingKind.PASSAGE: 6,
    ReadingKind.WEIGHING: 36,
}
DEFAULT_SMALL_FILE_BYTES = 16 * 2**20
STAGING, JOURNAL, TRASH, QUARANTINE = "_staging", "_journal", "_trash", "_quarantine"
_HOUR_US = 3_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day if it is shorter)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _hour_of(day: date) -> int:
    """Hours since the epoch at 00:00 UTC of ``day``."""
    return (day - _EPOCH.date()).days * 24


class ParquetLake:
    """Append-only telemetry lake of reading batches, deduplicated by ``record_id``, read with DuckDB.

    **One writer process per lake directory.** The instance that appends, compacts and applies
    retention must be the only writer of ``root`` (one thread at a time is enough; calls are
    serialised by a lock). Opening a writer finishes interrupted compactions and empties the
    staging area, which would break another live writer. Readers can be many, in any process:
    DuckDB connections from :meth:`connect`, or instances opened with ``read_only=True``, which
    touch nothing. A reader never sees a partial file (files are published by rename); while a
    compaction swaps a partition's files, a query running at that instant may see both the new
    file and its sources, or miss a source that was just deleted, and should be retried.

    Dedup is exact per partition hour (see :mod:`zhifa.adapters.lake.index`): a record id is
    written at most once into the partition of its row. The index holds 10 bytes per row of the
    partitions it keeps, at most ``index_partitions`` partitions and, beyond the one in use,
    ``index_rows`` rows (500 MB by default); an evicted partition is reloaded from its files.
    A record re-sent with another ``received_at`` that moves ``min(time, received_at)`` into
    another hour (only possible when the terminal's clock was ahead) lands in that other partition.
    """

    def __init__(
        self,
        root: Path,
        *,
        retention_months: Mapping[ReadingKind, int] | None = None,
        index_partitions: int = 72,
        index_rows: int = 50_000_000,
        read_only: bool = False,
    ) -> None:
        self.root = Path(root).absolute()
        if GLOB_CHARACTERS & set(str(self.root)):
            raise ValueError(f"the lake's path may not contain glob characters {sorted(GLOB_CHARACTERS)}")
        months = dict(DEFAULT_RETENTION_MONTHS)
        for kind, value in (retention_months or {}).items():
            months[ReadingKind(kind)] = value
        for kind, value in months.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < MIN_RETENTION_MONTHS:
                raise ValueError(
                    f"retention of {kind.value} readings must be a whole number of months, at least "
                    f"{MIN_RETENTION_MONTHS}: 道路运输车辆动态监督管理办法 第二十五条 (Art. 25) requires "
                    f"monitoring data to be kept ≥ 6 months; got {value!r}"
                )
        if index_partitions < 1 or index_rows < 1:
            raise ValueError("the dedup index must hold at least one partition and one row")
        self.retention_months: Mapping[ReadingKind, int] = months
        self.read_only = read_only
        self._staging = self.root / STAGING
        self._journal = self.root / JOURNAL
        self._trash = self.root / TRASH
        self._index = index.IndexCache(index_partitions, index_rows)
        self._footers: dict[Path, int] = {}
        self._lock = threading.RLock()
        if not read_only:
            for d in (self._staging, self._journal, self._trash):
                durable.make_dirs(d)
            self._recover()

    # --- startup ----------------------------------------------------------------------------

    def _recover(self) -> None:
        """Finish interrupted compactions first (they may need their staged file), then empty staging."""
        compaction.recover(self.root, self._staging, self._journal)
        for d in (self._staging, self._trash):
            for entry in d.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            durable.fsync_dir(d)

    # --- layout -----------------------------------------------------------------------------

    def _kind_dir(self, kind: ReadingKind) -> Path:
        return self.root / f"kind={kind.value}"

    def _partition_dir(self, kind: ReadingKind, hour: int) -> Path:
        start = _EPOCH + timedelta(hours=hour)
        return self._kind_dir(kind) / f"date={start:%Y-%m-%d}" / f"hour={start:%H}"

    def _partitions(self, kind: ReadingKind) -> list[tuple[int, Path]]:
        """(hour since the epoch, directory) of every partition of ``kind``, oldest first."""
        found = []
        for hour_dir in self._kind_dir(kind).glob("date=*/hour=*"):
            try:
                day = date.fromisoformat(hour_dir.parent.name.removeprefix("date="))
                hh = int(hour_dir.name.removeprefix("hour="))
            except ValueError:
                continue
            found.append((_hour_of(day) + hh, hour_dir))
        return sorted(found)

    @staticmethod
    def _names(directory: Path) -> list[str]:
        return sorted(p.name for p in directory.glob("*.parquet")) if directory.is_dir() else []

    def files(self, kind: ReadingKind) -> list[Path]:
        """Every published file of ``kind``, by partition then name."""
        return sorted(self._kind_dir(ReadingKind(kind)).glob("date=*/hour=*/*.parquet"))

    def count(self, kind: ReadingKind) -> int:
        """Rows of ``kind``, summed from the files' footers (cached per file; files never change)."""
        kind = ReadingKind(kind)
        with self._lock:
            for _ in range(3):
                paths = self.files(kind)
                try:
                    rows = 0
                    for p in paths:
                        if p not in self._footers:
                            self._footers[p] = pq.read_metadata(p).num_rows
                        rows += self._footers[p]
                except FileNotFoundError:  # compacted or retired while counting: count again
                    continue
                live = set(paths)
                for p in [p for p in self._footers if p.is_relative_to(self._kind_dir(kind))]:
                    if p not in live:
                        del self._footers[p]
                return rows
            raise RuntimeError(f"the files of {kind} kept changing while counting")

    # --- reading ----------------------------------------------------------------------------

    def connect(self, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the views ``positions``, ``passages`` and ``weighings``.

        The views are TEMP (they live in this connection) and read the files present at each query.
        Each has the kind's schema columns, then ``date`` (DATE) and ``hour`` (INTEGER 0–23), the
        UTC partition of the row. The connection's TimeZone is UTC, so timestamps come back in UTC.
        """
        con = duckdb.connect(database)
        con.execute("SET TimeZone = 'UTC'")
        create_views(con, self.root)
        return con

    # --- appending --------------------------------------------------------------------------

    def append(self, kind: ReadingKind, tables: Sequence[pa.Table]) -> int:
        """Write the rows of ``tables`` not yet in the lake; the number of rows written.

        Within the call the first row of each record id wins; a record id already in its row's
        partition hour is skipped. Each partition hour touched gets one new file, published
        atomically. If the call raises, some partitions may already be written: appending the
        same tables again is safe (that is how a bus redelivery after a failure is absorbed).
        """
        kind = ReadingKind(kind)
        with self._lock:
            self._writable()
            table = conform(kind, tables)
            if table.num_rows == 0:
                return 0
            hashes = index.hash_record_ids(table.column("record_id"))
            order = np.argsort(hashes)
            ordered = hashes[order]
            if (ordered[1:] == ordered[:-1]).any():  # a repeated id hashes equal: look closer
                first = first_occurrences(table.column("record_id"))
                if first is not None:
                    table, hashes = table.take(first), hashes[first]
                    order = np.argsort(hashes)
            received = table.column("received_at").cast(pa.int64()).to_numpy()
            happened = table.column("time").cast(pa.int64()).to_numpy()
            hours = np.minimum(happened, received) // _HOUR_US
            low, high = int(hours.min()), int(hours.max())
            if low == high:
                return self._append_partition(kind, low, table, hashes, order)
            distinct, inverse = np.unique(hours, return_inverse=True)
            written = 0
            for i, hour in enumerate(distinct.tolist()):
                rows = np.flatnonzero(inverse == i)
                part = hashes[rows]
                written += self._append_partition(kind, hour, table.take(rows), part, np.argsort(part))
            return written

    def _append_partition(
        self, kind: ReadingKind, hour: int, table: pa.Table, hashes: index.Hashes, order: npt.NDArray[np.intp]
    ) -> int:
        """Write the rows of ``table`` (one partition hour; ``order`` sorts ``hashes``) not yet in it."""
        directory = self._partition_dir(kind, hour)
        key = (kind.value, hour)
        part_index = self._index.get(key)
        if part_index is None:
            part_index = index.PartitionIndex.load(directory, self._names(directory))
            self._index.put(key, part_index)
        ordered = hashes[order]
        maybe, files = part_index.lookup(ordered)  # positions in hash order
        if maybe.any():
            # Confirm each candidate against the stored ids: a hash hit alone never drops a row.
            candidates = np.flatnonzero(maybe)
            stored = [c for f in files for c in pq.read_table(directory / f, columns=["record_id"])[0].chunks]
            present = pc.is_in(
                table.column("record_id").take(order[candidates]),
                value_set=pa.chunked_array(stored, pa.string()).combine_chunks(),
            ).to_numpy(zero_copy_only=False)
            fresh = ~maybe
            fresh[candidates[~present]] = True
            if not fresh.any():
                return 0
            rows = np.zeros(table.num_rows, dtype=np.bool_)
            rows[order[fresh]] = True
            table, ordered = table.filter(rows), ordered[fresh]
        durable.make_dirs(directory)
        staged = self._staging / durable.staged_name()
        try:
            durable.write_parquet(table, staged)
        except BaseException:
            durable.remove(staged)
            raise
        name = durable.part_name()
        try:
            durable.publish(staged, directory / name)
            part_index.add(ordered, name, presorted=True)
            self._index.shrink()
        except BaseException:
            self._index.drop(key)  # the file may be published without its hashes: rebuild when needed
            raise
        return len(ordered)

    def _writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"the lake at {self.root} was opened read-only")

    # --- compaction -------------------------------------------------------------------------

    def compact(
        self,
        now: datetime,
        *,
        min_files: int = 4,
        grace: timedelta = timedelta(hours=1),
        small_file_bytes: int = DEFAULT_SMALL_FILE_BYTES,
    ) -> CompactionReport:
        """Rewrite each closed partition hour as one deduplicated file sorted by vehicle and time.

        A partition is closed when its hour ended more than ``grace`` before ``now``; it is
        rewritten when it holds at least ``min_files`` files, or at least two files smaller than
        ``small_file_bytes`` (so a large compacted file is not rewritten for each late straggler).
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("compact needs an aware time")
        report = CompactionReport.nothing()
        with self._lock:
            self._writable()
            for kind in ReadingKind:
                for hour, directory in self._partitions(kind):
                    if _EPOCH + timedelta(hours=hour + 1) >= now - grace:
                        continue
                    paths = [directory / n for n in self._names(directory)]
                    small = sum(1 for p in paths if p.stat().st_size < small_file_bytes)
                    if len(paths) < 2 or (len(paths) < min_files and small < 2):
                        continue
                    report += self._compact_partition(kind, hour, directory, paths)
        return report

    def _compact_partition(
        self, kind: ReadingKind, hour: int, directory: Path, paths: list[Path]
    ) -> CompactionReport:
        rows_before = sum(pq.read_metadata(p).num_rows for p in paths)
        staged_name = durable.staged_name()
        staged = self._staging / staged_name
        try:
            rows = compaction.rewrite(kind, paths, staged, self._staging / f"{uuid.uuid4().hex}.spill")
        except BaseException:
            durable.remove(staged)
            raise
        target = durable.part_name()
        partition = directory.relative_to(self.root).as_posix()
        journal = Journal(partition, tuple(p.name for p in paths), target, staged_name)
        journal_path = self._journal / compaction.journal_name()
        self._index.drop((kind.value, hour))  # reloaded from the new file when next touched
        try:
            durable.write_json(self._staging, journal_path, journal.to_json())
            durable.publish(staged, directory / target)
            for p in paths:
                durable.remove(p)
                self._footers.pop(p, None)
            durable.fsync_dir(directory)
            durable.remove(journal_path)
            durable.fsync_dir(self._journal)
        except Exception:
            # An error, not a crash: settle the partition now as a restart would (best effort).
            with contextlib.suppress(Exception):
                compaction.recover(self.root, self._staging, self._journal)
            raise
        return CompactionReport(
            partitions=1, files_before=len(paths), files_after=1, rows=rows, rows_before=rows_before
        )

    # --- quarantine -------------------------------------------------------------------------

    def quarantine(self, kind: ReadingKind, seq: int, payload: bytes, reason: str) -> Path:
        """Keep an unreadable bus message aside, with why; the path of its bytes.

        ``_quarantine/<kind>/<seq>-<uuid>.bin`` holds the payload as received and the ``.json``
        next to it the kind, bus sequence number, reason, time and SHA-256. The views never read
        them and retention never deletes them: an operator decides.
        """
        kind = ReadingKind(kind)
        with self._lock:
            self._writable()
            directory = self.root / QUARANTINE / kind.value
            durable.make_dirs(directory)
            stem = f"{seq}-{uuid.uuid4().hex}"
            path = directory / f"{stem}.bin"
            durable.write_bytes(self._staging, path, payload)
            note = {
                "kind": kind.value,
                "seq": seq,
                "reason": reason,
                "quarantined_at": datetime.now(UTC).isoformat(),
                "bytes": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            }
            durable.write_json(self._staging, directory / f"{stem}.json", note)
            return path

    # --- retention --------------------------------------------------------------------------

    def retain(self, today: date) -> list[str]:
        """Delete the date partitions older than each kind's retention; their paths, relative to root.

        A day is kept while any of it is within retention: with 6 months on 2026-11-21 the oldest
        day kept is 2026-05-21. Another kind's partitions, staging and journals are never touched.
        """
        removed: list[str] = []
        with self._lock:
            self._writable()
            for kind in ReadingKind:
                oldest_kept = months_before(today, self.retention_months[kind])
                for day_dir in sorted(self._kind_dir(kind).glob("date=*")):
                    try:
                        day = date.fromisoformat(day_dir.name.removeprefix("date="))
                    except ValueError:
                        continue
                    if day >= oldest_kept or not day_dir.is_dir():
                        continue
                    doomed = self._trash / uuid.uuid4().hex
                    day_dir.rename(doomed)  # one step: readers see the whole day or none of it
                    durable.fsync_dir(day_dir.parent)
                    shutil.rmtree(doomed)
                    start = _hour_of(day)
                    self._index.drop_where(kind.value, range(start, start + 24))
                    self._footers = {p: n for p, n in self._footers.items() if not p.is_relative_to(day_dir)}
                    removed.append(day_dir.relative_to(self.root).as_posix())
        return removed
