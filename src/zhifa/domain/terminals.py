"""Terminals (车载终端): the JT/T 808 units of key vehicles, keyed by their SIM phone number.

An operator first enrols a terminal (入网登记): its phone number is bound to one vehicle of the
vehicle register. The terminal then registers itself over the wire (0x0100 终端注册); the platform
answers 0x8100 终端注册应答 with a result and, on success, an auth code (鉴权码), which the
terminal presents on every connection (0x0102 终端鉴权). Only the code's SHA-256 is kept.

Sections cited are those of JT/T 808-2019; the 2011/2013 layouts differ only in field widths.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import IntEnum

from zhifa.domain.errors import DomainError
from zhifa.domain.vehicles import PlateColour, VehicleKey, normalise_plate

# JT/T 808-2019 §4 消息头: the terminal phone (终端手机号) is BCD[10], 20 digits, left-padded with
# zeros; 2011/2013 carry BCD[6], 12 digits. The register keys a terminal by the number without the
# padding, so both header versions name the same SIM.
MAX_PHONE_DIGITS = 20
_PHONE = re.compile(r"[0-9]{1,20}")
# JT/T 808-2019 0x0100 终端注册: 制造商ID BYTE[11], 终端型号 BYTE[30], 终端ID BYTE[30] (2013:
# BYTE[5], BYTE[20], BYTE[7]), each padded with 0x00. The register holds the widest form.
MAX_MAKER_LENGTH = 11
MAX_MODEL_LENGTH = 30
MAX_DEVICE_ID_LENGTH = 30
# Fixed-width fields arrive padded with NULs; operators type spaces. Neither is part of the value.
_PADDING = "\x00 \t\r\n"


class InvalidTerminal(DomainError):
    pass


def normalise_phone(digits: str) -> str:
    """The SIM number as the register keys it: the BCD digits without their leading zeros.

    ``"013511221122"`` (2013 header, BCD[6]) and ``"00000000013511221122"`` (2019, BCD[10]) are
    the same terminal ``"13511221122"``. Raise InvalidTerminal for anything else than 1–20 ASCII
    digits, or for a number that is only zeros.
    """
    if not isinstance(digits, str) or not _PHONE.fullmatch(digits):
        raise InvalidTerminal(
            f"终端手机号 {digits!r} 应为 1–{MAX_PHONE_DIGITS} 位数字 "
            "(JT/T 808-2019 §4: the terminal phone is BCD[10], at most 20 digits)"
        )
    phone = digits.lstrip("0")
    if not phone:
        raise InvalidTerminal(f"终端手机号 {digits!r} 全为 0，不是有效号码 (a phone of only zeros)")
    return phone


def clean_text(raw: str | None, limit: int) -> str | None:
    """A device-reported or typed field without its padding, or None when nothing is left.

    Values longer than ``limit`` cannot have come off the wire (the field is that wide); they are
    refused rather than cut, so the register never holds a value the device would not send.
    """
    if raw is None:
        return None
    text = raw.strip(_PADDING)
    if not text:
        return None
    if len(text) > limit:
        raise InvalidTerminal(f"{text[:40]!r}… 超过 {limit} 个字符 (longer than the JT/T 808 field)")
    return text


def normalise_device_id(raw: str | None) -> str | None:
    """The maker's terminal ID (0x0100 终端ID): unpadded and upper-case, ≤ 30 characters.

    JT/T 808-2019 says the ID is made of upper-case letters and digits, so upper-casing loses
    nothing for a conforming device and spares an operator's lower-case typing a mismatch.
    """
    text = clean_text(raw, MAX_DEVICE_ID_LENGTH)
    return text.upper() if text is not None else None


@dataclass(frozen=True)
class Terminal:
    """A terminal of the register (车载终端档案), bound to one vehicle."""

    phone: str  # normalised (normalise_phone)
    vehicle_id: str
    vehicle: VehicleKey
    device_id: str | None  # 0x0100 终端ID as the device reports it
    maker: str | None  # 0x0100 制造商ID
    model: str | None  # 0x0100 终端型号
    auth_code_sha256: str | None  # SHA-256 (hex) of the issued 鉴权码; never the code itself
    registered_at: datetime | None
    enabled: bool = True
    enrolled_at: datetime = field(kw_only=True)  # bound to this vehicle since (入网登记)

    def __post_init__(self) -> None:
        if normalise_phone(self.phone) != self.phone:
            raise InvalidTerminal(f"terminal {self.phone!r}: the phone must be stored without leading zeros")
        for value, limit, name in (
            (self.device_id, MAX_DEVICE_ID_LENGTH, "device_id"),
            (self.maker, MAX_MAKER_LENGTH, "maker"),
            (self.model, MAX_MODEL_LENGTH, "model"),
        ):
            if value is not None and not 1 <= len(value) <= limit:
                raise InvalidTerminal(f"terminal {self.phone}: {name} must be 1–{limit} characters")
        if self.auth_code_sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.auth_code_sha256):
            raise InvalidTerminal(f"terminal {self.phone}: auth_code_sha256 must be 64 lower-case hex digits")

    @property
    def registered(self) -> bool:
        """The terminal registered (0x0100) and holds a code the platform will accept."""
        return self.auth_code_sha256 is not None

    def registered_with(
        self, *, device_id: str | None, maker: str | None, model: str | None, code_sha256: str, at: datetime
    ) -> Terminal:
        """After a successful 0x0100: a fresh code replaces any earlier one (which stops working);
        what the operator entered at enrolment wins over what the device reports, which only fills
        the blanks."""
        return replace(
            self,
            device_id=self.device_id or device_id,
            maker=self.maker or maker,
            model=self.model or model,
            auth_code_sha256=code_sha256,
            registered_at=at,
        )


class RegisterResult(IntEnum):
    """结果 of 0x8100 终端注册应答 (JT/T 808-2019 8.6)."""

    SUCCESS = 0
    VEHICLE_TAKEN = 1  # 车辆已被注册
    NO_SUCH_VEHICLE = 2  # 数据库中无该车辆
    TERMINAL_TAKEN = 3  # 终端已被注册
    NO_SUCH_TERMINAL = 4  # 数据库中无该终端

    @property
    def label(self) -> str:
        return _RESULT_LABELS[self]


_RESULT_LABELS = {
    RegisterResult.SUCCESS: "成功",
    RegisterResult.VEHICLE_TAKEN: "车辆已被注册",
    RegisterResult.NO_SUCH_VEHICLE: "数据库中无该车辆",
    RegisterResult.TERMINAL_TAKEN: "终端已被注册",
    RegisterResult.NO_SUCH_TERMINAL: "数据库中无该终端",
}


def registration_result(
    terminal: Terminal | None,
    *,
    plate: str,
    plate_colour: int,
    device_id: str,
    holder_of_plate: str | None,
) -> RegisterResult:
    """The answer to a 0x0100 终端注册 from ``terminal``'s SIM (None: the phone is not enrolled).

    ``plate``/``plate_colour`` are what the device sent (车牌颜色, 车辆标识); ``holder_of_plate``
    is the phone of the terminal bound to that vehicle, if any. In order:

    1. no terminal enrolled under the phone, or one an operator disabled → NO_SUCH_TERMINAL;
    2. the register holds another device ID for this SIM → TERMINAL_TAKEN (the SIM sits in a
       device other than the one enrolled);
    3. the vehicle sent is not the terminal's → VEHICLE_TAKEN when another terminal holds it,
       else NO_SUCH_VEHICLE;
    4. else SUCCESS.

    Registering again — the same SIM, the same device, the same vehicle — is SUCCESS, and the
    caller issues a new code: a terminal that was reset or re-flashed has lost its code and has no
    other way back, and the old code stops working, so a copied code dies with the next
    registration. (An alternative reading of the standard answers TERMINAL_TAKEN to a second
    registration; that would strand every reset terminal until an operator intervened.)
    """
    if terminal is None or not terminal.enabled:
        return RegisterResult.NO_SUCH_TERMINAL
    if terminal.device_id is not None and terminal.device_id != device_id.strip(_PADDING).upper():
        return RegisterResult.TERMINAL_TAKEN
    # JT/T 808-2019 0x0100: with 车牌颜色 0 the 车辆标识 field is the VIN, not a plate. The vehicle
    # register keeps no VINs yet, so such a vehicle cannot be found: NO_SUCH_VEHICLE.
    if plate_colour == PlateColour.UNPLATED:
        return RegisterResult.NO_SUCH_VEHICLE
    sent = (normalise_plate(plate.strip(_PADDING)), plate_colour)
    if sent != (terminal.vehicle.plate, int(terminal.vehicle.colour)):
        if holder_of_plate is not None and holder_of_plate != terminal.phone:
            return RegisterResult.VEHICLE_TAKEN
        return RegisterResult.NO_SUCH_VEHICLE
    return RegisterResult.SUCCESS


def auth_code_sha256(code: str) -> str:
    """What the register keeps of an auth code: its SHA-256, hex."""
    # surrogatepass: a code decoded leniently off the wire hashes (and fails to match) instead of raising.
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def auth_code_matches(stored_sha256: str | None, code: str) -> bool:
    """0x0102 终端鉴权: does ``code`` hash to the stored digest? Constant-time; False when none."""
    if stored_sha256 is None or not code:
        return False
    return hmac.compare_digest(auth_code_sha256(code), stored_sha256)
