"""Round-trip properties of the JT/T 808 codec (hypothesis): every message type in 2011/2013/2019,
escape-heavy bytes, subpackaging through Deframer and Reassembler, and the JSON form."""

from __future__ import annotations

import functools
import json
import operator
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhifa.adapters.protocol.jt808 import (
    EXTRA_KEYS,
    MSG_REGISTER,
    PARAMETERS,
    Authenticate,
    Deframer,
    Frame,
    Heartbeat,
    Location,
    LocationBatch,
    LocationQuery,
    LocationQueryResponse,
    Logout,
    PlatformResponse,
    Reassembler,
    Register,
    RegisterResponse,
    SetParameters,
    TerminalResponse,
    TimeQuery,
    TimeResponse,
    build_frame,
    build_frames,
    checksum,
    decode,
    decode_location,
    encode_body,
    encode_location,
    frame_from_json,
    frame_to_json,
    parse_frame,
)

GMT8 = timezone(timedelta(hours=8))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
ASCII = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
PLATE = "粤苏测京沪ABCDEFGHJKLMNPQRSTUVWXYZ0123456789学警"


def ascii_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=ASCII, max_size=max_size)


def gbk_text(max_bytes: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text whose GBK form fits ``max_bytes`` (Chinese characters take two)."""
    return st.text(alphabet=PLATE, min_size=min_size, max_size=max_bytes).filter(
        lambda s: len(s.encode("gbk")) <= max_bytes
    )


wire_times = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31, 23, 59, 59)).map(  # noqa: DTZ001
    lambda d: d.replace(microsecond=0)
)
phones = st.text(alphabet="0123456789", min_size=1, max_size=12)
phones_2019 = st.text(alphabet="0123456789", min_size=1, max_size=20)

KNOWN_EXTRAS: dict[str, st.SearchStrategy[object]] = {
    "mileage_km": u32.map(lambda r: r / 10),
    "fuel_l": u16.map(lambda r: r / 10),
    "tacho_speed_kmh": u16.map(lambda r: r / 10),
    "manual_alarm_event_id": u16,
    "tire_pressure": st.lists(u8, min_size=30, max_size=30),
    "carriage_temp_c": st.integers(-0x8000, 0x7FFF),
    "overspeed_alarm": st.fixed_dictionaries({"location_type": u8, "area_id": st.none() | u32}),
    "area_alarm": st.fixed_dictionaries({"location_type": u8, "area_id": u32, "direction": u8}),
    "route_time_alarm": st.fixed_dictionaries({"segment_id": u32, "time_s": u16, "result": u8}),
    "vehicle_signal": u32,
    "io_status": u16,
    "analog": u32,
    "rssi": u8,
    "gnss_satellites": u8,
}
RAW_IDS = [i for i in range(1, 256) if i not in EXTRA_KEYS]


@st.composite
def extras_dicts(draw: st.DrawFn) -> dict[str, object]:
    keys = draw(st.lists(st.sampled_from(list(KNOWN_EXTRAS)), unique=True, max_size=6))
    raw_ids = draw(st.lists(st.sampled_from(RAW_IDS), unique=True, max_size=3))
    items: list[tuple[str, object]] = [(k, draw(KNOWN_EXTRAS[k])) for k in keys]
    items += [(f"0x{i:02X}", draw(st.binary(max_size=40)).hex()) for i in raw_ids]
    order = draw(st.permutations(items))
    extras = dict(order)
    # A tail the decoder cannot read as items: terminals pad with zeros (starts with id 0x00).
    tail = draw(st.none() | st.binary(max_size=12).map(lambda b: b"\x00" + b))
    if tail is not None:
        extras["trailing"] = tail.hex()
    return extras


@st.composite
def locations(draw: st.DrawFn) -> Location:
    status = draw(u32)
    lat_raw, lon_raw = draw(u32), draw(u32)
    # The signs follow status bits 2/3, as on the wire (-0.0 included).
    lat = -(lat_raw / 1e6) if status & 4 else lat_raw / 1e6
    lon = -(lon_raw / 1e6) if status & 8 else lon_raw / 1e6
    return Location(
        alarm=draw(u32),
        status=status,
        lat=lat,
        lon=lon,
        altitude_m=draw(u16),
        speed_kmh=draw(u16) / 10,
        heading_deg=draw(u16),
        time=draw(wire_times).replace(tzinfo=GMT8),
        extras=draw(extras_dicts()),
    )


def registers(version: int) -> st.SearchStrategy[Register]:
    maker, model, terminal = {2011: (5, 8, 7), 2013: (5, 20, 7), 2019: (11, 30, 30)}[version]
    # A 2011 body is told from a 2013 one by its length, so a 2011 plate stays under 12 bytes.
    plate = gbk_text(11 if version == 2011 else 40)
    return st.builds(
        Register, u16, u16, ascii_text(maker), ascii_text(model), ascii_text(terminal), u8, plate
    )


def authentications(version: int) -> st.SearchStrategy[Authenticate]:
    if version != 2019:
        return st.builds(Authenticate, gbk_text(60))
    return st.builds(
        Authenticate,
        gbk_text(60),
        st.none() | st.text(alphabet="0123456789", min_size=1, max_size=15),
        st.none() | ascii_text(20).filter(bool),
    )


INT_PARAMS = sorted(p for p, (_, kind) in PARAMETERS.items() if kind in {"BYTE", "WORD", "DWORD"})
STRING_PARAMS = sorted(p for p, (_, kind) in PARAMETERS.items() if kind == "STRING")
MAX = {"BYTE": 0xFF, "WORD": 0xFFFF, "DWORD": 0xFFFF_FFFF}


@st.composite
def parameter(draw: st.DrawFn) -> tuple[int, int | str | bytes]:
    kind = draw(st.sampled_from(["int", "string", "unknown"]))
    if kind == "int":
        pid = draw(st.sampled_from(INT_PARAMS))
        return pid, draw(st.integers(0, MAX[PARAMETERS[pid][1]]))
    if kind == "string":
        return draw(st.sampled_from(STRING_PARAMS)), draw(gbk_text(40))
    pid = draw(u32.filter(lambda p: p not in PARAMETERS))
    return pid, draw(st.binary(max_size=20))


def messages(version: int) -> st.SearchStrategy[object]:
    return st.one_of(
        st.builds(TerminalResponse, u16, u16, u8),
        st.just(Heartbeat()),
        st.just(Logout()),
        st.just(TimeQuery()),
        st.builds(TimeResponse, wire_times.map(lambda d: d.replace(tzinfo=UTC))),
        registers(version),
        st.builds(RegisterResponse, u16, u8, st.none() | gbk_text(40, min_size=1)),
        authentications(version),
        st.builds(PlatformResponse, u16, u16, u8),
        locations(),
        st.just(LocationQuery()),
        st.builds(LocationQueryResponse, u16, locations()),
        st.builds(LocationBatch, u8, st.lists(locations(), max_size=3).map(tuple)),
        st.builds(SetParameters, st.lists(parameter(), max_size=5).map(tuple)),
    )


def _round_trip(message: object, version: int, phone: str, serial: int) -> None:
    msg_id, body = encode_body(message, version)
    if len(body) > 1023:
        return  # one frame holds 1023 bytes; splitting is tested below
    wire = build_frame(msg_id, phone, serial, body, version=version)
    header, back = decode(wire)
    assert back == message
    expected_version = (
        2011 if version == 2011 and msg_id == MSG_REGISTER else (2019 if version == 2019 else 2013)
    )
    assert (header.msg_id, header.serial, header.version) == (msg_id, serial, expected_version)
    assert header.phone.lstrip("0") == phone.lstrip("0")
    # The JSON form (what the CLI prints) encodes back to the very same wire bytes.
    as_json = json.loads(json.dumps(frame_to_json(header, back), ensure_ascii=False))
    assert frame_from_json(as_json) == [wire]


@SETTINGS
@given(message=messages(2011), phone=phones, serial=u16)
def test_round_trip_2011(message: object, phone: str, serial: int) -> None:
    """Every message encodes, frames, parses and decodes back equal under 2011 rules (register layout
    BYTE[8] model, reported as version 2011), and its JSON form re-encodes to the same wire bytes."""
    _round_trip(message, 2011, phone, serial)


@SETTINGS
@given(message=messages(2013), phone=phones, serial=u16)
def test_round_trip_2013(message: object, phone: str, serial: int) -> None:
    """The same for 2013."""
    _round_trip(message, 2013, phone, serial)


@SETTINGS
@given(message=messages(2019), phone=phones_2019, serial=u16)
def test_round_trip_2019(message: object, phone: str, serial: int) -> None:
    """The same for 2019: version flag, BCD[10] phone, 2019 register and authentication layouts."""
    _round_trip(message, 2019, phone, serial)


@SETTINGS
@given(loc=locations())
def test_location_body_round_trip_is_byte_exact(loc: Location) -> None:
    """decode_location(encode_location(x)) == x and the re-encoded bytes are identical, extras in order."""
    body = encode_location(loc)
    back = decode_location(body)
    assert back == loc
    assert list(back.extras) == list(loc.extras)
    assert encode_location(back) == body


@SETTINGS
@given(data=st.binary(max_size=3000), big=st.sampled_from([65_535, 65_536, 65_537, 200_001]), seed=u8)
def test_checksum_equals_bytewise_xor(data: bytes, big: int, seed: int) -> None:
    """The folded-int checksum equals the XOR of the bytes one by one, at every length (including
    past the precomputed fold masks)."""
    assert checksum(data) == functools.reduce(operator.xor, data, 0)
    large = (bytes(range(seed, 256)) * (big // 200 + 1))[:big]
    assert checksum(large) == functools.reduce(operator.xor, large, 0)


# --- escaping ---

escapey = st.binary(max_size=600).map(lambda b: bytes(b"\x7e\x7d\x01\x02"[x % 4] for x in b))


@SETTINGS
@given(
    body=escapey,
    serial=st.sampled_from([0x7E7E, 0x7D7D, 0x7E7D, 0x017D]),
    version=st.sampled_from([2013, 2019]),
)
def test_escape_heavy_frames_survive(body: bytes, serial: int, version: int) -> None:
    """Bodies, serials and phones made of 0x7e/0x7d go out with no inner flag, come back intact, and
    the Deframer finds exactly that one frame."""
    wire = build_frame(0x0900, "7e7d7e7d7e7d", serial, body, version=version)
    assert wire.count(b"\x7e") == 2 and wire[0] == wire[-1] == 0x7E
    frame = parse_frame(wire)
    assert (frame.body, frame.header.serial) == (body, serial)
    assert frame.header.phone.endswith("7e7d7e7d7e7d")
    assert Deframer().feed(wire) == [wire[1:-1]]


@SETTINGS
@given(
    alarm=st.sampled_from([0x7E7E7E7E, 0x7D7D7D7D, 0x7E7D7E7D]),
    extras=st.lists(
        st.binary(min_size=1, max_size=30).map(lambda b: bytes(b"\x7e\x7d"[x % 2] for x in b)), max_size=3
    ),
)
def test_escape_heavy_locations_survive(alarm: int, extras: list[bytes]) -> None:
    """A location whose words and raw extras are all 0x7e/0x7d decodes back unchanged."""
    loc = Location(alarm, alarm, 1.0, 2.0, 0x7E7D, 12.6, 0x7D7E, datetime(2024, 1, 1, tzinfo=GMT8),
                   {f"0x{0xE0 + i:02X}": raw.hex() for i, raw in enumerate(extras)})  # fmt: skip
    loc = decode_location(encode_location(loc))  # normalise the hemisphere bits to the signs
    assert decode(build_frame(0x0200, "1", 0x7E7E, encode_location(loc)))[1] == loc


# --- streams and subpackages ---


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@SETTINGS
@given(
    bodies=st.lists(st.binary(max_size=200), min_size=1, max_size=8),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
    flag_runs=st.lists(st.integers(0, 2), min_size=8, max_size=8),
)
def test_deframer_returns_exactly_the_frames(
    bodies: list[bytes], cuts: list[int], flag_runs: list[int]
) -> None:
    """Frames concatenated (with optional extra flags between them) and cut at random points come out
    of the Deframer as exactly the frames, in order, whatever the chunking."""
    wires = [build_frame(0x0900, "13800138000", i, b) for i, b in enumerate(bodies)]
    stream = b"".join(w + b"\x7e" * flag_runs[i] for i, w in enumerate(wires))
    deframer = Deframer()
    out: list[object] = []
    for chunk in _chunks(stream, cuts):
        out += deframer.feed(chunk)
    assert out == [w[1:-1] for w in wires]
    assert deframer.buffered == 0


@SETTINGS
@given(
    body=st.binary(min_size=2, max_size=4000),
    first_serial=u16,
    version=st.sampled_from([2013, 2019]),
    cuts=st.lists(st.integers(0, 100_000), max_size=30),
    data=st.data(),
)
def test_subpackages_reassemble_in_any_order(
    body: bytes, first_serial: int, version: int, cuts: list[int], data: st.DataObject
) -> None:
    """A big body split by build_frames, streamed through the Deframer in random chunks and handed to
    the Reassembler in shuffled order (with a duplicate), comes back whole: one frame, first serial,
    no packet field."""
    # Always at least two packets, at most ~40.
    max_body = data.draw(st.integers(max(1, len(body) // 40), min(1023, len(body) - 1)), label="max_body")
    wires = build_frames(0x0801, "13800138000", first_serial, body, version=version, max_body=max_body)
    assert len(wires) >= 2
    deframer = Deframer()
    raw_frames: list[bytes] = []
    for chunk in _chunks(b"".join(wires), cuts):
        for item in deframer.feed(chunk):
            assert isinstance(item, bytes)
            raw_frames.append(item)
    frames = [parse_frame(f) for f in raw_frames]
    assert len(frames) == len(wires)
    order = data.draw(st.permutations(frames), label="order")
    order = [*order[:1], order[0], *order[1:]]  # a retransmitted part
    reassembler = Reassembler()
    done = [r for f in order if (r := reassembler.add(f, 0.0)) is not None]
    assert len(done) == 1 and reassembler.pending == 0
    whole: Frame = done[0]
    assert whole.body == body
    assert whole.header.packet is None
    assert whole.header.serial == first_serial
    assert whole.header.version == version
