"""The 0x0200 location body (位置信息汇报): basic information, alarm and status bits, additional items.

Tables are JT/T 808-2019 (表23 basic information, 表24 alarm bits, 表25 status bits, 表26/表27 additional
items, 表28-30 alarm item bodies); -2013 has the same layout with fewer bits and items defined.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from zhifa.adapters.protocol.jt808.framing import FrameError, slot_setters

# 表23: the time is BCD[6] YY-MM-DD-hh-mm-ss in GMT+8, "本标准中之后涉及的时间均采用此时区" — except the
# 2019 0x8004 server time, which is UTC.
GMT8 = timezone(timedelta(hours=8))

ALARM_FLAGS: dict[int, str] = {
    0: "emergency",
    1: "overspeed",
    2: "fatigue_driving",
    3: "danger_warning",  # -2013 危险预警; 2019 危险驾驶行为报警
    4: "gnss_fault",
    5: "gnss_antenna_open",
    6: "gnss_antenna_short",
    7: "main_power_undervoltage",
    8: "main_power_off",
    9: "lcd_fault",
    10: "tts_fault",
    11: "camera_fault",
    12: "ic_card_fault",
    13: "overspeed_warning",
    14: "fatigue_warning",
    15: "violation_driving",  # 2019 违规行驶报警; reserved in -2013
    16: "tire_pressure_warning",  # 2019 胎压预警; reserved in -2013
    17: "right_turn_blind_zone",  # 2019 右转盲区异常报警; reserved in -2013
    18: "cumulative_driving_timeout",
    19: "parking_timeout",
    20: "area_in_out",
    21: "route_in_out",
    22: "route_time_abnormal",
    23: "route_deviation",
    24: "vss_fault",
    25: "fuel_abnormal",
    26: "vehicle_stolen",
    27: "illegal_ignition",
    28: "illegal_displacement",
    29: "collision_warning",  # -2013 碰撞预警; 2019 碰撞侧翻报警
    30: "rollover_warning",  # -2013 侧翻预警
    31: "illegal_door_open",  # -2013 非法开门报警; reserved in 2019
}

STATUS_FLAGS: dict[int, str] = {
    0: "acc_on",
    1: "positioned",
    2: "south",
    3: "west",
    4: "out_of_service",
    5: "coordinates_encrypted",
    6: "forward_collision_warning",  # 2019 紧急刹车系统采集的前撞预警; reserved in -2013
    7: "lane_departure_warning",  # 2019 车道偏移预警; reserved in -2013
    # Bits 8-9 are one two-bit field (00 empty, 01 half, 10 reserved, 11 full): a full load sets both
    # names; ``load_state`` reads the field as a whole.
    8: "load_half",
    9: "load_full",
    10: "oil_circuit_cut",
    11: "circuit_cut",
    12: "door_locked",
    13: "door1_open",  # front door
    14: "door2_open",  # middle door
    15: "door3_open",  # rear door
    16: "door4_open",  # driver's door
    17: "door5_open",  # user-defined door
    18: "gps",
    19: "beidou",
    20: "glonass",
    21: "galileo",
    22: "moving",  # 2019 车辆处于行驶状态; reserved in -2013
}

STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3


def flag_names(value: int, table: dict[int, str]) -> list[str]:
    """Names of the set bits of ``value`` that ``table`` defines, lowest bit first."""
    return [name for bit, name in table.items() if value >> bit & 1]


def load_state(status: int) -> str:
    """表25 bits 8-9 as one field: "empty", "half", "reserved" or "full"."""
    return ("empty", "half", "reserved", "full")[status >> 8 & 3]


@dataclass(frozen=True, slots=True)
class Location:
    """One position report. ``lat``/``lon`` are signed degrees (south and west negative), ``time`` is aware
    (GMT+8 as sent). ``extras`` holds the decoded additional items in wire order."""

    alarm: int
    status: int
    lat: float
    lon: float
    altitude_m: int
    speed_kmh: float
    heading_deg: int
    time: datetime
    extras: dict[str, object] = field(default_factory=dict)


_new = object.__new__
_LOCATION_SET = slot_setters(Location)


def _new_location(
    alarm: int,
    status: int,
    lat: float,
    lon: float,
    altitude_m: int,
    speed_kmh: float,
    heading_deg: int,
    time: datetime,
    extras: dict[str, object],
) -> Location:
    # Writing the slots directly costs half of the frozen dataclass __init__ (see framing._new_header).
    loc = _new(Location)
    s_alarm, s_status, s_lat, s_lon, s_alt, s_speed, s_heading, s_time, s_extras = _LOCATION_SET
    s_alarm(loc, alarm)
    s_status(loc, status)
    s_lat(loc, lat)
    s_lon(loc, lon)
    s_alt(loc, altitude_m)
    s_speed(loc, speed_kmh)
    s_heading(loc, heading_deg)
    s_time(loc, time)
    s_extras(loc, extras)
    return loc


_BASIC = struct.Struct(">IIIIHHH")  # 表23 up to the time; the BCD[6] time follows at offset 22
BASIC_SIZE = 28

# BCD byte -> value, or -128 for a nibble above 9, so one bitwise OR over six values finds any bad byte.
_BCD = tuple((b >> 4) * 10 + (b & 15) if b >> 4 < 10 and b & 15 < 10 else -128 for b in range(256))


def decode_bcd_time(data: bytes, offset: int, tz: timezone, what: str) -> datetime:
    """A BCD[6] YYMMDDhhmmss at ``offset`` as an aware datetime in ``tz`` (years 2000-2099)."""
    bcd = _BCD
    yy = bcd[data[offset]]
    mo = bcd[data[offset + 1]]
    dd = bcd[data[offset + 2]]
    hh = bcd[data[offset + 3]]
    mi = bcd[data[offset + 4]]
    ss = bcd[data[offset + 5]]
    if (yy | mo | dd | hh | mi | ss) >= 0:
        try:
            return datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=tz)
        except ValueError:
            pass
    raise FrameError("body", f"{what} {data[offset : offset + 6].hex()} is not a valid BCD YYMMDDhhmmss")


def encode_bcd_time(value: datetime, tz: timezone, what: str) -> bytes:
    """``value`` (aware) converted to ``tz`` as BCD[6] YYMMDDhhmmss."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime (with a UTC offset)")
    t = value.astimezone(tz)
    if not 2000 <= t.year <= 2099:
        raise ValueError(f"{what} {t.isoformat()} is outside 2000-2099, which BCD YY cannot hold")
    return bytes.fromhex(
        f"{t.year % 100:02d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}"
    )


def decode_location(body: bytes) -> Location:
    """Decode a 0x0200 body (also one 0x0704 item, or 0x0201 after its serial)."""
    if len(body) < BASIC_SIZE:
        raise FrameError("body", f"location body of {len(body)} bytes is shorter than the 28-byte basic part")
    alarm, status, lat_raw, lon_raw, altitude, speed, heading = _BASIC.unpack_from(body)
    time = decode_bcd_time(body, 22, GMT8, "location time")
    lat = lat_raw / 1e6
    lon = lon_raw / 1e6
    # 表25 bits 2/3: the DWORDs are unsigned magnitudes; the hemisphere lives in the status.
    if status & STATUS_SOUTH:
        lat = -lat
    if status & STATUS_WEST:
        lon = -lon
    extras = decode_extras(body, BASIC_SIZE) if len(body) > BASIC_SIZE else {}
    return _new_location(alarm, status, lat, lon, altitude, speed / 10, heading, time, extras)


def encode_location(loc: Location) -> bytes:
    """The 0x0200 body for ``loc``. The hemisphere bits (status bits 2 and 3) follow the signs of
    ``lat``/``lon`` (-0.0 counts as negative, so a decoded body re-encodes to the same bytes)."""
    status = loc.status & ~(STATUS_SOUTH | STATUS_WEST)
    if math.copysign(1.0, loc.lat) < 0:
        status |= STATUS_SOUTH
    if math.copysign(1.0, loc.lon) < 0:
        status |= STATUS_WEST
    try:
        basic = _BASIC.pack(
            loc.alarm,
            status,
            round(abs(loc.lat) * 1e6),
            round(abs(loc.lon) * 1e6),
            loc.altitude_m,
            round(loc.speed_kmh * 10),
            loc.heading_deg,
        )
    except (struct.error, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"location field out of range for its DWORD/WORD: {exc}") from None
    return basic + encode_bcd_time(loc.time, GMT8, "location time") + encode_extras(loc.extras)


# --- additional items (附加信息, 表26 format BYTE id, BYTE length, value; 表27 definitions) ---


def _tenths(v: bytes) -> float:
    return int.from_bytes(v, "big") / 10


def _uint(v: bytes) -> int:
    return int.from_bytes(v, "big")


def _sint(v: bytes) -> int:
    return int.from_bytes(v, "big", signed=True)


def _overspeed(v: bytes) -> dict[str, object] | None:
    # 表28: location type BYTE (0 none, 1 circle, 2 rectangle, 3 polygon, 4 route); the area/route id
    # DWORD is present only when the type is not 0.
    if len(v) == 1:
        return {"location_type": v[0], "area_id": None}
    if len(v) == 5:
        return {"location_type": v[0], "area_id": int.from_bytes(v[1:5], "big")}
    return None


def _area(v: bytes) -> dict[str, object]:
    # 表29: location type BYTE, area/route id DWORD, direction BYTE (0 in, 1 out)
    return {"location_type": v[0], "area_id": int.from_bytes(v[1:5], "big"), "direction": v[5]}


def _route_time(v: bytes) -> dict[str, object]:
    # 表30: segment id DWORD, driving time WORD s, result BYTE (0 too short, 1 too long)
    return {"segment_id": int.from_bytes(v[0:4], "big"), "time_s": _uint(v[4:6]), "result": v[6]}


_ANY_LENGTH = -1  # the decoder checks the length itself and returns None to keep the item raw

# id -> (key, length, decoder)
_EXTRA_DECODERS: dict[int, tuple[str, int, Callable[[bytes], object]]] = {
    0x01: ("mileage_km", 4, _tenths),  # DWORD 1/10 km
    0x02: ("fuel_l", 2, _tenths),  # WORD 1/10 L
    0x03: ("tacho_speed_kmh", 2, _tenths),  # WORD 1/10 km/h, from the tachograph
    0x04: ("manual_alarm_event_id", 2, _uint),  # WORD, 需要人工确认报警事件的 ID
    0x05: ("tire_pressure", 30, list),  # 2019 BYTE[30] Pa per wheel, 0xff invalid
    0x06: ("carriage_temp_c", 2, _sint),  # 2019 WORD °C (two's complement, as terminals send it)
    0x11: ("overspeed_alarm", _ANY_LENGTH, _overspeed),  # 1 or 5 bytes
    0x12: ("area_alarm", 6, _area),
    0x13: ("route_time_alarm", 7, _route_time),
    0x25: ("vehicle_signal", 4, _uint),  # DWORD bits per 表31
    0x2A: ("io_status", 2, _uint),  # WORD bits per 表32
    0x2B: ("analog", 4, _uint),  # DWORD: bits 0-15 AD0, 16-31 AD1
    0x30: ("rssi", 1, _uint),
    0x31: ("gnss_satellites", 1, _uint),
}
# Indexed by id: a list lookup per item is the cheapest dispatch in the decode loop.
_DECODER_TABLE = [_EXTRA_DECODERS.get(i) for i in range(256)]
_RAW_KEYS = [f"0x{i:02X}" for i in range(256)]


def decode_extras(body: bytes, pos: int) -> dict[str, object]:
    """The additional items from ``pos`` on. Known ids become named values; unknown ids, known ids of
    the wrong length and repeats are kept as hex under "0xNN" ("0xNN#2"...); bytes that do not form a
    whole item, or that start with the undefined id 0x00 (terminals pad with zeros), go to "trailing"."""
    extras: dict[str, object] = {}
    n = len(body)
    table = _DECODER_TABLE
    while pos < n:
        item_id = body[pos]
        start = pos + 2
        end = start + body[pos + 1] if start <= n else n + 1
        if end > n or item_id == 0:
            extras["trailing"] = body[pos:].hex()
            break
        value = body[start:end]
        pos = end
        spec = table[item_id]
        if spec is not None:
            key, length, decoder = spec
            if (length == end - start or length == _ANY_LENGTH) and key not in extras:
                decoded = decoder(value)
                if decoded is not None:
                    extras[key] = decoded
                    continue
        key = _RAW_KEYS[item_id]
        if key in extras:
            repeat = 2
            while f"{key}#{repeat}" in extras:
                repeat += 1
            key = f"{key}#{repeat}"
        extras[key] = value.hex()
    return extras


def _number(key: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"extras[{key!r}] must be a number, not {v!r}")
    return v


def _integer(key: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"extras[{key!r}] must be an integer, not {v!r}")
    return v


def _fields(key: str, v: object, names: tuple[str, ...]) -> list[object]:
    if not isinstance(v, dict):
        raise ValueError(f"extras[{key!r}] must be an object with {', '.join(names)}")
    try:
        return [v[name] for name in names]
    except KeyError as exc:
        raise ValueError(f"extras[{key!r}] lacks {exc}") from None


def _enc_overspeed(key: str, v: object) -> bytes:
    loc_type, area_id = _fields(key, v, ("location_type", "area_id"))
    head = _integer(key, loc_type).to_bytes(1, "big")
    return head if area_id is None else head + _integer(key, area_id).to_bytes(4, "big")


def _enc_area(key: str, v: object) -> bytes:
    loc_type, area_id, direction = _fields(key, v, ("location_type", "area_id", "direction"))
    return struct.pack(">BIB", _integer(key, loc_type), _integer(key, area_id), _integer(key, direction))


def _enc_route_time(key: str, v: object) -> bytes:
    segment, time_s, result = _fields(key, v, ("segment_id", "time_s", "result"))
    return struct.pack(">IHB", _integer(key, segment), _integer(key, time_s), _integer(key, result))


def _enc_tires(key: str, v: object) -> bytes:
    if not isinstance(v, list | tuple) or len(v) != 30:
        raise ValueError(f"extras[{key!r}] must be a list of 30 integers")
    return bytes(_integer(key, x) for x in v)


# key -> (id, encoder)
_EXTRA_ENCODERS: dict[str, tuple[int, Callable[[str, object], bytes]]] = {
    "mileage_km": (0x01, lambda k, v: round(_number(k, v) * 10).to_bytes(4, "big")),
    "fuel_l": (0x02, lambda k, v: round(_number(k, v) * 10).to_bytes(2, "big")),
    "tacho_speed_kmh": (0x03, lambda k, v: round(_number(k, v) * 10).to_bytes(2, "big")),
    "manual_alarm_event_id": (0x04, lambda k, v: _integer(k, v).to_bytes(2, "big")),
    "tire_pressure": (0x05, _enc_tires),
    "carriage_temp_c": (0x06, lambda k, v: _integer(k, v).to_bytes(2, "big", signed=True)),
    "overspeed_alarm": (0x11, _enc_overspeed),
    "area_alarm": (0x12, _enc_area),
    "route_time_alarm": (0x13, _enc_route_time),
    "vehicle_signal": (0x25, lambda k, v: _integer(k, v).to_bytes(4, "big")),
    "io_status": (0x2A, lambda k, v: _integer(k, v).to_bytes(2, "big")),
    "analog": (0x2B, lambda k, v: _integer(k, v).to_bytes(4, "big")),
    "rssi": (0x30, lambda k, v: _integer(k, v).to_bytes(1, "big")),
    "gnss_satellites": (0x31, lambda k, v: _integer(k, v).to_bytes(1, "big")),
}

EXTRA_KEYS: dict[int, str] = {item_id: spec[0] for item_id, spec in _EXTRA_DECODERS.items()}


def _hex(key: str, v: object) -> bytes:
    if not isinstance(v, str):
        raise ValueError(f"extras[{key!r}] must be a hex string")
    try:
        return bytes.fromhex(v)
    except ValueError:
        raise ValueError(f"extras[{key!r}] is not valid hex: {v!r}") from None


def encode_extras(extras: dict[str, object]) -> bytes:
    """The additional items in dict order, then any "trailing" bytes: the inverse of ``decode_extras``."""
    out = []
    trailing = b""
    for key, value in extras.items():
        if key == "trailing":
            trailing = _hex(key, value)
            continue
        if key.startswith("0x"):
            try:
                item_id = int(key[2:4], 16)
            except ValueError:
                raise ValueError(f"extras key {key!r} is not 0xNN") from None
            raw = _hex(key, value)
        else:
            spec = _EXTRA_ENCODERS.get(key)
            if spec is None:
                raise ValueError(f"unknown extras key {key!r} (use '0xNN' with a hex value for raw items)")
            item_id = spec[0]
            try:
                raw = spec[1](key, value)
            except (OverflowError, struct.error) as exc:
                raise ValueError(f"extras[{key!r}] out of range: {exc}") from None
        if len(raw) > 0xFF:
            raise ValueError(f"extras[{key!r}] is {len(raw)} bytes; an item holds at most 255")
        out.append(bytes((item_id, len(raw))) + raw)
    return b"".join(out) + trailing
