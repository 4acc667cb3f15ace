"""Arrow schemas of the reading kinds (domain.readings), and readings ↔ Arrow tables.

One schema per kind, carrying the kind and SCHEMA_VERSION in its metadata; the bus messages and
the lake's Parquet files use exactly these schemas. Every table has ``record_id`` (the dedup key),
``time`` (when it happened, UTC) and ``received_at`` (when the platform accepted it, UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from zhifa.domain.readings import SCHEMA_VERSION, Passage, Position, ReadingKind
from zhifa.domain.weighings import WeighingReading

UTC_TS = pa.timestamp("us", tz="UTC")


def _schema(kind: ReadingKind, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(
        [pa.field("record_id", pa.string(), nullable=False), *fields, pa.field("received_at", UTC_TS, False)],
        metadata={b"zhifa.kind": kind.value.encode(), b"zhifa.schema_version": SCHEMA_VERSION.encode()},
    )


POSITION_SCHEMA = _schema(
    ReadingKind.POSITION,
    [
        pa.field("terminal", pa.string(), False),
        pa.field("plate", pa.string(), False),
        pa.field("plate_colour", pa.int8(), False),
        pa.field("time", UTC_TS, False),
        pa.field("lon", pa.float64(), False),
        pa.field("lat", pa.float64(), False),
        pa.field("speed_kmh", pa.float64(), False),
        pa.field("heading", pa.int16(), False),
        pa.field("altitude_m", pa.int32(), False),
        pa.field("alarm", pa.uint32(), False),
        pa.field("status", pa.uint32(), False),
        pa.field("extras", pa.string()),
        # Nullable only because batches of schema 1.0 lack it: read a null as false (live).
        pa.field("backfill", pa.bool_()),
        pa.field("valid", pa.bool_(), False),
        pa.field("defects", pa.string()),  # Defect values joined by ","; null when valid
    ],
)

PASSAGE_SCHEMA = _schema(
    ReadingKind.PASSAGE,
    [
        pa.field("site_id", pa.string(), False),
        pa.field("time", UTC_TS, False),
        pa.field("plate", pa.string(), False),
        pa.field("plate_colour", pa.int8(), False),
        pa.field("lane", pa.int8()),
        pa.field("direction", pa.string()),
        pa.field("vehicle_class", pa.int8()),
        pa.field("axles", pa.int8()),
        pa.field("image_sha256", pa.string()),
    ],
)

IMAGE_TYPE = pa.struct([("kind", pa.string()), ("uri", pa.string()), ("sha256", pa.string())])

WEIGHING_SCHEMA = _schema(
    ReadingKind.WEIGHING,
    [
        pa.field("site_id", pa.string(), False),
        pa.field("time", UTC_TS, False),  # measured_at
        pa.field("plate", pa.string(), False),
        pa.field("plate_colour", pa.int8(), False),
        pa.field("axles", pa.int8(), False),
        pa.field("gross_kg", pa.int32(), False),
        pa.field("axle_loads_kg", pa.list_(pa.int32())),
        pa.field("height_mm", pa.int32()),
        pa.field("width_mm", pa.int32()),
        pa.field("length_mm", pa.int32()),
        pa.field("speed_kmh", pa.float64()),  # the operational store keeps the exact decimal
        pa.field("lane", pa.int16()),
        pa.field("direction", pa.string()),
        pa.field("vehicle_kind", pa.string()),
        pa.field("images", pa.list_(IMAGE_TYPE)),
        pa.field("content_sha256", pa.string(), False),
    ],
)

SCHEMAS: dict[ReadingKind, pa.Schema] = {
    ReadingKind.POSITION: POSITION_SCHEMA,
    ReadingKind.PASSAGE: PASSAGE_SCHEMA,
    ReadingKind.WEIGHING: WEIGHING_SCHEMA,
}


def _table(kind: ReadingKind, columns: dict[str, list[object]]) -> pa.Table:
    return pa.Table.from_pydict(columns, schema=SCHEMAS[kind])


def positions_table(readings: Sequence[Position], received_at: datetime) -> pa.Table:
    return _table(
        ReadingKind.POSITION,
        {
            "record_id": [r.record_id for r in readings],
            "terminal": [r.terminal for r in readings],
            "plate": [r.vehicle.plate for r in readings],
            "plate_colour": [int(r.vehicle.colour) for r in readings],
            "time": [r.time for r in readings],
            "lon": [r.lon for r in readings],
            "lat": [r.lat for r in readings],
            "speed_kmh": [r.speed_kmh for r in readings],
            "heading": [r.heading for r in readings],
            "altitude_m": [r.altitude_m for r in readings],
            "alarm": [r.alarm for r in readings],
            "status": [r.status for r in readings],
            "extras": [r.extras for r in readings],
            "backfill": [r.backfill for r in readings],
            "valid": [r.valid for r in readings],
            "defects": [",".join(r.defects) or None for r in readings],
            "received_at": [received_at] * len(readings),
        },
    )


def passages_table(readings: Sequence[Passage], received_at: datetime) -> pa.Table:
    return _table(
        ReadingKind.PASSAGE,
        {
            "record_id": [r.record_id for r in readings],
            "site_id": [r.site_id for r in readings],
            "time": [r.time for r in readings],
            "plate": [r.vehicle.plate for r in readings],
            "plate_colour": [int(r.vehicle.colour) for r in readings],
            "lane": [r.lane for r in readings],
            "direction": [r.direction for r in readings],
            "vehicle_class": [r.vehicle_class for r in readings],
            "axles": [r.axles for r in readings],
            "image_sha256": [r.image_sha256 for r in readings],
            "received_at": [received_at] * len(readings),
        },
    )


def weighings_table(readings: Sequence[WeighingReading], received_at: datetime) -> pa.Table:
    return _table(
        ReadingKind.WEIGHING,
        {
            "record_id": [r.record_id for r in readings],
            "site_id": [r.site_id for r in readings],
            "time": [r.measured_at for r in readings],
            "plate": [r.vehicle.plate for r in readings],
            "plate_colour": [int(r.vehicle.colour) for r in readings],
            "axles": [r.axles for r in readings],
            "gross_kg": [r.gross_kg for r in readings],
            "axle_loads_kg": [list(r.axle_loads_kg) if r.axle_loads_kg else None for r in readings],
            "height_mm": [r.height_mm for r in readings],
            "width_mm": [r.width_mm for r in readings],
            "length_mm": [r.length_mm for r in readings],
            "speed_kmh": [float(r.speed_kmh) if r.speed_kmh is not None else None for r in readings],
            "lane": [r.lane for r in readings],
            "direction": [r.direction for r in readings],
            "vehicle_kind": [r.vehicle_kind.value if r.vehicle_kind else None for r in readings],
            "images": [
                [{"kind": i.kind.value, "uri": i.uri, "sha256": i.sha256} for i in r.images] for r in readings
            ],
            "content_sha256": [r.content_digest() for r in readings],
            "received_at": [received_at] * len(readings),
        },
    )


_RECORD_TYPES: dict[ReadingKind, type] = {
    ReadingKind.POSITION: Position,
    ReadingKind.PASSAGE: Passage,
    ReadingKind.WEIGHING: WeighingReading,
}


def readings_table(kind: ReadingKind, readings: Sequence[object], received_at: datetime) -> pa.Table:
    wrong = [type(r).__name__ for r in readings if not isinstance(r, _RECORD_TYPES[kind])]
    if wrong:
        raise TypeError(f"a {kind.value} table cannot hold {', '.join(sorted(set(wrong)))}")
    build = {
        ReadingKind.POSITION: positions_table,
        ReadingKind.PASSAGE: passages_table,
        ReadingKind.WEIGHING: weighings_table,
    }[kind]
    return build(readings, received_at)  # type: ignore[operator]
