"""ArrowReadings.from_columns: the raw columns a gateway hands over, as Arrow, cheaply.

``column_array`` gives a list of one evident Python type its Arrow type instead of letting pyarrow
infer it (which costs more than converting a few hundred values); the property below holds it to
pyarrow's own inference for any list, whatever mixes of types and nulls it holds. numpy columns (the
gateway's columnar decoder) are taken as they are, their zone-less datetimes as UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifa.adapters.readings.arrow import ArrowReadings, column_array
from zhifa.adapters.readings.schema import UTC_TS
from zhifa.domain.readings import ReadingKind

scalars: list[st.SearchStrategy[Any]] = [
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))])),
    st.datetimes(),
]


@st.composite
def raw_lists(draw: st.DrawFn) -> list[Any]:
    """Mostly one type with nulls (a gateway's columns), sometimes any mix."""
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        values = st.one_of(st.none(), *scalars)
    else:
        values = st.one_of(st.none(), draw(st.sampled_from(scalars)))
    result: list[Any] = draw(st.lists(values, max_size=12))
    return result


def comparable(values: list[Any]) -> list[Any]:
    return ["nan" if isinstance(v, float) and math.isnan(v) else v for v in values]


def inferred(values: list[Any]) -> pa.Array | type[Exception]:
    try:
        return pa.array(values)
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(raw_lists())
def test_a_list_converts_as_pyarrow_would_infer_it(values: list[Any]) -> None:
    expected = inferred(values)
    if isinstance(expected, type):
        with pytest.raises(expected):
            column_array(values)
        return
    got = column_array(values)
    assert got.type == expected.type
    assert comparable(got.to_pylist()) == comparable(expected.to_pylist())


@given(
    st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.float32, np.float64]),
    st.lists(st.integers(min_value=0, max_value=100), max_size=10),
)
def test_numeric_numpy_columns_keep_their_dtype(dtype: Any, values: list[int]) -> None:
    array = np.array(values, dtype=dtype)
    got = column_array(array)
    assert got.type == pa.from_numpy_dtype(np.dtype(dtype))
    assert got.to_pylist() == array.tolist()


@given(st.lists(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)), max_size=10))  # noqa: DTZ001
def test_numpy_datetimes_are_utc(naive: list[datetime]) -> None:
    array = np.array(naive, dtype="datetime64[us]")
    got = column_array(array)
    assert got.type == UTC_TS
    assert got.to_pylist() == [d.replace(tzinfo=UTC) for d in naive]


def test_from_columns_takes_lists_and_arrays_alike() -> None:
    times = [datetime(2026, 11, 21, 2, 0, tzinfo=UTC), datetime(2026, 11, 21, 2, 0, 30, tzinfo=UTC)]
    columns: dict[str, Any] = {
        "terminal": ["13800000001", "13800000002"],
        "time": np.array([t.replace(tzinfo=None) for t in times], dtype="datetime64[us]"),
        "heading": np.array([90, 359], dtype=np.int32),
        "extras": [None, '{"rssi": 25}'],
        "backfill": [False, True],
    }
    table = ArrowReadings().from_columns(ReadingKind.POSITION, columns)
    assert table.column("time").to_pylist() == times
    assert table.schema.field("heading").type == pa.int32()
    assert table.column("extras").type == pa.string()
    assert table.column("backfill").to_pylist() == [False, True]
