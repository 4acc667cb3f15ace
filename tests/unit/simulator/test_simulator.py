"""The simulator's registers and weighing stream: seeded, valid, and faithful to its profile.

The simulator is a client of the platform, so its output is checked with the platform's own
domain rules: the USCC check character, GA 36-2018 plates, parse_weighing and assess.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from zhifa.domain.alerts import vehicle_profile
from zhifa.domain.enterprises import uscc_division_code, validate_uscc
from zhifa.domain.overlimit import assess
from zhifa.domain.vehicles import PlateColour, Vehicle, VehicleKey, VehicleKind, validate_plate
from zhifa.domain.weighings import WeighingReading, parse_weighing
from zhifa.simulator.registers import (
    ANHUI_PLATE_CITIES,
    SimEnterprise,
    SimVehicle,
    make_enterprises,
    make_vehicles,
)
from zhifa.simulator.weighings import SimSite, StreamProfile, WeighingStream

START = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
SPACING = timedelta(seconds=3)
NOW = START + timedelta(days=1)  # after every record of a 2 000-record batch (100 minutes)
SITES = [SimSite("WIM-340102-01"), SimSite("WIM-340104-02")]


def register(seed: int = 11) -> tuple[list[SimEnterprise], list[SimVehicle]]:
    rng = random.Random(seed)
    enterprises = make_enterprises(rng, 20)
    return enterprises, make_vehicles(rng, enterprises, 300)


ENTERPRISES, VEHICLES = register()


def records(count: int, seed: int = 0, profile: StreamProfile | None = None) -> list[dict[str, Any]]:
    return WeighingStream(SITES, VEHICLES, seed=seed, profile=profile).batch(START, count, SPACING)


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------


def test_same_seed_same_register() -> None:
    """The same seed gives the same enterprises and vehicles, field for field."""
    assert register(11) == (ENTERPRISES, VEHICLES)


def test_other_seed_other_register() -> None:
    """The seed matters: another one gives other codes and plates."""
    enterprises, vehicles = register(12)
    assert [e.uscc for e in enterprises] != [e.uscc for e in ENTERPRISES]
    assert [v.plate for v in vehicles] != [v.plate for v in VEHICLES]


def test_same_seed_same_records() -> None:
    """The same stream seed and times give the same records."""
    assert records(50, seed=3) == records(50, seed=3)
    assert records(50, seed=3) != records(50, seed=4)


def test_stream_needs_sites_and_vehicles() -> None:
    """An empty stream is a configuration error."""
    with pytest.raises(ValueError, match="at least one site and one vehicle"):
        WeighingStream([], VEHICLES)
    with pytest.raises(ValueError, match="at least one site and one vehicle"):
        WeighingStream(SITES, [])


# ---------------------------------------------------------------------------------------------
# The registers are valid
# ---------------------------------------------------------------------------------------------


def test_enterprise_codes_validate_and_carry_their_division() -> None:
    """Every USCC passes GB 32100 and its characters 3-8 are the enterprise's Anhui city."""
    for enterprise in ENTERPRISES:
        assert validate_uscc(enterprise.uscc) == enterprise.uscc
        assert uscc_division_code(enterprise.uscc) == enterprise.division
        assert enterprise.division in ANHUI_PLATE_CITIES.values()
        assert enterprise.name.endswith("（模拟）")
    assert len({e.uscc for e in ENTERPRISES}) == len(ENTERPRISES)


def test_enterprises_cycle_through_the_cities() -> None:
    """20 enterprises over 16 cities: every city has at least one."""
    assert {e.division for e in ENTERPRISES} == set(ANHUI_PLATE_CITIES.values())


def test_vehicle_plates_validate_and_match_the_enterprise_city() -> None:
    """Every plate is GA 36-2018, from Anhui, unique, and an enterprise's plate letter is its city's."""
    division_of = {e.uscc: e.division for e in ENTERPRISES}
    for vehicle in VEHICLES:
        assert validate_plate(vehicle.plate) == vehicle.plate
        assert vehicle.plate[0] == "皖"
        assert vehicle.colour == int(PlateColour.YELLOW)
        if vehicle.enterprise_uscc is not None:
            assert ANHUI_PLATE_CITIES[vehicle.plate[1]] == division_of[vehicle.enterprise_uscc]
            assert vehicle.owner_name == ""
        else:
            assert vehicle.owner_name.endswith("（模拟）")
    assert len({v.plate for v in VEHICLES}) == len(VEHICLES)


def test_vehicle_axles_as_registered_and_on_the_road() -> None:
    """A tractor's trailer adds axles on the road (capped at 6); a truck weighs as registered."""
    for vehicle in VEHICLES:
        if vehicle.kind is VehicleKind.TRACTOR:
            assert vehicle.axles < vehicle.road_axles <= 6
        else:
            assert vehicle.kind is VehicleKind.TRUCK
            assert vehicle.road_axles == vehicle.axles
            assert 2 <= vehicle.axles <= 4


def test_register_entry_is_what_the_api_takes() -> None:
    """register_entry() carries plate, colour code, kind value and the owner."""
    vehicle = VEHICLES[0]
    assert vehicle.register_entry() == {
        "plate": vehicle.plate,
        "plate_colour": 2,
        "kind": vehicle.kind.value,
        "axles": vehicle.axles,
        "enterprise_uscc": vehicle.enterprise_uscc,
        "owner_name": vehicle.owner_name,
    }


# ---------------------------------------------------------------------------------------------
# The stream is valid and follows its profile
# ---------------------------------------------------------------------------------------------

READINGS = [parse_weighing(r, NOW) for r in records(2_000)]


def test_every_record_parses() -> None:
    """2 000 records, each accepted by the platform's own parser, with unique ids."""
    assert len(READINGS) == 2_000
    assert len({r.record_id for r in READINGS}) == 2_000
    assert READINGS[0].measured_at == START
    assert READINGS[-1].measured_at == START + SPACING * 1_999


def test_axle_loads_sum_to_gross_mass() -> None:
    """The axle loads are one per axle and add up to the gross mass exactly."""
    for reading in READINGS:
        assert reading.axle_loads_kg is not None
        assert len(reading.axle_loads_kg) == reading.axles
        assert sum(reading.axle_loads_kg) == reading.gross_kg
        assert min(reading.axle_loads_kg) > 0


def test_records_carry_pictures() -> None:
    """Each record has the five pictures, or four when one is deliberately missing."""
    for reading in READINGS:
        assert len(reading.images) in (4, 5)
        assert reading.images[0].kind.value == "front"
    assert any(len(r.images) == 4 for r in READINGS)


_REGISTER = {
    v.plate: Vehicle(v.plate, VehicleKey(v.plate, PlateColour(v.colour)), v.kind, v.axles) for v in VEHICLES
}


def _mass_over(reading: WeighingReading) -> bool:
    """Assessed as the platform would: the record's axles with what the register or device knows."""
    profile = vehicle_profile(reading, _REGISTER.get(reading.vehicle.plate))
    return assess(profile.configuration, reading.measurement).mass_overlimit


@pytest.mark.parametrize(
    ("share", "seed"),
    [
        pytest.param(0.18, 0, id="default-share"),
        pytest.param(0.18, 1, id="default-share-other-seed"),
        pytest.param(0.5, 2, id="half"),
    ],
)
def test_overlimit_share_follows_the_profile(share: float, seed: int) -> None:
    """Over 2 000 records the share over the mass limit is within ±3.5 points of overlimit_share.

    (Binomial standard deviation at 0.18 is under 0.9 points, at 0.5 about 1.1.)
    """
    profile = StreamProfile(overlimit_share=share)
    readings = [parse_weighing(r, NOW) for r in records(2_000, seed=seed, profile=profile)]
    over = sum(_mass_over(r) for r in readings) / len(readings)
    assert share - 0.035 <= over <= share + 0.035


def test_no_overlimit_share_means_none_over_by_mass() -> None:
    """With overlimit_share 0 every mass is at most 99 % of its limit: none over."""
    readings = [parse_weighing(r, NOW) for r in records(500, profile=StreamProfile(overlimit_share=0.0))]
    assert not any(_mass_over(r) for r in readings)
