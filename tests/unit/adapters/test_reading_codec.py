"""Bus messages carry their kind and schema version; readers accept older minors only.

Proves that a batch published by a platform on schema 1.0 (before positions had ``backfill``) is
still read after the upgrade to 1.1 and conforms to the current schema with ``backfill`` null,
while a newer minor or another major is refused rather than misread; and that a batch is split
into messages by each vehicle's partition, rows in order, compressed only when large.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifa.adapters.lake.batches import conform
from zhifa.adapters.readings.codec import COMPRESS_FROM_ROWS, IncompatibleBatch, decode, encode, messages
from zhifa.adapters.readings.schema import SCHEMAS, positions_table
from zhifa.domain.readings import SCHEMA_VERSION, Position, ReadingKind, partition_of
from zhifa.domain.vehicles import PlateColour, VehicleKey

AT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def labelled(table: pa.Table, version: str) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta[b"zhifa.schema_version"] = version.encode()
    return table.replace_schema_metadata(meta)


def one_fix(backfill: bool = False) -> pa.Table:
    fix = Position(
        "13800138000", VehicleKey("皖A12345", PlateColour.YELLOW), AT, 117.2, 31.8, backfill=backfill
    )
    return positions_table([fix], AT)


def test_current_version_round_trips_backfill() -> None:
    assert SCHEMA_VERSION == "1.1"
    table = decode(ReadingKind.POSITION, encode(one_fix(backfill=True)))
    assert table.column("backfill").to_pylist() == [True]


def test_a_1_0_batch_without_backfill_is_read_and_conformed() -> None:
    old = labelled(one_fix().drop_columns(["backfill"]), "1.0")
    table = conform(ReadingKind.POSITION, [decode(ReadingKind.POSITION, encode(old))])
    assert table.schema.equals(SCHEMAS[ReadingKind.POSITION], check_metadata=True)
    assert table.column("backfill").to_pylist() == [None]


@pytest.mark.parametrize("version", ["1.2", "2.0", "", "1.x"])
def test_newer_or_other_major_versions_are_refused(version: str) -> None:
    with pytest.raises(IncompatibleBatch):
        decode(ReadingKind.POSITION, encode(labelled(one_fix(), version)))


vehicles = st.tuples(
    st.sampled_from(["皖A12345", "皖AD12345", "沪B7777挂", "京A00001", "皖K0000Z"]),
    st.sampled_from([PlateColour.BLUE, PlateColour.YELLOW, PlateColour.GREEN]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(vehicles, min_size=1, max_size=40), st.integers(min_value=1, max_value=12))
def test_messages_split_by_vehicle_partition_in_order(
    fleet: list[tuple[str, PlateColour]], parts: int
) -> None:
    """Each row goes to domain.readings.partition_of of its vehicle, each partition's rows keep the
    sender's order, and every message decodes to exactly its rows."""
    fixes = [
        Position(f"1380013{i:04d}", VehicleKey(plate, colour), AT + timedelta(seconds=i), 117.2, 31.8)
        for i, (plate, colour) in enumerate(fleet)
    ]
    table = positions_table(fixes, AT)
    got: dict[int, list[str]] = {}
    for message in messages(ReadingKind.POSITION, table, parts):
        got.setdefault(message.partition, []).extend(
            decode(ReadingKind.POSITION, message.payload).column("record_id").to_pylist()
        )
    expected: dict[int, list[str]] = {}
    for fix in fixes:
        expected.setdefault(partition_of(fix.vehicle, parts), []).append(fix.record_id)
    assert got == expected


def test_only_large_messages_are_compressed() -> None:
    """LZ4 costs about as much per message as encoding a few dozen rows: small ones go plain,
    and readers read both."""
    fixes = [
        Position(
            f"1380013{i:04d}",
            VehicleKey("皖A12345", PlateColour.YELLOW),
            AT + timedelta(seconds=i),
            117.2,
            31.8,
        )
        for i in range(COMPRESS_FROM_ROWS)
    ]
    table = positions_table(fixes, AT)

    def plain(t: pa.Table) -> bytes:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, t.schema) as writer:
            writer.write_table(t)
        return bytes(sink.getvalue().to_pybytes())

    small, large = table.slice(0, COMPRESS_FROM_ROWS - 1), table
    assert encode(small) == plain(small)
    assert len(encode(large)) < len(plain(large)) / 2
    for t in (small, large):
        assert decode(ReadingKind.POSITION, encode(t)).equals(t)
