"""Reading batches on the bus: Arrow IPC streams, one kind and one partition per message.

A message carries up to a few thousand rows (JetStream's default message limit is 1 MiB), is
compressed with LZ4, and names its kind and schema version in the schema metadata, so a consumer
refuses a batch written by an incompatible producer instead of misreading it.
"""

from __future__ import annotations

import functools
import itertools
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhifa.adapters.readings.schema import SCHEMAS
from zhifa.domain.readings import SCHEMA_VERSION, ReadingKind
from zhifa.services.ports import Outgoing

MAX_MESSAGE_ROWS = 8192
MAX_MESSAGE_BYTES = 900_000  # below JetStream's default max_payload of 1 MiB
# LZ4 costs ~100 µs a message whatever its size (a frame per column buffer), as much as all the
# rest of publishing 30 rows; it saves a few kilobytes there. Arrow marks compression in each
# batch, so every reader reads both forms.
COMPRESS_FROM_ROWS = 1024
_COMPRESSED = pa.ipc.IpcWriteOptions(compression="lz4")
_PLAIN = pa.ipc.IpcWriteOptions()
_COLON = pa.scalar(":", pa.string())  # typed: a bare str makes pyarrow infer a type, at ~45 µs


class IncompatibleBatch(ValueError):
    """A bus message of another kind or of a schema major version this reader does not know."""


def encode(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    options = _COMPRESSED if table.num_rows >= COMPRESS_FROM_ROWS else _PLAIN
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    payload: bytes = sink.getvalue().to_pybytes()
    return payload


def decode(kind: ReadingKind, payload: bytes) -> pa.Table:
    table = pa.ipc.open_stream(pa.py_buffer(payload)).read_all()
    meta = table.schema.metadata or {}
    sent_kind = meta.get(b"zhifa.kind", b"").decode()
    version = meta.get(b"zhifa.schema_version", b"").decode()
    if sent_kind != kind.value:
        raise IncompatibleBatch(f"expected a {kind.value} batch, got {sent_kind or 'an unlabelled one'}")
    major, _, minor = version.partition(".")
    own_major, _, own_minor = SCHEMA_VERSION.partition(".")
    if major != own_major or not minor.isdigit() or int(minor) > int(own_minor):
        raise IncompatibleBatch(f"{kind.value} schema {version!r} is not readable by {SCHEMA_VERSION}")
    return table


@functools.lru_cache(maxsize=1 << 16)
def _partition(key: str, partitions: int) -> int:
    """domain.readings.partition_of of one ``plate:colour``, remembered: the same vehicles report
    every few seconds, and a lookup costs a third of encoding and checksumming the key."""
    return zlib.crc32(key.encode()) % partitions


def partitions_of(table: pa.Table, partitions: int) -> np.ndarray:
    """domain.readings.partition_of for every row, computed once per distinct vehicle."""
    keys = pc.binary_join_element_wise(table["plate"], pc.cast(table["plate_colour"], pa.string()), _COLON)
    distinct = pc.unique(keys)
    codes = np.fromiter(
        map(_partition, distinct.to_pylist(), itertools.repeat(partitions)), np.int32, len(distinct)
    )
    rows: np.ndarray = codes[pc.index_in(keys, value_set=distinct).to_numpy(zero_copy_only=False)]
    return rows


def _chunks(table: pa.Table) -> list[bytes]:
    out = []
    for start in range(0, table.num_rows, MAX_MESSAGE_ROWS):
        piece = table.slice(start, MAX_MESSAGE_ROWS)
        payload = encode(piece)
        if len(payload) > MAX_MESSAGE_BYTES and piece.num_rows > 1:
            half = piece.num_rows // 2
            out += _chunks(piece.slice(0, half)) + _chunks(piece.slice(half))
        else:
            out.append(payload)
    return out


def messages(kind: ReadingKind, table: pa.Table, partitions: int) -> list[Outgoing]:
    """Split a validated batch by vehicle partition and encode each part as bus messages."""
    if table.schema != SCHEMAS[kind]:
        table = table.cast(SCHEMAS[kind])
    if table.num_rows == 0:
        return []
    if partitions == 1:
        return [Outgoing(0, payload) for payload in _chunks(table)]
    codes = partitions_of(table, partitions)
    # One take into partition order, then a slice per partition: a stable sort keeps each
    # vehicle's rows in the sender's order, as a filter per partition would, at one copy.
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    if (order[1:] < order[:-1]).any():
        table = table.take(pa.array(order))
    starts = np.flatnonzero(np.diff(codes, prepend=-1)).tolist()
    ends = [*starts[1:], table.num_rows]
    out: list[Outgoing] = []
    for start, end in zip(starts, ends, strict=True):
        partition = int(codes[start])
        out.extend(Outgoing(partition, payload) for payload in _chunks(table.slice(start, end - start)))
    return out
