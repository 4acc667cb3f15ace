"""The simulated fleet's registers: valid identifiers, colours by kind, qualified crews, the mix
asked for, and the ground truth (clones, colour twins) the platform has to discover.

Identifiers are checked with python-stdnum and the platform's own domain rules, not with the
builder's helpers, and the county codes against the geodata divisions file.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from stdnum.cn import ric, uscc

from zhifa.domain.enterprises import uscc_division_code
from zhifa.domain.vehicles import PlateColour, VehicleKind, validate_plate
from zhifa.simulator.fleet import (
    ANHUI_COUNTIES,
    HAZARDOUS_GOODS,
    BusinessScope,
    Fleet,
    FleetKind,
    FleetMix,
    LicenceClass,
    Qualification,
    make_fleet,
)
from zhifa.simulator.registers import ANHUI_PLATE_CITIES

AS_OF = date(2026, 3, 15)  # injected: the builder never reads the clock
DIVISIONS_CSV = Path(__file__).parents[3] / "src/zhifa/adapters/geodata/data/anhui/divisions.csv"
FLEET = make_fleet(10_000, seed=7, as_of=AS_OF)
MIX = FleetMix()


def _divisions(level: str) -> dict[str, str]:
    with DIVISIONS_CSV.open(encoding="utf-8") as handle:
        return {row["code"]: row["parent_code"] for row in csv.DictReader(handle) if row["level"] == level}


ANHUI_COUNTY_PARENTS = _divisions("county")


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# ---------------------------------------------------------------------------------------------
# Enterprises
# ---------------------------------------------------------------------------------------------


def test_enterprise_codes_pass_gb_32100_and_carry_their_county() -> None:
    """Every USCC passes stdnum's GB 32100 check, is unique, and its characters 3-8 are the
    enterprise's county; the name is marked （模拟）."""
    for enterprise in FLEET.enterprises:
        assert uscc.is_valid(enterprise.uscc)
        assert uscc_division_code(enterprise.uscc) == enterprise.division
        assert ANHUI_COUNTY_PARENTS[enterprise.division] == enterprise.city
        assert enterprise.name.endswith("（模拟）")
    assert len({e.uscc for e in FLEET.enterprises}) == len(FLEET.enterprises)
    assert len({e.name for e in FLEET.enterprises}) == len(FLEET.enterprises)


def test_business_licences_are_twelve_digits_from_the_county() -> None:
    """道路运输经营许可证号: 12 digits, the county code then the synthetic mark 9, unique."""
    for enterprise in FLEET.enterprises:
        assert re.fullmatch(r"\d{12}", enterprise.business_licence)
        assert enterprise.business_licence.startswith(enterprise.division + "9")
    assert len({e.business_licence for e in FLEET.enterprises}) == len(FLEET.enterprises)


def test_each_enterprise_runs_vehicles_of_its_scope() -> None:
    """Every enterprise has at least one vehicle, all of kinds its business scope allows."""
    allowed = {
        BusinessScope.PASSENGER: {FleetKind.LONG_DISTANCE_BUS, FleetKind.TOUR_COACH, FleetKind.SCHOOL_BUS},
        BusinessScope.HAZARDOUS: {FleetKind.HAZARDOUS_GOODS},
        BusinessScope.GOODS: {FleetKind.HEAVY_TRUCK},
    }
    for enterprise in FLEET.enterprises:
        vehicles = FLEET.fleet_of(enterprise.uscc)
        assert vehicles
        assert {v.kind for v in vehicles} <= allowed[enterprise.scope]
        assert {v.home_city for v in vehicles} == {enterprise.city}


# ---------------------------------------------------------------------------------------------
# Vehicles: plates, colours, certificates, terminals
# ---------------------------------------------------------------------------------------------


def test_plates_are_ga36_with_the_city_letter_and_the_colour_of_their_kind() -> None:
    """GA 36-2018 plates of 皖 with the letter of the vehicle's city; key vehicles yellow (大型汽车
    号牌), private cars blue, or green with a D/F mark when new-energy (JT/T 697.7 codes 2, 1, 5)."""
    for vehicle in FLEET.all_vehicles:
        assert validate_plate(vehicle.plate) == vehicle.plate
        assert vehicle.plate[0] == "皖"
        assert ANHUI_PLATE_CITIES[vehicle.plate[1]] == vehicle.home_city
        assert ANHUI_COUNTY_PARENTS[vehicle.home_division] == vehicle.home_city
        if vehicle.kind.key_vehicle:
            assert vehicle.colour is PlateColour.YELLOW
            assert len(vehicle.plate) == 7
            assert not vehicle.new_energy
        elif vehicle.new_energy:
            assert vehicle.colour is PlateColour.GREEN
            assert len(vehicle.plate) == 8 and vehicle.plate[2] in "DF"
        else:
            assert vehicle.colour is PlateColour.BLUE
            assert len(vehicle.plate) == 7


def test_trucks_carry_axles_buses_and_cars_seats() -> None:
    """Trucks have the platform's kind and axles as FLEET_MIX makes them; a tractor pulls a
    yellow 挂 trailer and weighs with 2-3 more axles (6 at most); buses and cars have seats."""
    trailers = []
    for vehicle in FLEET.vehicles:
        if vehicle.kind in (FleetKind.HEAVY_TRUCK, FleetKind.HAZARDOUS_GOODS):
            assert vehicle.vehicle_kind in (VehicleKind.TRUCK, VehicleKind.TRACTOR)
            assert vehicle.axles is not None and vehicle.road_axles is not None and vehicle.seats is None
            if vehicle.vehicle_kind is VehicleKind.TRACTOR:
                assert vehicle.axles < vehicle.road_axles <= 6
                assert vehicle.trailer_plate is not None and vehicle.trailer_plate.endswith("挂")
                assert validate_plate(vehicle.trailer_plate) == vehicle.trailer_plate
                assert vehicle.trailer_plate[1] == vehicle.plate[1]
                trailers.append(vehicle.trailer_plate)
            else:
                assert 2 <= vehicle.axles == vehicle.road_axles <= 4
                assert vehicle.trailer_plate is None
        else:
            assert vehicle.vehicle_kind is None and vehicle.axles is None and vehicle.trailer_plate is None
            assert vehicle.seats is not None
            assert vehicle.seats >= (10 if vehicle.kind.passenger else 5)
    assert trailers and len(set(trailers)) == len(trailers)


def test_plate_and_colour_identify_one_register_vehicle() -> None:
    """In the register every plate+colour is unique (JT/T 697.7: the pair is the identity), and so
    are vehicle ids across the register and the clones."""
    keys = Counter((v.plate, v.colour) for v in FLEET.vehicles)
    assert max(keys.values()) == 1
    ids = [v.vehicle_id for v in FLEET.all_vehicles]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"V\d{6}", i) for i in ids)


def test_each_clone_copies_exactly_one_heavy_truck() -> None:
    """A clone (套牌) shows the plate and colour of exactly one register heavy truck, named by
    clone_of; it is another physical vehicle with no enterprise and no certificate."""
    assert len(FLEET.clones) == 10_000 // 2_000
    for clone in FLEET.clones:
        originals = [v for v in FLEET.vehicles if (v.plate, v.colour) == (clone.plate, clone.colour)]
        assert len(originals) == 1
        (original,) = originals
        assert original.vehicle_id == clone.clone_of
        assert original.kind is FleetKind.HEAVY_TRUCK and original.clone_of is None
        assert clone.vehicle_id != original.vehicle_id
        assert clone.enterprise_uscc is None and clone.transport_certificate is None
        assert FLEET.by_key(clone.plate, clone.colour) == (original, clone)
    assert len({c.clone_of for c in FLEET.clones}) == len(FLEET.clones)


def test_colour_twins_are_two_vehicles_not_a_clone() -> None:
    """A few blue cars share a yellow key vehicle's plate string: different colour, so another
    vehicle; neither side is a clone and each plate is shared by exactly two register entries."""
    pairs = FLEET.colour_twins
    assert len(pairs) == 10_000 // 5_000
    for first, second in pairs:
        assert first.plate == second.plate
        assert {first.colour, second.colour} == {PlateColour.BLUE, PlateColour.YELLOW}
        assert first.clone_of is None and second.clone_of is None
        assert sum(v.plate == first.plate for v in FLEET.vehicles) == 2
    plates = Counter(v.plate for v in FLEET.vehicles)
    assert sum(n > 1 for n in plates.values()) == len(pairs)


def test_transport_certificates_only_on_key_vehicles() -> None:
    """道路运输证号 皖 + 12 digits (city code, mark 9, sequence), unique, for key vehicles and
    their trailers; private cars have none."""
    numbers = []
    for vehicle in FLEET.vehicles:
        if vehicle.kind.key_vehicle:
            assert vehicle.transport_certificate is not None
            assert re.fullmatch(r"皖\d{12}", vehicle.transport_certificate)
            assert vehicle.transport_certificate.startswith(f"皖{vehicle.home_city}9")
            numbers.append(vehicle.transport_certificate)
            if vehicle.trailer_certificate is not None:
                numbers.append(vehicle.trailer_certificate)
        else:
            assert vehicle.transport_certificate is None and vehicle.enterprise_uscc is None
            assert vehicle.owner_name.endswith("（模拟）")
    assert len(set(numbers)) == len(numbers)


def test_terminals_have_unique_sim_numbers() -> None:
    """Every key vehicle has a JT/T 808 terminal: an 11-digit SIM number starting with 1, a
    7-character terminal id and a 5-character maker id; numbers and ids are unique across the
    register and the clones. Private cars have none; some clones have their own."""
    terminals = [v.terminal for v in FLEET.all_vehicles if v.terminal is not None]
    for vehicle in FLEET.vehicles:
        assert (vehicle.terminal is not None) == vehicle.kind.key_vehicle
    for terminal in terminals:
        assert re.fullmatch(r"1\d{10}", terminal.phone)
        assert re.fullmatch(r"[0-9A-Z]{7}", terminal.terminal_id)
        assert len(terminal.maker_id) == 5 and len(terminal.model) <= 20
    assert len({t.phone for t in terminals}) == len(terminals)
    assert len({t.terminal_id for t in terminals}) == len(terminals)
    for terminal in terminals:
        assert FLEET.by_phone(terminal.phone) is not None
    assert FLEET.by_phone("19999999999") is None


def test_oversize_and_illegal_operation_flags() -> None:
    """大件运输 capability only on heavy-truck tractors, at the configured share of heavy trucks;
    非法营运 only on private cars, at its share of them."""
    heavy = FLEET.of_kind(FleetKind.HEAVY_TRUCK)
    cars = FLEET.of_kind(FleetKind.PRIVATE_CAR)
    oversize = [v for v in FLEET.vehicles if v.oversize_capable]
    illegal = [v for v in FLEET.vehicles if v.illegal_operation]
    assert all(v.kind is FleetKind.HEAVY_TRUCK and v.vehicle_kind is VehicleKind.TRACTOR for v in oversize)
    assert all(v.kind is FleetKind.PRIVATE_CAR and v.terminal is None for v in illegal)
    assert len(oversize) == round(MIX.oversize * len(heavy))
    assert len(illegal) == round(MIX.illegal_operation * len(cars))


# ---------------------------------------------------------------------------------------------
# Drivers
# ---------------------------------------------------------------------------------------------


def test_county_table_matches_the_divisions_file() -> None:
    """The builder's copy of Anhui's counties is the geodata divisions file, city by city."""
    from_file: dict[str, set[str]] = {}
    for county, city in ANHUI_COUNTY_PARENTS.items():
        from_file.setdefault(city, set()).add(county)
    assert {city: set(counties) for city, counties in ANHUI_COUNTIES.items()} == from_file


def test_identity_numbers_are_valid_synthetic_and_of_working_age() -> None:
    """Each identity number passes stdnum.cn.ric (check digit, date, county existing at birth),
    holds the driver's birth date and a real Anhui county from the divisions file, carries the
    synthetic mark (sequence code 9xx) with the gender parity of GB 11643, is unique, and makes
    its holder 21-60 on the injected reference date (从业人员管理规定 第九条–第十二条)."""
    for driver in FLEET.drivers:
        number = driver.id_number
        assert ric.is_valid(number), number
        assert ric.get_birth_date(number) == driver.birth_date
        assert number[:6] == driver.home_division
        assert driver.home_division in ANHUI_COUNTY_PARENTS
        assert number[14] == "9"
        assert int(number[16]) % 2 == (1 if driver.male else 0)
        assert 21 <= _age(driver.birth_date, AS_OF) <= 60
        if driver.qualification is Qualification.PASSENGER_DRIVER:
            assert _age(driver.birth_date, AS_OF) >= 25
    assert len({d.id_number for d in FLEET.drivers}) == len(FLEET.drivers)


def test_the_reference_date_moves_the_birth_dates() -> None:
    """Ages are counted at as_of, not at the clock: a fleet built for 2040 has drivers born later."""
    later = make_fleet(300, seed=7, as_of=date(2040, 2, 29))
    for driver in later.drivers:
        assert 21 <= _age(driver.birth_date, date(2040, 2, 29)) <= 60
        assert ric.is_valid(driver.id_number)
    assert min(d.birth_date for d in later.drivers) > date(1978, 1, 1)


def test_every_key_vehicle_has_a_qualified_crew() -> None:
    """One or two drivers per key vehicle with the qualification of its kind and the licence class
    of its body (A1 buses, A2 tractors, B2 trucks); a hazardous-goods vehicle also carries one
    escort (危险货物道路运输安全管理办法 第四十四条), listed last. Private cars and clones have no crew."""
    expected = {
        FleetKind.LONG_DISTANCE_BUS: Qualification.PASSENGER_DRIVER,
        FleetKind.TOUR_COACH: Qualification.PASSENGER_DRIVER,
        FleetKind.SCHOOL_BUS: Qualification.PASSENGER_DRIVER,
        FleetKind.HAZARDOUS_GOODS: Qualification.HAZARDOUS_DRIVER,
        FleetKind.HEAVY_TRUCK: Qualification.GOODS_DRIVER,
    }
    assigned: list[str] = []
    for vehicle in FLEET.all_vehicles:
        crew = FLEET.crew(vehicle.vehicle_id)
        if not vehicle.kind.key_vehicle or vehicle.clone_of is not None:
            assert crew == ()
            continue
        drivers = [d for d in crew if d.qualification is not Qualification.HAZARDOUS_ESCORT]
        escorts = [d for d in crew if d.qualification is Qualification.HAZARDOUS_ESCORT]
        assert 1 <= len(drivers) <= 2
        if vehicle.kind.passenger:
            licence = LicenceClass.A1
        elif vehicle.vehicle_kind is VehicleKind.TRACTOR:
            licence = LicenceClass.A2
        else:
            licence = LicenceClass.B2
        for driver in drivers:
            assert driver.qualification is expected[vehicle.kind]
            assert driver.licence_class is licence
        if vehicle.kind is FleetKind.HAZARDOUS_GOODS:
            assert len(escorts) == 1 and crew[-1] is escorts[0]
            assert escorts[0].licence_class is None
        else:
            assert escorts == []
        for member in crew:
            assert member.enterprise_uscc == vehicle.enterprise_uscc
            assert member.qualification_number == member.id_number
        assigned.extend(d.driver_id for d in crew)
    assert sorted(assigned) == sorted(d.driver_id for d in FLEET.drivers)
    assert len(set(assigned)) == len(assigned)


def test_driver_names_are_chinese_and_ids_sequential() -> None:
    """Names are two or three Chinese characters; driver ids run D000001, D000002, …"""
    for n, driver in enumerate(FLEET.drivers, start=1):
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", driver.name)
        assert driver.driver_id == f"D{n:06d}"
        assert FLEET.driver(driver.driver_id) is driver


# ---------------------------------------------------------------------------------------------
# Goods catalogue
# ---------------------------------------------------------------------------------------------

# UN Recommendations on the Transport of Dangerous Goods, Model Regulations (Rev. 23, 2023),
# Dangerous Goods List: column 1 (UN No.) and column 3 (class or division); ADR 2025 Table A agrees.
REAL_UN_CLASSES = {
    "UN1005": "2.3",  # AMMONIA, ANHYDROUS
    "UN1017": "2.3",  # CHLORINE
    "UN1073": "2.2",  # OXYGEN, REFRIGERATED LIQUID
    "UN1075": "2.1",  # PETROLEUM GASES, LIQUEFIED
    "UN1090": "3",  # ACETONE
    "UN1114": "3",  # BENZENE
    "UN1170": "3",  # ETHANOL
    "UN1202": "3",  # DIESEL FUEL
    "UN1203": "3",  # MOTOR SPIRIT
    "UN1223": "3",  # KEROSENE
    "UN1230": "3",  # METHANOL
    "UN1294": "3",  # TOLUENE
    "UN1789": "8",  # HYDROCHLORIC ACID
    "UN1824": "8",  # SODIUM HYDROXIDE SOLUTION
    "UN1830": "8",  # SULPHURIC ACID
    "UN1972": "2.1",  # METHANE, REFRIGERATED LIQUID
    "UN1977": "2.2",  # NITROGEN, REFRIGERATED LIQUID
    "UN2014": "5.1",  # HYDROGEN PEROXIDE, AQUEOUS SOLUTION
}


def test_hazardous_goods_catalogue_holds_real_un_numbers() -> None:
    """Every catalogue entry is a real UN number with its real class, named in Chinese, once."""
    for goods in HAZARDOUS_GOODS:
        assert REAL_UN_CLASSES.get(goods.un_number) == goods.hazard_class, goods
        assert re.fullmatch(r"[\u4e00-\u9fff]+", goods.name)
    assert len({g.un_number for g in HAZARDOUS_GOODS}) == len(HAZARDOUS_GOODS)
    assert {"UN1203", "UN1202", "UN1005", "UN1789", "UN1075", "UN1830"} <= {
        g.un_number for g in HAZARDOUS_GOODS
    }


# ---------------------------------------------------------------------------------------------
# Mix, configuration, determinism, scale
# ---------------------------------------------------------------------------------------------


def test_mix_shares_are_respected() -> None:
    """Over 10 000 vehicles each kind's count is its share to within one vehicle (largest
    remainder), and the new-energy share of private cars is as configured."""
    counts = Counter(v.kind for v in FLEET.vehicles)
    assert sum(counts.values()) == 10_000
    for kind in FleetKind:
        assert abs(counts[kind] - MIX.share(kind) * 10_000) <= 1
    cars = FLEET.of_kind(FleetKind.PRIVATE_CAR)
    green = sum(v.colour is PlateColour.GREEN for v in cars)
    assert abs(green / len(cars) - MIX.new_energy_car) < 0.005
    assert len(FLEET.key_vehicles) == 10_000 - len(cars)


def test_a_custom_mix_is_followed() -> None:
    """Another mix changes the counts, and clone and twin numbers are configurable (0 allowed)."""
    mix = FleetMix(
        long_distance_bus=0.1,
        tour_coach=0.1,
        school_bus=0.1,
        hazardous_goods=0.2,
        heavy_truck=0.2,
        private_car=0.3,
        clones=7,
        colour_twins=0,
    )
    fleet = make_fleet(1_000, seed=1, mix=mix)
    counts = Counter(v.kind for v in fleet.vehicles)
    assert counts == {
        FleetKind.LONG_DISTANCE_BUS: 100,
        FleetKind.TOUR_COACH: 100,
        FleetKind.SCHOOL_BUS: 100,
        FleetKind.HAZARDOUS_GOODS: 200,
        FleetKind.HEAVY_TRUCK: 200,
        FleetKind.PRIVATE_CAR: 300,
    }
    assert len(fleet.clones) == 7
    assert fleet.colour_twins == ()


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"heavy_truck": 0.7}, id="shares-over-one"),
        pytest.param({"private_car": -0.1, "heavy_truck": 0.97}, id="negative-share"),
        pytest.param({"oversize": 1.5}, id="share-over-one"),
        pytest.param({"clones": -1}, id="negative-clones"),
    ],
)
def test_fleet_mix_refuses_nonsense(kwargs: dict[str, float]) -> None:
    """A mix whose shares do not add up, or with a negative count, is a configuration error."""
    with pytest.raises(ValueError):
        FleetMix(**kwargs)  # type: ignore[arg-type]


def test_tiny_fleets() -> None:
    """No vehicles gives empty registers; one vehicle still builds."""
    empty = make_fleet(0, seed=1)
    assert (empty.vehicles, empty.enterprises, empty.drivers, empty.clones) == ((), (), (), ())
    assert len(make_fleet(1, seed=1).vehicles) == 1
    with pytest.raises(ValueError):
        make_fleet(-1, seed=1)


def test_same_seed_same_fleet() -> None:
    """The same seed gives equal registers, field for field."""
    assert make_fleet(2_000, seed=3, as_of=AS_OF) == make_fleet(2_000, seed=3, as_of=AS_OF)


def test_no_hash_seed_leaks_into_the_fleet() -> None:
    """Two interpreters with different string-hash seeds build the same fleet: no set or dict
    ordering of strings decides anything."""
    script = (
        "import hashlib; from zhifa.simulator.fleet import make_fleet; f = make_fleet(500, seed=5); "
        "print(hashlib.sha256(repr((f.enterprises, f.vehicles, f.drivers, dict(f.assignments), "
        "f.clones)).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1


def test_other_seed_other_fleet() -> None:
    """Another seed gives other codes, plates, identity numbers and phones."""
    one, other = make_fleet(2_000, seed=3), make_fleet(2_000, seed=4)
    assert [e.uscc for e in one.enterprises] != [e.uscc for e in other.enterprises]
    assert [v.plate for v in one.vehicles] != [v.plate for v in other.vehicles]
    assert [d.id_number for d in one.drivers] != [d.id_number for d in other.drivers]
    assert [v.terminal for v in one.vehicles] != [v.terminal for v in other.vehicles]


def test_lookups_agree_with_the_registers() -> None:
    """vehicle(), enterprise(), crew() and by_key() find what the tuples hold."""
    assert isinstance(FLEET, Fleet)
    for vehicle in FLEET.vehicles[:200]:
        assert FLEET.vehicle(vehicle.vehicle_id) is vehicle
        assert vehicle in FLEET.by_key(vehicle.plate, vehicle.colour)
        assert vehicle.key.plate == vehicle.plate and vehicle.key.colour is vehicle.colour
        if vehicle.enterprise_uscc is not None:
            assert FLEET.enterprise(vehicle.enterprise_uscc).uscc == vehicle.enterprise_uscc
            assert vehicle in FLEET.fleet_of(vehicle.enterprise_uscc)
    assert FLEET.by_key("皖A00000", PlateColour.WHITE) == ()


@pytest.mark.slow
def test_a_100_000_vehicle_fleet_builds() -> None:
    """100 000 vehicles build within a generous bound (measured about 3 s), with unique plates,
    phones and identity numbers."""
    started = time.perf_counter()
    fleet = make_fleet(100_000, seed=11)
    elapsed = time.perf_counter() - started
    assert len(fleet.vehicles) == 100_000
    assert len(fleet.clones) == 50
    assert len({(v.plate, v.colour) for v in fleet.vehicles}) == 100_000
    phones = [v.terminal.phone for v in fleet.all_vehicles if v.terminal is not None]
    assert len(set(phones)) == len(phones)
    assert len({d.id_number for d in fleet.drivers}) == len(fleet.drivers)
    assert elapsed < 30, f"building 100 000 vehicles took {elapsed:.1f} s"
