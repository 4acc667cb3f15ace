"""Fast paths for the frames simulated terminals (simulator/jt808.py) send and receive per position.

A benchmark runs 10 000 simulated terminals at 20 000 positions/s on the same cores as the gateway it
loads, so every microsecond the load generator spends per position is taken from the system it
measures. The generic codec builds a dataclass per message, walks the extras dict and checksums byte by
byte; here the 0x0200 frames of a whole tick are laid out at once in a numpy record array, and 0x8001
answers are read with one ``struct`` unpack. tests/unit/adapters/test_jt808_fast.py proves these equal
to the reference codec (``encode_body`` and ``build_frame``; ``Deframer``, ``parse_frame`` and
``decode_body``).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from zhifa.adapters.protocol.jt808.columnar import BASIC_FIELDS
from zhifa.adapters.protocol.jt808.framing import build_frame, escape, unescape
from zhifa.adapters.protocol.jt808.messages import MSG_LOCATION, MSG_PLATFORM_RESPONSE

# 表23 basic information (the BCD[6] time as bytes), then the simulator's additional items (表27):
# 0x01 mileage DWORD 1/10 km, 0x30 RSSI BYTE, 0x31 GNSS satellites BYTE.
_BODY_FIELDS: list[tuple[str, str] | tuple[str, str, tuple[int]]] = [
    *BASIC_FIELDS,
    ("mileage_item", "u1", (2,)),
    ("mileage", ">u4"),
    ("rssi_item", "u1", (2,)),
    ("rssi", "u1"),
    ("satellites_item", "u1", (2,)),
    ("satellites", "u1"),
]
SIM_BODY_SIZE = np.dtype(_BODY_FIELDS).itemsize
_TAIL = [("checksum", "u1"), ("end", "u1")]
_DTYPES: dict[int, np.dtype] = {}  # by header size: 10 bytes before 2019, 15 in 2019
_TEMPLATES: dict[tuple[int, int, int, int, int], npt.NDArray[np.void]] = {}
_BCD = np.array([(v // 10) << 4 | v % 10 for v in range(100)], dtype=np.uint8)
_GMT8_S = 8 * 3600
_EPOCH = date(1970, 1, 1)


@functools.lru_cache(maxsize=1024)
def _date(day: int) -> tuple[int, int, int]:
    """BCD YY, MM, DD of a day number (GMT+8) since 1970-01-01."""
    d = _EPOCH + timedelta(days=day)
    if not 2000 <= d.year <= 2099:
        raise ValueError(f"location time {d.isoformat()} is outside 2000-2099, which BCD YY cannot hold")
    return int(_BCD[d.year % 100]), int(_BCD[d.month]), int(_BCD[d.day])


def _frame_dtype(header_size: int) -> np.dtype:
    dtype = _DTYPES.get(header_size)
    if dtype is None:
        dtype = _DTYPES[header_size] = np.dtype(
            [("flag", "u1"), ("header", "u1", (header_size,)), ("serial", ">u2"), *_BODY_FIELDS, *_TAIL]
        )
    return dtype


def sim_location_header(phone: str, version: int = 2013) -> bytes:
    """A terminal's 0x0200 header up to its serial (id, properties, [protocol version,] BCD phone) for
    ``sim_location_frames``, as the reference encoder writes it for a body of ``SIM_BODY_SIZE``."""
    wire = build_frame(MSG_LOCATION, phone, 0, bytes(SIM_BODY_SIZE), version=version)
    return unescape(wire[1:-1])[: -(2 + SIM_BODY_SIZE + 1)]


IntArray = npt.NDArray[np.int64]


def sim_location_frames(
    headers: npt.NDArray[np.uint8],
    serial: Sequence[int] | IntArray,
    lat_e6: IntArray,
    lon_e6: IntArray,
    altitude_m: IntArray,
    speed_dkmh: IntArray,
    heading_deg: IntArray,
    time_s: npt.NDArray[np.float64] | IntArray,
    mileage_hkm: IntArray,
    *,
    alarm: int,
    status: int,
    rssi: int,
    satellites: int,
) -> tuple[list[bytes], list[bytes]]:
    """(wire frames, bodies) of one 0x0200 per row of ``headers`` (``sim_location_header``s), each with
    mileage, RSSI and satellite count: what ``build_frame`` and ``encode_body`` write for the ``Location``
    with these values. The positional values are arrays with a row per frame; ``alarm``, ``status``,
    ``rssi`` and ``satellites`` are the same in every frame.

    The values are the wire integers: ``lat_e6``/``lon_e6`` the magnitudes in 1e-6° (the hemisphere is
    status bits 2 and 3), ``speed_dkmh`` in 0.1 km/h, ``mileage_hkm`` in 0.1 km and ``time_s`` the GPS time
    in epoch seconds (fractions dropped). A value that does not fit its field raises ValueError.
    """
    k, header_size = headers.shape
    if not k:
        return [], []
    dtype = _frame_dtype(header_size)
    size = dtype.itemsize
    constants = (header_size, alarm, status, rssi, satellites)
    if not (
        0 <= alarm <= 0xFFFF_FFFF
        and 0 <= status <= 0xFFFF_FFFF
        and 0 <= rssi <= 0xFF
        and 0 <= satellites <= 0xFF
    ):
        raise ValueError("alarm, status, rssi or satellites does not fit its field")
    words = np.asarray(serial, np.int64) | altitude_m | speed_dkmh | heading_deg
    dwords = np.asarray(lat_e6, np.int64) | lon_e6 | mileage_hkm
    # A negative int64 keeps its sign bit through the shifts, so this catches both ends.
    if ((words >> 16) | (dwords >> 32)).any():
        raise ValueError("a location value does not fit its WORD/DWORD field")
    # The constant fields come from a template record. Flags and checksum stay 0 while the rows are
    # checksummed and searched for bytes to escape, so that neither needs to skip them.
    template = _TEMPLATES.get(constants)
    if template is None:
        if len(_TEMPLATES) >= 64:
            _TEMPLATES.clear()
        template = _TEMPLATES[constants] = np.zeros(1, dtype)
        template["alarm"] = alarm
        template["status"] = status
        template["mileage_item"] = (0x01, 4)  # id, length
        template["rssi_item"] = (0x30, 1)
        template["rssi"] = rssi
        template["satellites_item"] = (0x31, 1)
        template["satellites"] = satellites
    a = np.repeat(template, k)
    a["header"] = headers
    a["serial"] = serial
    a["lat"] = lat_e6
    a["lon"] = lon_e6
    a["altitude"] = altitude_m
    a["speed"] = speed_dkmh
    a["heading"] = heading_deg
    a["mileage"] = mileage_hkm
    local = np.asarray(time_s).astype(np.int64) + _GMT8_S  # 表23: BCD time in GMT+8
    day = local // 86400
    time = a["time"]
    first = int(day[0])
    if (day == first).all():  # a fleet's clocks are seconds apart: one date for all, mostly
        time[:, :3] = _date(first)
    else:
        time[:, :3] = [_date(d) for d in day.tolist()]
    second = local - day * 86400
    time[:, 3] = _BCD[second // 3600]
    time[:, 4] = _BCD[second // 60 % 60]
    time[:, 5] = _BCD[second % 60]
    raw = a.view(np.uint8).reshape(k, size)
    a["checksum"] = np.bitwise_xor.reduce(raw, axis=1)
    unflagged = a.tobytes()
    # Few rows hold a 0x7d or 0x7e, so finding them one by one beats comparing every byte.
    escaped = set()
    for special in (0x7D, 0x7E):
        at = unflagged.find(special)
        while at >= 0:
            escaped.add(at // size)
            at = unflagged.find(special, at + 1)
    a["flag"] = a["end"] = 0x7E
    blob = a.tobytes()
    body_at = 1 + header_size + 2
    frames = [blob[at : at + size] for at in range(0, k * size, size)]
    bodies = [blob[at : at + SIM_BODY_SIZE] for at in range(body_at, k * size, size)]
    for i in escaped:
        frames[i] = b"\x7e" + escape(frames[i][1:-1]) + b"\x7e"
    return frames, bodies


_BATCH_HEAD = struct.Struct(">HB")
_WORD = struct.Struct(">H")


def sim_batch_body(kind: int, bodies: Sequence[bytes]) -> bytes:
    """The 0x0704 body (count WORD, type BYTE, then each item as length WORD + 0x0200 body) for
    location bodies already encoded, without decoding them into ``Location`` values first."""
    return _BATCH_HEAD.pack(len(bodies), kind) + b"".join(_WORD.pack(len(b)) + b for b in bodies)


# A -2013 0x8001 frame with its flags: id, properties, BCD[6] phone as WORD + DWORD, serial; body of
# ack serial, ack id, result; checksum.
_ACK = struct.Struct(">BHHHIHHHBBB")
_ACK_SIZE = _ACK.size
_ACK_PROPS = 5  # the body length, and no subpackage, encryption or 2019 bits


def sim_platform_responses(data: bytes | bytearray) -> list[tuple[int, int, int]] | None:
    """(ack serial, ack id, result) of each 0x8001 when ``data`` is exactly whole, unescaped -2013 0x8001
    frames (flags included) with good checksums: what ``Deframer``, ``parse_frame`` and ``decode_body``
    read from it. None for anything else, to be read by those instead."""
    n = len(data)
    # Each block must hold flags at both ends and no 0x7e between: 2 per block in all.
    if n == _ACK_SIZE:  # one answer per read is the usual case
        if data.count(0x7E) != 2 or 0x7D in data:
            return None
        blocks: Iterable[tuple[int, ...]] = (_ACK.unpack(data),)
    elif not n or n % _ACK_SIZE or data.count(0x7E) != 2 * (n // _ACK_SIZE) or 0x7D in data:
        return None
    else:
        blocks = _ACK.iter_unpack(data)
    out = []
    for flag, msg_id, props, phone_hi, phone_lo, serial, ack_serial, ack_id, result, chk, end in blocks:
        if flag != 0x7E or end != 0x7E or msg_id != MSG_PLATFORM_RESPONSE or props != _ACK_PROPS:
            return None
        # XOR is linear: the XOR of all the bytes is the XOR of the fields, folded down to a byte.
        x = msg_id ^ props ^ phone_hi ^ phone_lo ^ serial ^ ack_serial ^ ack_id
        x ^= x >> 16
        x ^= x >> 8
        if (x ^ result ^ chk) & 0xFF:
            return None
        out.append((ack_serial, ack_id, result))
    return out
