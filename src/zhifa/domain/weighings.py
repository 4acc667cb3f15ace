"""Weighing records as sent by weighing sites, validated one by one.

A batch is never all-or-nothing: each record is parsed on its own and either becomes a
``WeighingReading`` or an ``InvalidRecord`` listing every field that is wrong, so the sender can
fix exactly those records and re-send; valid records of the same batch are kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from zhifa.domain.errors import DomainError
from zhifa.domain.overlimit import MAX_AXLES, MIN_AXLES, Measurement, millimetres
from zhifa.domain.vehicles import (
    NEV_MARKS,
    InvalidPlate,
    VehicleKey,
    VehicleKind,
    parse_plate_colour,
    validate_plate,
)

MAX_RECORD_ID_LENGTH = 64
# No weighing device in service weighs more; a larger value is a unit or sensor error.
MAX_GROSS_KG = 500_000
MAX_HEIGHT_M = Decimal(10)
MAX_WIDTH_M = Decimal(10)
MAX_LENGTH_M = Decimal(100)
MAX_SPEED_KMH = Decimal(200)
MAX_IMAGES = 20
MAX_URI_LENGTH = 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RECORD_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.:\-]*$")


class ImageKind(StrEnum):
    """The pictures a non-site over-limit case relies on [S]."""

    FRONT = "front"  # 车头
    SIDE = "side"  # 车身侧面
    REAR = "rear"  # 车尾
    PANORAMA = "panorama"  # 全景
    PLATE = "plate"  # 车牌特写
    VIDEO = "video"  # 视频

    @property
    def label(self) -> str:
        return {
            "front": "车头照片",
            "side": "车身侧面照片",
            "rear": "车尾照片",
            "panorama": "全景照片",
            "plate": "车牌特写",
            "video": "视频",
        }[self.value]


@dataclass(frozen=True)
class EvidenceRef:
    kind: ImageKind
    uri: str
    sha256: str


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class InvalidRecord(DomainError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))


@dataclass(frozen=True)
class WeighingReading:
    record_id: str  # the sender's id, also the 检测单号 printed on the notice
    site_id: str
    measured_at: datetime  # aware, UTC
    vehicle: VehicleKey
    axles: int
    gross_kg: int
    axle_loads_kg: tuple[int, ...] | None = None
    height_mm: int | None = None
    width_mm: int | None = None
    length_mm: int | None = None
    speed_kmh: Decimal | None = None
    lane: int | None = None
    direction: str | None = None
    vehicle_kind: VehicleKind | None = None  # the device's own classification, if any
    images: tuple[EvidenceRef, ...] = ()

    @property
    def measurement(self) -> Measurement:
        return Measurement(self.gross_kg, self.height_mm, self.width_mm, self.length_mm)

    def content_digest(self) -> str:
        """SHA-256 of the canonical record: a re-sent id with other content is a conflict."""
        canonical = {
            "record_id": self.record_id,
            "site_id": self.site_id,
            "measured_at": self.measured_at.isoformat(),
            "plate": self.vehicle.plate,
            "plate_colour": int(self.vehicle.colour),
            "axles": self.axles,
            "gross_kg": self.gross_kg,
            "axle_loads_kg": list(self.axle_loads_kg) if self.axle_loads_kg else None,
            "height_mm": self.height_mm,
            "width_mm": self.width_mm,
            "length_mm": self.length_mm,
            "speed_kmh": str(self.speed_kmh) if self.speed_kmh is not None else None,
            "lane": self.lane,
            "direction": self.direction,
            "vehicle_kind": self.vehicle_kind.value if self.vehicle_kind else None,
            "images": [[i.kind.value, i.uri, i.sha256] for i in self.images],
        }
        blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


RECORD_FIELDS = (
    "record_id", "site_id", "measured_at", "plate", "plate_colour", "axles", "gross_kg",
    "axle_loads_kg", "height_m", "width_m", "length_m", "speed_kmh", "lane", "direction",
    "vehicle_kind", "images",
)  # fmt: skip
REQUIRED_FIELDS = ("record_id", "site_id", "measured_at", "plate", "plate_colour", "axles", "gross_kg")
DEVICE_VEHICLE_KINDS = (VehicleKind.TRUCK, VehicleKind.COMBINATION)


class Collector:
    """Gathers every problem of one record, so the sender learns them all at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field: str, reason: str) -> None:
        self.errors.append(FieldError(field, reason))


def _integer(raw: Any, field: str, low: int, high: int, c: Collector) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        c.fail(field, f"must be an integer, got {type(raw).__name__}")
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        c.fail(field, f"must be an integer, got {raw!r}")
        return None
    if not value.is_finite() or value != value.to_integral_value():
        c.fail(field, f"must be a whole number, got {raw!r}")
        return None
    if not low <= value <= high:
        c.fail(field, f"must be between {low} and {high}, got {raw!r}")
        return None
    return int(value)


def _decimal(raw: Any, field: str, high: Decimal, c: Collector, *, positive: bool) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        c.fail(field, f"must be a number, got {type(raw).__name__}")
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        c.fail(field, f"must be a number, got {raw!r}")
        return None
    if not value.is_finite() or value < 0 or (positive and value == 0) or value > high:
        bound = "greater than 0" if positive else "at least 0"
        c.fail(field, f"must be {bound} and at most {high}, got {raw!r}")
        return None
    return value


def _metres_to_mm(raw: Any, field: str, high: Decimal, c: Collector) -> int | None:
    value = _decimal(raw, field, high, c, positive=True)
    if value is None:
        return None
    mm = millimetres(value)
    if mm < 1:
        # Below half a millimetre nothing was measured; storing 0 mm would break assessment later.
        c.fail(field, f"must be at least 0.0005 m (half a millimetre), got {raw!r}")
        return None
    return mm


def aware_time(raw: Any, field: str, c: Collector) -> datetime | None:
    """An ISO 8601 time with its UTC offset, as UTC; None (and a reason) for anything else."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        c.fail(field, "must be an ISO 8601 time string with a UTC offset")
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        c.fail(field, f"is not an ISO 8601 time: {raw!r}")
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        # A bare local time is ambiguous across devices; refuse rather than guess a zone.
        c.fail(field, f"must carry a UTC offset (e.g. +08:00), got {raw!r}")
        return None
    return value.astimezone(UTC)


def device_time(raw: Any, field: str, now: datetime, skew: timedelta, c: Collector) -> datetime | None:
    """A device's time that is not in the future beyond the allowed clock skew (RULES.md §2)."""
    value = aware_time(raw, field, c)
    if value is not None and value > now + skew:
        c.fail(field, f"lies in the future ({raw!r}); check the device clock")
        return None
    return value


def parse_vehicle(raw: Mapping[str, Any], nev_marks: str, c: Collector) -> VehicleKey | None:
    """Plate and colour, each checked on its own so that both mistakes are reported at once."""
    plate = colour = None
    if raw.get("plate") is not None:
        if not isinstance(raw["plate"], str):
            c.fail("plate", "must be a string")
        else:
            try:
                plate = validate_plate(raw["plate"], nev_marks)
            except InvalidPlate as exc:
                c.fail("plate", str(exc))
    if raw.get("plate_colour") is not None:
        try:
            colour = parse_plate_colour(raw["plate_colour"])
        except InvalidPlate as exc:
            c.fail("plate_colour", str(exc))
    return VehicleKey(plate, colour) if plate is not None and colour is not None else None


def _images(raw: Any, c: Collector) -> tuple[EvidenceRef, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.fail("images", "must be a list of {kind, uri, sha256}")
        return ()
    if len(raw) > MAX_IMAGES:
        c.fail("images", f"at most {MAX_IMAGES} images per record, got {len(raw)}")
        return ()
    refs = []
    for i, item in enumerate(raw):
        where = f"images[{i}]"
        if not isinstance(item, Mapping):
            c.fail(where, "must be an object with kind, uri and sha256")
            continue
        try:
            kind = ImageKind(str(item.get("kind")))
        except ValueError:
            c.fail(f"{where}.kind", f"must be one of {', '.join(k.value for k in ImageKind)}")
            continue
        uri = item.get("uri")
        if not isinstance(uri, str) or not uri.strip() or len(uri) > MAX_URI_LENGTH:
            c.fail(f"{where}.uri", f"must be a non-empty string of at most {MAX_URI_LENGTH} characters")
            continue
        digest = item.get("sha256")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
            c.fail(f"{where}.sha256", "must be 64 hexadecimal characters (SHA-256 of the file)")
            continue
        refs.append(EvidenceRef(kind, uri.strip(), digest.lower()))
    return tuple(refs)


def parse_weighing(
    raw: object,
    now: datetime,
    *,
    clock_skew: timedelta = timedelta(minutes=5),
    nev_marks: str = NEV_MARKS,
) -> WeighingReading:
    """Validate one record as received; raise InvalidRecord with every problem found."""
    c = Collector()
    if not isinstance(raw, Mapping):
        raise InvalidRecord([FieldError("record", "must be a JSON object")])
    unknown = sorted(set(raw) - set(RECORD_FIELDS))
    if unknown:
        c.fail("record", f"unknown fields: {', '.join(map(str, unknown))}")
    for name in REQUIRED_FIELDS:
        if raw.get(name) is None:
            c.fail(name, "is required")

    record_id = raw.get("record_id")
    if record_id is not None and (
        not isinstance(record_id, str)
        or len(record_id) > MAX_RECORD_ID_LENGTH
        or not _RECORD_ID.fullmatch(record_id)
    ):
        c.fail("record_id", f"must be 1-{MAX_RECORD_ID_LENGTH} letters, digits or _.:- ")
    site_id = raw.get("site_id")
    if site_id is not None and (not isinstance(site_id, str) or not site_id.strip()):
        c.fail("site_id", "must be a non-empty string")

    measured_at = device_time(raw.get("measured_at"), "measured_at", now, clock_skew, c)
    vehicle = parse_vehicle(raw, nev_marks, c)

    axles = _integer(raw["axles"], "axles", MIN_AXLES, MAX_AXLES, c) if raw.get("axles") is not None else None
    gross = (
        _integer(raw["gross_kg"], "gross_kg", 1, MAX_GROSS_KG, c) if raw.get("gross_kg") is not None else None
    )

    axle_loads: tuple[int, ...] | None = None
    if raw.get("axle_loads_kg") is not None:
        loads = raw["axle_loads_kg"]
        if not isinstance(loads, list) or not loads:
            c.fail("axle_loads_kg", "must be a non-empty list of kilograms, one per axle")
        else:
            parsed = [_integer(x, f"axle_loads_kg[{i}]", 1, MAX_GROSS_KG, c) for i, x in enumerate(loads)]
            if all(x is not None for x in parsed):
                axle_loads = tuple(x for x in parsed if x is not None)
                if axles is not None and len(axle_loads) != axles:
                    c.fail("axle_loads_kg", f"has {len(axle_loads)} loads for {axles} axles")

    height = (
        _metres_to_mm(raw["height_m"], "height_m", MAX_HEIGHT_M, c)
        if raw.get("height_m") is not None
        else None
    )
    width = (
        _metres_to_mm(raw["width_m"], "width_m", MAX_WIDTH_M, c) if raw.get("width_m") is not None else None
    )
    length = (
        _metres_to_mm(raw["length_m"], "length_m", MAX_LENGTH_M, c)
        if raw.get("length_m") is not None
        else None
    )
    speed = (
        _decimal(raw["speed_kmh"], "speed_kmh", MAX_SPEED_KMH, c, positive=False)
        if raw.get("speed_kmh") is not None
        else None
    )
    lane = _integer(raw["lane"], "lane", 1, 99, c) if raw.get("lane") is not None else None
    direction = raw.get("direction")
    if direction is not None and (not isinstance(direction, str) or len(direction) > 32):
        c.fail("direction", "must be a string of at most 32 characters")
        direction = None

    vehicle_kind = None
    if raw.get("vehicle_kind") is not None:
        try:
            vehicle_kind = VehicleKind(raw["vehicle_kind"])
            if vehicle_kind not in DEVICE_VEHICLE_KINDS:
                raise ValueError
        except ValueError:
            kinds = ", ".join(k.value for k in DEVICE_VEHICLE_KINDS)
            c.fail("vehicle_kind", f"must be one of {kinds}")
            vehicle_kind = None
    images = _images(raw.get("images"), c)

    if c.errors:
        raise InvalidRecord(c.errors)
    assert record_id is not None and site_id is not None and measured_at is not None  # noqa: S101
    assert vehicle is not None and axles is not None and gross is not None  # noqa: S101
    return WeighingReading(
        record_id=str(record_id),
        site_id=str(site_id).strip(),
        measured_at=measured_at,
        vehicle=vehicle,
        axles=axles,
        gross_kg=gross,
        axle_loads_kg=axle_loads,
        height_mm=height,
        width_mm=width,
        length_mm=length,
        speed_kmh=speed,
        lane=lane,
        direction=direction,
        vehicle_kind=vehicle_kind,
        images=images,
    )


class Disposition(StrEnum):
    """What became of a stored weighing."""

    COMPLIANT = "compliant"  # within every limit
    WITHIN_TOLERANCE = "within_tolerance"  # over the limit as measured, not after tolerance
    OVERLIMIT = "overlimit"  # alert raised, case draft opened
    OVERLIMIT_INADMISSIBLE = "overlimit_inadmissible"  # alert raised, no case: device not usable
    NOT_ASSESSED = "not_assessed"  # vehicle not subject to 超限 rules (e.g. GB 1589 exempt)

    @property
    def label(self) -> str:
        return {
            "compliant": "未超限",
            "within_tolerance": "误差范围内",
            "overlimit": "超限（案件待审核）",
            "overlimit_inadmissible": "超限（设备不合规，不立案）",
            "not_assessed": "不认定为超限",
        }[self.value]
