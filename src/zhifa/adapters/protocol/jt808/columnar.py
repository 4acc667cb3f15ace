"""Many 0x0200 location bodies at once, as columns: what the gateway stores per group commit.

``decode_location`` (location.py) is the reference: one body in, one ``Location`` out. A gateway
taking 20 000 positions a second cannot afford a Python object per fix, so it keeps the bodies as
bytes and decodes the basic part (表23, fixed 28 bytes) of a whole group with numpy, and turns the
additional items into the lake's JSON text with a short formatter for the items terminals send
with every fix. tests/unit/adapters/test_jt808_columnar.py holds both to the reference with
hypothesis: same values, and the same bodies refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zhifa.adapters.protocol.jt808.location import BASIC_SIZE, STATUS_SOUTH, STATUS_WEST, decode_extras
from zhifa.domain.readings import MAX_EXTRAS_CHARS

# 表23 in wire order, big-endian: alarm DWORD, status DWORD, lat DWORD, lon DWORD, altitude WORD,
# speed WORD (1/10 km/h), heading WORD, time BCD[6]. fast.py extends it with the simulator's items.
BASIC_FIELDS: list[tuple[str, str] | tuple[str, str, tuple[int]]] = [
    ("alarm", ">u4"),
    ("status", ">u4"),
    ("lat", ">u4"),
    ("lon", ">u4"),
    ("altitude", ">u2"),
    ("speed", ">u2"),
    ("heading", ">u2"),
    ("time", "u1", (6,)),
]
_BASIC = np.dtype(BASIC_FIELDS)
# 表23: location times are GMT+8; the lake stores UTC.
_GMT8_OFFSET = np.timedelta64(8 * 3600, "s")
_EPOCH_YEAR = 1970


@dataclass(frozen=True)
class LocationColumns:
    """The basic part of n bodies. Rows whose time is not a real BCD time have ``valid`` False and
    meaningless values in the other columns; ``decode_location`` refuses exactly those bodies."""

    valid: npt.NDArray[np.bool_]
    alarm: npt.NDArray[np.uint32]
    status: npt.NDArray[np.uint32]
    lat: npt.NDArray[np.float64]  # signed degrees: south negative (status bit 2, 表25)
    lon: npt.NDArray[np.float64]  # signed degrees: west negative (status bit 3)
    altitude_m: npt.NDArray[np.int32]
    speed_kmh: npt.NDArray[np.float64]
    heading: npt.NDArray[np.int32]  # a WORD; the checks refuse anything over 359
    time: npt.NDArray[np.datetime64]  # datetime64[us], UTC


def decode_basic(bodies: Sequence[bytes]) -> LocationColumns:
    """The 表23 basic part of every body (each at least BASIC_SIZE bytes long)."""
    if any(len(b) < BASIC_SIZE for b in bodies):
        raise ValueError(f"every location body must hold the {BASIC_SIZE}-byte basic part")
    raw = np.frombuffer(b"".join([b[:BASIC_SIZE] for b in bodies]), dtype=_BASIC)
    status = raw["status"].astype(np.uint32)
    lat = raw["lat"] / 1e6
    lon = raw["lon"] / 1e6
    # 表25 bits 2/3: the DWORDs are magnitudes; the hemisphere lives in the status.
    lat = np.where(status & STATUS_SOUTH, -lat, lat)
    lon = np.where(status & STATUS_WEST, -lon, lon)
    valid, time = _bcd_times(raw["time"])
    return LocationColumns(
        valid=valid,
        alarm=raw["alarm"].astype(np.uint32),
        status=status,
        lat=lat,
        lon=lon,
        altitude_m=raw["altitude"].astype(np.int32),
        speed_kmh=raw["speed"] / 10,
        heading=raw["heading"].astype(np.int32),
        time=time,
    )


def _bcd_times(bcd: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.datetime64]]:
    """BCD[6] YYMMDDhhmmss (GMT+8, years 2000-2099) as UTC datetime64[us], and which are real times."""
    high, low = bcd >> 4, bcd & 15
    digits_ok = ((high < 10) & (low < 10)).all(axis=1)
    v = high.astype(np.int64) * 10 + low
    year, month, day, hour, minute, second = (v[:, i] for i in range(6))
    month_ok = (month >= 1) & (month <= 12)
    months = ((2000 + year - _EPOCH_YEAR) * 12 + np.where(month_ok, month - 1, 0)).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    days_in_month = ((months + 1).astype("datetime64[D]") - first).astype(np.int64)
    valid = (
        digits_ok
        & month_ok
        & (day >= 1)
        & (day <= days_in_month)
        & (hour < 24)
        & (minute < 60)
        & (second < 60)  # datetime() refuses a leap second too
    )
    seconds = first.astype("datetime64[s]") + ((day - 1) * 86400 + hour * 3600 + minute * 60 + second)
    return valid, (seconds - _GMT8_OFFSET).astype("datetime64[us]")


# The additional items (表27) every terminal sends with every fix, as a plain number each:
# id -> (the JSON key with its quotes and colon, the item's length, tenths?).
_NUMERIC_ITEMS: dict[int, tuple[str, int, bool]] = {
    0x01: ('"mileage_km":', 4, True),
    0x02: ('"fuel_l":', 2, True),
    0x03: ('"tacho_speed_kmh":', 2, True),
    0x04: ('"manual_alarm_event_id":', 2, False),
    0x25: ('"vehicle_signal":', 4, False),
    0x2A: ('"io_status":', 2, False),
    0x2B: ('"analog":', 4, False),
    0x30: ('"rssi":', 1, False),
    0x31: ('"gnss_satellites":', 1, False),
}
_NUMERIC_TABLE = [_NUMERIC_ITEMS.get(i) for i in range(256)]


def extras_json(body: bytes) -> str | None:
    """The additional items after the basic part as the lake's JSON text (None when there are none).

    Bodies whose items are all plain numbers of the right length, each once, are formatted directly;
    anything else goes through ``decode_extras``. Both give what ``json.dumps`` gives for the decoded
    items (floats and ints print as Python's repr), so the text does not depend on the path taken.
    """
    n = len(body)
    if n <= BASIC_SIZE:
        return None
    parts = []
    seen = 0
    pos = BASIC_SIZE
    table = _NUMERIC_TABLE
    while pos < n:
        item = body[pos]
        spec = table[item]
        if spec is None or pos + 2 > n or body[pos + 1] != spec[1] or seen >> item & 1:
            return extras_text(decode_extras(body, BASIC_SIZE))
        seen |= 1 << item
        end = pos + 2 + spec[1]
        if end > n:
            return extras_text(decode_extras(body, BASIC_SIZE))
        value = int.from_bytes(body[pos + 2 : end], "big")
        parts.append(spec[0] + (repr(value / 10) if spec[2] else repr(value)))
        pos = end
    text = "{" + ",".join(parts) + "}"
    return text if len(text) <= MAX_EXTRAS_CHARS else extras_text(decode_extras(body, BASIC_SIZE))


def extras_text(extras: dict[str, object]) -> str | None:
    """Decoded additional items as JSON; raw vendor items go first when it would be too long."""
    if not extras:
        return None
    text = json.dumps(extras, ensure_ascii=False, separators=(",", ":"))
    if len(text) > MAX_EXTRAS_CHARS:
        known = {k: v for k, v in extras.items() if not k.startswith("0x") and k != "trailing"}
        text = json.dumps(known, ensure_ascii=False, separators=(",", ":"))[:MAX_EXTRAS_CHARS]
        if len(text) == MAX_EXTRAS_CHARS:
            return None
    return text
