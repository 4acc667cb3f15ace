"""The registers of a simulated province fleet: enterprises, vehicles, terminals, drivers, goods.

``make_fleet(n, seed=...)`` builds everything a register export of the reference province (Anhui)
would hold for ``n`` vehicles: the key vehicles of 道路运输车辆动态监督管理办法 第三条 with their
enterprises, JT/T 808 terminals and crews, some private cars (a few used for 非法营运), plus the
ground truth the platform must discover: cloned plates (套牌) and same-plate-other-colour pairs.

Everything is synthetic and seeded; identifiers pass their real check rules (GB 32100 USCC,
GB 11643 identity numbers, GA 36-2018 plates) and carry a documented synthetic marker where one is
possible (docs/simulator-registers.md). Each register draws from its own random stream, so a
change in one does not reshuffle the others.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import TypeVar

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from zhifa.domain.vehicles import PlateColour, VehicleKey, VehicleKind
from zhifa.simulator.registers import ANHUI_PLATE_CITIES, FLEET_MIX, make_uscc

T = TypeVar("T")
PROVINCE = "皖"
# Ages are counted at this date unless make_fleet is given another: never the clock.
REFERENCE_DATE = date(2026, 1, 1)

# GB/T 2260 counties of Anhui by city, as in src/zhifa/adapters/geodata/data/anhui/divisions.csv
# (the simulator may not import adapters; tests/unit/simulator/test_fleet.py checks the copy).
# fmt: off
ANHUI_COUNTIES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "340100": ("340102", "340103", "340104", "340111", "340121", "340122", "340123", "340124", "340181"),
    "340200": ("340202", "340207", "340209", "340210", "340212", "340223", "340281"),
    "340300": ("340302", "340303", "340304", "340311", "340321", "340322", "340323"),
    "340400": ("340402", "340403", "340404", "340405", "340406", "340421", "340422"),
    "340500": ("340503", "340504", "340506", "340521", "340522", "340523"),
    "340600": ("340602", "340603", "340604", "340621"),
    "340700": ("340705", "340706", "340711", "340722"),
    "340800": ("340802", "340803", "340811", "340822", "340825", "340826", "340827", "340828",
               "340881", "340882"),
    "341000": ("341002", "341003", "341004", "341021", "341022", "341023", "341024"),
    "341100": ("341102", "341103", "341122", "341124", "341125", "341126", "341181", "341182"),
    "341200": ("341202", "341203", "341204", "341221", "341222", "341225", "341226", "341282"),
    "341300": ("341302", "341321", "341322", "341323", "341324"),
    "341500": ("341502", "341503", "341504", "341522", "341523", "341524", "341525"),
    "341600": ("341602", "341621", "341622", "341623"),
    "341700": ("341702", "341721", "341722", "341723"),
    "341800": ("341802", "341821", "341823", "341824", "341825", "341881", "341882"),
})
_CITY_NAMES = {
    "340100": "合肥", "340200": "芜湖", "340300": "蚌埠", "340400": "淮南", "340500": "马鞍山",
    "340600": "淮北", "340700": "铜陵", "340800": "安庆", "341000": "黄山", "341100": "滁州",
    "341200": "阜阳", "341300": "宿州", "341500": "六安", "341600": "亳州", "341700": "池州",
    "341800": "宣城",
}
# fmt: on
_ALL_COUNTIES = tuple(c for counties in ANHUI_COUNTIES.values() for c in counties)
_LETTER_OF_CITY = {city: letter for letter, city in ANHUI_PLATE_CITIES.items()}


class FleetKind(StrEnum):
    """What a simulated vehicle is used for; all but PRIVATE_CAR are key vehicles (两客一危一货, 一校)."""

    LONG_DISTANCE_BUS = "long_distance_bus"  # 省际/市际班线客车
    TOUR_COACH = "tour_coach"  # 旅游包车
    SCHOOL_BUS = "school_bus"  # 校车
    HAZARDOUS_GOODS = "hazardous_goods"  # 危险货物运输车
    HEAVY_TRUCK = "heavy_truck"  # 重型货车 (总质量 ≥12 t) and 半挂牵引车, 动态监督管理办法 第三条
    PRIVATE_CAR = "private_car"  # 私家车: no terminal, no certificate; a few operate illegally

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]

    @property
    def key_vehicle(self) -> bool:
        return self is not FleetKind.PRIVATE_CAR

    @property
    def passenger(self) -> bool:
        return self in (FleetKind.LONG_DISTANCE_BUS, FleetKind.TOUR_COACH, FleetKind.SCHOOL_BUS)


_KIND_LABELS = {
    FleetKind.LONG_DISTANCE_BUS: "班线客车",
    FleetKind.TOUR_COACH: "旅游包车",
    FleetKind.SCHOOL_BUS: "校车",
    FleetKind.HAZARDOUS_GOODS: "危险货物运输车",
    FleetKind.HEAVY_TRUCK: "重型货车",
    FleetKind.PRIVATE_CAR: "私家车",
}


class BusinessScope(StrEnum):
    """The scope on an enterprise's 道路运输经营许可证."""

    PASSENGER = "道路旅客运输"
    HAZARDOUS = "危险货物运输"
    GOODS = "普通货运"


class Qualification(StrEnum):
    """从业资格 classes of 道路运输从业人员管理规定 第九条–第十二条."""

    PASSENGER_DRIVER = "passenger_driver"
    GOODS_DRIVER = "goods_driver"
    HAZARDOUS_DRIVER = "hazardous_driver"
    HAZARDOUS_ESCORT = "hazardous_escort"

    @property
    def label(self) -> str:
        return _QUALIFICATION_LABELS[self]


_QUALIFICATION_LABELS = {
    Qualification.PASSENGER_DRIVER: "道路旅客运输驾驶员",
    Qualification.GOODS_DRIVER: "道路货物运输驾驶员",
    Qualification.HAZARDOUS_DRIVER: "危险货物道路运输驾驶员",
    Qualification.HAZARDOUS_ESCORT: "危险货物道路运输押运人员",
}


class LicenceClass(StrEnum):
    """准驾车型 (机动车驾驶证申领和使用规定): the class a crew member must hold."""

    A1 = "A1"  # 大型客车
    A2 = "A2"  # 重型牵引挂车
    B2 = "B2"  # 大型货车
    C1 = "C1"  # 小型汽车


@dataclass(frozen=True, slots=True)
class HazardousGoods:
    un_number: str  # "UN1203"
    name: str  # Chinese proper shipping name
    name_en: str
    hazard_class: str  # class or division of the UN Model Regulations, e.g. "3", "2.1"


# Real entries of the UN Recommendations on the Transport of Dangerous Goods, Model Regulations,
# Dangerous Goods List (as in ADR Table A and JT/T 617.3): number, name and primary class only.
HAZARDOUS_GOODS: tuple[HazardousGoods, ...] = (
    HazardousGoods("UN1203", "汽油", "Motor spirit (gasoline)", "3"),
    HazardousGoods("UN1202", "柴油", "Diesel fuel", "3"),
    HazardousGoods("UN1223", "煤油", "Kerosene", "3"),
    HazardousGoods("UN1230", "甲醇", "Methanol", "3"),
    HazardousGoods("UN1170", "乙醇", "Ethanol", "3"),
    HazardousGoods("UN1114", "苯", "Benzene", "3"),
    HazardousGoods("UN1294", "甲苯", "Toluene", "3"),
    HazardousGoods("UN1090", "丙酮", "Acetone", "3"),
    HazardousGoods("UN1075", "液化石油气", "Petroleum gases, liquefied", "2.1"),
    HazardousGoods("UN1972", "液化天然气", "Methane, refrigerated liquid", "2.1"),
    HazardousGoods("UN1073", "液氧", "Oxygen, refrigerated liquid", "2.2"),
    HazardousGoods("UN1977", "液氮", "Nitrogen, refrigerated liquid", "2.2"),
    HazardousGoods("UN1005", "液氨", "Ammonia, anhydrous", "2.3"),
    HazardousGoods("UN1017", "液氯", "Chlorine", "2.3"),
    HazardousGoods("UN2014", "过氧化氢水溶液", "Hydrogen peroxide, aqueous solution", "5.1"),
    HazardousGoods("UN1789", "盐酸", "Hydrochloric acid", "8"),
    HazardousGoods("UN1830", "硫酸", "Sulphuric acid", "8"),
    HazardousGoods("UN1824", "氢氧化钠溶液", "Sodium hydroxide solution", "8"),
)


@dataclass(frozen=True)
class FleetMix:
    """Shares of the fleet, all [U] defaults chosen for a useful simulation, not statistics.

    Kind shares sum to 1. Heavy trucks dominate the key vehicles (about 82 % of them here) as they
    do in any province's monitored fleet; private cars are a sample, far below their real number,
    there to carry 非法营运 and to share plates with key vehicles.
    """

    long_distance_bus: float = 0.03
    tour_coach: float = 0.03
    school_bus: float = 0.02
    hazardous_goods: float = 0.05
    heavy_truck: float = 0.60
    private_car: float = 0.27
    new_energy_car: float = 0.10  # of private cars, green plates: near the 2024 national NEV share [S]
    illegal_operation: float = 0.03  # of private cars, carrying passengers for hire (非法营运)
    oversize: float = 0.03  # of heavy trucks, tractors fit for 大件运输 (drawn among tractors)
    clones: int | None = None  # extra 套牌 vehicles; None: one per 2 000 vehicles, at least one
    colour_twins: int | None = None  # blue cars sharing a yellow plate; None: one per 5 000, at least one

    def __post_init__(self) -> None:
        shares = [self.share(kind) for kind in FleetKind]
        if min(shares) < 0 or not math.isclose(sum(shares), 1.0, abs_tol=1e-9):
            raise ValueError(f"fleet kind shares must be non-negative and sum to 1, got {sum(shares)}")
        for name in ("new_energy_car", "illegal_operation", "oversize"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1")
        if (self.clones is not None and self.clones < 0) or (
            self.colour_twins is not None and self.colour_twins < 0
        ):
            raise ValueError("clones and colour_twins cannot be negative")

    def share(self, kind: FleetKind) -> float:
        return float(getattr(self, kind.value))


@dataclass(frozen=True, slots=True)
class FleetEnterprise:
    """A transport enterprise holding a 道路运输经营许可证 for one business scope."""

    uscc: str  # GB 32100, characters 3-8 are ``division``
    name: str  # invented, ends in （模拟）
    division: str  # GB/T 2260 county where it is registered
    city: str  # GB/T 2260 city: its vehicles carry this city's plate letter
    scope: BusinessScope
    business_licence: str  # 道路运输经营许可证号: division + "9" + 5-digit sequence (synthetic)


@dataclass(frozen=True, slots=True)
class FleetTerminal:
    """A JT/T 808 terminal as its 0x0100 registration describes it (2013 field widths)."""

    phone: str  # SIM number, 11 digits, 148 + 8: unique in the fleet
    terminal_id: str  # 终端ID BYTE[7]: upper-case letters and digits
    maker_id: str  # 制造商ID BYTE[5]
    model: str  # 终端型号 BYTE[20]


@dataclass(frozen=True, slots=True)
class FleetVehicle:
    """One physical vehicle: a register entry, or a clone showing another entry's plate."""

    vehicle_id: str  # the physical vehicle, stable for a seed: "V000001"; clones have their own
    kind: FleetKind
    plate: str
    colour: PlateColour  # JT/T 697.7
    vehicle_kind: VehicleKind | None  # the platform's over-limit kind, for trucks only
    axles: int | None  # the unit's own axles (trucks)
    road_axles: int | None  # with the trailer, as a scale counts them (trucks)
    seats: int | None  # buses and cars
    home_city: str  # GB/T 2260 city of the plate letter
    home_division: str  # GB/T 2260 county: the enterprise's, or the owner's for a car
    enterprise_uscc: str | None  # None for private cars and clones
    owner_name: str  # private cars only, invented, ends in （模拟）
    transport_certificate: str | None  # 道路运输证号 皖 + city + "9" + 5 digits; None without one
    terminal: FleetTerminal | None
    trailer_plate: str | None  # tractors: the semi-trailer's 挂 plate (yellow)
    trailer_certificate: str | None
    new_energy: bool
    oversize_capable: bool  # 大件运输车
    illegal_operation: bool  # a private car carrying passengers for hire
    clone_of: str | None  # a 套牌 vehicle: the vehicle_id whose plate and colour it carries

    @property
    def key(self) -> VehicleKey:
        return VehicleKey(self.plate, self.colour)


@dataclass(frozen=True, slots=True)
class FleetDriver:
    """A crew member of one key vehicle: a driver, or the escort of a hazardous-goods vehicle."""

    driver_id: str  # "D000001"
    name: str  # invented from common characters; may match real people's names, never their ids
    male: bool
    id_number: str  # GB 11643, synthetic: sequence code 9xx (docs/simulator-registers.md)
    birth_date: date
    home_division: str  # the identity number's county
    qualification: Qualification
    qualification_number: str  # 从业资格证号: the identity number, as on the IC-card certificate [S]
    licence_class: LicenceClass | None  # None for escorts, who need no driving licence
    enterprise_uscc: str


@dataclass(frozen=True)
class Fleet:
    """All registers of one build. The lookups index on first use; equality compares the registers."""

    seed: int
    as_of: date  # the date the drivers' ages are counted at
    enterprises: tuple[FleetEnterprise, ...]
    vehicles: tuple[FleetVehicle, ...]  # the register: exactly the number asked for
    drivers: tuple[FleetDriver, ...]
    assignments: Mapping[str, tuple[str, ...]]  # vehicle_id -> driver ids, drivers first, escort last
    clones: tuple[FleetVehicle, ...]  # 套牌 vehicles, not in the register

    @property
    def all_vehicles(self) -> tuple[FleetVehicle, ...]:
        return self.vehicles + self.clones

    @property
    def key_vehicles(self) -> tuple[FleetVehicle, ...]:
        return tuple(v for v in self.vehicles if v.kind.key_vehicle)

    def vehicle(self, vehicle_id: str) -> FleetVehicle:
        return self._by_id[vehicle_id]

    def driver(self, driver_id: str) -> FleetDriver:
        return self._drivers[driver_id]

    def enterprise(self, uscc: str) -> FleetEnterprise:
        return self._enterprises[uscc]

    def crew(self, vehicle_id: str) -> tuple[FleetDriver, ...]:
        return tuple(self._drivers[d] for d in self.assignments.get(vehicle_id, ()))

    def by_key(self, plate: str, colour: int) -> tuple[FleetVehicle, ...]:
        """Every physical vehicle showing this plate and colour: the original first, then clones."""
        return self._by_key.get((plate, int(colour)), ())

    def by_phone(self, phone: str) -> FleetVehicle | None:
        return self._by_phone.get(phone)

    def of_kind(self, kind: FleetKind) -> tuple[FleetVehicle, ...]:
        return tuple(v for v in self.vehicles if v.kind is kind)

    def fleet_of(self, uscc: str) -> tuple[FleetVehicle, ...]:
        return self._fleets.get(uscc, ())

    @property
    def colour_twins(self) -> tuple[tuple[FleetVehicle, FleetVehicle], ...]:
        """Register pairs with one plate in two colours: two vehicles, never a clone (JT/T 697.7)."""
        first: dict[str, FleetVehicle] = {}
        pairs = []
        for vehicle in self.vehicles:
            other = first.setdefault(vehicle.plate, vehicle)
            if other is not vehicle and other.colour != vehicle.colour:
                pairs.append((other, vehicle))
        return tuple(pairs)

    @cached_property
    def _by_id(self) -> dict[str, FleetVehicle]:
        return {v.vehicle_id: v for v in self.all_vehicles}

    @cached_property
    def _drivers(self) -> dict[str, FleetDriver]:
        return {d.driver_id: d for d in self.drivers}

    @cached_property
    def _enterprises(self) -> dict[str, FleetEnterprise]:
        return {e.uscc: e for e in self.enterprises}

    @cached_property
    def _by_key(self) -> dict[tuple[str, int], tuple[FleetVehicle, ...]]:
        out: dict[tuple[str, int], tuple[FleetVehicle, ...]] = {}
        for v in self.all_vehicles:
            out[(v.plate, int(v.colour))] = (*out.get((v.plate, int(v.colour)), ()), v)
        return out

    @cached_property
    def _by_phone(self) -> dict[str, FleetVehicle]:
        return {v.terminal.phone: v for v in self.all_vehicles if v.terminal is not None}

    @cached_property
    def _fleets(self) -> dict[str, tuple[FleetVehicle, ...]]:
        out: dict[str, list[FleetVehicle]] = {}
        for v in self.vehicles:
            if v.enterprise_uscc is not None:
                out.setdefault(v.enterprise_uscc, []).append(v)
        return {k: tuple(vs) for k, vs in out.items()}


# ---------------------------------------------------------------------------------------------
# Tables of the builder (all [U]: plausible, not statistics)
# ---------------------------------------------------------------------------------------------

# Enterprise pools: which kinds one enterprise runs, and its mean fleet size.
_POOLS: tuple[tuple[BusinessScope, str, int, tuple[FleetKind, ...]], ...] = (
    (BusinessScope.PASSENGER, "客运有限公司", 30, (FleetKind.LONG_DISTANCE_BUS, FleetKind.TOUR_COACH)),
    (BusinessScope.PASSENGER, "校车服务有限公司", 15, (FleetKind.SCHOOL_BUS,)),
    (BusinessScope.HAZARDOUS, "危险货物运输有限公司", 25, (FleetKind.HAZARDOUS_GOODS,)),
    (BusinessScope.GOODS, "物流有限公司", 20, (FleetKind.HEAVY_TRUCK,)),
)
# Hazardous goods go by tank truck or by tractor and tank semi-trailer; heavy trucks use FLEET_MIX.
HAZARDOUS_MIX: tuple[tuple[VehicleKind, int, float], ...] = (
    (VehicleKind.TRUCK, 2, 0.25),
    (VehicleKind.TRUCK, 3, 0.25),
    (VehicleKind.TRACTOR, 3, 0.45),
    (VehicleKind.TRACTOR, 2, 0.05),
)
_SEATS = {
    FleetKind.LONG_DISTANCE_BUS: (35, 39, 45, 49, 51, 55),
    FleetKind.TOUR_COACH: (19, 33, 39, 45, 49, 53),
    FleetKind.SCHOOL_BUS: (19, 24, 35, 41, 51, 56),
    FleetKind.PRIVATE_CAR: (5, 5, 5, 5, 7),
}
# Chance of a second driver: 客运 on long routes must carry two [S]; trucks sometimes do.
_SECOND_DRIVER = {
    FleetKind.LONG_DISTANCE_BUS: 0.6,
    FleetKind.TOUR_COACH: 0.3,
    FleetKind.SCHOOL_BUS: 0.0,
    FleetKind.HAZARDOUS_GOODS: 0.3,
    FleetKind.HEAVY_TRUCK: 0.25,
}
# Youngest age per qualification; the oldest is 60 for all (从业人员管理规定 第九条–第十二条).
# Passenger drivers 25 as 校车安全管理条例 asks of school-bus drivers [S]; hazardous drivers need
# two years' prior qualification (第十一条第四项), hence 24.
_MIN_AGE = {
    Qualification.PASSENGER_DRIVER: 25,
    Qualification.GOODS_DRIVER: 21,
    Qualification.HAZARDOUS_DRIVER: 24,
    Qualification.HAZARDOUS_ESCORT: 21,
}
MAX_AGE = 60
_MALE_SHARE = {False: 0.95, True: 0.6}  # drivers, escorts [U]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_GIVEN = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳海峰芳娟敏静丽艳"
# fmt: off
_TRADE_WORDS = (
    "顺达", "通运", "恒发", "安捷", "瑞丰", "鑫盛", "宏远", "众诚", "江淮", "皖通", "永利", "华运",
    "长安", "畅行", "汇通", "兴旺", "德邦", "远航", "金桥", "正阳", "天成", "润泽", "嘉禾", "广源",
)
# fmt: on
_MAKERS = (("ZFS01", "ZF-808A"), ("ZFS02", "ZF-808B"), ("ZFS03", "ZF-BD2"), ("ZFS04", "ZF-T9"))
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # GA 36-2018: no I or O
_DIGITS = "0123456789"
_LETTER_COUNTS = (0, 0, 0, 1, 1, 2)  # letters in a serial [U]
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PHONE_PREFIX = "148"  # 14x: data and IoT SIM ranges, which terminals use [S]; jt808.py uses 144


def _one(rng: random.Random, items: Sequence[T]) -> T:
    # One C call to random() instead of choice()'s Python-level rejection sampling, which would
    # dominate a 100 000-vehicle build; the bias, at most len / 2**53, does not matter here.
    return items[int(rng.random() * len(items))]


def _below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _stream(seed: int, name: str) -> random.Random:
    # A string seed is hashed with SHA-512 by random.Random: stable across runs and hash seeds.
    return random.Random(f"zhifa-fleet/{seed}/{name}")


def _allocate(total: int, mix: FleetMix) -> dict[FleetKind, int]:
    """Exact counts per kind by largest remainder: shares hold to one vehicle, whatever the seed."""
    raw = {kind: mix.share(kind) * total for kind in FleetKind}
    counts = {kind: int(value) for kind, value in raw.items()}
    order = sorted(FleetKind, key=lambda k: (counts[k] - raw[k], list(FleetKind).index(k)))
    for kind in order[: total - sum(counts.values())]:
        counts[kind] += 1
    return counts


def _pick(rng: random.Random, table: Sequence[tuple[VehicleKind, int, float]]) -> tuple[VehicleKind, int]:
    roll = rng.random()
    for kind, axles, share in table:
        if roll < share:
            return kind, axles
        roll -= share
    return table[-1][0], table[-1][1]


def _serial(rng: random.Random, length: int, max_letters: int) -> str:
    # Mostly digits and at most two letters, like most issued serials [U]; GA 36-2018 allows more.
    serial = f"{_below(rng, 10**length):0{length}d}"
    for _ in range(min(max_letters, _one(rng, _LETTER_COUNTS))):
        pos = _below(rng, length)
        serial = serial[:pos] + _one(rng, _PLATE_LETTERS) + serial[pos + 1 :]
    return serial


def _ordinary_plate(rng: random.Random, letter: str) -> str:
    return f"{PROVINCE}{letter}{_serial(rng, 5, 2)}"


def _trailer_plate(rng: random.Random, letter: str) -> str:
    return f"{PROVINCE}{letter}{_serial(rng, 4, 1)}挂"


def _small_nev_plate(rng: random.Random, letter: str) -> str:
    # GA 36-2018 小型新能源: D battery-electric (most) or F other, a letter or digit, four digits.
    mark = "D" if rng.random() < 0.7 else "F"
    second = _one(rng, _PLATE_LETTERS + _DIGITS)
    return f"{PROVINCE}{letter}{mark}{second}{_below(rng, 10_000):04d}"


def _base36(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        out.append(_BASE36[digit])
    return "".join(reversed(out))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


@lru_cache(maxsize=256)
def _counties_valid_in(year: int) -> tuple[frozenset[str], tuple[str, ...], Mapping[str, tuple[str, ...]]]:
    """Counties whose current code already existed in ``year``: as a set, a tuple and by city.

    stdnum.cn.ric checks the county code against the GB/T 2260 history at the birth year, and many
    Anhui codes date from 1983-2020, so older drivers come from the few counties with older codes.
    """
    valid = tuple(c for c in _ALL_COUNTIES if _county_valid(c, year))
    by_city: dict[str, tuple[str, ...]] = {}
    for county in valid:
        by_city[county[:4]] = (*by_city.get(county[:4], ()), county)
    return frozenset(valid), valid, by_city


def _county_valid(county: str, year: int) -> bool:
    try:
        ric.get_birth_place(f"{county}{year}0101")
    except ValidationError:  # InvalidComponent: the code was not in use that year
        return False
    return True


class _Registers:
    """One build: counters and uniqueness sets shared by the steps of make_fleet."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.plates: set[str] = set()
        self.certificates: dict[str, int] = {}
        self.id_numbers: set[str] = set()

    def plate(self, rng: random.Random, make: Callable[[random.Random, str], str], letter: str) -> str:
        while True:
            plate = make(rng, letter)
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def certificate(self, city: str) -> str:
        seq = self.certificates.get(city, 0) + 1
        if seq > 99_999:
            raise ValueError(f"more than 99 999 transport certificates in city {city}")
        self.certificates[city] = seq
        return f"{PROVINCE}{city}9{seq:05d}"


def _make_enterprises(
    kinds: Sequence[FleetKind], rng: random.Random
) -> tuple[list[FleetEnterprise], list[FleetEnterprise | None]]:
    enterprises: list[FleetEnterprise] = []
    owner: list[FleetEnterprise | None] = [None] * len(kinds)
    codes: set[str] = set()
    names: set[str] = set()
    licences: dict[str, int] = {}
    for scope, suffix, mean_size, pool_kinds in _POOLS:
        members = [i for i, kind in enumerate(kinds) if kind in pool_kinds]
        if not members:
            continue
        pool = []
        for _ in range(math.ceil(len(members) / mean_size)):
            county = _one(rng, _ALL_COUNTIES)
            city = county[:4] + "00"
            code = make_uscc(rng, county)
            while code in codes:
                code = make_uscc(rng, county)
            codes.add(code)
            name = _unique_name(rng, _CITY_NAMES[city], suffix, names)
            licences[county] = licences.get(county, 0) + 1
            pool.append(FleetEnterprise(code, name, county, city, scope, f"{county}9{licences[county]:05d}"))
        # Every enterprise gets one vehicle, the rest go by heavy-tailed weights: few large firms,
        # many small ones, as the enterprise KPI sheet meets them.
        rng.shuffle(members)
        weights = [rng.paretovariate(1.5) for _ in pool]
        rest = rng.choices(pool, weights=weights, k=len(members) - len(pool))
        for index, enterprise in zip(members, pool + rest, strict=True):
            owner[index] = enterprise
        enterprises.extend(pool)
    return enterprises, owner


def _unique_name(rng: random.Random, city_name: str, suffix: str, names: set[str]) -> str:
    words = 2
    while True:
        for _ in range(5):
            trade = "".join(rng.sample(_TRADE_WORDS, words))
            name = f"{city_name}{trade}{suffix}（模拟）"
            if name not in names:
                names.add(name)
                return name
        words += 1


def _make_vehicle(
    index: int,
    kind: FleetKind,
    enterprise: FleetEnterprise | None,
    reg: _Registers,
    rng: random.Random,
    terminals: _Terminals,
    new_energy: bool,
) -> FleetVehicle:
    county = enterprise.division if enterprise else _one(rng, _ALL_COUNTIES)
    city = county[:4] + "00"
    letter = _LETTER_OF_CITY[city]
    vehicle_kind: VehicleKind | None = None
    axles: int | None = None
    road_axles: int | None = None
    seats: int | None = None
    trailer_plate: str | None = None
    trailer_certificate: str | None = None
    if kind is FleetKind.PRIVATE_CAR:
        # GA 36-2018: 小型汽车号牌 blue; 小型新能源汽车号牌 green (JT/T 697.7 code 5).
        colour = PlateColour.GREEN if new_energy else PlateColour.BLUE
        plate = reg.plate(rng, _small_nev_plate if new_energy else _ordinary_plate, letter)
        seats = _one(rng, _SEATS[kind])
    else:
        # GA 36-2018: 大型汽车号牌 (yellow) for buses and trucks of medium size and above.
        colour = PlateColour.YELLOW
        plate = reg.plate(rng, _ordinary_plate, letter)
        if kind.passenger:
            seats = _one(rng, _SEATS[kind])
        else:
            vehicle_kind, axles = _pick(rng, FLEET_MIX if kind is FleetKind.HEAVY_TRUCK else HAZARDOUS_MIX)
            road_axles = axles
            if vehicle_kind is VehicleKind.TRACTOR:
                # As make_vehicles: the semi-trailer adds 2-3 axles, 6 at most on the road.
                road_axles = min(axles + _one(rng, (2, 3)), 6)
                trailer_plate = reg.plate(rng, _trailer_plate, letter)
                trailer_certificate = reg.certificate(city)
    owner_name = "" if enterprise else f"{_one(rng, _SURNAMES)}某某（模拟）"
    return FleetVehicle(
        vehicle_id=f"V{index + 1:06d}",
        kind=kind,
        plate=plate,
        colour=colour,
        vehicle_kind=vehicle_kind,
        axles=axles,
        road_axles=road_axles,
        seats=seats,
        home_city=city,
        home_division=county,
        enterprise_uscc=enterprise.uscc if enterprise else None,
        owner_name=owner_name,
        transport_certificate=reg.certificate(city) if kind.key_vehicle else None,
        terminal=terminals.issue() if kind.key_vehicle else None,
        trailer_plate=trailer_plate,
        trailer_certificate=trailer_certificate,
        new_energy=new_energy,
        oversize_capable=False,
        illegal_operation=False,
        clone_of=None,
    )


class _Terminals:
    """Unique SIM numbers and terminal ids, drawn without replacement from their whole ranges."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.phones = iter(rng.sample(range(10**8), count))
        self.ids = iter(rng.sample(range(36**7), count))

    def issue(self) -> FleetTerminal:
        maker, model = _one(self.rng, _MAKERS)
        return FleetTerminal(
            f"{_PHONE_PREFIX}{next(self.phones):08d}", _base36(next(self.ids), 7), maker, model
        )


_Role = tuple[Qualification, LicenceClass | None]


def _crew_roles(vehicle: FleetVehicle, rng: random.Random) -> list[_Role]:
    role: _Role
    if vehicle.kind.passenger:
        role = (Qualification.PASSENGER_DRIVER, LicenceClass.A1)
    else:
        qualification = (
            Qualification.HAZARDOUS_DRIVER
            if vehicle.kind is FleetKind.HAZARDOUS_GOODS
            else Qualification.GOODS_DRIVER
        )
        licence = LicenceClass.A2 if vehicle.vehicle_kind is VehicleKind.TRACTOR else LicenceClass.B2
        role = (qualification, licence)
    roles: list[_Role] = [role] * (2 if rng.random() < _SECOND_DRIVER[vehicle.kind] else 1)
    if vehicle.kind is FleetKind.HAZARDOUS_GOODS:
        # 危险货物道路运输安全管理办法 第四十四条: an escort (押运人员) besides the driver.
        roles.append((Qualification.HAZARDOUS_ESCORT, None))
    return roles


def _id_number(
    rng: random.Random, reg: _Registers, qualification: Qualification, county: str, male: bool
) -> tuple[str, date, str]:
    """A GB 11643 number with a valid check digit whose sequence code is 9xx (the synthetic mark)."""
    while True:
        birth = _birth_date(rng, reg.as_of, _MIN_AGE[qualification], MAX_AGE)
        valid, ordered, by_city = _counties_valid_in(birth.year)
        if county not in valid:
            county = _one(rng, by_city.get(county[:4]) or ordered)
        for _ in range(10):
            sequence = 900 + 2 * _below(rng, 50) + male  # 900-999; odd for men, even for women
            body = f"{county}{birth:%Y%m%d}{sequence}"
            number = body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character
            if number not in reg.id_numbers:
                reg.id_numbers.add(number)
                return number, birth, county


def _birth_date(rng: random.Random, as_of: date, min_age: int, max_age: int) -> date:
    """Uniform over the days that make someone ``min_age``..``max_age`` full years old on ``as_of``."""
    earliest = _years_before(as_of, max_age + 1) + timedelta(days=1)
    latest = _years_before(as_of, min_age)
    return earliest + timedelta(days=_below(rng, (latest - earliest).days + 1))


def _make_drivers(
    vehicles: Sequence[FleetVehicle], reg: _Registers, rng: random.Random
) -> tuple[list[FleetDriver], dict[str, tuple[str, ...]]]:
    drivers: list[FleetDriver] = []
    assignments: dict[str, tuple[str, ...]] = {}
    for vehicle in vehicles:
        if not vehicle.kind.key_vehicle or vehicle.enterprise_uscc is None:
            continue
        crew = []
        for qualification, licence in _crew_roles(vehicle, rng):
            escort = licence is None
            male = rng.random() < _MALE_SHARE[escort]
            # Crews mostly live where their enterprise is registered.
            county = vehicle.home_division if rng.random() < 0.8 else _one(rng, _ALL_COUNTIES)
            number, birth, county = _id_number(rng, reg, qualification, county, male)
            given = _one(rng, _GIVEN) + (_one(rng, _GIVEN) if rng.random() < 0.7 else "")
            driver = FleetDriver(
                driver_id=f"D{len(drivers) + 1:06d}",
                name=_one(rng, _SURNAMES) + given,
                male=male,
                id_number=number,
                birth_date=birth,
                home_division=county,
                qualification=qualification,
                qualification_number=number,
                licence_class=licence,
                enterprise_uscc=vehicle.enterprise_uscc,
            )
            drivers.append(driver)
            crew.append(driver.driver_id)
        assignments[vehicle.vehicle_id] = tuple(crew)
    return drivers, assignments


def _default_count(configured: int | None, vehicles: int, per: int) -> int:
    return max(1, vehicles // per) if configured is None else configured


def make_fleet(
    vehicles: int, *, seed: int, mix: FleetMix | None = None, as_of: date = REFERENCE_DATE
) -> Fleet:
    """The registers of a simulated Anhui fleet of ``vehicles`` vehicles, the same for the same seed.

    ``as_of`` is the date drivers' ages are counted at (21-60 on that day). Clones come on top of
    ``vehicles``; colour twins are private cars within it.
    """
    if vehicles < 0:
        raise ValueError("vehicles cannot be negative")
    mix = mix or FleetMix()
    reg = _Registers(as_of)

    counts = _allocate(vehicles, mix)
    kinds = [kind for kind in FleetKind for _ in range(counts[kind])]
    _stream(seed, "kinds").shuffle(kinds)
    enterprises, owners = _make_enterprises(kinds, _stream(seed, "enterprises"))

    flags = _stream(seed, "flags")
    cars = [i for i, kind in enumerate(kinds) if kind is FleetKind.PRIVATE_CAR]
    heavy = [i for i, kind in enumerate(kinds) if kind is FleetKind.HEAVY_TRUCK]
    green = set(flags.sample(cars, round(mix.new_energy_car * len(cars))))
    clone_count = min(len(heavy), _default_count(mix.clones, vehicles, 2_000))
    key_count = len(kinds) - len(cars)
    # Key vehicles draw their terminals in vehicle order, then the clones.
    terminals = _Terminals(_stream(seed, "terminals"), key_count + clone_count)
    rng = _stream(seed, "vehicles")
    fleet = [
        _make_vehicle(i, kind, owners[i], reg, rng, terminals, i in green) for i, kind in enumerate(kinds)
    ]

    tractors = [i for i in heavy if fleet[i].vehicle_kind is VehicleKind.TRACTOR]
    for i in flags.sample(tractors, min(len(tractors), round(mix.oversize * len(heavy)))):
        fleet[i] = replace(fleet[i], oversize_capable=True)
    for i in flags.sample(cars, round(mix.illegal_operation * len(cars))):
        fleet[i] = replace(fleet[i], illegal_operation=True)

    clones = _make_clones(fleet, heavy, clone_count, terminals, _stream(seed, "clones"))
    originals = {c.clone_of for c in clones}
    _make_colour_twins(fleet, mix, vehicles, originals, _stream(seed, "twins"))

    drivers, assignments = _make_drivers(fleet, reg, _stream(seed, "drivers"))
    return Fleet(
        seed=seed,
        as_of=as_of,
        enterprises=tuple(enterprises),
        vehicles=tuple(fleet),
        drivers=tuple(drivers),
        assignments=MappingProxyType(assignments),
        clones=tuple(clones),
    )


def _make_clones(
    fleet: list[FleetVehicle],
    heavy: list[int],
    count: int,
    terminals: _Terminals,
    rng: random.Random,
) -> list[FleetVehicle]:
    """套牌车: another physical truck showing an existing heavy truck's plate and colour.

    It belongs to no enterprise in the register and holds no certificate of its own; half carry a
    terminal of their own (registering with the borrowed plate), the others none. Its axles are
    drawn afresh, so a weighing can disagree with the original's register entry.
    """
    clones = []
    for n, i in enumerate(rng.sample(heavy, count)):
        original = fleet[i]
        vehicle_kind, axles = _pick(rng, FLEET_MIX)
        road_axles = min(axles + _one(rng, (2, 3)), 6) if vehicle_kind is VehicleKind.TRACTOR else axles
        terminal = terminals.issue() if rng.random() < 0.5 else None
        clones.append(
            replace(
                original,
                vehicle_id=f"V{len(fleet) + n + 1:06d}",
                vehicle_kind=vehicle_kind,
                axles=axles,
                road_axles=road_axles,
                enterprise_uscc=None,
                transport_certificate=None,
                terminal=terminal,
                trailer_plate=None,
                trailer_certificate=None,
                oversize_capable=False,
                clone_of=original.vehicle_id,
            )
        )
    return clones


def _make_colour_twins(
    fleet: list[FleetVehicle], mix: FleetMix, vehicles: int, excluded: set[str | None], rng: random.Random
) -> None:
    """Give a few blue private cars the plate of a yellow key vehicle: two vehicles, one plate.

    JT/T 697.7 identifies a vehicle by plate and colour, so the platform must keep them apart and
    must not take them for a clone. The car moves to the key vehicle's city, as its plate says.
    """
    blue = [i for i, v in enumerate(fleet) if v.colour is PlateColour.BLUE and not v.illegal_operation]
    yellow = [
        i
        for i, v in enumerate(fleet)
        if v.colour is PlateColour.YELLOW and v.kind.key_vehicle and v.vehicle_id not in excluded
    ]
    count = min(len(blue), len(yellow), _default_count(mix.colour_twins, vehicles, 5_000))
    for car, key in zip(rng.sample(blue, count), rng.sample(yellow, count), strict=True):
        fleet[car] = replace(
            fleet[car],
            plate=fleet[key].plate,
            home_city=fleet[key].home_city,
            home_division=fleet[key].home_division,
        )
