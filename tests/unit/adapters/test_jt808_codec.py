"""The JT/T 808 codec against real terminal captures (tests/data/jt808/real_captures.txt).

The annotations in that file were decoded by hand by someone else; where they are uncertain or wrong,
the assertion follows the standard and a comment says so (collected in docs/jt808.md).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from zhifa.adapters.protocol.jt808 import (
    ALARM_FLAGS,
    MSG_LOCATION,
    REASONS,
    STATUS_FLAGS,
    Authenticate,
    Deframer,
    Frame,
    FrameError,
    Header,
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
    TimeResponse,
    build_frame,
    build_frames,
    checksum,
    decode,
    decode_body,
    decode_frame,
    decode_location,
    encode_body,
    encode_location,
    escape,
    flag_names,
    load_state,
    parse_frame,
    unescape,
)
from zhifa.adapters.protocol.jt808.framing import _new_frame, _new_header
from zhifa.adapters.protocol.jt808.location import _new_location

CAPTURES = Path(__file__).parents[2] / "data" / "jt808" / "real_captures.txt"
GMT8 = timezone(timedelta(hours=8))

# Lines whose hex is already the wire form (escaped); every Traccar [Lnnn] line is post-frame-decoder,
# i.e. unescaped, and must be escaped to become a wire frame (the header says so).
WIRE_TAGS = ("WIRE-ESCAPED", "[issue5000]", "[yzh ", "[SmallChi", "[PR5997", "[wvp#2082]")
CORRUPT = "[L328]"
ESCAPING_VECTOR = "[FrameDecoderTest]"
# Messages the captures hold that this codec does not model (their frames still parse).
UNMODELLED = {0x0701, 0x0702, 0x8105}


@dataclass(frozen=True)
class Capture:
    line: int
    hex: str
    note: str

    @property
    def raw(self) -> bytes:
        return bytes.fromhex(self.hex)

    @property
    def wire(self) -> bytes:
        """The frame as a terminal puts it on the wire: flags, escaped."""
        if any(tag in self.note for tag in WIRE_TAGS):
            return self.raw
        return b"\x7e" + escape(self.raw[1:-1]) + b"\x7e"

    @property
    def tag(self) -> str:
        return self.note.split("|")[0].strip()[:48]


def load_captures() -> list[Capture]:
    out = []
    for number, line in enumerate(CAPTURES.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        hex_part, _, note = line.partition("#")
        out.append(Capture(number, hex_part.strip(), note.strip()))
    return out


ALL = load_captures()
FRAMES = [c for c in ALL if ESCAPING_VECTOR not in c.note]


def capture(marker: str, nth: int = 0) -> Capture:
    """The capture whose annotation contains ``marker`` (the nth if several do)."""
    found = [c for c in ALL if marker in c.note]
    assert found, marker
    return found[nth]


def decoded(marker: str, nth: int = 0) -> tuple[Header, object]:
    return decode(capture(marker, nth).wire)


def location(marker: str, nth: int = 0) -> Location:
    message = decoded(marker, nth)[1]
    assert isinstance(message, Location)
    return message


def test_capture_file_resolves_and_holds_the_vectors() -> None:
    """The shared capture file is where the test looks (so the parametrized tests below are not empty)."""
    assert CAPTURES.is_file(), CAPTURES.resolve()
    assert len(FRAMES) >= 45
    assert sum(CORRUPT in c.note for c in FRAMES) == 1


# --- every frame ---


@pytest.mark.parametrize("cap", FRAMES, ids=lambda c: f"line{c.line}")
def test_every_capture_parses_and_rebuilds_byte_for_byte(cap: Capture) -> None:
    """Every capture but the corrupt one parses; build_frame of its header and body gives the same wire
    bytes back (escaping, checksum, BCD phone, 2019 flag all reproduced). The corrupt one is refused."""
    if CORRUPT in cap.note:
        with pytest.raises(FrameError) as err:
            parse_frame(cap.wire)
        assert err.value.reason in {"checksum", "length"}
        return
    frame = parse_frame(cap.wire)
    h = frame.header
    assert h.packet is None and h.encryption == 0
    rebuilt = build_frame(
        h.msg_id, h.phone, h.serial, frame.body, version=h.version, protocol_version=h.protocol_version or 1
    )
    assert rebuilt.hex() == cap.wire.hex().lower()


@pytest.mark.parametrize("cap", [c for c in FRAMES if CORRUPT not in c.note], ids=lambda c: f"line{c.line}")
def test_every_modelled_body_decodes_and_reencodes(cap: Capture) -> None:
    """Every modelled body decodes without error and encodes back to the same bytes (the two lossy
    cases, registers whose padding is not the standard's, are pinned down separately)."""
    frame = parse_frame(cap.wire)
    if frame.header.msg_id in UNMODELLED:
        with pytest.raises(FrameError) as err:
            decode_frame(frame)
        assert err.value.reason == "unsupported"
        return
    header, message = decode_frame(frame)
    if "[post-rename][L30]" in cap.note:
        return  # see test_2019_register_with_nul_padded_plate
    if "[L221]" in cap.note:
        return  # see test_registers_2011_2013_2019: its model is padded with a space, not 0x00
    assert encode_body(message, header.version) == (header.msg_id, frame.body)


def test_the_corrupt_capture_fails_on_checksum_and_then_on_length() -> None:
    """[L328]: the checksum is wrong (computed 0xf0, sent 0xd0), and with the checksum repaired the
    properties still claim 50 body bytes where 40 are present — the annotation is right on both."""
    data = unescape(capture(CORRUPT).raw[1:-1])
    with pytest.raises(FrameError, match=r"computed 0xf0, frame says 0xd0") as err:
        parse_frame(data)
    assert err.value.reason == "checksum"
    repaired = data[:-1] + bytes((checksum(data[:-1]),))
    with pytest.raises(FrameError, match="50-byte body, frame holds 40") as err:
        parse_frame(repaired)
    assert err.value.reason == "length"


# --- escaping ---


def test_frame_decoder_escaping_vector() -> None:
    """Traccar's frame-decoder vector: wire 7e307d02087d01557e is 7e307e087d557e unescaped. It is an
    escaping vector, not a JT/T 808 message (5 bytes), so parse_frame refuses it as too short."""
    cap = capture(ESCAPING_VECTOR)
    assert cap.hex == "7e307d02087d01557e"
    assert unescape(bytes.fromhex("307d02087d0155")) == bytes.fromhex("307e087d55")
    assert escape(bytes.fromhex("307e087d55")) == bytes.fromhex("307d02087d0155")
    assert Deframer().feed(cap.raw) == [bytes.fromhex("307d02087d0155")]
    with pytest.raises(FrameError) as err:
        parse_frame(cap.raw)
    assert err.value.reason == "length"


def test_raw7e_capture_escapes_to_the_wire_escaped_line() -> None:
    """[L203] holds raw bytes that need escaping: escaped it is exactly the WIRE-ESCAPED line (145 -> 148
    bytes), and both decode to the same location. The annotation says raw 0x7E/0x7D; there are in fact
    three 0x7d bytes (in 0a 7d a0, inside a vendor item) and no 0x7e."""
    raw = capture("[L203]").raw
    wire = capture("WIRE-ESCAPED").raw
    assert len(raw) == 145 and len(wire) == 148
    assert (raw[1:-1].count(b"\x7d"), raw[1:-1].count(b"\x7e")) == (3, 0)
    assert b"\x7e" + escape(raw[1:-1]) + b"\x7e" == wire
    with pytest.raises(FrameError) as err:
        parse_frame(raw)  # as it stands, 7d a0 is an invalid escape pair
    assert err.value.reason == "escape"
    assert decode(wire) == decoded("[L203]")


def test_smallchi_serial_0x7e_is_escaped_on_the_wire() -> None:
    """SmallChi's README frame: serial 0x007E travels as 00 7d 02 and fuel 0x007D as 00 7d 01."""
    cap = capture("[SmallChi README]")
    assert "007d02" in cap.hex.lower() and "007d01" in cap.hex.lower()
    header, loc = decode(cap.wire)
    assert header.serial == 126
    assert isinstance(loc, Location)
    assert loc.extras == {"mileage_km": 10.0, "fuel_l": 12.5}
    assert cap.raw[-2] == 0x13  # README's checksum


def test_unescape_refuses_bad_pairs() -> None:
    """A 0x7d not followed by 01/02, or at the end, is an escape error (not silently kept)."""
    for bad in (b"\x01\x7d\x03", b"\x7d", b"\x7d\x7d\x01", b"\x00\x7d\x02\x7d"):
        with pytest.raises(FrameError) as err:
            unescape(bad)
        assert err.value.reason == "escape"
        assert str(err.value).startswith("escape: ")


# --- locations ---

LOCATIONS: dict[str, tuple[float, float, float, int, int, str, int, int, dict[str, object]]] = {
    # marker: (lat, lon, speed, heading, altitude, time, alarm, status, extras subset)
    "[L26]": (22.64483, 114.02938, 0.0, 0, 0, "2020-08-07T18:07:22", 0, 0x000C0002,
              {"mileage_km": 0.1, "rssi": 28, "gnss_satellites": 9}),
    "[L65]": (31.060692, 121.414285, 45.0, 0, 43, "2024-01-10T17:26:05", 0, 0x004C0003,
              {"mileage_km": 57.2, "rssi": 25, "gnss_satellites": 22, "vehicle_signal": 0, "analog": 0}),
    "[L148]": (22.68829, 113.797448, 12.3, 302, 23, "2023-09-18T08:15:50", 0x4, 0x00108042, {}),
    "[L244]": (22.375883, 113.562653, 24.1, 252, 12, "2021-01-18T09:58:53", 0x00020000, 0x00040002,
               {"mileage_km": 0.0}),
    "[L337]": (50.871735, -1.255923, 2.0, 0, 0, "2013-04-12T16:49:52", 0x1, 0xA, {"mileage_km": 1.8}),
    "[L224]": (22.641605, 114.032486, 0.0, 341, 235, "2021-07-26T20:35:31", 0x80, 0x3, {"mileage_km": 0.0}),
    "[L190]": (52.276237, 4.744435, 0.0, 0, 0, "2022-12-29T10:03:22", 0x100, 0x10,
               {"mileage_km": 9667.9, "rssi": 7, "gnss_satellites": 0}),
    "[L310]": (6.152695, 106.720495, 0.0, 0, 0, "2017-01-17T10:04:42", 0, 0x00040001,
               {"mileage_km": 4326.4, "io_status": 0, "rssi": 27, "gnss_satellites": 3}),
    "[L313]": (-6.152508, 106.720475, 0.0, 0, 22, "2017-01-17T10:05:42", 0, 0x00040007,
               {"mileage_km": 4326.4, "io_status": 0, "rssi": 27, "gnss_satellites": 4}),
    "[L340]": (-19.591535, -46.912186, 0.0, 0, 0, "2015-01-01T19:42:57", 0, 0x400E, {"mileage_km": 11.9}),
    "[L295]": (22.6426, 114.032984, 0.0, 8, 128, "2015-08-18T07:21:21", 0, 0xC2,
               {"mileage_km": 75.7, "fuel_l": 0.0, "tacho_speed_kmh": 0.0}),
    "[L235]": (43.95309, -79.329361, 0.0, 4, 4, "2021-11-18T23:21:12", 0, 0x8000000B,
               {"mileage_km": 613.4, "rssi": 29}),
    "[L179]": (22.59328, 113.845863, 6.4, 206, 0, "2022-12-09T04:27:42", 0, 0x000C0C03,
               {"mileage_km": 9.3, "rssi": 31, "gnss_satellites": 8}),
    "[L252]": (-27.455656, 153.029616, 0.0, 237, 0, "2020-11-03T03:17:33", 0, 0x1C06, {}),
    "[L203]": (22.708065, 114.265324, 0.0, 0, 61, "2021-07-13T11:48:19", 0, 0x3,
               {"mileage_km": 8.6, "rssi": 25, "gnss_satellites": 26}),
    "[issue5000] 0x0200 v2013": (51.04964, 6.968043, 53.7, 299, 4, "2022-12-14T21:24:34", 0, 0x3,
                                 {"rssi": 17, "gnss_satellites": 13}),
    "[issue5000] 0x0200 sn=0x1ea6": (51.049848, 6.967498, 51.8, 305, 4, "2022-12-14T21:24:39", 0, 0x3, {}),
    "[SmallChi README]": (12.222222, 132.444444, 6.0, 0, 40, "2018-10-15T10:10:10", 0x1, 0x2,
                          {"mileage_km": 10.0, "fuel_l": 12.5}),
}  # fmt: skip


@pytest.mark.parametrize("marker", list(LOCATIONS))
def test_location_values_match_the_annotations(marker: str) -> None:
    """Position, speed, heading, altitude, GMT+8 time, alarm/status words and the standard extras of
    each annotated 0x0200 capture decode to the annotated values."""
    lat, lon, speed, heading, altitude, time, alarm, status, extras = LOCATIONS[marker]
    header, loc = decoded(marker)
    assert header.msg_id == MSG_LOCATION and header.version == 2013
    assert isinstance(loc, Location)
    assert (loc.lat, loc.lon, loc.speed_kmh, loc.heading_deg, loc.altitude_m) == (
        lat, lon, speed, heading, altitude
    )  # fmt: skip
    assert loc.time == datetime.fromisoformat(time).replace(tzinfo=GMT8)
    assert loc.time.utcoffset() == timedelta(hours=8)
    assert (loc.alarm, loc.status) == (alarm, status)
    assert {k: loc.extras[k] for k in extras} == extras


def test_location_headers() -> None:
    """Phones and serials as annotated, including a serial in hex (issue5000 0x1ea5)."""
    assert decoded("[L26]")[0] == Header(MSG_LOCATION, "051160004464", 13, 2013)
    assert decoded("[L65]")[0].serial == 1563
    assert decoded("[L190]")[0].serial == 2250
    assert decoded("[issue5000] 0x0200 v2013")[0].serial == 0x1EA5
    assert decoded("[L235]")[0].phone == "019171844754"


def test_alarm_and_status_bits_are_named_per_the_standard() -> None:
    """Set bits name themselves per 表24/表25: SOS, fatigue, power, blind zone, hemisphere, GNSS systems."""
    assert flag_names(location("[L337]").alarm, ALARM_FLAGS) == ["emergency"]
    assert flag_names(location("[L148]").alarm, ALARM_FLAGS) == ["fatigue_driving"]
    assert flag_names(location("[L224]").alarm, ALARM_FLAGS) == ["main_power_undervoltage"]
    assert flag_names(location("[L190]").alarm, ALARM_FLAGS) == ["main_power_off"]
    # [L244]: bit 17 is reserved in -2013 and the right-turn blind-zone alarm in 2019 (Traccar: tampering)
    assert flag_names(location("[L244]").alarm, ALARM_FLAGS) == ["right_turn_blind_zone"]
    assert flag_names(location("[L340]").status, STATUS_FLAGS) == [
        "positioned",
        "south",
        "west",
        "door2_open",
    ]
    assert flag_names(location("[L26]").status, STATUS_FLAGS) == ["positioned", "gps", "beidou"]
    # [L190] "not fixed" is right; bit 4 (停运, out of service) is also set, which the annotation omits.
    assert flag_names(location("[L190]").status, STATUS_FLAGS) == ["out_of_service"]
    # [L179] also has the oil and circuit cut-off bits 10 and 11 set (not in the annotation).
    assert "oil_circuit_cut" in flag_names(location("[L179]").status, STATUS_FLAGS)
    # [L235] sets status bit 31, which no edition defines: it is kept in the int, unnamed.
    assert location("[L235]").status >> 31 == 1
    assert flag_names(location("[L235]").status, STATUS_FLAGS) == ["acc_on", "positioned", "west"]
    # [L295], a 2015 terminal, sets bits 6-7: reserved in -2013, FCW/LDW warnings only since 2019.
    assert location("[L295]").status & 0xC0 == 0xC0
    assert load_state(0) == "empty" and load_state(1 << 8) == "half" and load_state(3 << 8) == "full"


def test_vendor_items_are_kept_raw_in_order() -> None:
    """Items the standard does not define stay as hex under 0xNN, in wire order, after the known ones."""
    loc = location("[L26]")
    assert list(loc.extras) == [
        "mileage_km", "rssi", "gnss_satellites", "0xE4", "0xE5", "0xE6", "0xE7", "0xEE"
    ]  # fmt: skip
    assert loc.extras["0xEE"] == "01cc01262c009a674300"
    # [L61]: the vendor 0xEB item spells the terminal's own time zone
    batch = decoded("[L61]")[1]
    assert isinstance(batch, LocationBatch)
    assert bytes.fromhex(str(batch.items[0].extras["0xEB"])) == b"UTC+08:00"
    # [L179]: vendor 0xBC carries the driver's name, NUL-padded
    assert bytes.fromhex(str(location("[L179]").extras["0xBC"])).startswith(b"DRIVING LICENSE$TEST$MR.")
    # [L235]: 0x80-0x8E and 0xA0 are a flat run of separate vendor items (0x8B holds the VIN), not one
    # 0x80 "OBD block" as annotated: 0x80 itself is a 1-byte item.
    obd = location("[L235]").extras
    assert obd["0x80"] == "34"
    assert bytes.fromhex(str(obd["0x8B"])) == b"JN1BJ1CR6KW336535"
    assert obd["0xA0"] == ""
    # [L65]: JT/T 1078 video items 0x14-0x18 and a vendor $OBD-RT text in 0xE6
    video = location("[L65]").extras
    assert [k for k in video if k in {"0x14", "0x15", "0x16", "0x17", "0x18"}] == [
        "0x14", "0x15", "0x16", "0x17", "0x18"
    ]  # fmt: skip
    assert bytes.fromhex(str(video["0xE6"])).startswith(b"$OBD-RT,,55.000,")


def test_trailing_bytes_after_the_basic_part_are_kept_not_fatal() -> None:
    """[L252]: 18 bytes follow the 28-byte basic part that are not TLV items. The annotation calls them
    zero padding, but they are not all zero (00 x9, 78, 00 x4, 18, 00 x3): kept under "trailing" as
    hex, and re-encoded as they came."""
    loc = location("[L252]")
    assert loc.extras == {"trailing": "000000000000000000780000000018000000"}
    assert encode_location(loc)[28:] == bytes.fromhex("000000000000000000780000000018000000")


def test_swapped_coordinates_decode_as_sent() -> None:
    """yezhihao's synthetic 2019 frame [yzh L14] has lat/lon swapped by its generator: the codec reports
    the raw values (lat 116.307629 is impossible, but rejecting it is the platform's validation, not
    the codec's), and every 2019 extra decodes."""
    header, loc = decoded("[yzh L14]")
    assert (header.version, header.protocol_version, header.phone) == (2019, 1, "00000000017299841738")
    assert isinstance(loc, Location)
    assert (loc.lat, loc.lon) == (116.307629, 40.058359)
    assert abs(loc.lat) > 90
    assert (loc.alarm, loc.status, loc.speed_kmh, loc.heading_deg, loc.altitude_m) == (
        0x400,
        0x800,
        0.3,
        99,
        312,
    )
    assert flag_names(loc.alarm, ALARM_FLAGS) == ["tts_fault"]
    assert loc.time == datetime(2020, 7, 7, 19, 23, 59, tzinfo=GMT8)
    assert loc.extras == {
        "mileage_km": 1.1,
        "fuel_l": 2.2,
        "tacho_speed_kmh": 3.3,
        "manual_alarm_event_id": 44,
        "tire_pressure": [55, 55, 55] + [0] * 27,
        "overspeed_alarm": {"location_type": 66, "area_id": 66},
        "area_alarm": {"location_type": 77, "area_id": 77, "direction": 77},
        "route_time_alarm": {"segment_id": 88, "time_s": 88, "result": 88},
        "vehicle_signal": 99,
        "io_status": 10,
        "analog": 20,
        "rssi": 30,
        "gnss_satellites": 40,
    }


def test_unset_terminal_clock_decodes_to_2007() -> None:
    """PR5997's 0x0201 carries BCD 070113102041: the terminal's clock was never set. The codec decodes
    2007-01-13 faithfully; judging it stale is the platform's business."""
    header, response = decoded("[PR5997 <] 0x0201")
    assert isinstance(response, LocationQueryResponse)
    assert (header.serial, response.ack_serial) == (20, 0)
    loc = response.location
    assert loc.time == datetime(2007, 1, 13, 10, 20, 41, tzinfo=GMT8)
    assert (loc.alarm, loc.status, loc.lat, loc.lon) == (0, 2, 16.7812, 96.195632)
    assert loc.extras["mileage_km"] == 0.0


def test_issue5000_time_is_gmt8_as_traccar_logged_it_in_cet() -> None:
    """Traccar logged 14:24:34 CET for the first issue5000 frame: that is the BCD 21:24:34 read as GMT+8
    (the device, in Germany, follows the standard), and 53.7 km/h is the logged 29.0 kn."""
    loc = location("[issue5000] 0x0200 v2013")
    assert loc.time.astimezone(timezone(timedelta(hours=1))).strftime("%H:%M:%S") == "14:24:34"
    assert round(loc.speed_kmh / 1.852, 1) == 29.0


# --- batches ---


def test_location_batches() -> None:
    """0x0704 counts, types and first/last items as annotated, 2013 and 2019 headers."""
    header, batch = decoded("[L298]")
    assert isinstance(batch, LocationBatch)
    assert (header.phone, header.serial, batch.type, len(batch.items)) == ("013567777777", 2037, 1, 8)
    first, last = batch.items[0], batch.items[-1]
    assert (first.lat, first.lon, first.time) == (
        22.639634,
        114.031952,
        datetime(2016, 5, 27, 9, 6, 24, tzinfo=GMT8),
    )
    assert (last.lat, last.lon, last.time) == (
        22.64055,
        114.032432,
        datetime(2016, 5, 27, 9, 10, 2, tzinfo=GMT8),
    )

    header, batch = decoded("[L304]")
    assert isinstance(batch, LocationBatch)
    assert (header.serial, batch.type, len(batch.items)) == (100, 1, 4)
    assert (batch.items[0].lat, batch.items[0].lon) == (23.169734, 113.450784)
    last = batch.items[-1]
    assert (last.lat, last.lon, last.time) == (
        23.169768,
        113.45068,
        datetime(2018, 5, 14, 20, 30, 6, tzinfo=GMT8),
    )
    assert flag_names(last.alarm, ALARM_FLAGS) == ["main_power_off"]
    assert "circuit_cut" in flag_names(last.status, STATUS_FLAGS)

    header, batch = decoded("[L61]")
    assert isinstance(batch, LocationBatch)
    # [L61]'s phone has non-BCD nibbles (a vendor id, not a number): kept as sent.
    assert (header.phone, header.serial, len(batch.items)) == ("4eb6fb4afd9e", 18523, 6)
    assert (batch.items[0].lat, batch.items[0].lon) == (32.875911, 13.247685)
    last = batch.items[-1]
    assert (last.lat, last.lon, last.time) == (
        32.875951,
        13.247739,
        datetime(2025, 11, 12, 15, 46, 32, tzinfo=GMT8),
    )

    header, batch = decoded("[post-rename][L14]")
    assert isinstance(batch, LocationBatch)
    assert (batch.type, len(batch.items)) == (1, 1)
    item = batch.items[0]
    assert (item.lat, item.lon, item.time) == (
        33.697808,
        116.954088,
        datetime(2026, 8, 17, 22, 18, 12, tzinfo=GMT8),
    )
    assert flag_names(item.alarm, ALARM_FLAGS) == ["main_power_off", "cumulative_driving_timeout"]
    assert item.extras["gnss_satellites"] == 14  # what Traccar asserts

    header, batch = decoded("[post-rename][L33]")
    assert isinstance(batch, LocationBatch)
    assert (header.version, header.protocol_version, header.phone, header.serial) == (
        2019, 1, "00000866496077582164", 34845
    )  # fmt: skip
    assert (batch.type, len(batch.items)) == (0, 1)
    item = batch.items[0]
    assert (item.lat, item.lon, item.time) == (
        -27.263378,
        153.037383,
        datetime(2026, 5, 9, 16, 42, 27, tzinfo=GMT8),
    )
    assert item.extras["gnss_satellites"] == 14


# --- registration and authentication ---


def test_registers_2011_2013_2019() -> None:
    """0x0100 in all three layouts; the 2011 one is told by its body length and reported as 2011; GBK
    plates decode."""
    header, reg = decoded("[L316]")
    assert header.version == 2013
    assert reg == Register(44, 303, "70111", "BSJ-A6-BD", "0567872", 1, "粤B88888")
    header, reg = decoded("[L319]")
    assert (header.version, header.serial) == (2013, 5)
    assert reg == Register(0, 0, "70107", "HB-R03GBD", "2366104", 2, "苏BA6860")
    header, reg = decoded("[L221]")
    assert header.version == 2011
    # 2011 model BYTE[8] is "BSJ-M7B " (space padded, not 0x00 as the standard says), terminal id BYTE[7]
    # "0000000": decoding strips the space, so this body re-encodes with 0x00 there instead.
    assert reg == Register(44, 303, "70111", "BSJ-M7B", "0000000", 1, "粤B88888")
    body = parse_frame(capture("[L221]").wire).body
    assert encode_body(reg, 2011)[1] == body.replace(b"M7B ", b"M7B\x00")
    header, reg = decoded("[yzh L4]")
    assert (header.version, header.phone, header.serial) == (2019, "12345678901234567890", 65535)
    assert reg == Register(31, 115, "yzh", "www.jtt808.cn", "09876543210987654321", 1, "测A888888")


def test_2019_register_with_nul_padded_plate() -> None:
    """[post-rename][L30] (an MD300 terminal, 2019): empty maker, model MD300, terminal id = its IMEI,
    plate colour 4 and a 'plate' of 16 NUL bytes. It decodes to an empty plate; it is the one capture
    whose body does not re-encode byte for byte (the NULs are dropped)."""
    header, reg = decoded("[post-rename][L30]")
    assert (header.version, header.phone, header.serial) == (2019, "00000866496077582164", 21016)
    assert reg == Register(0, 0, "", "MD300", "866496077582164", 4, "")
    frame = parse_frame(capture("[post-rename][L30]").wire)
    assert frame.body[76:] == bytes(16)
    assert encode_body(reg, 2019)[1] == frame.body[:76]


def test_authentication_codes() -> None:
    """0x0102: the whole body is the code before 2019; 2019 adds length, IMEI and software version."""
    assert decoded("[L325]")[1] == Authenticate("authentication")
    assert decoded("[L331]")[1] == Authenticate("2011110811332196")
    assert decoded("[PR5997 <] 0x0102")[1] == Authenticate("authentication")
    header, auth = decoded("[yzh L6]")
    assert header.version == 2019
    assert auth == Authenticate("pmYGzGukO8K4Z5lpIOTg8dqb3eprYaHBbXSPLtdbyG8=", "123456789012345", "3.7.15")


# --- responses, parameters, empty bodies ---


def test_responses_and_parameters() -> None:
    """0x8001, 0x8100, 0x0001 and 0x8103 bodies as annotated."""
    header, reply = decoded("[issue5000] Traccar's REPLY 0x8001 platform")
    assert header.serial == 0  # Traccar always sends serial 0
    assert reply == PlatformResponse(0x1EA5, 0x0200, 0)
    assert decoded("acking sn=0x1ea6")[1] == PlatformResponse(0x1EA6, 0x0200, 0)
    assert decoded("[PR5997 >] 0x8001")[1] == PlatformResponse(1, 0x0102, 0)
    header, reply = decoded("[yzh L39]")
    assert (header.version, header.serial) == (2013, 0x7FFF)
    assert reply == RegisterResponse(0x970C, 0, "chwD0SE1fchwD0SE1fchwD0SE1f")
    header, ack = decoded("[yzh L2]")
    assert (header.version, header.serial) == (2019, 65535)
    assert ack == TerminalResponse(123, 0x01C8, 3)
    header, ack = decoded("[PR5997 <] 0x0001")
    assert header.serial == 50
    assert ack == TerminalResponse(0, 0x8105, 0)
    assert decoded("[PR5997 >] 0x8103")[1] == SetParameters(((0x0029, 10),))


def test_empty_bodies() -> None:
    """Heartbeat, logout (2019, the frame wvp failed to parse) and location query."""
    header, beat = decoded("[L343]")
    assert (header.phone, header.serial, beat) == ("043048325465", 183, Heartbeat())
    assert decoded("[PR5997 <] 0x0002")[1] == Heartbeat()
    header, bye = decoded("[wvp#2082]")
    assert (header.version, header.protocol_version, header.phone, header.serial) == (
        2019, 1, "00000000041273469434", 1202
    )  # fmt: skip
    assert bye == Logout()
    assert decoded("[PR5997 >] 0x8201")[1] == LocationQuery()


def test_unmodelled_messages_parse_but_decode_as_unsupported() -> None:
    """0x0701 (its body is the standard waybill layout: DWORD length 0x11 + text), 0x0702 and 0x8105
    frame correctly; decode says unsupported rather than guessing."""
    frame = parse_frame(capture("[L81]").wire)
    assert frame.body[4:] == b"MD,SET CONFIG OK!" and struct.unpack(">I", frame.body[:4])[0] == 17
    with pytest.raises(FrameError, match="0x0701") as err:
        decode(capture("[L81]").wire)
    assert err.value.reason == "unsupported"
    assert parse_frame(capture("[PR5997 >] 0x8105").wire).body == b"\x04"


# --- refusals with readable reasons ---


def _frame(props_extra: int = 0, body: bytes = b"\x00" * 5, *, length: int | None = None) -> bytes:
    n = len(body) if length is None else length
    data = struct.pack(">HH", 0x0001, n | props_extra) + bytes.fromhex("013511221122") + b"\x00\x07" + body
    return data + bytes((checksum(data),))


@pytest.mark.parametrize(
    ("wire", "reason", "words"),
    [
        (_frame(0x0400), "encrypted", "RSA"),
        (_frame(0x1000), "encrypted", "encryption"),
        (_frame(length=6), "length", "6-byte body"),
        (_frame(0x2000, b"\x00\x02\x00\x00" + b"\x00" * 5), "header", "index 0 of 2"),
        (_frame(0x2000, b"\x00\x02\x00\x03" + b"\x00" * 5), "header", "index 3 of 2"),
        (b"\x7e" + _frame() + b"\x00", "framing", "does not end"),
        (_frame() + b"\x7e", "framing", "does not start"),
        (b"\x7e" + _frame()[:5] + b"\x7e" + _frame()[5:] + b"\x7e", "framing", "inside"),
        (b"\x7e\x7e", "length", "shorter"),
        (b"\x01" * 1046, "length", "longer than any valid frame"),
        (b"", "length", "empty"),
        (_frame()[:-1] + bytes((_frame()[-1] ^ 1,)), "checksum", "computed"),
        (b"\x7e" + _frame()[:3] + b"\x7d\x03" + _frame()[3:] + b"\x7e", "escape", "0x7d"),
    ],
)
def test_refusals_name_their_reason(wire: bytes, reason: str, words: str) -> None:
    """Each broken frame fails with its own reason and a message that names the problem."""
    with pytest.raises(FrameError) as err:
        parse_frame(wire)
    assert err.value.reason == reason
    assert reason in REASONS
    assert str(err.value).startswith(f"{reason}: ") and words in str(err.value)


def test_subpackaged_frames_are_refused_by_decode_and_carried_by_parse_frame() -> None:
    """decode() will not guess at one part of a message; parse_frame reports the packet fields."""
    wire = build_frame(0x0200, "13800138000", 9, b"\x01\x02", packet=(3, 2))
    frame = parse_frame(wire)
    assert frame.header.packet == (3, 2) and frame.body == b"\x01\x02"
    with pytest.raises(FrameError, match="Reassembler") as err:
        decode(wire)
    assert err.value.reason == "unsupported"


@pytest.mark.parametrize(
    ("msg_id", "body", "words"),
    [
        (0x0200, b"\x00" * 27, "shorter than the 28-byte"),
        (0x0200, b"\x00" * 22 + bytes.fromhex("200007180722"), "location time 200007180722"),
        (0x0200, b"\x00" * 22 + bytes.fromhex("2008001807aa"), "location time"),
        (0x0200, b"\x00" * 22 + bytes.fromhex("200231120000"), "location time"),
        (0x0200, b"\x00" * 22 + bytes.fromhex("200808240000"), "location time"),
        (0x0001, b"\x00" * 4, "5 bytes"),
        (0x0002, b"\x00", "0 bytes"),
        (0x0704, bytes.fromhex("000200") + b"\x00\x1c" + b"\x00" * 10, "item 1"),
        (0x0704, bytes.fromhex("000100"), "ends after 0"),
        (0x8103, bytes.fromhex("0200000001"), "ends after 0"),
        (0x0100, b"\x00" * 10, "register body"),
        (0x8004, bytes.fromhex("2413010000"), "6 bytes"),
        (0x0102, b"\x05ab", "authenticate"),
    ],
)
def test_malformed_bodies_are_body_errors(msg_id: int, body: bytes, words: str) -> None:
    """Short bodies, impossible BCD times (month 0, day 31 of February, hour 24, non-digit nibbles),
    miscounted batches and parameter lists are FrameError("body") naming the part at fault."""
    version = 2019 if msg_id == 0x0102 else 2013
    with pytest.raises(FrameError) as err:
        decode_body(msg_id, body, version)
    assert err.value.reason == "body"
    assert words in str(err.value)


def test_unknown_message_is_unsupported() -> None:
    """An id the codec does not model is 'unsupported', naming the id."""
    with pytest.raises(FrameError, match="0x0900") as err:
        decode_body(0x0900, b"", 2013)
    assert err.value.reason == "unsupported"


# --- building ---


def test_build_frame_2019_and_phone_padding() -> None:
    """2019 frames set bit 14, write the version byte and a 20-digit phone; phones are zero-padded;
    too-long or non-digit phones and oversize bodies are refused."""
    wire = build_frame(0x0002, "13800138000", 5, version=2019, protocol_version=1)
    assert wire.hex() == "7e" + "00024000" + "01" + "00000000013800138000" + "0005" + wire.hex()[-4:]
    assert parse_frame(wire).header == Header(0x0002, "00000000013800138000", 5, 2019, 1)
    assert parse_frame(build_frame(0x0002, "13800138000", 5)).header.phone == "013800138000"
    with pytest.raises(ValueError, match="more than 12"):
        build_frame(0x0002, "1" * 13, 0)
    with pytest.raises(ValueError, match="BCD"):
        build_frame(0x0002, "1380013800x", 0)
    with pytest.raises(ValueError, match="BCD"):
        build_frame(0x0002, "138 0013800", 0)  # bytes.fromhex would have skipped the space
    with pytest.raises(ValueError, match="build_frames"):
        build_frame(0x0200, "1", 0, bytes(1024))


def test_build_frames_splits_with_consecutive_serials() -> None:
    """A 2500-byte body becomes 3 packets (1023+1023+454) with serials 65535, 0, 1 (wrapping), each
    carrying (3, index); a small body stays one unsplit frame."""
    body = bytes(range(256)) * 9 + bytes(196)
    frames = [parse_frame(w) for w in build_frames(0x0801, "1", 65535, body)]
    assert [f.header.packet for f in frames] == [(3, 1), (3, 2), (3, 3)]
    assert [f.header.serial for f in frames] == [65535, 0, 1]
    assert [len(f.body) for f in frames] == [1023, 1023, 454]
    assert b"".join(f.body for f in frames) == body
    assert [parse_frame(w).header.packet for w in build_frames(0x0801, "1", 7, b"abc")] == [None]


def test_reassembler_rules() -> None:
    """Whole messages pass through; parts wait for the rest; duplicates are ignored; out-of-range
    indices are header errors; old messages expire; max_pending evicts the oldest."""
    re = Reassembler(timeout_s=10, max_pending=2)
    whole = parse_frame(build_frame(0x0200, "1", 3, b"x"))
    assert re.add(whole, 0.0) is whole
    parts = [parse_frame(w) for w in build_frames(0x0801, "1", 100, bytes(range(30)), max_body=10)]
    assert re.add(parts[2], 0.0) is None
    assert re.add(parts[2], 0.5) is None
    assert re.pending == 1
    assert re.add(parts[0], 1.0) is None
    done = re.add(parts[1], 2.0)
    assert done == Frame(Header(0x0801, "000000000001", 100, 2013), bytes(range(30)))
    assert re.pending == 0
    bad = Frame(Header(0x0801, "1", 5, 2013, packet=(2, 0)), b"")
    with pytest.raises(FrameError) as err:
        re.add(bad, 0.0)
    assert err.value.reason == "header"
    re.add(parts[0], 0.0)
    assert re.expire(5.0) == [] and re.expire(10.5) == [("000000000001", 0x0801, 100)]
    for serial in (1000, 2000, 3000):
        re.add(parse_frame(build_frames(0x0801, "1", serial, bytes(30), max_body=10)[0]), serial / 1000)
    assert re.pending == 2
    assert re.expire(100) == [("000000000001", 0x0801, 2000), ("000000000001", 0x0801, 3000)]


def test_deframer_rules() -> None:
    """Garbage before the first flag is reported once; 7e7e yields nothing; a frame longer than
    max_frame is reported and skipped up to its next flag; frames split across feeds join up."""
    d = Deframer(max_frame=8)
    out = d.feed(b"junk")
    assert len(out) == 1 and isinstance(out[0], FrameError) and out[0].reason == "framing"
    assert d.feed(b"more junk") == []
    assert d.feed(b"\x7e\x7e\x7eabc") == []
    assert d.feed(b"d\x7e\x7eef\x7e") == [b"abcd", b"ef"]
    out = d.feed(b"\x7e0123456789")
    assert len(out) == 1 and isinstance(out[0], FrameError) and out[0].reason == "too_large"
    assert d.feed(b"abc\x7eok\x7e") == [b"ok"]
    out = d.feed(b"\x7e0123456789\x7e")
    assert [getattr(x, "reason", x) for x in out] == ["too_large"]


def test_time_response_is_utc() -> None:
    """0x8004 carries UTC (2019), unlike location times: 2024-01-01 00:30 GMT+8 goes out as 231231163000."""
    t = datetime(2024, 1, 1, 0, 30, tzinfo=GMT8)
    msg_id, body = encode_body(TimeResponse(t), 2019)
    assert (msg_id, body.hex()) == (0x8004, "231231163000")
    decoded_time = decode_body(0x8004, body, 2019)
    assert decoded_time == TimeResponse(datetime(2023, 12, 31, 16, 30, tzinfo=UTC))


def test_encoding_refuses_what_does_not_fit() -> None:
    """Values outside their wire fields are ValueErrors, not silently truncated."""
    loc = Location(0, 0, 1.0, 1.0, 0, 0.0, 0, datetime(2024, 1, 1, tzinfo=GMT8))
    for bad in (
        Location(0, 0, 1.0, 1.0, 70000, 0.0, 0, loc.time),
        Location(0, 0, 1.0, 1.0, 0, 0.0, 0, datetime(2024, 1, 1)),  # noqa: DTZ001 - the point: naive
        Location(0, 0, 1.0, 1.0, 0, 0.0, 0, datetime(1999, 12, 31, tzinfo=GMT8)),
        Location(0, 0, 1.0, 1.0, 0, 0.0, 0, loc.time, {"rssi": 256}),
        Location(0, 0, 1.0, 1.0, 0, 0.0, 0, loc.time, {"nonsense": 1}),
    ):
        with pytest.raises(ValueError):
            encode_body(bad, 2013)
    with pytest.raises(ValueError, match="holds 5"):
        encode_body(Register(0, 0, "TOOLONG", "m", "i", 1, "p"), 2013)
    with pytest.raises(ValueError, match="2019"):
        encode_body(Authenticate("x", imei="1"), 2013)
    with pytest.raises(ValueError, match="takes bytes"):
        encode_body(SetParameters(((0x9999, 5),)), 2013)  # an unknown id's type is unknown
    with pytest.raises(ValueError, match="does not fit"):
        encode_body(SetParameters(((0x0001, 2**32),)), 2013)  # DWORD


def test_hemisphere_bits_follow_the_signs_on_encode() -> None:
    """encode_location sets status bits 2/3 from the signs of lat/lon, so a decoded body (even -0.0)
    re-encodes unchanged and a negative latitude cannot go out as north."""
    t = datetime(2024, 1, 1, tzinfo=GMT8)
    body = encode_location(Location(0, 0, -10.5, -20.25, 0, 0.0, 0, t))
    assert struct.unpack_from(">II", body)[1] & 0xC == 0xC
    assert decode_location(body).lat == -10.5
    zero_south = encode_location(Location(0, 0x4, -0.0, 0.0, 0, 0.0, 0, t))
    assert decode_location(zero_south).status == 0x4


def test_fast_constructors_match_the_dataclasses() -> None:
    """parse_frame/decode_location build objects by writing slots directly; they must equal what the
    public constructors build, field for field (this fails if a field is added to one but not the other)."""
    t = datetime(2024, 1, 1, tzinfo=GMT8)
    assert _new_header(1, "2", 3, 2019, 1, (2, 1)) == Header(1, "2", 3, 2019, 1, 0, (2, 1))
    assert _new_frame(Header(1, "2", 3, 2013), b"x") == Frame(Header(1, "2", 3, 2013), b"x")
    assert _new_location(1, 2, 3.0, 4.0, 5, 6.0, 7, t, {"rssi": 1}) == Location(
        1, 2, 3.0, 4.0, 5, 6.0, 7, t, {"rssi": 1}
    )
