"""The lake's dedup index: 64-bit hashes of the record ids of each partition hour, in memory.

A partition's index is a few sorted ``uint64`` chunks of record-id hashes (an LSM tree without
disk: a new chunk per published file, merged with its neighbour while that is not more than twice
its size, so a partition holds O(log n) chunks). Next to each hash sits the ordinal of the file
that holds the record (``uint16``; ordinals from 65 535 on share the last value and mean "that
file or a later one"), so a hash hit is confirmed by reading the ``record_id`` column of only the
files it points to. Memory: 10 bytes per indexed row (8 for the hash, 2 for the file ordinal), plus
a transient copy of the largest chunk while two chunks merge.

The index only ever says "maybe present": whether a candidate is really a duplicate is decided by
comparing the record ids themselves (:meth:`PartitionIndex.lookup` says which files to read),
so a hash collision never drops a distinct record.

Partitions are loaded lazily from their files the first time they are touched and held in a
bounded LRU (:class:`IndexCache`), bounded both in partitions and in indexed rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

Hashes = npt.NDArray[np.uint64]
Ordinals = npt.NDArray[np.uint16]
BoolMask = npt.NDArray[np.bool_]

MAX_ORDINAL = np.iinfo(np.uint16).max  # ordinals at or above this mean "this file or a later one"
_MERGE_RATIO = 2

_local = threading.local()


def _hash_connection() -> duckdb.DuckDBPyConnection:
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:")
        con.execute("SET threads = 1")  # 50 000 short strings: a second thread costs more than it saves
        _local.con = con
    return con


def hash_record_ids(ids: pa.Array | pa.ChunkedArray) -> Hashes:
    """64-bit hashes of ``ids`` (DuckDB's ``hash``, vectorised, ~30 M strings/s).

    Only ever compared with hashes computed by this same function in this same process (the
    index is rebuilt from the files at start), so the hash need not be stable across versions.
    Tests replace this function to force collisions.
    """
    relation = _hash_connection().from_arrow(pa.table({"record_id": ids}))
    out = relation.project("hash(record_id) AS h").fetchnumpy()["h"]
    return np.ascontiguousarray(out, dtype=np.uint64)


def read_file_hashes(path: Path) -> Hashes:
    """The sorted hashes of the record ids in one Parquet file."""
    ids = pq.read_table(path, columns=["record_id"]).column("record_id")
    return np.sort(hash_record_ids(ids))


@dataclass
class PartitionIndex:
    """Hashes of the record ids of one partition hour, and which file holds each."""

    files: list[str] = field(default_factory=list)  # file names, position = ordinal
    chunks: list[tuple[Hashes, Ordinals]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(h) for h, _ in self.chunks)

    @classmethod
    def load(cls, directory: Path, names: Sequence[str]) -> PartitionIndex:
        """Build the index of a partition from its files (``names``, in publication order)."""
        index = cls()
        for name in names:
            index.add(read_file_hashes(directory / name), name, presorted=True)
        return index

    def add(self, hashes: Hashes, file_name: str, *, presorted: bool = False) -> None:
        """Record that ``file_name`` (just published) holds rows with these hashes."""
        ordinal = min(len(self.files), MAX_ORDINAL)
        self.files.append(file_name)
        if len(hashes) == 0:
            return
        chunk = hashes if presorted else np.sort(hashes)
        self.chunks.append((chunk, np.full(len(chunk), ordinal, dtype=np.uint16)))
        while len(self.chunks) > 1 and len(self.chunks[-2][0]) <= _MERGE_RATIO * len(self.chunks[-1][0]):
            (h1, o1), (h2, o2) = self.chunks[-2], self.chunks[-1]
            merged = np.concatenate([h1, h2])
            order = np.argsort(merged, kind="stable")  # timsort: two sorted runs merge in linear time
            self.chunks[-2:] = [(merged[order], np.concatenate([o1, o2])[order])]

    def lookup(self, hashes: Hashes) -> tuple[BoolMask, list[str]]:
        """Which of ``hashes`` may already be present, and the files that may hold them."""
        maybe = np.zeros(len(hashes), dtype=np.bool_)
        ordinals: list[npt.NDArray[np.intp]] = []
        for chunk, owners in self.chunks:
            lo = np.searchsorted(chunk, hashes, side="left")
            hit = lo < len(chunk)
            hit[hit] = chunk[lo[hit]] == hashes[hit]
            if not hit.any():
                continue
            maybe |= hit
            # One range [lo, hi) of equal hashes per distinct hit; their total length is bounded by
            # the chunk (even if every hash collides), so expanding them stays linear.
            starts = np.unique(lo[hit])
            ends = np.searchsorted(chunk, chunk[starts], side="right")
            counts = ends - starts
            offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            ordinals.append(np.flatnonzero(np.bincount(owners[offsets])))
        if not ordinals:
            return maybe, []
        wanted = np.unique(np.concatenate(ordinals))
        names = {self.files[o] for o in wanted if o < MAX_ORDINAL}
        if wanted[-1] == MAX_ORDINAL:
            names.update(self.files[MAX_ORDINAL:])
        return maybe, sorted(names, key=self.files.index)


@dataclass
class IndexCache:
    """A bounded LRU of partition indexes, keyed by (kind, hour since the epoch)."""

    max_partitions: int
    max_rows: int
    _entries: OrderedDict[tuple[str, int], PartitionIndex] = field(default_factory=OrderedDict)

    def get(self, key: tuple[str, int]) -> PartitionIndex | None:
        index = self._entries.get(key)
        if index is not None:
            self._entries.move_to_end(key)
        return index

    def put(self, key: tuple[str, int], index: PartitionIndex) -> None:
        self._entries[key] = index
        self._entries.move_to_end(key)
        self.shrink()

    def shrink(self) -> None:
        """Evict the least recently used partitions beyond the bounds (never the newest one)."""
        rows = sum(i.rows for i in self._entries.values())
        while len(self._entries) > 1 and (len(self._entries) > self.max_partitions or rows > self.max_rows):
            _, evicted = self._entries.popitem(last=False)
            rows -= evicted.rows

    def drop(self, key: tuple[str, int]) -> None:
        self._entries.pop(key, None)

    def drop_where(self, kind: str, hours: range | None = None) -> None:
        for key in [k for k in self._entries if k[0] == kind and (hours is None or k[1] in hours)]:
            del self._entries[key]

    @property
    def rows(self) -> int:
        return sum(i.rows for i in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
