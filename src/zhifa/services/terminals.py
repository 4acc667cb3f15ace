"""Use cases of the terminal register (车载终端档案) that the JT/T 808 gateway authenticates against.

Operators enrol (入网登记) a terminal's SIM phone to a vehicle of the vehicle register; the
terminal registers itself over the wire (0x0100 → 0x8100 with an auth code) and authenticates
with that code on every connection (0x0102). The gateway calls ``register_terminal`` and
``authenticate_terminal`` from its worker threads: each call is one unit of work of its own.

Every change is audited, a refused registration too (an operator wants to see a SIM knocking with
the wrong device or vehicle); the auth code itself is never stored nor audited, only its SHA-256.
Authentication reads only and writes no audit entry: it happens on every connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from zhifa.domain.audit import SYSTEM, Actor
from zhifa.domain.errors import DomainError
from zhifa.domain.terminals import (
    MAX_MAKER_LENGTH,
    MAX_MODEL_LENGTH,
    InvalidTerminal,
    Terminal,
    auth_code_matches,
    auth_code_sha256,
    clean_text,
    normalise_device_id,
    normalise_phone,
    registration_result,
)
from zhifa.domain.terminals import RegisterResult as RegisterResult  # the gateway answers with it
from zhifa.domain.vehicles import PlateColour, VehicleKey, normalise_plate
from zhifa.services.audit import note
from zhifa.services.ports import Clock, DuplicateKey, Secrets, UnitOfWork, UnitOfWorkFactory

# An auth code (鉴权码) is a STRING on the wire (JT/T 808-2019 0x8100; 0x0102 prefixes it with a
# one-byte length). 20 URL-safe characters carry 120 random bits and fit every terminal's memory.
AUTH_CODE_LENGTH = 20
# Wire text kept in audit details is cut to this, so a garbled field cannot bloat the log.
_AUDIT_TEXT = 64


class TerminalError(DomainError):
    """A rule of the terminal register refused the request (422)."""


class TerminalNotFound(LookupError):
    """No terminal is enrolled under that phone, or none the principal may see (404)."""


class VehicleTaken(DuplicateKey):
    """The vehicle is already bound to another terminal: one terminal per vehicle (409)."""


def auth_code_generator(secrets: Secrets) -> Callable[[], str]:
    """``new_code`` for ``register_terminal``: 20 URL-safe ASCII characters from the Secrets port."""

    def new_code() -> str:
        return secrets.token()[:AUTH_CODE_LENGTH]

    return new_code


def _find(uow: UnitOfWork, phone: str) -> Terminal:
    terminal = uow.terminals.get(phone)
    if terminal is None:
        raise TerminalNotFound(f"终端不存在：{phone}")
    return terminal


def enrol_terminal(
    uow_factory: UnitOfWorkFactory,
    phone: str,
    vehicle: VehicleKey,
    *,
    clock: Clock,
    actor: Actor = SYSTEM,
    device_id: str | None = None,
    maker: str | None = None,
    model: str | None = None,
) -> Terminal:
    """Bind ``phone``'s terminal to ``vehicle`` (入网登记), or update its binding.

    The vehicle must be in the vehicle register and not bound to another phone (VehicleTaken).
    Enrolling a known phone to another vehicle moves it there and clears its auth code: the
    device must register again, for the new vehicle. Enrolling it again to the same vehicle
    updates the device fields given (those not given are kept); a different device ID also
    clears the code, since the device that holds it is no longer the one enrolled.
    """
    phone = normalise_phone(phone)
    device = normalise_device_id(device_id)
    maker = clean_text(maker, MAX_MAKER_LENGTH)
    model = clean_text(model, MAX_MODEL_LENGTH)
    now = clock.now()
    with uow_factory() as uow:
        registered = uow.vehicles.get_by_key(vehicle)
        if registered is None:
            raise TerminalError(f"车辆 {vehicle} 不在车辆档案中，请先登记车辆 (vehicle not registered)")
        holder = uow.terminals.get_by_vehicle(registered.id)
        if holder is not None and holder.phone != phone:
            raise VehicleTaken(f"车辆 {vehicle} 已绑定终端 {holder.phone} (one terminal per vehicle)")
        before = uow.terminals.get(phone)
        if before is None:
            after = Terminal(
                phone=phone,
                vehicle_id=registered.id,
                vehicle=registered.key,
                device_id=device,
                maker=maker,
                model=model,
                auth_code_sha256=None,
                registered_at=None,
                enrolled_at=now,
            )
            uow.terminals.add(after)
        else:
            after = replace(
                before,
                device_id=device or before.device_id,
                maker=maker or before.maker,
                model=model or before.model,
            )
            moved = before.vehicle_id != registered.id
            if moved:
                after = replace(after, vehicle_id=registered.id, vehicle=registered.key, enrolled_at=now)
            if moved or (device is not None and device != before.device_id):
                after = replace(after, auth_code_sha256=None, registered_at=None)
            uow.terminals.save(after)
        note(
            uow,
            now,
            actor,
            "terminal.enrol",
            "terminal",
            phone,
            before=before,
            after=after,
            plate=registered.key.plate,
            plate_colour=int(registered.key.colour),
            moved_from=str(before.vehicle) if before and before.vehicle_id != registered.id else None,
        )
        uow.commit()
    return after


@dataclass(frozen=True)
class Registration:
    """The body of a 0x0100 终端注册 as the gateway decoded it (JT/T 808-2019 8.5)."""

    province: int  # 省域ID: the first two digits of the GB/T 2260 code
    city: int  # 市县域ID: the last four
    maker: str  # 制造商ID
    model: str  # 终端型号
    device_id: str  # 终端ID
    plate_colour: int  # 车牌颜色, JT/T 697.7; 0: no plate, ``plate`` is then the VIN
    plate: str  # 车辆标识


@dataclass(frozen=True)
class RegisterOutcome:
    """What the gateway answers in 0x8100: the result and, on SUCCESS only, the new code.

    ``terminal`` is the register's entry after the decision (None when the phone is not enrolled).
    """

    result: RegisterResult
    auth_code: str | None
    terminal: Terminal | None


def _holder_of_plate(uow: UnitOfWork, plate: str, plate_colour: int) -> str | None:
    """The phone of the terminal bound to the vehicle the device named, if that is a vehicle."""
    try:
        key = VehicleKey(normalise_plate(plate.strip("\x00")), PlateColour(plate_colour))
    except ValueError:  # no JT/T 697.7 colour: not a vehicle of the register
        return None
    vehicle = uow.vehicles.get_by_key(key)
    if vehicle is None:
        return None
    holder = uow.terminals.get_by_vehicle(vehicle.id)
    return holder.phone if holder else None


def _lenient(clean: Callable[[], str | None]) -> str | None:
    # The wire bounds these fields; a value that still does not fit is not worth refusing a
    # terminal over: it is simply not recorded.
    try:
        return clean()
    except InvalidTerminal:
        return None


def _audit_text(text: str) -> str:
    # Off the wire: no control characters (PostgreSQL's JSONB refuses NUL), bounded length.
    return "".join(ch for ch in text if ch.isprintable())[:_AUDIT_TEXT]


def register_terminal(
    uow_factory: UnitOfWorkFactory,
    phone: str,
    registration: Registration,
    *,
    clock: Clock,
    new_code: Callable[[], str],
    actor: Actor = SYSTEM,
) -> RegisterOutcome:
    """Decide a 0x0100 终端注册 from the SIM ``phone`` (as the header carried it) and record it.

    On SUCCESS the terminal gets a fresh code from ``new_code()`` (any earlier one stops working),
    the device ID, maker and model it reports where the register had none, and the time. A
    refusal is returned, not raised: the gateway answers it on the wire. Both are audited
    (``terminal.register`` with the result), never with the code.
    """
    try:
        key: str | None = normalise_phone(phone)
    except InvalidTerminal:
        key = None
    now = clock.now()
    with uow_factory() as uow:
        before = uow.terminals.get(key) if key else None
        result = registration_result(
            before,
            plate=registration.plate,
            plate_colour=registration.plate_colour,
            device_id=registration.device_id,
            holder_of_plate=_holder_of_plate(uow, registration.plate, registration.plate_colour),
        )
        code: str | None = None
        after = before
        if result is RegisterResult.SUCCESS and before is not None:
            code = new_code()
            if not code or not code.isascii() or not code.isprintable():
                raise ValueError("an auth code must be printable ASCII")
            after = before.registered_with(
                device_id=_lenient(lambda: normalise_device_id(registration.device_id)),
                maker=_lenient(lambda: clean_text(registration.maker, MAX_MAKER_LENGTH)),
                model=_lenient(lambda: clean_text(registration.model, MAX_MODEL_LENGTH)),
                code_sha256=auth_code_sha256(code),
                at=now,
            )
            uow.terminals.save(after)
        note(
            uow,
            now,
            actor,
            "terminal.register",
            "terminal",
            key or _audit_text(phone),
            before=before,
            after=after,
            result=int(result),
            result_label=result.label,
            device_id=_audit_text(registration.device_id),
            plate=_audit_text(registration.plate),
            plate_colour=registration.plate_colour,
            province=registration.province,
            city=registration.city,
        )
        uow.commit()
    return RegisterOutcome(result, code, after)


@dataclass(frozen=True)
class BoundTerminal:
    """An authenticated terminal and the vehicle its readings belong to."""

    phone: str
    vehicle: VehicleKey


def authenticate_terminal(uow_factory: UnitOfWorkFactory, phone: str, auth_code: str) -> BoundTerminal | None:
    """0x0102 终端鉴权: the terminal and its vehicle when ``auth_code`` is the one last issued to
    ``phone``; None for an unknown, disabled or unregistered terminal or a wrong code.

    Reads only and audits nothing: every connection authenticates.
    """
    try:
        key = normalise_phone(phone)
    except InvalidTerminal:
        return None
    with uow_factory() as uow:
        terminal = uow.terminals.get(key)
    if terminal is None or not terminal.enabled:
        return None
    if not auth_code_matches(terminal.auth_code_sha256, auth_code):
        return None
    return BoundTerminal(terminal.phone, terminal.vehicle)


def _set_enabled(
    uow_factory: UnitOfWorkFactory, phone: str, enabled: bool, *, clock: Clock, actor: Actor
) -> Terminal:
    key = normalise_phone(phone)
    with uow_factory() as uow:
        before = _find(uow, key)
        after = replace(before, enabled=enabled)
        uow.terminals.save(after)
        action = "terminal.enable" if enabled else "terminal.disable"
        note(uow, clock.now(), actor, action, "terminal", key, before=before, after=after)
        uow.commit()
    return after


def disable_terminal(
    uow_factory: UnitOfWorkFactory, phone: str, *, clock: Clock, actor: Actor = SYSTEM
) -> Terminal:
    """Block a terminal (a stolen SIM, a removed device): it can neither register nor authenticate.

    Its auth code is kept, so enabling it again restores service without a visit to the vehicle;
    when the device itself is compromised, enrol the replacement's device ID (which clears the code).
    """
    return _set_enabled(uow_factory, phone, False, clock=clock, actor=actor)


def enable_terminal(
    uow_factory: UnitOfWorkFactory, phone: str, *, clock: Clock, actor: Actor = SYSTEM
) -> Terminal:
    """Lift a block: the terminal authenticates again with the code it holds."""
    return _set_enabled(uow_factory, phone, True, clock=clock, actor=actor)
