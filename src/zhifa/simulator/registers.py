"""Synthetic but valid register entries: transport enterprises and their trucks.

Enterprise codes carry a correct GB 32100 check character, plates follow GA 36-2018 and the real
Anhui letter-to-city mapping; names are invented and marked as such.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from stdnum.cn import uscc

from zhifa.domain.vehicles import PlateColour, VehicleKind, validate_plate

# 皖 + letter: the issuing city (公安交管 assignment, real).
ANHUI_PLATE_CITIES = {
    "A": "340100",  # 合肥
    "B": "340200",  # 芜湖
    "C": "340300",  # 蚌埠
    "D": "340400",  # 淮南
    "E": "340500",  # 马鞍山
    "F": "340600",  # 淮北
    "G": "340700",  # 铜陵
    "H": "340800",  # 安庆
    "J": "341000",  # 黄山
    "K": "341200",  # 阜阳
    "L": "341300",  # 宿州
    "M": "341100",  # 滁州
    "N": "341500",  # 六安
    "P": "341800",  # 宣城
    "R": "341700",  # 池州
    "S": "341600",  # 亳州
}
_SERIAL = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_ORG = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100 character set
_TRADE_WORDS = (
    "顺达",
    "通运",
    "恒发",
    "安捷",
    "瑞丰",
    "鑫盛",
    "宏远",
    "众诚",
    "江淮",
    "皖通",
    "永利",
    "华运",
)

# Axles of the unit as registered; a tractor pulls a trailer of 2-3 axles on the road.
FLEET_MIX: tuple[tuple[VehicleKind, int, float], ...] = (
    (VehicleKind.TRUCK, 2, 0.25),
    (VehicleKind.TRUCK, 3, 0.15),
    (VehicleKind.TRUCK, 4, 0.15),
    (VehicleKind.TRACTOR, 3, 0.40),
    (VehicleKind.TRACTOR, 2, 0.05),
)


@dataclass(frozen=True)
class SimEnterprise:
    uscc: str
    name: str
    division: str


@dataclass(frozen=True)
class SimVehicle:
    plate: str
    colour: int
    kind: VehicleKind
    axles: int  # the unit's own axles
    road_axles: int  # axles of the whole vehicle as a scale counts them
    enterprise_uscc: str | None
    owner_name: str

    def register_entry(self) -> dict[str, Any]:
        """The entry as POST /api/v1/vehicles takes it."""
        return {
            "plate": self.plate,
            "plate_colour": self.colour,
            "kind": self.kind.value,
            "axles": self.axles,
            "enterprise_uscc": self.enterprise_uscc,
            "owner_name": self.owner_name,
        }


def make_uscc(rng: random.Random, division: str) -> str:
    """A code with a valid check character: 9 (工商) 1 (企业) + division + organisation code."""
    body = "91" + division + "".join(rng.choice(_ORG) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def make_plate(rng: random.Random, letter: str) -> str:
    serial = "".join(rng.choice(_SERIAL) for _ in range(5))
    return validate_plate(f"皖{letter}{serial}")


def make_enterprises(rng: random.Random, count: int) -> list[SimEnterprise]:
    letters = sorted(ANHUI_PLATE_CITIES)
    out = []
    for i in range(count):
        letter = letters[i % len(letters)]
        division = ANHUI_PLATE_CITIES[letter]
        name = f"安徽{rng.choice(_TRADE_WORDS)}{rng.choice(_TRADE_WORDS)}物流有限公司（模拟）"
        out.append(SimEnterprise(make_uscc(rng, division), name, division))
    return out


def _pick_mix(rng: random.Random) -> tuple[VehicleKind, int]:
    roll = rng.random()
    for kind, axles, share in FLEET_MIX:
        if roll < share:
            return kind, axles
        roll -= share
    return FLEET_MIX[-1][0], FLEET_MIX[-1][1]


def make_vehicles(rng: random.Random, enterprises: list[SimEnterprise], count: int) -> list[SimVehicle]:
    """Trucks, most of them with an enterprise, some owned by individuals."""
    seen: set[str] = set()
    out: list[SimVehicle] = []
    letter_of = {v: k for k, v in ANHUI_PLATE_CITIES.items()}
    while len(out) < count:
        enterprise = rng.choice(enterprises) if enterprises and rng.random() < 0.8 else None
        letter = letter_of[enterprise.division] if enterprise else rng.choice(sorted(ANHUI_PLATE_CITIES))
        plate = make_plate(rng, letter)
        if plate in seen:
            continue
        seen.add(plate)
        kind, axles = _pick_mix(rng)
        road_axles = axles + rng.choice((2, 3)) if kind is VehicleKind.TRACTOR else axles
        owner = "" if enterprise else f"{rng.choice('张王李赵刘陈杨黄周吴')}某某（模拟）"
        out.append(
            SimVehicle(
                plate=plate,
                colour=int(PlateColour.YELLOW),
                kind=kind,
                axles=axles,
                road_axles=min(road_axles, 6),
                enterprise_uscc=enterprise.uscc if enterprise else None,
                owner_name=owner,
            )
        )
    return out
