"""Reading batches on the bus: Arrow IPC streams, one kind and one partition per message.

A message carries up to a few thousand rows (JetStream's default message limit is 1 MiB), is
compressed with LZ4, and names its kind and schema version in the schema metadata, so a consumer
refuses a batch written by an incompatible producer instead of misreading it.
"""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhifa.adapters.readings.schema import SCHEMAS
from zhifa.domain.readings import SCHEMA_VERSION, ReadingKind
from zhifa.services.ports import Outgoing

MAX_MESSAGE_ROWS = 8192
MAX_MESSAGE_BYTES = 900_000  # below JetStream's default max_payload of 1 MiB
_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


class IncompatibleBatch(ValueError):
    """A bus message of another kind or of a schema major version this reader does not know."""


def encode(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_OPTIONS) as writer:
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


def partitions_of(table: pa.Table, partitions: int) -> np.ndarray:
    """domain.readings.partition_of for every row, computed once per distinct vehicle."""
    keys = pc.binary_join_element_wise(table["plate"], pc.cast(table["plate_colour"], pa.string()), ":")
    distinct = pc.unique(keys)
    codes = np.array([zlib.crc32(k.encode()) % partitions for k in distinct.to_pylist()], dtype=np.int32)
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
    codes = partitions_of(table, partitions)
    out: list[Outgoing] = []
    for partition in np.unique(codes).tolist():
        part = table.filter(pa.array(codes == partition)) if partitions > 1 else table
        out.extend(Outgoing(int(partition), payload) for payload in _chunks(part))
    return out
