"""The gateway's fast paths equal the reference codec: columns of 0x0200 bodies, the extras' JSON
text and the 0x8001 answers. Hypothesis draws the inputs, including bodies the reference refuses."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifa.adapters.protocol.jt808 import (
    FrameError,
    PlatformResponse,
    build_frame,
    decode_location,
    encode_body,
    parse_frame,
)
from zhifa.adapters.protocol.jt808.answers import AckEncoder
from zhifa.adapters.protocol.jt808.columnar import decode_basic, extras_json, extras_text
from zhifa.adapters.protocol.jt808.location import BASIC_SIZE, decode_extras

REAL_0200_BODY = parse_frame(
    bytes.fromhex(
        "7e02000048051160004464000d00000000000c00020159885e06cbf34400000000000020080718072201040000000130"
        "011c310109e4020063e50100e60100e7080000000000000000ee0a01cc01262c009a6743001e7e"
    )
).body


def _bcd(value: int) -> int:
    return (value // 10) << 4 | value % 10


# Mostly real times (so values get compared), sometimes any six bytes (so refusals get compared).
def _bcd_time(t: datetime) -> bytes:
    return bytes(_bcd(v) for v in (t.year % 100, t.month, t.day, t.hour, t.minute, t.second))


real_times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - naive on purpose: the wire time is GMT+8 as written
    max_value=datetime(2099, 12, 31, 23, 59, 59),  # noqa: DTZ001
).map(_bcd_time)
near_times = st.tuples(
    st.integers(0, 99), st.integers(0, 13), st.integers(0, 32), st.integers(0, 24), st.integers(0, 60),
    st.integers(0, 60),
).map(lambda parts: bytes(_bcd(v) for v in parts))  # fmt: skip
any_times = st.binary(min_size=6, max_size=6)
basic_parts = st.builds(
    lambda a, s, lat, lon, alt, spd, hd, t: struct.pack(">IIIIHHH", a, s, lat, lon, alt, spd, hd) + t,
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**16 - 1),
    st.one_of(real_times, near_times, any_times),
)
NUMERIC_ITEMS = [(0x01, 4), (0x02, 2), (0x03, 2), (0x04, 2), (0x25, 4), (0x2A, 2), (0x30, 1), (0x31, 1)]


def _numeric_item(spec: tuple[int, int]) -> st.SearchStrategy[bytes]:
    item_id, length = spec
    return st.binary(min_size=length, max_size=length).map(lambda v: bytes((item_id, length)) + v)


items = st.lists(
    st.one_of(
        st.sampled_from(NUMERIC_ITEMS).flatmap(_numeric_item),
        st.binary(min_size=0, max_size=12),  # anything: unknown ids, wrong lengths, padding, cut items
    ),
    max_size=6,
).map(b"".join)


@settings(max_examples=400)
@given(st.lists(st.tuples(basic_parts, items), min_size=1, max_size=20))
def test_columns_equal_the_reference_decoder(bodies: list[tuple[bytes, bytes]]) -> None:
    """Every column of decode_basic equals decode_location's field, and a row is invalid exactly when
    the reference refuses the body (its time is not a real BCD time)."""
    raw = [basic + extra for basic, extra in bodies]
    columns = decode_basic(raw)
    for i, body in enumerate(raw):
        try:
            loc = decode_location(body)
        except FrameError as exc:
            assert exc.reason == "body"
            assert not columns.valid[i]
            continue
        assert columns.valid[i]
        assert (columns.alarm[i], columns.status[i]) == (loc.alarm, loc.status)
        assert (columns.lat[i], columns.lon[i]) == (loc.lat, loc.lon)
        assert np.signbit(columns.lat[i]) == np.signbit(loc.lat)
        assert (columns.altitude_m[i], columns.speed_kmh[i]) == (loc.altitude_m, loc.speed_kmh)
        assert columns.heading[i] == loc.heading_deg
        as_utc = loc.time.astimezone(UTC).replace(tzinfo=None)
        assert columns.time[i] == np.datetime64(as_utc, "us")


@settings(max_examples=600)
@given(basic_parts, items)
def test_extras_text_equals_json_of_the_decoded_items(basic: bytes, extra: bytes) -> None:
    """The direct formatter writes exactly what json.dumps writes for decode_extras' items."""
    body = basic + extra
    expected = extras_text(decode_extras(body, BASIC_SIZE)) if extra else None
    assert extras_json(body) == expected


def test_extras_of_a_real_capture() -> None:
    """A real terminal's vendor items take the general path and come out as the decoder names them."""
    text = extras_json(REAL_0200_BODY)
    assert text is not None
    assert json.loads(text) == decode_extras(REAL_0200_BODY, BASIC_SIZE)


def test_a_short_body_is_refused() -> None:
    """The gateway only groups bodies holding the basic part; anything shorter is the caller's bug."""
    with pytest.raises(ValueError, match="basic part"):
        decode_basic([REAL_0200_BODY, REAL_0200_BODY[:20]])


phones = st.one_of(
    st.text("0123456789", min_size=1, max_size=12).map(lambda p: (p, 2013)),
    st.text("0123456789", min_size=1, max_size=20).map(lambda p: (p, 2019)),
    st.text("0123456789abcdef", min_size=12, max_size=12).map(lambda p: (p, 2013)),
)
words = st.integers(0, 0xFFFF)


@settings(max_examples=500)
@given(phones, words, words, words, st.integers(0, 255), st.sampled_from([0, 1, 0x7D, 0x7E]))
def test_ack_encoder_equals_build_frame(
    phone_version: tuple[str, int], serial: int, ack_serial: int, ack_id: int, result: int, pver: int
) -> None:
    """AckEncoder's frame is byte for byte build_frame(0x8001) of the same answer, escapes included."""
    phone, version = phone_version
    msg_id, body = encode_body(PlatformResponse(ack_serial, ack_id, result), version)
    expected = build_frame(msg_id, phone, serial, body, version=version, protocol_version=pver)
    assert AckEncoder(phone, version, pver).frame(serial, ack_serial, ack_id, result) == expected
