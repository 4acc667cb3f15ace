"""Bus messages carry their kind and schema version; readers accept older minors only.

Proves that a batch published by a platform on schema 1.0 (before positions had ``backfill``) is
still read after the upgrade to 1.1 and conforms to the current schema with ``backfill`` null,
while a newer minor or another major is refused rather than misread.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from zhifa.adapters.lake.batches import conform
from zhifa.adapters.readings.codec import IncompatibleBatch, decode, encode
from zhifa.adapters.readings.schema import SCHEMAS, positions_table
from zhifa.domain.readings import SCHEMA_VERSION, Position, ReadingKind
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
