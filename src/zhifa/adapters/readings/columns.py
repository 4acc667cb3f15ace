"""Validate whole columnar batches of positions and passages, as domain.readings would row by row.

A gateway or an imported file hands over tens of thousands of rows at a time; parsing each in
Python would cap ingest far below a province's rate. So each batch takes two paths:

- the **fast path** checks every column with Arrow kernels against a deliberately narrow form of
  each field (plain digits, ISO 8601 with ``T`` and an offset, plates checked once per distinct
  value by the reference function) and converts the rows that pass, all at once;
- every row that misses the narrow form, for whatever reason, goes through the **reference**
  parser (domain.readings.parse_position / parse_passage), which accepts it or names its errors.

So the output is the reference's by construction for the slow rows, and the property tests in
tests/unit/adapters/test_reading_columns.py hold the fast path to the reference for the rest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from zhifa.adapters.readings.schema import SCHEMAS, UTC_TS, passages_table, positions_table
from zhifa.domain.readings import (
    MAX_DIRECTION_LENGTH,
    MAX_DWORD,
    MAX_EXTRAS_CHARS,
    MAX_HEADING,
    MAX_LANE,
    MAX_PASSAGE_AXLES,
    MAX_SITE_ID_LENGTH,
    MAX_WIRE_ALTITUDE_M,
    MAX_WIRE_SPEED_KMH,
    MIN_PASSAGE_AXLES,
    MIN_WIRE_ALTITUDE_M,
    PASSAGE_FIELDS,
    POSITION_FIELDS,
    TOLL_VEHICLE_CLASSES,
    VALID_ALTITUDE_M,
    VALID_LAT,
    VALID_LON,
    VALID_SPEED_KMH,
    Defect,
    Passage,
    Position,
    ReadingKind,
    RejectedRecord,
    parse_reading,
    sent_record_id,
)
from zhifa.domain.vehicles import InvalidPlate, PlateColour, validate_plate
from zhifa.domain.weighings import MAX_RECORD_ID_LENGTH, InvalidRecord

# The narrow forms of the fast path. Anything else is left to the reference parser.
_ISO_TIME = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_DECIMAL = r"^-?[0-9]{1,12}(\.[0-9]{1,12})?$"
_INTEGER = r"^-?[0-9]{1,12}$"
_TERMINAL = r"^[0-9]{1,20}$"
_RECORD_ID = r"^[0-9A-Za-z][0-9A-Za-z_.:\-]*$"
_HEX64 = r"^[0-9a-fA-F]{64}$"
_COLOUR_CODES = pa.array([int(c) for c in PlateColour], pa.int64())
_COLOUR_VALUES = np.array([int(c) for c in PlateColour], np.int64)
_BOOLEAN_TEXT = pa.array(["true", "false"], pa.string())
_TRUE_TEXT = pa.scalar("true", pa.string())
_TOLL_CLASSES = pa.array(sorted(TOLL_VEHICLE_CLASSES), pa.int64())
# Every value handed to a kernel is typed: a bare Python number or None makes pyarrow infer its
# type, which costs ~45 µs a time (it tries to import dateutil), more than the kernel itself.
_I64 = pa.int64()


def _int(value: int) -> pa.Scalar:
    return pa.scalar(value, _I64)


def _null(array: pa.Array | pa.ChunkedArray) -> pa.Scalar:
    return pa.scalar(None, array.type)


class UnknownColumns(ValueError):
    """A file carries columns no reading of its kind has: refused whole, before anything is sent."""


@functools.lru_cache(maxsize=1 << 16)
def _plate(raw: str, nev_marks: str) -> str | None:
    """validate_plate, remembered: the same vehicles report again and again, and checking a plate
    costs more than all the kernels of its row."""
    try:
        return validate_plate(raw, nev_marks)
    except InvalidPlate:
        return None


def _is_text(array: pa.ChunkedArray) -> bool:
    return bool(pa.types.is_string(array.type) or pa.types.is_large_string(array.type))


Mask = npt.NDArray[np.bool_]


def _as_mask(mask: pa.ChunkedArray | pa.Array | Mask) -> Mask:
    """A boolean column as numpy, null meaning False."""
    if isinstance(mask, np.ndarray):
        return mask
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _lossless(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether numpy can take ``source`` values to ``target`` exactly, as Arrow's safe cast would."""
    if pa.types.is_floating(target):
        return bool(pa.types.is_floating(source) or (pa.types.is_integer(source) and source.bit_width <= 32))
    return bool(pa.types.is_integer(source) and not pa.types.is_uint64(source))


class _Batch:
    """The raw columns of one batch, with every missing optional column as nulls.

    Which rows can take the fast path is kept as a numpy mask, and typed columns without nulls
    (what a gateway hands over) are range-checked in numpy: a call into Arrow costs a few
    microseconds whatever the rows, and a batch of a few hundred would otherwise need a hundred.
    """

    def __init__(self, raw: pa.Table, fields: Sequence[str]) -> None:
        unknown = sorted(set(raw.column_names) - set(fields))
        if unknown:
            raise UnknownColumns(
                f"unknown columns: {', '.join(unknown)}; expected some of {', '.join(fields)}"
            )
        self.raw = raw
        self.names = set(raw.column_names)
        self.rows = raw.num_rows
        self.ok: Mask = np.ones(self.rows, dtype=np.bool_)

    def column(self, name: str) -> pa.ChunkedArray:
        if name in self.names:
            column = self.raw[name]
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            return column
        return pa.chunked_array([pa.nulls(self.rows, pa.null())])

    def keep(self, mask: pa.ChunkedArray | pa.Array | Mask) -> None:
        self.ok &= _as_mask(mask)

    def refuse_all(self) -> None:
        self.ok[:] = False

    def required(self, name: str) -> pa.ChunkedArray:
        column = self.column(name)
        if column.null_count:
            self.keep(pc.is_valid(column))
        return column

    def text(self, name: str, pattern: str | None, max_length: int, *, optional: bool = False) -> pa.Array:
        column = self.column(name)
        if pa.types.is_null(column.type) and optional:
            return pa.nulls(self.rows, pa.string())
        if not _is_text(column):
            self.refuse_all()
            return pa.nulls(self.rows, pa.string())
        length = pc.utf8_length(column)
        checked = pc.and_(pc.greater_equal(length, _int(1)), pc.less_equal(length, _int(max_length)))
        if pattern is not None:
            checked = pc.and_(checked, pc.match_substring_regex(column, pattern))
        good = _as_mask(checked)
        if optional and column.null_count:
            self.keep(good | _as_mask(pc.is_null(column)))
        else:
            self.keep(good)
        if good.all():
            return column.combine_chunks().cast(pa.string())
        return pc.if_else(pa.array(good), column, _null(column)).combine_chunks().cast(pa.string())

    def boolean(self, name: str) -> pa.Array:
        """Optional, false when absent; the narrow form is a boolean column or exactly true/false."""
        column = self.column(name)
        if pa.types.is_null(column.type):
            return pa.array(np.zeros(self.rows, dtype=bool))
        if pa.types.is_boolean(column.type):
            return pc.fill_null(column, False).combine_chunks()
        if not _is_text(column):
            self.refuse_all()
            return pa.array(np.zeros(self.rows, dtype=bool))
        self.keep(pc.or_kleene(pc.is_null(column), pc.is_in(column, value_set=_BOOLEAN_TEXT)))
        return pc.fill_null(pc.equal(column, _TRUE_TEXT), False).combine_chunks()

    def number(self, name: str, low: float, high: float, *, default: float | None = None) -> pa.Array:
        return self._numeric(name, low, high, pa.float64(), _DECIMAL, default)

    def integer(self, name: str, low: int, high: int, *, default: int | None = None) -> pa.Array:
        return self._numeric(name, low, high, pa.int64(), _INTEGER, default)

    def _numeric(
        self, name: str, low: float, high: float, target: pa.DataType, pattern: str, default: float | None
    ) -> pa.Array:
        column = self.column(name)
        if pa.types.is_null(column.type):
            if default is None:
                self.refuse_all()
            return pa.array(np.full(self.rows, default if default is not None else 0), target)
        if column.null_count == 0 and _lossless(column.type, target):
            values = column.to_numpy().astype(target.to_pandas_dtype(), copy=False)
            self.keep((values >= low) & (values <= high))
            return pa.array(values, target)
        if _is_text(column):
            form = pc.match_substring_regex(column, pattern)
            values = pc.cast(pc.if_else(form, column, _null(column)), target)
        elif pa.types.is_integer(column.type) or (
            pa.types.is_floating(column.type) and pa.types.is_floating(target)
        ):
            # The reference takes no float where an integer is due: such a column goes the slow way.
            values = pc.cast(column, target)
        else:
            self.refuse_all()
            return pa.nulls(self.rows, target)
        good = pc.and_(
            pc.greater_equal(values, pa.scalar(low, target)), pc.less_equal(values, pa.scalar(high, target))
        )
        if default is None:
            self.keep(good)
        else:
            self.keep(pc.or_kleene(pc.is_null(column), good))
            values = pc.fill_null(values, pa.scalar(default, target))
        return values.combine_chunks()

    def plate(self, nev_marks: str) -> pa.Array:
        """Plates are few compared with readings: the reference checks each distinct one once."""
        column = self.required("plate")
        if not _is_text(column):
            self.refuse_all()
            return pa.nulls(self.rows, pa.string())
        distinct = pc.unique(column)
        normalised = [_plate(raw, nev_marks) if raw is not None else None for raw in distinct.to_pylist()]
        plates = pa.array(normalised, pa.string()).take(pc.index_in(column, value_set=distinct))
        if plates.null_count:
            self.keep(pc.is_valid(plates))
        return plates

    def colour(self) -> pa.Array:
        column = self.required("plate_colour")
        if pa.types.is_integer(column.type) and column.null_count == 0:
            values = column.to_numpy()
            known = np.isin(values, _COLOUR_VALUES)
            self.keep(known)
            return pa.array(np.where(known, values, 0).astype(np.int8))
        if _is_text(column):
            column = pc.cast(
                pc.if_else(pc.match_substring_regex(column, r"^[0-9]$"), column, _null(column)), pa.int64()
            )
        elif not pa.types.is_integer(column.type):
            self.refuse_all()
            return pa.nulls(self.rows, pa.int8())
        known = pc.is_in(column, value_set=_COLOUR_CODES)
        self.keep(known)
        return pc.cast(pc.if_else(known, column, pa.scalar(0, column.type)), pa.int8()).combine_chunks()

    def time(self) -> pa.Array:
        column = self.required("time")
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            return pc.cast(column, UTC_TS).combine_chunks()
        if not _is_text(column):
            self.refuse_all()
            return pa.nulls(self.rows, UTC_TS)
        form = pc.match_substring_regex(column, _ISO_TIME)
        self.keep(form)
        candidates = pc.if_else(form, column, _null(column))
        try:
            return pc.cast(candidates, UTC_TS).combine_chunks()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # A well-formed but impossible date (2月30日): the reference decides, row by row.
            self.refuse_all()
            return pa.nulls(self.rows, UTC_TS)

    def fast_rows(self) -> Mask:
        return self.ok


def jsonable(value: Any) -> Any:
    """A value read from a column, as the domain parsers take it from JSON (times as ISO 8601)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _slow_rows(
    kind: ReadingKind,
    raw: pa.Table,
    rows: np.ndarray,
    now: datetime,
    clock_skew: timedelta,
    nev_marks: str,
    first_index: int,
) -> tuple[list[tuple[int, Position | Passage]], list[RejectedRecord]]:
    accepted: list[tuple[int, Position | Passage]] = []
    rejected: list[RejectedRecord] = []
    if not len(rows):
        return accepted, rejected
    for row, record in zip(rows.tolist(), raw.take(pa.array(rows)).to_pylist(), strict=True):
        record = {key: jsonable(value) for key, value in record.items()}
        try:
            accepted.append(
                (row, parse_reading(kind, record, now, clock_skew=clock_skew, nev_marks=nev_marks))
            )
        except InvalidRecord as exc:
            rejected.append(RejectedRecord(first_index + row, sent_record_id(record), exc.errors))
    return accepted, rejected


def _merge(fast: pa.Table, fast_rows: np.ndarray, slow: pa.Table, slow_rows: list[int]) -> pa.Table:
    if slow.num_rows == 0:
        return fast
    if fast.num_rows == 0:
        return slow
    # Keep the sender's order, so "the first of two copies" means the same on both paths.
    order = np.argsort(np.concatenate([np.flatnonzero(fast_rows), np.array(slow_rows, dtype=np.int64)]))
    return pa.concat_tables([fast, slow]).take(pa.array(order))


def _defects(
    time: pa.Array, lon: pa.Array, lat: pa.Array, speed: pa.Array, altitude: pa.Array, limit: datetime
) -> pa.Array:
    def outside(values: pa.Array, bounds: tuple[float, float]) -> Mask:
        # A null is a defect: as NaN (to_numpy's null) it fails both comparisons.
        v = values.to_numpy(zero_copy_only=False)
        return np.asarray(~((v >= bounds[0]) & (v <= bounds[1])), dtype=np.bool_)

    late = pc.cast(time, pa.int64()).to_numpy(zero_copy_only=False) > pa.scalar(limit, UTC_TS).value
    if time.null_count:
        late |= _as_mask(pc.is_null(time))
    flags = [
        (Defect.TIME, late),
        (Defect.LON, outside(lon, VALID_LON)),
        (Defect.LAT, outside(lat, VALID_LAT)),
        (Defect.SPEED, outside(speed, VALID_SPEED_KMH)),
        (Defect.ALTITUDE, outside(altitude, VALID_ALTITUDE_M)),
    ]
    names = [defect.value for defect, _ in flags]
    matrix = np.column_stack([f for _, f in flags])
    defective = np.flatnonzero(matrix.any(axis=1))
    if not len(defective):
        return pa.nulls(len(time), pa.string())
    out: list[str | None] = [None] * len(time)
    # Defective fixes are the exception: joining their names in Python costs little.
    for row in defective.tolist():
        out[row] = ",".join(name for name, bad in zip(names, matrix[row], strict=True) if bad)
    return pa.array(out, pa.string())


def check_positions(
    raw: pa.Table,
    now: datetime,
    *,
    received_at: datetime,
    clock_skew: timedelta = timedelta(minutes=5),
    nev_marks: str = "DF",
    first_index: int = 0,
) -> tuple[pa.Table, list[RejectedRecord]]:
    b = _Batch(raw, POSITION_FIELDS)
    terminal = b.text("terminal", _TERMINAL, 20)
    plate = b.plate(nev_marks)
    colour = b.colour()
    time = b.time()
    lon = b.number("lon", -180.0, 180.0)
    lat = b.number("lat", -90.0, 90.0)
    speed = b.number("speed_kmh", 0.0, MAX_WIRE_SPEED_KMH, default=0.0)
    heading = b.integer("heading", 0, MAX_HEADING, default=0)
    altitude = b.integer("altitude_m", MIN_WIRE_ALTITUDE_M, MAX_WIRE_ALTITUDE_M, default=0)
    alarm = b.integer("alarm", 0, MAX_DWORD, default=0)
    status = b.integer("status", 0, MAX_DWORD, default=0)
    extras = b.text("extras", None, MAX_EXTRAS_CHARS, optional=True)
    backfill = b.boolean("backfill")
    fast = b.fast_rows()
    mask = None if fast.all() else pa.array(fast)

    def take(array: pa.Array) -> pa.Array:
        return array if mask is None else array.filter(mask)

    t = take(time)
    seconds = pc.cast(pc.divide(pc.cast(t, pa.int64()), _int(1_000_000)), pa.string())
    defects = _defects(t, take(lon), take(lat), take(speed), take(altitude), now + clock_skew)
    table = pa.Table.from_arrays(
        [
            pc.binary_join_element_wise(take(terminal), seconds, pa.scalar("@", pa.string())),
            take(terminal),
            take(plate),
            take(colour),
            t,
            take(lon),
            take(lat),
            take(speed),
            pc.cast(take(heading), pa.int16()),
            pc.cast(take(altitude), pa.int32()),
            pc.cast(take(alarm), pa.uint32()),
            pc.cast(take(status), pa.uint32()),
            take(extras),
            take(backfill),
            pc.is_null(defects),
            defects,
            pa.repeat(pa.scalar(received_at, UTC_TS), len(t)),
        ],
        schema=SCHEMAS[ReadingKind.POSITION],
    )
    if mask is None:
        return table, []
    accepted, rejected = _slow_rows(
        ReadingKind.POSITION, raw, np.flatnonzero(~fast), now, clock_skew, nev_marks, first_index
    )
    slow = positions_table([r for _, r in accepted if isinstance(r, Position)], received_at)
    return _merge(table, fast, slow, [i for i, _ in accepted]), rejected


def check_passages(
    raw: pa.Table,
    now: datetime,
    *,
    received_at: datetime,
    clock_skew: timedelta = timedelta(minutes=5),
    nev_marks: str = "DF",
    first_index: int = 0,
) -> tuple[pa.Table, list[RejectedRecord]]:
    b = _Batch(raw, PASSAGE_FIELDS)
    record_id = b.text("record_id", _RECORD_ID, MAX_RECORD_ID_LENGTH)
    site_id = b.text("site_id", _RECORD_ID, MAX_SITE_ID_LENGTH)
    time = b.time()
    b.keep(pc.less_equal(time, pa.scalar(now + clock_skew, UTC_TS)))
    plate = b.plate(nev_marks)
    colour = b.colour()
    lane = b.integer("lane", 1, MAX_LANE, default=-1)
    direction = b.text("direction", None, MAX_DIRECTION_LENGTH, optional=True)
    vehicle_class = b.integer("vehicle_class", 1, 26, default=-1)
    b.keep(pc.or_(pc.equal(vehicle_class, _int(-1)), pc.is_in(vehicle_class, _TOLL_CLASSES)))
    axles = b.integer("axles", MIN_PASSAGE_AXLES, MAX_PASSAGE_AXLES, default=-1)
    image = b.text("image_sha256", _HEX64, 64, optional=True)
    fast = b.fast_rows()
    mask = pa.array(fast)

    def take(array: pa.Array) -> pa.Array:
        return array.filter(mask)

    def optional(array: pa.Array, to: pa.DataType) -> pa.Array:
        # -1 stood in for "not sent" while checking ranges; the record keeps it as null.
        values = take(array)
        return pc.cast(pc.if_else(pc.equal(values, _int(-1)), _null(values), values), to)

    table = pa.Table.from_arrays(
        [
            take(record_id),
            take(site_id),
            take(plate),
            take(colour),
            take(time),
            optional(lane, pa.int8()),
            take(direction),
            optional(vehicle_class, pa.int8()),
            optional(axles, pa.int8()),
            pc.utf8_lower(take(image)),
            pa.repeat(pa.scalar(received_at, UTC_TS), int(fast.sum())),
        ],
        names=["record_id", "site_id", "plate", "plate_colour", "time", "lane", "direction",
               "vehicle_class", "axles", "image_sha256", "received_at"],
    ).select(SCHEMAS[ReadingKind.PASSAGE].names).cast(SCHEMAS[ReadingKind.PASSAGE])  # fmt: skip
    accepted, rejected = _slow_rows(
        ReadingKind.PASSAGE, raw, np.flatnonzero(~fast), now, clock_skew, nev_marks, first_index
    )
    slow = passages_table([r for _, r in accepted if isinstance(r, Passage)], received_at)
    return _merge(table, fast, slow, [i for i, _ in accepted]), rejected


CHECKS: dict[ReadingKind, Callable[..., tuple[pa.Table, list[RejectedRecord]]]] = {
    ReadingKind.POSITION: check_positions,
    ReadingKind.PASSAGE: check_passages,
}
