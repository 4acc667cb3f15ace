"""Plates (GA 36-2018), plate colours (JT/T 697.7) and register kinds (超限规定 第三条).

Each table row says in its ``reason`` column which rule of the plate syntax it proves.
"""

from __future__ import annotations

import pytest

from zhifa.domain.errors import DomainError
from zhifa.domain.vehicles import (
    PROVINCE_ABBREVIATIONS,
    InvalidPlate,
    PlateColour,
    Vehicle,
    VehicleKey,
    VehicleKind,
    normalise_plate,
    parse_plate_colour,
    validate_plate,
)

YELLOW_KEY = VehicleKey("皖A12345", PlateColour.YELLOW)


# ---------------------------------------------------------------------------------------------
# validate_plate: accepted plates and their normal form
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "reason"),
    [
        pytest.param("皖A12345", "皖A12345", "省 + letter + 5 digits", id="ordinary"),
        pytest.param("粤B12345", "粤B12345", "any of the 31 provinces opens a plate", id="other-province"),
        pytest.param("皖AB1C23", "皖AB1C23", "serial letters other than I and O are allowed", id="letters"),
        pytest.param("皖A1234挂", "皖A1234挂", "the last character may mark a trailer (挂)", id="trailer"),
        pytest.param(
            "京A1234学", "京A1234学", "the last character may mark a learner car (学)", id="learner"
        ),
        pytest.param("皖AD12345", "皖AD12345", "small new-energy: D + 5 digits", id="nev-small-d"),
        pytest.param("皖AF12345", "皖AF12345", "small new-energy: F + 5 digits", id="nev-small-f"),
        pytest.param(
            "皖ADA1234", "皖ADA1234", "small new-energy: 2nd serial may be a letter", id="nev-small-letter"
        ),
        pytest.param("皖A12345D", "皖A12345D", "large new-energy: 5 digits + D", id="nev-large-d"),
        pytest.param("皖A12345F", "皖A12345F", "large new-energy: 5 digits + F", id="nev-large-f"),
        # Normalisation: what cameras and clerks send.
        pytest.param(" 皖A 123 45 ", "皖A12345", "spaces are dropped", id="spaces"),
        pytest.param("皖A·12345", "皖A12345", "the middle dot is dropped", id="middle-dot"),
        pytest.param("皖A-12345", "皖A12345", "a hyphen is dropped", id="hyphen"),
        pytest.param("皖a12345", "皖A12345", "lower case is upper-cased", id="lower-case"),
        pytest.param(
            "皖Ａ１２３４５", "皖A12345", "full-width letters and digits become ASCII", id="full-width"
        ),
        pytest.param("皖ａd12345", "皖AD12345", "full-width lower case too", id="full-width-lower"),
    ],
)
def test_validate_plate_accepts(raw: str, expected: str, reason: str) -> None:
    """A GA 36-2018 plate is accepted and returned in its one normal form."""
    assert validate_plate(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message", "reason"),
    [
        pytest.param("", "plate is empty", "nothing to identify a vehicle by", id="empty"),
        pytest.param(" · ", "plate is empty", "only separators: empty after normalising", id="blank"),
        pytest.param("AA12345", "provincial abbreviation", "must open with a province", id="no-province"),
        pytest.param("台A12345", "provincial abbreviation", "台 is not one of the 31", id="wrong-province"),
        pytest.param("皖A1234I", "GA 36-2018", "I reads as 1: excluded from serials", id="letter-i"),
        pytest.param("皖A12O45", "GA 36-2018", "O reads as 0: excluded from serials", id="letter-o"),
        pytest.param("皖A1234", "GA 36-2018", "4 serial characters: too short", id="too-short"),
        pytest.param("皖A123456", "GA 36-2018", "6 digits without a D/F mark: too long", id="too-long"),
        pytest.param("皖A12345678", "GA 36-2018", "far too long", id="much-too-long"),
        pytest.param("皖1A2345", "GA 36-2018", "the 2nd character is an office letter", id="digit-office"),
        pytest.param("皖A挂1234", "GA 36-2018", "a use mark only comes last", id="mark-not-last"),
        pytest.param("皖AA12345", "GA 36-2018", "6-character serial without D/F (small)", id="nev-no-mark"),
        pytest.param(
            "皖A12345A", "GA 36-2018", "6-character serial without D/F (large)", id="nev-large-no-mark"
        ),
        pytest.param(
            "皖AF1A234", "GA 36-2018", "small new-energy: last four are digits", id="nev-letter-late"
        ),
        pytest.param("皖AD1234I", "GA 36-2018", "small new-energy: no I even at the end", id="nev-letter-i"),
    ],
)
def test_validate_plate_refuses(raw: str, message: str, reason: str) -> None:
    """A string that is no GA 36-2018 plate raises InvalidPlate saying what is wrong."""
    with pytest.raises(InvalidPlate, match=message):
        validate_plate(raw)


def test_validate_plate_message_names_the_raw_input() -> None:
    """The refusal quotes what was sent, so the sender can find the record."""
    with pytest.raises(InvalidPlate, match="'皖A1234I'"):
        validate_plate("皖A1234I")


def test_custom_nev_marks_accept_a_new_letter() -> None:
    """Later extensions of the new-energy letters are a parameter: with A allowed, 皖AA12345 passes."""
    assert validate_plate("皖AA12345", nev_marks="ADF") == "皖AA12345"
    assert validate_plate("皖A12345A", nev_marks="ADF") == "皖A12345A"


def test_custom_nev_marks_replace_the_default_set() -> None:
    """The parameter is the whole set: with only A, a D plate is refused and ordinary plates still pass."""
    with pytest.raises(InvalidPlate):
        validate_plate("皖AD12345", nev_marks="A")
    assert validate_plate("皖AA12345", nev_marks="A") == "皖AA12345"
    assert validate_plate("皖A12345", nev_marks="A") == "皖A12345"


def test_there_are_31_provinces() -> None:
    """GA 36-2018 lists 31 provincial abbreviations, each once."""
    assert len(PROVINCE_ABBREVIATIONS) == 31
    assert len(set(PROVINCE_ABBREVIATIONS)) == 31


def test_normalise_plate_keeps_chinese_marks() -> None:
    """Normalising upper-cases Latin letters but leaves 挂 and the province alone."""
    assert normalise_plate(" 皖a·1234挂 ") == "皖A1234挂"


# ---------------------------------------------------------------------------------------------
# parse_plate_colour: JT/T 697.7 codes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(0, PlateColour.UNPLATED, id="0-unplated"),
        pytest.param(1, PlateColour.BLUE, id="1-blue"),
        pytest.param(2, PlateColour.YELLOW, id="2-yellow"),
        pytest.param(3, PlateColour.BLACK, id="3-black"),
        pytest.param(4, PlateColour.WHITE, id="4-white"),
        pytest.param(5, PlateColour.GREEN, id="5-green"),
        pytest.param(9, PlateColour.OTHER, id="9-other"),
        pytest.param("2", PlateColour.YELLOW, id="digit-string"),
        pytest.param("5", PlateColour.GREEN, id="digit-string-green"),
    ],
)
def test_parse_plate_colour_accepts_codes(raw: object, expected: PlateColour) -> None:
    """A JT/T 697.7 code, as an int or a digit string, gives its colour."""
    assert parse_plate_colour(raw) is expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param(2.0, id="float"),
        pytest.param(None, id="none"),
        pytest.param([2], id="list"),
    ],
)
def test_parse_plate_colour_refuses_non_codes(raw: object) -> None:
    """bool is an int in Python but never a colour code; floats and None are refused too."""
    with pytest.raises(InvalidPlate, match=r"plate colour must be a JT/T 697\.7 code"):
        parse_plate_colour(raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(6, id="6"),
        pytest.param(7, id="7"),
        pytest.param(8, id="8"),
        pytest.param(10, id="10"),
        pytest.param(-1, id="negative"),
        pytest.param("x", id="letter"),
    ],
)
def test_parse_plate_colour_refuses_unknown_codes_listing_the_list(raw: object) -> None:
    """6-8 are not JT/T 697.7 codes (toll networks use another list); the message lists the real ones."""
    with pytest.raises(InvalidPlate) as info:
        parse_plate_colour(raw)
    assert str(info.value) == (
        f"unknown plate colour {raw!r}; JT/T 697.7 codes are "
        "0 未上牌, 1 蓝色, 2 黄色, 3 黑色, 4 白色, 5 绿色, 9 其他"
    )


# ---------------------------------------------------------------------------------------------
# VehicleKey: plate and colour together
# ---------------------------------------------------------------------------------------------


def test_vehicle_key_str_names_plate_and_colour() -> None:
    """Documents print a vehicle as 皖A12345（黄色）: plate with the colour in full-width brackets."""
    assert str(YELLOW_KEY) == "皖A12345（黄色）"
    assert str(VehicleKey("皖AD12345", PlateColour.GREEN)) == "皖AD12345（绿色）"


def test_vehicle_key_parse_normalises_both_parts() -> None:
    """VehicleKey.parse validates the plate and the colour code."""
    assert VehicleKey.parse("皖a 12345", "2") == YELLOW_KEY


def test_same_plate_other_colour_is_another_vehicle() -> None:
    """A vehicle is identified by plate and colour: blue and yellow 皖A12345 are two vehicles."""
    assert VehicleKey.parse("皖A12345", 1) != VehicleKey.parse("皖A12345", 2)


def test_vehicle_key_parse_passes_nev_marks() -> None:
    """The new-energy letter set reaches the plate check through VehicleKey.parse."""
    assert VehicleKey.parse("皖AA12345", 5, nev_marks="ADF").plate == "皖AA12345"
    with pytest.raises(InvalidPlate):
        VehicleKey.parse("皖AA12345", 5)


# ---------------------------------------------------------------------------------------------
# VehicleKind and Vehicle
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "is_combination", "limited_by_licence", "reason"),
    [
        pytest.param(VehicleKind.TRUCK, False, False, "rigid truck: 第三条 by axles", id="truck"),
        pytest.param(VehicleKind.TRACTOR, True, False, "forms an 汽车列车 with its trailer", id="tractor"),
        pytest.param(VehicleKind.COMBINATION, True, False, "registered as a train", id="combination"),
        pytest.param(VehicleKind.TRAILER, False, False, "a trailer alone", id="trailer"),
        pytest.param(VehicleKind.FARM_VEHICLE, False, True, "第三条第二款第四项: licensed mass", id="farm"),
        pytest.param(VehicleKind.LOW_SPEED_TRUCK, False, True, "第三条第二款第四项", id="low-speed"),
        pytest.param(VehicleKind.SPECIAL_PURPOSE, False, False, "专用作业车", id="special"),
    ],
)
def test_vehicle_kind_properties(
    kind: VehicleKind, is_combination: bool, limited_by_licence: bool, reason: str
) -> None:
    """Which kinds are combinations and which are held to their 行驶证 mass."""
    assert kind.is_combination is is_combination
    assert kind.limited_by_licence is limited_by_licence


def test_every_vehicle_kind_is_in_the_table() -> None:
    """A new kind must be added to the property table above."""
    assert len(VehicleKind) == 7


@pytest.mark.parametrize(
    "kind", [VehicleKind.FARM_VEHICLE, VehicleKind.LOW_SPEED_TRUCK], ids=["farm", "low-speed"]
)
def test_vehicle_held_to_licence_needs_licensed_mass(kind: VehicleKind) -> None:
    """超限规定 第三条第二款第四项: a farm vehicle or low-speed truck without its 行驶证 mass is refused."""
    with pytest.raises(DomainError, match="第三条第二款第四项") as info:
        Vehicle("v1", YELLOW_KEY, kind, axles=2)
    assert "licensed_gross_kg is required" in str(info.value)
    assert "皖A12345（黄色）" in str(info.value)


def test_farm_vehicle_with_licensed_mass_is_accepted() -> None:
    """With its 行驶证 mass, a farm vehicle is a valid register entry."""
    vehicle = Vehicle("v1", YELLOW_KEY, VehicleKind.FARM_VEHICLE, axles=2, licensed_gross_kg=4_500)
    assert vehicle.licensed_gross_kg == 4_500


@pytest.mark.parametrize("axles", [1, 2, 6, 20], ids=["1", "2", "6", "20"])
def test_vehicle_axles_in_range(axles: int) -> None:
    """A registered unit has between 1 and 20 axles (a trailer may have one)."""
    assert Vehicle("v1", YELLOW_KEY, VehicleKind.TRAILER, axles=axles).axles == axles


@pytest.mark.parametrize("axles", [0, -1, 21], ids=["0", "negative", "21"])
def test_vehicle_axles_out_of_range(axles: int) -> None:
    """0 or more than 20 axles is a data error."""
    with pytest.raises(DomainError, match="axle count must be between 1 and 20"):
        Vehicle("v1", YELLOW_KEY, VehicleKind.TRUCK, axles=axles)


@pytest.mark.parametrize("mass", [0, -100], ids=["zero", "negative"])
def test_vehicle_licensed_mass_must_be_positive(mass: int) -> None:
    """A licensed gross mass of zero or less is refused, for any kind."""
    with pytest.raises(DomainError, match="licensed gross mass must be positive"):
        Vehicle("v1", YELLOW_KEY, VehicleKind.TRUCK, axles=2, licensed_gross_kg=mass)


@pytest.mark.parametrize(
    ("axles", "single_tyre_axles", "ok"),
    [
        pytest.param(3, 0, True, id="none"),
        pytest.param(3, 2, True, id="all-but-drive"),
        pytest.param(3, 3, False, id="every-axle"),
        pytest.param(3, -1, False, id="negative"),
        pytest.param(1, 1, True, id="one-axle-trailer"),
        pytest.param(1, 2, False, id="one-axle-two-single"),
    ],
)
def test_vehicle_single_tyre_axles_range(axles: int, single_tyre_axles: int, ok: bool) -> None:
    """A drive axle is never a single-tyre non-drive axle, so not every axle can be one."""
    if ok:
        vehicle = Vehicle(
            "v1", YELLOW_KEY, VehicleKind.TRAILER, axles=axles, single_tyre_axles=single_tyre_axles
        )
        assert vehicle.single_tyre_axles == single_tyre_axles
    else:
        with pytest.raises(DomainError, match="single-tyre axles out of range"):
            Vehicle("v1", YELLOW_KEY, VehicleKind.TRAILER, axles=axles, single_tyre_axles=single_tyre_axles)
