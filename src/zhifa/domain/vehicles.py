"""Vehicles: plates, plate colours and kinds.

A vehicle is identified by its plate **and** plate colour (JT/T 697.7, used by JT/T 808/809):
皖A12345 blue and 皖A12345 yellow are two vehicles. Plate syntax follows GA 36-2018.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from zhifa.domain.errors import DomainError

# GA 36-2018: the 31 provincial abbreviations that open a civil plate.
PROVINCE_ABBREVIATIONS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Serial letters exclude I and O, which read as 1 and 0.
_SERIAL = "A-HJ-NP-Z0-9"
# The last character of an ordinary plate may mark its use.
_ORDINARY_SUFFIXES = "挂学警港澳领试超"
# New-energy plates carry D (battery electric) or F (other) [GA 36-2018]. Later extensions of
# the letter set are [U] in RULES.md, so the set is a parameter of validate_plate.
NEV_MARKS = "DF"


class InvalidPlate(DomainError):
    pass


class PlateColour(IntEnum):
    """JT/T 697.7 plate colour codes. Toll networks use another list: never mix them."""

    UNPLATED = 0  # 未上牌
    BLUE = 1
    YELLOW = 2
    BLACK = 3
    WHITE = 4
    GREEN = 5
    OTHER = 9

    @property
    def label(self) -> str:
        return _COLOUR_LABELS[self]


_COLOUR_LABELS = {
    PlateColour.UNPLATED: "未上牌",
    PlateColour.BLUE: "蓝色",
    PlateColour.YELLOW: "黄色",
    PlateColour.BLACK: "黑色",
    PlateColour.WHITE: "白色",
    PlateColour.GREEN: "绿色",
    PlateColour.OTHER: "其他",
}


class VehicleKind(StrEnum):
    """Register kinds that decide which limit of 超限规定 第三条 applies."""

    TRUCK = "truck"  # 货车 (rigid)
    TRACTOR = "tractor"  # 半挂牵引车: on the road it forms an 汽车列车 with its trailer
    COMBINATION = "combination"  # 汽车列车 registered as a train (truck + full trailer)
    TRAILER = "trailer"  # 挂车
    FARM_VEHICLE = "farm_vehicle"  # 拖拉机、农用车: 第三条第二款第四项, licensed mass
    LOW_SPEED_TRUCK = "low_speed_truck"  # 低速货车: 第三条第二款第四项, licensed mass
    SPECIAL_PURPOSE = "special_purpose"  # 专用作业车

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]

    @property
    def is_combination(self) -> bool:
        return self in (VehicleKind.TRACTOR, VehicleKind.COMBINATION)

    @property
    def limited_by_licence(self) -> bool:
        return self in (VehicleKind.FARM_VEHICLE, VehicleKind.LOW_SPEED_TRUCK)


_KIND_LABELS = {
    VehicleKind.TRUCK: "货车",
    VehicleKind.TRACTOR: "半挂牵引车",
    VehicleKind.COMBINATION: "汽车列车",
    VehicleKind.TRAILER: "挂车",
    VehicleKind.FARM_VEHICLE: "拖拉机/农用车",
    VehicleKind.LOW_SPEED_TRUCK: "低速货车",
    VehicleKind.SPECIAL_PURPOSE: "专用作业车",
}


def _plate_patterns(nev_marks: str) -> tuple[re.Pattern[str], ...]:
    province = f"[{PROVINCE_ABBREVIATIONS}]"
    marks = f"[{re.escape(nev_marks)}]"
    return (
        # Ordinary: 省 + issuing-office letter + 5 serial characters, the last may be a use mark.
        re.compile(f"^{province}[A-Z][{_SERIAL}]{{4}}[{_SERIAL}{_ORDINARY_SUFFIXES}]$"),
        # Small new-energy: 省 + letter + D/F + 5 (second serial a letter or digit, then 4 digits).
        re.compile(f"^{province}[A-Z]{marks}[{_SERIAL}][0-9]{{4}}$"),
        # Large new-energy: 省 + letter + 5 digits + D/F.
        re.compile(f"^{province}[A-Z][0-9]{{5}}{marks}$"),
    )


_DEFAULT_PATTERNS = _plate_patterns(NEV_MARKS)


def normalise_plate(raw: str) -> str:
    """Upper-case, drop spaces, separators and the full-width forms cameras sometimes emit."""
    text = raw.strip().upper().replace(" ", "").replace("·", "").replace("-", "").replace("•", "")
    # Full-width Latin letters and digits (Ａ..Ｚ, ０..９) to ASCII.
    return "".join(chr(ord(ch) - 0xFEE0) if "Ａ" <= ch <= "Ｚ" or "０" <= ch <= "９" else ch for ch in text)


def validate_plate(raw: str, nev_marks: str = NEV_MARKS) -> str:
    """Return the normalised plate or raise InvalidPlate naming what is wrong."""
    plate = normalise_plate(raw)
    if not plate:
        raise InvalidPlate("plate is empty")
    if plate[0] not in PROVINCE_ABBREVIATIONS:
        raise InvalidPlate(f"plate {raw!r} does not start with a provincial abbreviation")
    patterns = _DEFAULT_PATTERNS if nev_marks == NEV_MARKS else _plate_patterns(nev_marks)
    if not any(p.match(plate) for p in patterns):
        raise InvalidPlate(
            f"plate {raw!r} is not a GA 36-2018 plate "
            "(省 + letter + 5 characters, or 6 for new-energy plates; no I or O)"
        )
    return plate


def parse_plate_colour(raw: object) -> PlateColour:
    """Accept a JT/T 697.7 code (int or digit string)."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidPlate(f"plate colour must be a JT/T 697.7 code, got {raw!r}")
    try:
        return PlateColour(int(raw))
    except ValueError:
        codes = ", ".join(f"{c.value} {c.label}" for c in PlateColour)
        raise InvalidPlate(f"unknown plate colour {raw!r}; JT/T 697.7 codes are {codes}") from None


@dataclass(frozen=True)
class VehicleKey:
    """Plate and colour together: the identity of a vehicle everywhere in the platform."""

    plate: str
    colour: PlateColour

    @classmethod
    def parse(cls, plate: str, colour: object, nev_marks: str = NEV_MARKS) -> VehicleKey:
        return cls(validate_plate(plate, nev_marks), parse_plate_colour(colour))

    def __str__(self) -> str:
        return f"{self.plate}（{self.colour.label}）"


@dataclass(frozen=True)
class Vehicle:
    """A registered vehicle (车辆档案). ``axles`` are the unit's own, a tractor without its trailer."""

    id: str
    key: VehicleKey
    kind: VehicleKind
    axles: int
    enterprise_id: str | None = None
    owner_name: str = ""
    licensed_gross_kg: int | None = None  # 行驶证核定总质量
    single_drive_axle: bool = False
    single_tyre_axles: int = 0
    gb1589_exempt: bool = False
    transport_certificate: str = ""  # 道路运输证号
    home_division: str | None = None  # 车籍地 GB/T 2260 code, for 抄告 (超限规定 第四十四条)

    def __post_init__(self) -> None:
        if not 1 <= self.axles <= 20:
            raise DomainError(f"vehicle {self.key}: axle count must be between 1 and 20")
        if self.kind.limited_by_licence and self.licensed_gross_kg is None:
            raise DomainError(
                f"vehicle {self.key}: a {self.kind.label} is held to the mass on its 行驶证 "
                "(超限规定 第三条第二款第四项); licensed_gross_kg is required"
            )
        if self.licensed_gross_kg is not None and self.licensed_gross_kg <= 0:
            raise DomainError(f"vehicle {self.key}: licensed gross mass must be positive")
        if not 0 <= self.single_tyre_axles < max(self.axles, 2):
            raise DomainError(f"vehicle {self.key}: single-tyre axles out of range")
