"""The simulator's fast JT/T 808 paths (adapters/protocol/jt808/fast.py) against the reference codec:
every frame and body they write is what ``encode_body`` + ``build_frame`` write, and every 0x8001 they
read is what ``Deframer`` + ``parse_frame`` + ``decode_body`` read (hypothesis)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhifa.adapters.protocol.jt808 import (
    Deframer,
    FrameError,
    Location,
    LocationBatch,
    PlatformResponse,
    build_frame,
    decode_body,
    decode_location,
    encode_body,
    parse_frame,
)
from zhifa.adapters.protocol.jt808.fast import (
    SIM_BODY_SIZE,
    sim_batch_body,
    sim_location_frames,
    sim_location_header,
    sim_platform_responses,
)

GMT8 = timezone(timedelta(hours=8))
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
# Epoch seconds of 2000-01-01 00:00 to 2099-12-31 23:59:59 in GMT+8, the BCD time's range.
FIRST_S = int(datetime(2000, 1, 1, tzinfo=GMT8).timestamp())
LAST_S = int(datetime(2099, 12, 31, 23, 59, 59, tzinfo=GMT8).timestamp())
times = st.integers(FIRST_S, LAST_S)
# Hex nibbles pass as a phone (real terminals send them), and put 0x7d/0x7e in the header too.
phones = st.text(alphabet="0123456789abcdef", min_size=1, max_size=12)
phones_2019 = st.text(alphabet="0123456789abcdef", min_size=1, max_size=20)

ROW = ("serial", "lat_e6", "lon_e6", "altitude_m", "speed_dkmh", "heading_deg", "time_s", "mileage_hkm")
rows = st.tuples(u16, u32, u32, u16, u16, u16, times, u32)


def reference(
    version: int, phone: str, row: tuple[int, ...], constants: dict[str, int]
) -> tuple[bytes, bytes]:
    """The frame and body ``encode_body`` and ``build_frame`` write for the same fix."""
    serial, lat_e6, lon_e6, altitude, speed, heading, time_s, mileage = row
    status = constants["status"]
    # The signs follow status bits 2/3, as on the wire.
    lat = -(lat_e6 / 1e6) if status & 4 else lat_e6 / 1e6
    lon = -(lon_e6 / 1e6) if status & 8 else lon_e6 / 1e6
    location = Location(
        alarm=constants["alarm"],
        status=status,
        lat=lat,
        lon=lon,
        altitude_m=altitude,
        speed_kmh=speed / 10,
        heading_deg=heading,
        time=datetime.fromtimestamp(time_s, GMT8),
        extras={
            "mileage_km": mileage / 10,
            "rssi": constants["rssi"],
            "gnss_satellites": constants["satellites"],
        },
    )
    msg_id, body = encode_body(location, version)
    return build_frame(msg_id, phone, serial, body, version=version), body


def encode(
    version: int, phones: list[str], fixes: Sequence[tuple[int, ...]], **constants: int
) -> tuple[list[bytes], list[bytes]]:
    headers = np.array([list(sim_location_header(p, version)) for p in phones], dtype=np.uint8)
    columns = {name: np.array([fix[i] for fix in fixes], dtype=np.int64) for i, name in enumerate(ROW)}
    serial = columns.pop("serial").tolist()
    return sim_location_frames(headers, serial, **columns, **constants)  # type: ignore[arg-type]


constants = st.fixed_dictionaries({"alarm": u32, "status": u32, "rssi": u8, "satellites": u8})


@SETTINGS
@given(
    st.sampled_from([2013, 2019]).flatmap(
        lambda v: st.tuples(
            st.just(v),
            st.lists(st.tuples(phones if v == 2013 else phones_2019, rows), min_size=1, max_size=12),
        )
    ),
    constants,
)
def test_location_frames_are_the_reference_encoding(
    case: tuple[int, list[tuple[str, tuple[int, ...]]]], fixed: dict[str, int]
) -> None:
    """Any phones and in-range values, both versions, escapes included: byte for byte the codec's."""
    version, fixes = case
    frames, bodies = encode(version, [p for p, _ in fixes], [row for _, row in fixes], **fixed)
    for (phone, row), frame, body in zip(fixes, frames, bodies, strict=True):
        assert (frame, body) == reference(version, phone, row, fixed)
        assert len(body) == SIM_BODY_SIZE


def test_a_fleet_clock_on_one_day_and_across_midnight() -> None:
    """The date is worked out once when a tick's fixes share a day, per fix when they do not."""
    midnight = int(datetime(2026, 11, 22, tzinfo=GMT8).timestamp())
    fixed = {"alarm": 0, "status": 3, "rssi": 25, "satellites": 14}
    for times_s in ([midnight - 40, midnight - 10, midnight - 1], [midnight - 1, midnight, midnight + 30]):
        fixes = [(i, 31_820_000, 117_227_000, 50, 654, 123, t, 12_345) for i, t in enumerate(times_s)]
        frames, _ = encode(2013, ["14405000001"] * 3, fixes, **fixed)
        assert frames == [reference(2013, "14405000001", fix, fixed)[0] for fix in fixes]


def test_no_fixes_no_frames() -> None:
    headers = np.zeros((0, 10), dtype=np.uint8)
    empty = np.zeros(0, dtype=np.int64)
    args = [empty] * 7
    assert sim_location_frames(headers, [], *args, alarm=0, status=0, rssi=0, satellites=0) == ([], [])


@pytest.mark.parametrize(
    ("field", "value"),
    [("serial", 0x10000), ("lat_e6", 1 << 32), ("lon_e6", -1), ("altitude_m", -1), ("speed_dkmh", 0x10000),
     ("heading_deg", 0x10000), ("mileage_hkm", 1 << 32)],
)  # fmt: skip
def test_values_wider_than_their_field_are_refused(field: str, value: int) -> None:
    """As the reference encoder refuses them (ValueError), rather than wrapping around."""
    fix = dict(zip(ROW, (1, 31_820_000, 117_227_000, 50, 654, 123, FIRST_S, 12_345), strict=True))
    fix[field] = value
    with pytest.raises(ValueError, match="does not fit"):
        encode(2013, ["14405000001"], [tuple(fix.values())], alarm=0, status=3, rssi=25, satellites=14)


@pytest.mark.parametrize(
    ("name", "value"), [("alarm", 1 << 32), ("status", -1), ("rssi", 256), ("satellites", -1)]
)
def test_constants_wider_than_their_field_are_refused(name: str, value: int) -> None:
    fixed = {"alarm": 0, "status": 3, "rssi": 25, "satellites": 14, name: value}
    with pytest.raises(ValueError, match="does not fit"):
        encode(2013, ["14405000001"], [(1, 31_820_000, 117_227_000, 50, 654, 123, FIRST_S, 12_345)], **fixed)


@pytest.mark.parametrize("time_s", [FIRST_S - 1, LAST_S + 1])
def test_times_outside_the_bcd_century_are_refused(time_s: int) -> None:
    with pytest.raises(ValueError, match="2000-2099"):
        encode(
            2013, ["14405000001"], [(1, 1, 1, 1, 1, 1, time_s, 1)], alarm=0, status=3, rssi=25, satellites=14
        )


@SETTINGS
@given(st.lists(rows, max_size=20), u8, constants)
def test_batch_body_is_the_reference_encoding(
    fixes: list[tuple[int, ...]], kind: int, fixed: dict[str, int]
) -> None:
    """A 0x0704 of stored 0x0200 bodies is what encode_body writes for their locations."""
    bodies = [reference(2013, "1", row, fixed)[1] for row in fixes]
    items = tuple(decode_location(b) for b in bodies)
    assert sim_batch_body(kind, bodies) == encode_body(LocationBatch(kind, items), 2013)[1]


def read(data: bytes) -> list[tuple[int, int, int]]:
    """What the reference codec reads from a stream: each 0x8001's (ack serial, ack id, result)."""
    out = []
    for raw in Deframer().feed(data):
        assert not isinstance(raw, FrameError)
        frame = parse_frame(raw)
        message = decode_body(frame.header.msg_id, frame.body, frame.header.version)
        assert isinstance(message, PlatformResponse)
        out.append((message.ack_serial, message.ack_id, message.result))
    return out


answers = st.lists(st.tuples(phones, u16, st.builds(PlatformResponse, u16, u16, u8)), min_size=1, max_size=8)


def wire(version: int, items: list[tuple[str, int, PlatformResponse]]) -> bytes:
    return b"".join(
        build_frame(0x8001, phone, serial, encode_body(response, version)[1], version=version)
        for phone, serial, response in items
    )


@SETTINGS
@given(answers)
def test_platform_responses_read_as_the_reference_reads_them(
    items: list[tuple[str, int, PlatformResponse]],
) -> None:
    """Whole -2013 0x8001 frames are read as the codec reads them, or left to it when escaped."""
    data = wire(2013, items)
    fast = sim_platform_responses(data)
    if b"\x7d" in data:
        assert fast is None
    else:
        assert fast == read(data)
    assert sim_platform_responses(bytearray(data)) == fast


@SETTINGS
@given(answers, st.data())
def test_anything_else_is_left_to_the_reference(
    items: list[tuple[str, int, PlatformResponse]], data: st.DataObject
) -> None:
    """A changed byte, a cut or extra bytes: either None, or exactly what the reference reads."""
    stream = bytearray(wire(2013, items))
    change = data.draw(st.sampled_from(["flip", "cut", "append", "2019"]))
    if change == "flip":
        at = data.draw(st.integers(0, len(stream) - 1))
        stream[at] ^= data.draw(st.integers(1, 0xFF))
    elif change == "cut":
        del stream[data.draw(st.integers(1, len(stream) - 1)) :]
    elif change == "append":
        stream += data.draw(st.binary(min_size=1, max_size=40))
    else:
        stream = bytearray(wire(2019, items))
    fast = sim_platform_responses(bytes(stream))
    if fast is not None:
        assert fast == read(bytes(stream))


def test_other_messages_and_versions_are_left_to_the_reference() -> None:
    ack = PlatformResponse(7, 0x0200, 0)
    assert sim_platform_responses(build_frame(0x8001, "14405000001", 3, encode_body(ack, 2013)[1])) == [
        (7, 0x0200, 0)
    ]
    assert (
        sim_platform_responses(build_frame(0x8001, "14405000001", 3, encode_body(ack, 2019)[1], version=2019))
        is None
    )
    # a 0x8100 register answer of the same length
    assert sim_platform_responses(build_frame(0x8100, "14405000001", 3, b"\x00\x07\x00\x41\x42")) is None
    assert sim_platform_responses(b"") is None
