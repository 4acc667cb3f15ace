"""The vectorized checks of adapters/readings/columns.py against the reference parsers.

Whatever the rows, the columnar path must accept exactly the records domain.readings accepts,
with identical values, and refuse the others with the reference's own reasons.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifa.adapters.readings.arrow import ArrowReadings
from zhifa.adapters.readings.columns import UnknownColumns, check_passages, check_positions
from zhifa.adapters.readings.schema import SCHEMAS, passages_table, positions_table
from zhifa.domain.readings import (
    PASSAGE_FIELDS,
    POSITION_FIELDS,
    ReadingKind,
    RejectedRecord,
    parse_passage,
    parse_position,
)
from zhifa.domain.weighings import InvalidRecord

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
RECEIVED = NOW + timedelta(seconds=1)


def mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values most of the time, so that accepted rows are common and their values compared."""
    return st.integers(min_value=0, max_value=9).flatmap(lambda n: odd if n == 0 else valid)


plates = mostly(
    st.sampled_from(["皖A12345", "皖AD12345", "皖A12345D", "沪B7777挂", "皖K0000Z"]),
    st.sampled_from(["皖a·12345", "皖AI2345", "X12345", "", " 皖A12345"]),
)
iso_times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds, zones apart
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
    ),
)
times = mostly(
    st.one_of(
        iso_times.map(lambda d: d.isoformat()),
        iso_times.map(lambda d: d.isoformat().replace("+00:00", "Z")),
        iso_times.map(lambda d: d.replace(microsecond=0).isoformat()),
    ),
    st.sampled_from(
        ["2026-11-21 08:00:00+08:00", "2026-02-30T08:00:00+08:00", "2026-11-21T08:00:00",
         "2026-11-21T08:00:00.1234567+08:00", "2026-11-21T08:00:00+0800", "tomorrow", "",
         "2027-11-21T08:00:00+08:00", "2026-11-21T02:04:59Z", "2026-11-21T02:05:01Z"]
    ),
)  # fmt: skip


def decimals(low: float, high: float) -> st.SearchStrategy[str]:
    return st.one_of(
        st.decimals(min_value=low, max_value=high, places=6, allow_nan=False).map(str),
        st.floats(min_value=low, max_value=high).map(repr),
        st.integers(min_value=int(low), max_value=int(high)).map(str),
    )


def numbers(low: float, high: float, edges: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    # The edges of RULES.md's valid ranges, where an off-by-one in a bound would show.
    return mostly(
        st.one_of(decimals(low, high), st.sampled_from(edges or (str(low),))),
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True).map(repr),
            st.sampled_from([" 1.5", "1e2", "-0", "abc", "", "160", "160.0001", "73.55", "135.083", "-200"]),
        ),
    )


def integers(low: int, high: int, edges: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    return mostly(
        st.one_of(st.integers(min_value=low, max_value=high).map(str), st.sampled_from(edges or (str(low),))),
        st.one_of(
            st.integers(min_value=-(2**34), max_value=2**34).map(str),
            st.sampled_from(["1_000", " 7", "7.0", "", "-1", "+5", "007"]),
        ),
    )


colours = mostly(st.sampled_from(["0", "1", "2", "5", "9"]), st.sampled_from(["6", " 2", "02", "x", "-1"]))


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.integers(min_value=0, max_value=3).flatmap(lambda n: st.none() if n == 0 else strategy)


def required(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.integers(min_value=0, max_value=29).flatmap(lambda n: st.none() if n == 0 else strategy)


position_rows = st.fixed_dictionaries(
    {
        "terminal": required(
            mostly(
                st.from_regex(r"[0-9]{11,20}", fullmatch=True), st.sampled_from(["1" * 21, "1380000000a", ""])
            )
        ),
        "plate": required(plates),
        "plate_colour": required(colours),
        "time": required(times),
        "lon": required(numbers(70, 140, ("73.55", "73.549", "135.083", "135.0831"))),
        "lat": required(numbers(0, 60, ("3.85", "3.849", "53.55", "53.5501"))),
        "speed_kmh": optional(numbers(0, 200, ("0", "155", "160", "160.1", "6553.5", "6553.6"))),
        "heading": optional(integers(0, 359, ("359", "360"))),
        "altitude_m": optional(integers(-300, 7000, ("-200", "-201", "6500", "6501", "-32768", "65536"))),
        "alarm": optional(integers(0, 2**32 - 1)),
        "status": optional(integers(0, 2**32 - 1)),
        "extras": optional(mostly(st.just('{"01": 1234}'), st.sampled_from(["", "x" * 4097]))),
        "backfill": optional(
            mostly(st.sampled_from(["true", "false"]), st.sampled_from(["1", "0", "yes", ""]))
        ),
    }
)
passage_rows = st.fixed_dictionaries(
    {
        "record_id": required(
            mostly(st.from_regex(r"[0-9A-Za-z][0-9A-Za-z_.:\-]{0,30}", fullmatch=True),
                   st.sampled_from(["-bad", "a" * 65, "", "a b"]))
        ),
        "site_id": required(mostly(st.sampled_from(["G3-K123", "S1"]), st.just("站点"))),
        "time": required(times),
        "plate": required(plates),
        "plate_colour": required(colours),
        "lane": optional(integers(1, 99)),
        "direction": optional(mostly(st.sampled_from(["up", "下行"]), st.sampled_from(["", "x" * 17]))),
        "vehicle_class": optional(
            mostly(st.sampled_from(["1", "4", "11", "16", "21", "26"]), st.sampled_from(["5", "27", "0"]))
        ),
        "axles": optional(integers(2, 20)),
        "image_sha256": optional(
            mostly(st.sampled_from(["ab" * 32, "AB" * 32]), st.sampled_from(["zz" * 32, "ab"]))
        ),
    }
)  # fmt: skip


def reference(kind: ReadingKind, rows: list[dict[str, Any]]) -> tuple[pa.Table, list[RejectedRecord]]:
    accepted, rejected = [], []
    parse = parse_position if kind is ReadingKind.POSITION else parse_passage
    for index, row in enumerate(rows):
        try:
            accepted.append(parse(row, NOW))
        except InvalidRecord as exc:
            record_id = row.get("record_id")
            rejected.append(
                RejectedRecord(index, record_id if isinstance(record_id, str) else None, exc.errors)
            )
    build = positions_table if kind is ReadingKind.POSITION else passages_table
    return build(accepted, RECEIVED), rejected  # type: ignore[arg-type]


def as_table(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> pa.Table:
    return pa.table({name: pa.array([row.get(name) for row in rows], pa.string()) for name in fields})


@settings(max_examples=150, deadline=None)
@given(st.lists(position_rows, min_size=1, max_size=25))
def test_positions_match_the_reference_on_text_columns(rows: list[dict[str, Any]]) -> None:
    """CSV-like text columns: same accepted records (values, defects, order) and same refusals."""
    table, rejected = check_positions(as_table(rows, POSITION_FIELDS), NOW, received_at=RECEIVED)
    expected, expected_rejected = reference(ReadingKind.POSITION, rows)
    assert table.schema == SCHEMAS[ReadingKind.POSITION]
    assert table.to_pylist() == expected.to_pylist()
    assert rejected == expected_rejected


@settings(max_examples=150, deadline=None)
@given(st.lists(passage_rows, min_size=1, max_size=25))
def test_passages_match_the_reference_on_text_columns(rows: list[dict[str, Any]]) -> None:
    """Same for passages, including refusal of a time in the future and of non-JT/T 489 classes."""
    table, rejected = check_passages(as_table(rows, PASSAGE_FIELDS), NOW, received_at=RECEIVED)
    expected, expected_rejected = reference(ReadingKind.PASSAGE, rows)
    assert table.to_pylist() == expected.to_pylist()
    assert rejected == expected_rejected


typed_positions = st.fixed_dictionaries(
    {
        "terminal": st.sampled_from(["13800000001", "13800000002"]),
        "plate": plates,
        "plate_colour": st.integers(min_value=-1, max_value=10),
        "time": st.datetimes(
            min_value=datetime(2020, 1, 1),  # noqa: DTZ001
            max_value=datetime(2028, 1, 1),  # noqa: DTZ001
            timezones=st.just(UTC),
        ),
        "lon": st.floats(min_value=-200, max_value=200),
        "lat": st.floats(allow_nan=True),
        "speed_kmh": st.one_of(st.none(), st.floats(min_value=-1, max_value=7000)),
        "heading": st.one_of(st.none(), st.integers(min_value=-1, max_value=400)),
        "altitude_m": st.integers(min_value=-40000, max_value=70000),
        "backfill": st.one_of(st.none(), st.booleans()),
    }
)


@settings(max_examples=100, deadline=None)
@given(st.lists(typed_positions, min_size=1, max_size=25))
def test_positions_match_the_reference_on_typed_columns(rows: list[dict[str, Any]]) -> None:
    """Parquet-like typed columns (integers, doubles, aware timestamps) give the reference's result."""
    raw = pa.Table.from_pylist(rows)
    table, rejected = check_positions(raw, NOW, received_at=RECEIVED)
    expected, expected_rejected = reference(
        ReadingKind.POSITION,
        [{**row, "time": row["time"].isoformat()} for row in rows],
    )
    assert table.to_pylist() == expected.to_pylist()
    assert rejected == expected_rejected


gateway_positions = st.fixed_dictionaries(
    {
        "terminal": st.sampled_from(["13800000001", "13800000002", "1380000000x"]),
        "plate": plates,
        "plate_colour": st.integers(min_value=-1, max_value=10),
        "time": st.datetimes(
            min_value=datetime(2020, 1, 1),  # noqa: DTZ001
            max_value=datetime(2028, 1, 1),  # noqa: DTZ001
        ),
        "lon": st.floats(min_value=-200, max_value=200),
        "lat": st.floats(allow_nan=True, allow_infinity=True),
        "speed_kmh": st.floats(min_value=-1, max_value=7000),
        "heading": st.integers(min_value=-(2**31), max_value=2**31 - 1),
        "altitude_m": st.integers(min_value=-40000, max_value=70000),
        "alarm": st.integers(min_value=0, max_value=2**32 - 1),
        "status": st.integers(min_value=0, max_value=2**32 - 1),
        "extras": st.one_of(st.none(), st.just('{"rssi": 25}'), st.just("")),
        "backfill": st.booleans(),
    }
)
GATEWAY_DTYPES: dict[str, Any] = {
    "time": "datetime64[us]",
    "lon": np.float64,
    "lat": np.float64,
    "speed_kmh": np.float64,
    "heading": np.int32,
    "altitude_m": np.int32,
    "alarm": np.uint32,
    "status": np.uint32,
}


@settings(max_examples=100, deadline=None)
@given(st.lists(gateway_positions, min_size=1, max_size=25))
def test_positions_match_the_reference_on_gateway_columns(rows: list[dict[str, Any]]) -> None:
    """The JT/T 808 gateway's columns: numpy arrays (UTC datetimes, narrow integers) beside lists,
    checked in numpy where they are typed and free of nulls, give the reference's result."""
    columns: dict[str, Any] = {
        name: np.array([row[name] for row in rows], dtype=GATEWAY_DTYPES[name])
        if name in GATEWAY_DTYPES
        else [row[name] for row in rows]
        for name in rows[0]
    }
    table, rejected = check_positions(
        ArrowReadings().from_columns(ReadingKind.POSITION, columns), NOW, received_at=RECEIVED
    )
    expected, expected_rejected = reference(
        ReadingKind.POSITION,
        [{**row, "time": row["time"].replace(tzinfo=UTC).isoformat()} for row in rows],
    )
    assert table.to_pylist() == expected.to_pylist()
    assert rejected == expected_rejected


def test_unknown_columns_refuse_the_whole_batch() -> None:
    """A misspelt column would silently drop a field on every row: the batch is refused instead."""
    with pytest.raises(UnknownColumns, match="speed"):
        check_positions(pa.table({"terminal": ["1"], "speed": ["3"]}), NOW, received_at=RECEIVED)


def test_index_of_refusals_counts_from_the_batch_start() -> None:
    """A file is checked in batches: refusals name the record's place in the whole file."""
    raw = as_table([{"terminal": "x"}], POSITION_FIELDS)
    _, rejected = check_positions(raw, NOW, received_at=RECEIVED, first_index=5000)
    assert [r.index for r in rejected] == [5000]
