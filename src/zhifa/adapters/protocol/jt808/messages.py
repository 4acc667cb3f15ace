"""JT/T 808 message bodies the platform handles: dataclasses, decoders, encoders and the dispatcher.

Each body is named by its message id and title in JT/T 808-2019 §8 (数据格式); -2013 and -2011 are
marked where they differ.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from zhifa.adapters.protocol.jt808.framing import Frame, FrameError, Header, parse_frame
from zhifa.adapters.protocol.jt808.location import (
    Location,
    decode_bcd_time,
    decode_location,
    encode_bcd_time,
    encode_location,
)

MSG_TERMINAL_RESPONSE = 0x0001
MSG_HEARTBEAT = 0x0002
MSG_LOGOUT = 0x0003
MSG_TIME_QUERY = 0x0004
MSG_REGISTER = 0x0100
MSG_AUTHENTICATE = 0x0102
MSG_LOCATION = 0x0200
MSG_LOCATION_QUERY_RESPONSE = 0x0201
MSG_LOCATION_BATCH = 0x0704
MSG_PLATFORM_RESPONSE = 0x8001
MSG_TIME_RESPONSE = 0x8004
MSG_REGISTER_RESPONSE = 0x8100
MSG_SET_PARAMETERS = 0x8103
MSG_LOCATION_QUERY = 0x8201

# 0x0001 终端通用应答 result
RESULT_SUCCESS = 0
RESULT_FAILURE = 1
RESULT_MESSAGE_ERROR = 2
RESULT_UNSUPPORTED = 3
# 0x8001 平台通用应答 adds 4 (报警处理确认)
PLATFORM_RESULT_SUCCESS = 0
PLATFORM_RESULT_FAILURE = 1
PLATFORM_RESULT_MESSAGE_ERROR = 2
PLATFORM_RESULT_UNSUPPORTED = 3
PLATFORM_RESULT_ALARM_CONFIRMED = 4
# 0x8100 终端注册应答 result
REGISTER_SUCCESS = 0
REGISTER_VEHICLE_TAKEN = 1
REGISTER_NO_VEHICLE = 2
REGISTER_TERMINAL_TAKEN = 3
REGISTER_NO_TERMINAL = 4

VERSIONS = (2011, 2013, 2019)


@dataclass(frozen=True, slots=True)
class TerminalResponse:
    """0x0001 终端通用应答."""

    ack_serial: int
    ack_id: int
    result: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """0x0002 终端心跳 (empty body)."""


@dataclass(frozen=True, slots=True)
class Logout:
    """0x0003 终端注销 (empty body)."""


@dataclass(frozen=True, slots=True)
class TimeQuery:
    """0x0004 查询服务器时间请求 (2019, empty body)."""


@dataclass(frozen=True, slots=True)
class TimeResponse:
    """0x8004 查询服务器时间应答: BCD[6] in UTC (the one BCD time in the standard that is not GMT+8)."""

    time: datetime


@dataclass(frozen=True, slots=True)
class Register:
    """0x0100 终端注册. ``plate_colour`` 0 means no plate: ``plate`` then holds the VIN."""

    province: int
    city: int
    maker: str
    model: str
    terminal_id: str
    plate_colour: int
    plate: str


@dataclass(frozen=True, slots=True)
class RegisterResponse:
    """0x8100 终端注册应答; ``auth_code`` only with result 0."""

    ack_serial: int
    result: int
    auth_code: str | None


@dataclass(frozen=True, slots=True)
class Authenticate:
    """0x0102 终端鉴权; ``imei`` and ``software_version`` exist only in 2019."""

    auth_code: str
    imei: str | None = None
    software_version: str | None = None


@dataclass(frozen=True, slots=True)
class PlatformResponse:
    """0x8001 平台通用应答."""

    ack_serial: int
    ack_id: int
    result: int


@dataclass(frozen=True, slots=True)
class LocationQuery:
    """0x8201 位置信息查询 (empty body)."""


@dataclass(frozen=True, slots=True)
class LocationQueryResponse:
    """0x0201 位置信息查询应答: the query's serial, then a 0x0200 body."""

    ack_serial: int
    location: Location


@dataclass(frozen=True, slots=True)
class LocationBatch:
    """0x0704 定位数据批量上传; ``type`` 0 normal batch, 1 blind-area supplement (盲区补报)."""

    type: int
    items: tuple[Location, ...]


@dataclass(frozen=True, slots=True)
class SetParameters:
    """0x8103 设置终端参数: (parameter id, value) pairs; see ``PARAMETERS`` for the value types."""

    items: tuple[tuple[int, int | str | bytes], ...]


# 0x8103 终端参数设置各参数项定义及说明: id -> (name, type). Values of unknown ids stay bytes.
PARAMETERS: dict[int, tuple[str, str]] = {
    0x0001: ("heartbeat_interval_s", "DWORD"),
    0x0002: ("tcp_ack_timeout_s", "DWORD"),
    0x0003: ("tcp_retransmissions", "DWORD"),
    0x0004: ("udp_ack_timeout_s", "DWORD"),
    0x0005: ("udp_retransmissions", "DWORD"),
    0x0006: ("sms_ack_timeout_s", "DWORD"),
    0x0007: ("sms_retransmissions", "DWORD"),
    0x0010: ("main_server_apn", "STRING"),
    0x0011: ("main_server_dial_user", "STRING"),
    0x0012: ("main_server_dial_password", "STRING"),
    0x0013: ("main_server_address", "STRING"),  # 2019: "host:port", several separated by ";"
    0x0014: ("backup_server_apn", "STRING"),
    0x0015: ("backup_server_dial_user", "STRING"),
    0x0016: ("backup_server_dial_password", "STRING"),
    0x0017: ("backup_server_address", "STRING"),
    0x0018: ("server_tcp_port", "DWORD"),  # -2013; 2019 moved the port into 0x0013
    0x0019: ("server_udp_port", "DWORD"),  # -2013
    0x001A: ("ic_auth_main_server_address", "STRING"),
    0x001B: ("ic_auth_server_tcp_port", "DWORD"),
    0x001C: ("ic_auth_server_udp_port", "DWORD"),
    0x001D: ("ic_auth_backup_server_address", "STRING"),
    0x0020: ("report_strategy", "DWORD"),  # 0 timed, 1 by distance, 2 timed and by distance
    0x0021: ("report_scheme", "DWORD"),  # 0 by ACC, 1 by login state then ACC
    0x0022: ("no_driver_report_interval_s", "DWORD"),
    0x0027: ("sleep_report_interval_s", "DWORD"),
    0x0028: ("emergency_report_interval_s", "DWORD"),
    0x0029: ("default_report_interval_s", "DWORD"),
    0x002C: ("default_report_distance_m", "DWORD"),
    0x002D: ("no_driver_report_distance_m", "DWORD"),
    0x002E: ("sleep_report_distance_m", "DWORD"),
    0x002F: ("emergency_report_distance_m", "DWORD"),
    0x0030: ("corner_retransmit_angle_deg", "DWORD"),
    0x0031: ("geofence_radius_m", "WORD"),  # 电子围栏半径 (illegal displacement threshold)
    0x0040: ("platform_phone", "STRING"),
    0x0041: ("reset_phone", "STRING"),
    0x0042: ("factory_reset_phone", "STRING"),
    0x0043: ("platform_sms_phone", "STRING"),
    0x0044: ("sms_text_alarm_phone", "STRING"),
    0x0045: ("answer_strategy", "DWORD"),
    0x0046: ("max_call_time_s", "DWORD"),
    0x0047: ("max_call_time_month_s", "DWORD"),
    0x0048: ("monitor_phone", "STRING"),
    0x0049: ("privileged_sms_phone", "STRING"),
    0x0050: ("alarm_mask", "DWORD"),
    0x0051: ("alarm_sms_switch", "DWORD"),
    0x0052: ("alarm_photo_switch", "DWORD"),
    0x0053: ("alarm_photo_store_flags", "DWORD"),
    0x0054: ("key_alarm_flags", "DWORD"),
    0x0055: ("max_speed_kmh", "DWORD"),
    0x0056: ("overspeed_duration_s", "DWORD"),
    0x0057: ("continuous_driving_limit_s", "DWORD"),
    0x0058: ("daily_driving_limit_s", "DWORD"),
    0x0059: ("min_rest_s", "DWORD"),
    0x005A: ("max_parking_s", "DWORD"),
    0x005B: ("overspeed_warning_difference_dkmh", "WORD"),  # 1/10 km/h
    0x005C: ("fatigue_warning_difference_s", "WORD"),
    0x005D: ("collision_alarm_setting", "WORD"),
    0x005E: ("rollover_alarm_angle_deg", "WORD"),
    0x0064: ("timed_photo_control", "DWORD"),
    0x0065: ("distance_photo_control", "DWORD"),
    0x0070: ("image_quality", "DWORD"),
    0x0071: ("brightness", "DWORD"),
    0x0072: ("contrast", "DWORD"),
    0x0073: ("saturation", "DWORD"),
    0x0074: ("chroma", "DWORD"),
    0x0080: ("odometer_dkm", "DWORD"),  # 1/10 km
    0x0081: ("province_id", "WORD"),
    0x0082: ("city_id", "WORD"),
    0x0083: ("plate", "STRING"),
    0x0084: ("plate_colour", "BYTE"),
    0x0090: ("gnss_mode", "BYTE"),
    0x0091: ("gnss_baud_rate", "BYTE"),
    0x0092: ("gnss_output_frequency", "BYTE"),
    0x0093: ("gnss_sample_interval_s", "DWORD"),
    0x0094: ("gnss_upload_mode", "BYTE"),
    0x0095: ("gnss_upload_setting", "DWORD"),
    0x0100: ("can1_sample_interval_ms", "DWORD"),
    0x0101: ("can1_upload_interval_s", "WORD"),
    0x0102: ("can2_sample_interval_ms", "DWORD"),
    0x0103: ("can2_upload_interval_s", "WORD"),
}
_INT_SIZES = {"BYTE": 1, "WORD": 2, "DWORD": 4}

_W = struct.Struct(">H")
_WWB = struct.Struct(">HHB")
_WB = struct.Struct(">HB")
_IB = struct.Struct(">IB")

# 0x0100 终端注册 field sizes: maker, model, terminal id (BYTE[n] each). The -2011 and -2013
# headers are identical, so only this body tells a 2011 terminal from a 2013 one.
_REGISTER_SIZES = {2011: (5, 8, 7), 2013: (5, 20, 7), 2019: (11, 30, 30)}
_REGISTER_FIXED_2013 = 2 + 2 + 5 + 20 + 7 + 1


def _register_layout(body: bytes, version: int) -> int:
    # A -2013 body has a 37-byte fixed part; anything shorter is the -2011 layout (25 fixed bytes).
    # Limit: a 2011 body whose plate/VIN is 12+ bytes would be read as 2013; real plates are 8-9 bytes.
    if version == 2013 and len(body) < _REGISTER_FIXED_2013:
        return 2011
    return version


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        raise FrameError("body", f"{what} {raw.hex()} is not GBK text") from None


def _padded_text(raw: bytes, what: str) -> str:
    # Fixed-size fields are right-padded with 0x00 (some terminals pad with spaces).
    return _text(raw, what).rstrip("\x00 ")


def _pad(text: str, size: int, what: str) -> bytes:
    raw = text.encode("gbk")
    if len(raw) > size:
        raise ValueError(f"{what} {text!r} is {len(raw)} bytes; the field holds {size}")
    return raw.ljust(size, b"\x00")


def _exact(body: bytes, size: int, what: str) -> None:
    if len(body) != size:
        raise FrameError("body", f"{what} body must be {size} bytes, got {len(body)}")


def _empty(cls: type) -> Callable[[bytes, int], object]:
    def decode(body: bytes, version: int) -> object:
        _exact(body, 0, cls.__name__)
        return cls()

    return decode


def _dec_terminal_response(body: bytes, version: int) -> TerminalResponse:
    _exact(body, 5, "TerminalResponse")
    return TerminalResponse(*_WWB.unpack(body))


def _dec_platform_response(body: bytes, version: int) -> PlatformResponse:
    _exact(body, 5, "PlatformResponse")
    return PlatformResponse(*_WWB.unpack(body))


def _dec_time_response(body: bytes, version: int) -> TimeResponse:
    _exact(body, 6, "TimeResponse")
    return TimeResponse(decode_bcd_time(body, 0, UTC, "server time"))


def _dec_register(body: bytes, version: int) -> Register:
    layout = _register_layout(body, version)
    maker_n, model_n, id_n = _REGISTER_SIZES[layout]
    fixed = 4 + maker_n + model_n + id_n + 1
    if len(body) < fixed:
        raise FrameError("body", f"{layout} register body must be at least {fixed} bytes, got {len(body)}")
    province, city = struct.unpack_from(">HH", body)
    at = 4
    maker = _padded_text(body[at : at + maker_n], "maker id")
    at += maker_n
    model = _padded_text(body[at : at + model_n], "terminal model")
    at += model_n
    terminal_id = _padded_text(body[at : at + id_n], "terminal id")
    at += id_n
    return Register(
        province, city, maker, model, terminal_id, body[at], _padded_text(body[at + 1 :], "plate")
    )


def _dec_register_response(body: bytes, version: int) -> RegisterResponse:
    if len(body) < 3:
        raise FrameError("body", f"RegisterResponse body must be at least 3 bytes, got {len(body)}")
    ack_serial, result = _WB.unpack_from(body)
    rest = body[3:]
    return RegisterResponse(ack_serial, result, _text(rest, "auth code") if rest else None)


def _dec_authenticate(body: bytes, version: int) -> Authenticate:
    if version != 2019:
        # -2013/-2011 0x0102 终端鉴权: the whole body is the auth code (STRING)
        return Authenticate(_text(body, "auth code"))
    # 2019 0x0102: BYTE length, code, IMEI BYTE[15], software version BYTE[20]
    if not body or len(body) != 1 + body[0] + 15 + 20:
        raise FrameError(
            "body", f"2019 authenticate body of {len(body)} bytes does not match its code length"
        )
    n = body[0]
    imei = _padded_text(body[1 + n : 16 + n], "IMEI")
    software = _padded_text(body[16 + n :], "software version")
    return Authenticate(_text(body[1 : 1 + n], "auth code"), imei or None, software or None)


def _dec_location(body: bytes, version: int) -> Location:
    return decode_location(body)


def _dec_location_query_response(body: bytes, version: int) -> LocationQueryResponse:
    if len(body) < 2:
        raise FrameError("body", f"LocationQueryResponse body of {len(body)} bytes lacks the serial")
    return LocationQueryResponse(_W.unpack_from(body)[0], decode_location(body[2:]))


def _dec_location_batch(body: bytes, version: int) -> LocationBatch:
    # 0x0704 定位数据批量上传: count WORD, type BYTE, then per item WORD length + a 0x0200 body
    if len(body) < 3:
        raise FrameError("body", f"LocationBatch body of {len(body)} bytes lacks the count and type")
    count, kind = _WB.unpack_from(body)
    items = []
    at = 3
    for i in range(count):
        if at + 2 > len(body):
            raise FrameError("body", f"LocationBatch says {count} items, body ends after {i}")
        size = _W.unpack_from(body, at)[0]
        at += 2
        if at + size > len(body):
            raise FrameError("body", f"LocationBatch item {i + 1} says {size} bytes, {len(body) - at} remain")
        items.append(decode_location(body[at : at + size]))
        at += size
    if at != len(body):
        raise FrameError("body", f"LocationBatch has {len(body) - at} bytes after its {count} items")
    return LocationBatch(kind, tuple(items))


def _param_value(param_id: int, raw: bytes) -> int | str | bytes:
    spec = PARAMETERS.get(param_id)
    if spec is None:
        return raw
    kind = spec[1]
    if kind == "STRING":
        try:
            return raw.decode("gbk")
        except UnicodeDecodeError:
            return raw
    if _INT_SIZES.get(kind) == len(raw):
        return int.from_bytes(raw, "big")
    return raw


def _dec_set_parameters(body: bytes, version: int) -> SetParameters:
    # 0x8103 设置终端参数: count BYTE, then per item id DWORD, length BYTE, value
    if not body:
        raise FrameError("body", "SetParameters body is empty (it starts with the item count)")
    count = body[0]
    items: list[tuple[int, int | str | bytes]] = []
    at = 1
    for i in range(count):
        if at + 5 > len(body):
            raise FrameError("body", f"SetParameters says {count} items, body ends after {i}")
        param_id, size = _IB.unpack_from(body, at)
        at += 5
        if at + size > len(body):
            raise FrameError("body", f"parameter 0x{param_id:04X} says {size} bytes, {len(body) - at} remain")
        items.append((param_id, _param_value(param_id, body[at : at + size])))
        at += size
    if at != len(body):
        raise FrameError("body", f"SetParameters has {len(body) - at} bytes after its {count} items")
    return SetParameters(tuple(items))


_DECODERS: dict[int, Callable[[bytes, int], object]] = {
    MSG_TERMINAL_RESPONSE: _dec_terminal_response,
    MSG_HEARTBEAT: _empty(Heartbeat),
    MSG_LOGOUT: _empty(Logout),
    MSG_TIME_QUERY: _empty(TimeQuery),
    MSG_TIME_RESPONSE: _dec_time_response,
    MSG_REGISTER: _dec_register,
    MSG_REGISTER_RESPONSE: _dec_register_response,
    MSG_AUTHENTICATE: _dec_authenticate,
    MSG_PLATFORM_RESPONSE: _dec_platform_response,
    MSG_LOCATION: _dec_location,
    MSG_LOCATION_QUERY: _empty(LocationQuery),
    MSG_LOCATION_QUERY_RESPONSE: _dec_location_query_response,
    MSG_LOCATION_BATCH: _dec_location_batch,
    MSG_SET_PARAMETERS: _dec_set_parameters,
}


def decode_body(msg_id: int, body: bytes, version: int) -> object:
    """The message dataclass for ``body``; FrameError("unsupported") for an id not modelled here,
    FrameError("body") for a malformed body. ``version`` 2013 also reads a -2011 register body."""
    decoder = _DECODERS.get(msg_id)
    if decoder is None:
        raise FrameError("unsupported", f"message 0x{msg_id:04X} is not supported by this codec")
    return decoder(body, version)


def decode_frame(frame: Frame) -> tuple[Header, object]:
    """Decode a whole (unsplit or reassembled) frame's body; a 2011-layout register reports version 2011."""
    h = frame.header
    if h.packet is not None:
        raise FrameError(
            "unsupported", f"frame is packet {h.packet[1]} of {h.packet[0]}; reassemble it with Reassembler"
        )
    message = decode_body(h.msg_id, frame.body, h.version)
    if h.msg_id == MSG_REGISTER and _register_layout(frame.body, h.version) == 2011:
        h = replace(h, version=2011)
    return h, message


def decode(wire: bytes) -> tuple[Header, object]:
    """``parse_frame`` then ``decode_body``; a subpackaged frame is FrameError("unsupported")."""
    return decode_frame(parse_frame(wire))


# --- encoders ---


def _enc_empty(message: object, version: int) -> bytes:
    return b""


def _enc_response(message: TerminalResponse | PlatformResponse, version: int) -> bytes:
    return _WWB.pack(message.ack_serial, message.ack_id, message.result)


def _enc_time_response(message: TimeResponse, version: int) -> bytes:
    return encode_bcd_time(message.time, UTC, "server time")


def _enc_register(message: Register, version: int) -> bytes:
    maker_n, model_n, id_n = _REGISTER_SIZES[version]
    return (
        struct.pack(">HH", message.province, message.city)
        + _pad(message.maker, maker_n, "maker id")
        + _pad(message.model, model_n, "terminal model")
        + _pad(message.terminal_id, id_n, "terminal id")
        + bytes((message.plate_colour,))
        + message.plate.encode("gbk")
    )


def _enc_register_response(message: RegisterResponse, version: int) -> bytes:
    code = b"" if message.auth_code is None else message.auth_code.encode("gbk")
    return _WB.pack(message.ack_serial, message.result) + code


def _enc_authenticate(message: Authenticate, version: int) -> bytes:
    code = message.auth_code.encode("gbk")
    if version != 2019:
        if message.imei is not None or message.software_version is not None:
            raise ValueError("imei and software_version exist only in the 2019 authenticate body")
        return code
    if len(code) > 0xFF:
        raise ValueError(f"auth code of {len(code)} bytes exceeds the 2019 BYTE length")
    return (
        bytes((len(code),))
        + code
        + _pad(message.imei or "", 15, "IMEI")
        + _pad(message.software_version or "", 20, "software version")
    )


def _enc_location(message: Location, version: int) -> bytes:
    return encode_location(message)


def _enc_location_query_response(message: LocationQueryResponse, version: int) -> bytes:
    return _W.pack(message.ack_serial) + encode_location(message.location)


def _enc_location_batch(message: LocationBatch, version: int) -> bytes:
    out = [_WB.pack(len(message.items), message.type)]
    for item in message.items:
        raw = encode_location(item)
        out.append(_W.pack(len(raw)) + raw)
    return b"".join(out)


def _param_bytes(param_id: int, value: int | str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("gbk")
    spec = PARAMETERS.get(param_id)
    size = _INT_SIZES.get(spec[1]) if spec else None
    if size is None or isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"parameter 0x{param_id:04X} takes {spec[1] if spec else 'bytes'}, not {value!r}")
    return value.to_bytes(size, "big")


def _enc_set_parameters(message: SetParameters, version: int) -> bytes:
    out = [bytes((len(message.items),))]
    for param_id, value in message.items:
        raw = _param_bytes(param_id, value)
        out.append(_IB.pack(param_id, len(raw)) + raw)
    return b"".join(out)


_ENCODERS: dict[type, tuple[int, Callable[[Any, int], bytes]]] = {
    TerminalResponse: (MSG_TERMINAL_RESPONSE, _enc_response),
    Heartbeat: (MSG_HEARTBEAT, _enc_empty),
    Logout: (MSG_LOGOUT, _enc_empty),
    TimeQuery: (MSG_TIME_QUERY, _enc_empty),
    TimeResponse: (MSG_TIME_RESPONSE, _enc_time_response),
    Register: (MSG_REGISTER, _enc_register),
    RegisterResponse: (MSG_REGISTER_RESPONSE, _enc_register_response),
    Authenticate: (MSG_AUTHENTICATE, _enc_authenticate),
    PlatformResponse: (MSG_PLATFORM_RESPONSE, _enc_response),
    Location: (MSG_LOCATION, _enc_location),
    LocationQuery: (MSG_LOCATION_QUERY, _enc_empty),
    LocationQueryResponse: (MSG_LOCATION_QUERY_RESPONSE, _enc_location_query_response),
    LocationBatch: (MSG_LOCATION_BATCH, _enc_location_batch),
    SetParameters: (MSG_SET_PARAMETERS, _enc_set_parameters),
}
MESSAGE_TYPES: dict[int, type] = {msg_id: cls for cls, (msg_id, _) in _ENCODERS.items()}


def encode_body(message: object, version: int) -> tuple[int, bytes]:
    """(msg_id, body bytes) for any message dataclass of this module or a ``Location``.

    Values that do not fit their fields (a WORD over 65535, text longer than its BYTE[n]) raise ValueError.
    """
    if version not in VERSIONS:
        raise ValueError(f"version must be 2011, 2013 or 2019, not {version}")
    spec = _ENCODERS.get(type(message))
    if spec is None:
        raise ValueError(f"cannot encode {type(message).__name__}: not a JT/T 808 message dataclass")
    try:
        return spec[0], spec[1](message, version)
    except (struct.error, OverflowError, UnicodeEncodeError, TypeError, AttributeError) as exc:
        raise ValueError(f"{type(message).__name__} does not fit its wire fields: {exc}") from None
