"""Readings: what sensors send, as typed records, one schema per kind, versioned.

Three kinds flow through the data plane (docs/data-plane.md):

- ``position``: a fix from a key vehicle's JT/T 808 terminal (0x0200 位置信息汇报);
- ``passage``: a plate read at a gantry or checkpoint (卡口/门架);
- ``weighing``: a weighing at a site (domain.weighings, issue #2).

Each record is validated on its own (``parse_position``, ``parse_passage``); a structural error
rejects the record with every field named, so the sender can fix it. A position that parses but
lies outside what RULES.md §2 calls a valid position (China's extent, 0–160 km/h, −200–6 500 m,
not in the future) is **kept** and marked with its defects: such records count against the
数据合格率 (data-quality rate) of the enterprise KPI sheet, so they must not vanish at the door.

This module is the reference implementation; adapters/readings validates whole Arrow batches
and is held to these functions by property tests.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from zhifa.domain.vehicles import NEV_MARKS, VehicleKey
from zhifa.domain.weighings import (
    MAX_RECORD_ID_LENGTH,
    Collector,
    FieldError,
    InvalidRecord,
    aware_time,
    device_time,
    parse_vehicle,
)

# Bumped when a field is added (minor) or changes meaning (major). Readers accept their own major
# version and every minor below theirs; the version travels with every bus message and Parquet file.
SCHEMA_VERSION = "1.1"  # 1.1: positions carry ``backfill``


# 道路运输车辆动态监督管理办法 第二十五条: dynamic-monitoring data are kept at least six months;
# violation records and their handling at least three years (RULES.md §2).
MIN_RETENTION_MONTHS = 6
VIOLATION_RETENTION_MONTHS = 36


class ReadingKind(StrEnum):
    POSITION = "position"
    PASSAGE = "passage"
    WEIGHING = "weighing"

    @property
    def label(self) -> str:
        return {"position": "定位", "passage": "过车", "weighing": "称重"}[self.value]


# --- structural bounds: what the wire format can carry at all ---------------------------------
# JT/T 808-2019 §4: the terminal phone is BCD[10], up to 20 digits (BCD[6], 12 digits, in 2013).
_TERMINAL = re.compile(r"[0-9]{1,20}")
# JT/T 808-2019 表 27: speed is a WORD in 1/10 km/h, heading 0–359, altitude a WORD in metres,
# alarm and status DWORDs.
MAX_WIRE_SPEED_KMH = 6553.5
MAX_HEADING = 359
MIN_WIRE_ALTITUDE_M = -32768  # some terminals send a signed altitude; accept, then judge validity
MAX_WIRE_ALTITUDE_M = 65535
MAX_DWORD = 2**32 - 1
MAX_EXTRAS_CHARS = 4096
# JT/T 489-2019 收费公路车辆通行费车型分类: 客1–4, 货1–6 (11–16), 专项作业车1–6 (21–26), the
# codes ETC gantries report.
TOLL_VEHICLE_CLASSES = frozenset({1, 2, 3, 4, 11, 12, 13, 14, 15, 16, 21, 22, 23, 24, 25, 26})
MAX_SITE_ID_LENGTH = 64
MAX_LANE = 99
MAX_DIRECTION_LENGTH = 16
MIN_PASSAGE_AXLES, MAX_PASSAGE_AXLES = 2, 20
_RECORD_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:\-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")

# --- validity of a position: RULES.md §2 "Valid position" [S] ----------------------------------
VALID_LON = (73.55, 135.083)
VALID_LAT = (3.85, 53.55)
VALID_SPEED_KMH = (0.0, 160.0)
VALID_ALTITUDE_M = (-200, 6500)


class Defect(StrEnum):
    """Why a parsed position is not a valid one (RULES.md §2); in this fixed order."""

    TIME = "time"  # in the future beyond the allowed clock skew
    LON = "lon"
    LAT = "lat"
    SPEED = "speed"
    ALTITUDE = "altitude"


@dataclass(frozen=True)
class Position:
    terminal: str
    vehicle: VehicleKey
    time: datetime  # aware, UTC; the terminal's GPS time
    lon: float  # WGS-84 degrees
    lat: float
    speed_kmh: float = 0.0
    heading: int = 0
    altitude_m: int = 0
    alarm: int = 0  # JT/T 808 表 24 alarm bits
    status: int = 0  # JT/T 808 表 25 status bits
    extras: str | None = None  # additional items (附加信息) as JSON text, kept as sent
    # Sent late on purpose: a 0x0704 blind-area batch (盲区补报, JT/T 808-2019 8.45) re-sends fixes
    # stored while out of coverage. Detection judges them, but must not raise a "live" alert hours late.
    backfill: bool = False
    defects: tuple[Defect, ...] = ()

    @property
    def record_id(self) -> str:
        return position_record_id(self.terminal, self.time)

    @property
    def valid(self) -> bool:
        return not self.defects


@dataclass(frozen=True)
class Passage:
    record_id: str
    site_id: str
    time: datetime  # aware, UTC
    vehicle: VehicleKey
    lane: int | None = None
    direction: str | None = None
    vehicle_class: int | None = None  # JT/T 489-2019 code
    axles: int | None = None
    image_sha256: str | None = None


POSITION_FIELDS = (
    "terminal", "plate", "plate_colour", "time", "lon", "lat", "speed_kmh", "heading", "altitude_m",
    "alarm", "status", "extras", "backfill",
)  # fmt: skip
POSITION_REQUIRED = ("terminal", "plate", "plate_colour", "time", "lon", "lat")
PASSAGE_FIELDS = (
    "record_id", "site_id", "time", "plate", "plate_colour", "lane", "direction", "vehicle_class",
    "axles", "image_sha256",
)  # fmt: skip
PASSAGE_REQUIRED = ("record_id", "site_id", "time", "plate", "plate_colour")


def position_record_id(terminal: str, time: datetime) -> str:
    """A terminal reports one fix per GPS second: a re-sent 0x0200 (new message serial, same fix)
    has the same id, so the lake keeps it once."""
    return f"{terminal}@{int(time.timestamp())}"


def partition_of(vehicle: VehicleKey, partitions: int) -> int:
    """Stable across processes, hosts and versions (CRC-32 of plate:colour), so one vehicle's
    readings stay in order on one partition and one consumer sees its whole track."""
    return zlib.crc32(f"{vehicle.plate}:{int(vehicle.colour)}".encode()) % partitions


def _start(
    raw: object, fields: tuple[str, ...], required: tuple[str, ...]
) -> tuple[Mapping[str, Any], Collector]:
    if not isinstance(raw, Mapping):
        raise InvalidRecord([FieldError("record", "must be a JSON object")])
    e = Collector()
    unknown = sorted(set(map(str, raw)) - set(fields))
    if unknown:
        e.fail("record", f"unknown fields: {', '.join(unknown)}")
    for name in required:
        if raw.get(name) is None:
            e.fail(name, "is required")
    return raw, e


def _number(raw: Any, field: str, low: float, high: float, e: Collector) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        e.fail(field, f"must be a number, got {type(raw).__name__}")
        return None
    try:
        value = float(raw)
    except ValueError:
        e.fail(field, f"must be a number, got {raw!r}")
        return None
    if not low <= value <= high:  # also refuses NaN and infinities
        e.fail(field, f"must be between {low:g} and {high:g}, got {raw!r}")
        return None
    return value


def _integer(raw: Any, field: str, low: int, high: int, e: Collector) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or (isinstance(raw, str) and not raw.strip()):
        e.fail(field, f"must be an integer, got {raw!r}")
        return None
    try:
        value = int(raw)
    except ValueError:
        e.fail(field, f"must be an integer, got {raw!r}")
        return None
    if not low <= value <= high:
        e.fail(field, f"must be between {low} and {high}, got {raw!r}")
        return None
    return value


def _boolean(raw: Any, field: str, e: Collector) -> bool | None:
    """JSON true/false, or the 0/1/true/false a CSV file carries."""
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower() if isinstance(raw, int | str) else None
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    e.fail(field, f"must be true or false, got {raw!r}")
    return None


def _text(raw: Any, field: str, pattern: re.Pattern[str] | None, max_length: int, e: Collector) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw or len(raw) > max_length:
        e.fail(field, f"must be a string of 1 to {max_length} characters")
        return None
    if pattern is not None and not pattern.fullmatch(raw):
        e.fail(field, f"has characters outside {pattern.pattern}: {raw!r}")
        return None
    return raw


def position_defects(
    time: datetime, lon: float, lat: float, speed_kmh: float, altitude_m: int, now: datetime, skew: timedelta
) -> tuple[Defect, ...]:
    """RULES.md §2 "Valid position" [S]: in China's extent, 0–160 km/h, −200–6 500 m, not in the future."""
    found = []
    if time > now + skew:
        found.append(Defect.TIME)
    if not VALID_LON[0] <= lon <= VALID_LON[1]:
        found.append(Defect.LON)
    if not VALID_LAT[0] <= lat <= VALID_LAT[1]:
        found.append(Defect.LAT)
    if not VALID_SPEED_KMH[0] <= speed_kmh <= VALID_SPEED_KMH[1]:
        found.append(Defect.SPEED)
    if not VALID_ALTITUDE_M[0] <= altitude_m <= VALID_ALTITUDE_M[1]:
        found.append(Defect.ALTITUDE)
    return tuple(found)


def parse_position(
    raw: object, now: datetime, *, clock_skew: timedelta = timedelta(minutes=5), nev_marks: str = NEV_MARKS
) -> Position:
    """Validate one position as received; raise InvalidRecord naming every structural problem."""
    raw, e = _start(raw, POSITION_FIELDS, POSITION_REQUIRED)
    terminal = _text(raw.get("terminal"), "terminal", _TERMINAL, 20, e)
    vehicle = parse_vehicle(raw, nev_marks, e)
    time = aware_time(raw.get("time"), "time", e)
    lon = _number(raw.get("lon"), "lon", -180.0, 180.0, e)
    lat = _number(raw.get("lat"), "lat", -90.0, 90.0, e)
    speed = _number(raw.get("speed_kmh"), "speed_kmh", 0.0, MAX_WIRE_SPEED_KMH, e)
    heading = _integer(raw.get("heading"), "heading", 0, MAX_HEADING, e)
    altitude = _integer(raw.get("altitude_m"), "altitude_m", MIN_WIRE_ALTITUDE_M, MAX_WIRE_ALTITUDE_M, e)
    alarm = _integer(raw.get("alarm"), "alarm", 0, MAX_DWORD, e)
    status = _integer(raw.get("status"), "status", 0, MAX_DWORD, e)
    extras = _text(raw.get("extras"), "extras", None, MAX_EXTRAS_CHARS, e)
    backfill = _boolean(raw.get("backfill"), "backfill", e)
    if e.errors or terminal is None or vehicle is None or time is None or lon is None or lat is None:
        raise InvalidRecord(e.errors)  # a missing required field was reported as such above
    speed_kmh = speed if speed is not None else 0.0
    altitude_m = altitude if altitude is not None else 0
    return Position(
        terminal=terminal,
        vehicle=vehicle,
        time=time,
        lon=lon,
        lat=lat,
        speed_kmh=speed_kmh,
        heading=heading or 0,
        altitude_m=altitude_m,
        alarm=alarm or 0,
        status=status or 0,
        extras=extras,
        backfill=bool(backfill),
        defects=position_defects(time, lon, lat, speed_kmh, altitude_m, now, clock_skew),
    )


def parse_passage(
    raw: object, now: datetime, *, clock_skew: timedelta = timedelta(minutes=5), nev_marks: str = NEV_MARKS
) -> Passage:
    """Validate one passage as received; raise InvalidRecord naming every problem.

    A passage in the future is refused (as a weighing is): a gantry's clock is synchronised, and
    a plate read "tomorrow" cannot be placed on any route.
    """
    raw, e = _start(raw, PASSAGE_FIELDS, PASSAGE_REQUIRED)
    record_id = _text(raw.get("record_id"), "record_id", _RECORD_ID, MAX_RECORD_ID_LENGTH, e)
    site_id = _text(raw.get("site_id"), "site_id", _RECORD_ID, MAX_SITE_ID_LENGTH, e)
    time = device_time(raw.get("time"), "time", now, clock_skew, e)
    vehicle = parse_vehicle(raw, nev_marks, e)
    lane = _integer(raw.get("lane"), "lane", 1, MAX_LANE, e)
    direction = _text(raw.get("direction"), "direction", None, MAX_DIRECTION_LENGTH, e)
    vehicle_class = _integer(raw.get("vehicle_class"), "vehicle_class", 1, 26, e)
    if vehicle_class is not None and vehicle_class not in TOLL_VEHICLE_CLASSES:
        e.fail("vehicle_class", f"must be a JT/T 489-2019 class (1–4, 11–16, 21–26), got {vehicle_class}")
    axles = _integer(raw.get("axles"), "axles", MIN_PASSAGE_AXLES, MAX_PASSAGE_AXLES, e)
    image = raw.get("image_sha256")
    if image is not None and (not isinstance(image, str) or not _SHA256.fullmatch(image.lower())):
        e.fail("image_sha256", "must be 64 hexadecimal characters (SHA-256 of the picture)")
    if e.errors or record_id is None or site_id is None or time is None or vehicle is None:
        raise InvalidRecord(e.errors)
    return Passage(
        record_id=record_id,
        site_id=site_id,
        time=time,
        vehicle=vehicle,
        lane=lane,
        direction=direction,
        vehicle_class=vehicle_class,
        axles=axles,
        image_sha256=image.lower() if isinstance(image, str) else None,
    )


@dataclass(frozen=True)
class RejectedRecord:
    """A record refused at ingest: its place in the batch (or line in the file) and every reason."""

    index: int
    record_id: str | None
    errors: tuple[FieldError, ...]


def parse_reading(
    kind: ReadingKind,
    raw: object,
    now: datetime,
    *,
    clock_skew: timedelta = timedelta(minutes=5),
    nev_marks: str = NEV_MARKS,
) -> Position | Passage:
    """The reference parser of a position or a passage (weighings: domain.weighings.parse_weighing)."""
    if kind is ReadingKind.POSITION:
        return parse_position(raw, now, clock_skew=clock_skew, nev_marks=nev_marks)
    if kind is ReadingKind.PASSAGE:
        return parse_passage(raw, now, clock_skew=clock_skew, nev_marks=nev_marks)
    raise ValueError(f"{kind.value} records are parsed by domain.weighings")


def sent_record_id(raw: object) -> str | None:
    """The sender's own id of a record, to name it in an error report, when it has a usable one."""
    if isinstance(raw, Mapping):
        value = raw.get("record_id")
        return value if isinstance(value, str) else None
    return None
