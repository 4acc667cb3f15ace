"""The terminal register's rules: SIM phones (JT/T 808-2019 §4), the 0x8100 result of a 0x0100
registration (JT/T 808-2019 8.6) and the check of an auth code (0x0102).

Each table row says in its ``reason`` column which rule it proves.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from zhifa.domain.errors import DomainError
from zhifa.domain.terminals import (
    InvalidTerminal,
    RegisterResult,
    Terminal,
    auth_code_matches,
    auth_code_sha256,
    clean_text,
    normalise_device_id,
    normalise_phone,
    registration_result,
)
from zhifa.domain.vehicles import PlateColour, VehicleKey

AT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
KEY = VehicleKey("皖A12345", PlateColour.YELLOW)


def _terminal(**changes: object) -> Terminal:
    values: dict[str, object] = {
        "phone": "13511221122",
        "vehicle_id": "V-1",
        "vehicle": KEY,
        "device_id": "RM1234567",
        "maker": "70111",
        "model": "RM-T808",
        "auth_code_sha256": None,
        "registered_at": None,
        "enabled": True,
        "enrolled_at": AT,
    }
    values.update(changes)
    return Terminal(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# normalise_phone
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "reason"),
    [
        pytest.param("013511221122", "13511221122", "2011/2013 header: BCD[6], 12 digits", id="bcd6"),
        pytest.param("00000000013511221122", "13511221122", "2019 header: BCD[10], 20 digits", id="bcd10"),
        pytest.param("13511221122", "13511221122", "already without padding", id="plain"),
        pytest.param("1440123456789", "1440123456789", "13-digit IoT SIMs are numbers too", id="iot"),
        pytest.param("99999999999999999999", "9" * 20, "20 digits is the widest field", id="max"),
        pytest.param("7", "7", "one digit is a (test) number", id="one-digit"),
    ],
)
def test_phones_are_keyed_without_their_padding(raw: str, expected: str, reason: str) -> None:
    """The same SIM under either header version is the same register key."""
    assert normalise_phone(raw) == expected, reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("1351122112A", "a hex nibble is no BCD digit", id="letter"),
        pytest.param("135 1122 1122", "spaces are not digits", id="spaces"),
        pytest.param("+8613511221122", "no international prefix: the header carries digits", id="plus"),
        pytest.param("1" * 21, "more than BCD[10] can carry", id="too-long"),
        pytest.param("000000000000", "only padding, no number", id="zeros"),
        pytest.param("１３５１１２２１１２２", "full-width digits are not ASCII digits", id="full-width"),
        pytest.param("١٣٥", "str.isdigit() digits of other scripts are refused", id="arabic-indic"),
        pytest.param("13511221122\n", "a trailing newline is not a digit", id="newline"),
    ],
)
def test_malformed_phones_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidTerminal):
        normalise_phone(raw)


def test_invalid_terminal_is_a_domain_error() -> None:
    """So the API answers it as a broken rule (422), not as a server error."""
    assert issubclass(InvalidTerminal, DomainError)


def test_device_fields_lose_their_padding() -> None:
    """Fixed-width 0x0100 fields arrive NUL-padded; the device ID is compared upper-case; a value
    wider than its field cannot come off the wire and is refused."""
    assert normalise_device_id("rm1234567\x00\x00\x00") == "RM1234567"
    assert normalise_device_id("\x00\x00") is None
    assert normalise_device_id(None) is None
    assert clean_text(" 70111 ", 11) == "70111"
    with pytest.raises(InvalidTerminal):
        normalise_device_id("X" * 31)


def test_a_terminal_is_stored_by_its_normalised_phone() -> None:
    """A padded phone in the register would make the same SIM two terminals."""
    with pytest.raises(InvalidTerminal):
        _terminal(phone="013511221122")
    with pytest.raises(InvalidTerminal):
        _terminal(auth_code_sha256="not-a-digest")


# ---------------------------------------------------------------------------------------------
# registration_result: every branch of 0x8100
# ---------------------------------------------------------------------------------------------

SENT = {"plate": "皖A12345", "plate_colour": 2, "device_id": "RM1234567", "holder_of_plate": None}


@pytest.mark.parametrize(
    ("terminal", "sent", "expected", "reason"),
    [
        pytest.param(_terminal(), {}, RegisterResult.SUCCESS, "enrolled SIM, device, vehicle", id="success"),
        pytest.param(
            _terminal(device_id=None),
            {"device_id": "ANY-DEVICE"},
            RegisterResult.SUCCESS,
            "no device enrolled: the first device to register is taken",
            id="success-no-device-enrolled",
        ),
        pytest.param(
            _terminal(auth_code_sha256="a" * 64, registered_at=AT),
            {},
            RegisterResult.SUCCESS,
            "registering again (a reset terminal) succeeds and gets a new code",
            id="success-again",
        ),
        pytest.param(
            _terminal(),
            {"plate": " 皖a·12345\x00\x00", "device_id": "rm1234567\x00"},
            RegisterResult.SUCCESS,
            "plate and device compared after normalisation and padding",
            id="success-normalised",
        ),
        pytest.param(None, {}, RegisterResult.NO_SUCH_TERMINAL, "the phone is not enrolled", id="4-unknown"),
        pytest.param(
            _terminal(enabled=False),
            {},
            RegisterResult.NO_SUCH_TERMINAL,
            "an operator blocked the terminal",
            id="4-disabled",
        ),
        pytest.param(
            _terminal(),
            {"device_id": "OTHER99"},
            RegisterResult.TERMINAL_TAKEN,
            "another device uses this SIM",
            id="3-other-device",
        ),
        pytest.param(
            _terminal(),
            {"device_id": "OTHER99", "plate": "皖A99999"},
            RegisterResult.TERMINAL_TAKEN,
            "the device is judged before the vehicle",
            id="3-before-vehicle",
        ),
        pytest.param(
            _terminal(),
            {"plate": "皖A99999"},
            RegisterResult.NO_SUCH_VEHICLE,
            "a plate the terminal is not enrolled to, bound to no terminal",
            id="2-other-plate",
        ),
        pytest.param(
            _terminal(),
            {"plate_colour": 1},
            RegisterResult.NO_SUCH_VEHICLE,
            "same plate, other colour: another vehicle (JT/T 697.7)",
            id="2-other-colour",
        ),
        pytest.param(
            _terminal(),
            {"plate_colour": 0, "plate": "LSVAU2180N2183294"},
            RegisterResult.NO_SUCH_VEHICLE,
            "colour 0 sends the VIN; the register has no VINs",
            id="2-vin",
        ),
        pytest.param(
            _terminal(),
            {"plate": "皖A99999", "holder_of_plate": "13900000001"},
            RegisterResult.VEHICLE_TAKEN,
            "the plate sent is bound to another terminal",
            id="1-vehicle-taken",
        ),
    ],
)
def test_registration_result(
    terminal: Terminal | None, sent: dict[str, object], expected: RegisterResult, reason: str
) -> None:
    assert registration_result(terminal, **(SENT | sent)) is expected, reason  # type: ignore[arg-type]


def test_result_codes_and_labels_are_the_standards() -> None:
    """0x8100 结果: 0 成功, 1 车辆已被注册, 2 数据库中无该车辆, 3 终端已被注册, 4 数据库中无该终端."""
    assert {r.value: r.label for r in RegisterResult} == {
        0: "成功",
        1: "车辆已被注册",
        2: "数据库中无该车辆",
        3: "终端已被注册",
        4: "数据库中无该终端",
    }


# ---------------------------------------------------------------------------------------------
# auth codes
# ---------------------------------------------------------------------------------------------


def test_an_auth_code_is_checked_against_its_sha256() -> None:
    """The stored digest is SHA-256 hex of the code; only that code matches; no digest, no match."""
    code = "q3Vx8-T1kPz0aLmN4bCd"
    stored = auth_code_sha256(code)
    assert stored == hashlib.sha256(code.encode()).hexdigest()
    assert auth_code_matches(stored, code)
    assert not auth_code_matches(stored, code + "x")
    assert not auth_code_matches(stored, code.upper())
    assert not auth_code_matches(stored, "")
    assert not auth_code_matches(None, code)
    assert not auth_code_matches(None, "")


def test_a_garbled_code_off_the_wire_fails_rather_than_raises() -> None:
    """A code decoded leniently (lone surrogates) simply does not match."""
    assert not auth_code_matches(auth_code_sha256("abc"), "ab\udcff")
