"""A JSON form of JT/T 808 frames for people and scripts: ``zhifa jt808 decode`` prints it, ``encode``
reads it back. Integers rule: the flag and parameter names printed beside them are ignored on input."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any

from zhifa.adapters.protocol.jt808.framing import MAX_BODY, Header, build_frame, build_frames
from zhifa.adapters.protocol.jt808.location import ALARM_FLAGS, STATUS_FLAGS, Location, flag_names
from zhifa.adapters.protocol.jt808.messages import (
    MESSAGE_TYPES,
    PARAMETERS,
    VERSIONS,
    LocationBatch,
    LocationQueryResponse,
    SetParameters,
    TimeResponse,
    encode_body,
)


def location_to_json(loc: Location) -> dict[str, Any]:
    """A location as JSON: raw alarm/status ints plus their bit names, signed degrees, ISO time."""
    return {
        "alarm": loc.alarm,
        "status": loc.status,
        "alarm_flags": flag_names(loc.alarm, ALARM_FLAGS),
        "status_flags": flag_names(loc.status, STATUS_FLAGS),
        "lat": loc.lat,
        "lon": loc.lon,
        "altitude_m": loc.altitude_m,
        "speed_kmh": loc.speed_kmh,
        "heading_deg": loc.heading_deg,
        "time": loc.time.isoformat(),
        "extras": dict(loc.extras),
    }


def _value_to_json(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def message_to_json(message: object) -> object:
    """A message body as JSON: its dataclass fields, bytes as hex; a raw body (bytes) as a hex string."""
    if isinstance(message, bytes):
        return message.hex()
    if isinstance(message, Location):
        return location_to_json(message)
    if isinstance(message, LocationBatch):
        return {"type": message.type, "items": [location_to_json(item) for item in message.items]}
    if isinstance(message, LocationQueryResponse):
        return {"ack_serial": message.ack_serial, "location": location_to_json(message.location)}
    if isinstance(message, SetParameters):
        return {
            "items": [
                {
                    "id": pid,
                    "name": PARAMETERS[pid][0] if pid in PARAMETERS else None,
                    "value": _value_to_json(v),
                }
                for pid, v in message.items
            ]
        }
    if is_dataclass(message) and not isinstance(message, type):
        return {f.name: _value_to_json(getattr(message, f.name)) for f in fields(message)}
    raise TypeError(f"cannot render {type(message).__name__} as JSON")


def frame_to_json(header: Header, message: object) -> dict[str, Any]:
    """The CLI's JSON object: msg_id, version, phone, serial, [protocol_version], [packet], body."""
    out: dict[str, Any] = {
        "msg_id": header.msg_id,
        "version": header.version,
        "phone": header.phone,
        "serial": header.serial,
    }
    if header.version == 2019:
        out["protocol_version"] = header.protocol_version
    if header.packet is not None:
        out["packet"] = list(header.packet)
    out["body"] = message_to_json(message)
    return out


# --- input ---


def _int(obj: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = obj.get(key, default)
    if isinstance(value, str) and value.lower().startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}{key} must be an integer, not {value!r}")
    return value


def _num(obj: dict[str, Any], key: str, where: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}{key} must be a number, not {value!r}")
    return float(value)


def _str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{where}{key} must be a string, not {value!r}")
    return value


def _time(obj: dict[str, Any], key: str, where: str) -> datetime:
    text = _str(obj, key, where)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{where}{key} {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise ValueError(f"{where}{key} {text!r} needs a UTC offset, e.g. +08:00")
    return value


def _dict(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a JSON object, not {value!r}")
    return value


def location_from_json(obj: object, where: str = "body.") -> Location:
    """A ``Location`` from ``location_to_json``'s shape (the flag lists are ignored)."""
    d = _dict(obj, where.rstrip("."))
    extras = _dict(d.get("extras", {}), f"{where}extras")
    return Location(
        alarm=_int(d, "alarm", where),
        status=_int(d, "status", where),
        lat=_num(d, "lat", where),
        lon=_num(d, "lon", where),
        altitude_m=_int(d, "altitude_m", where),
        speed_kmh=_num(d, "speed_kmh", where),
        heading_deg=_int(d, "heading_deg", where),
        time=_time(d, "time", where),
        extras=dict(extras),
    )


def _parameter(item: object, i: int) -> tuple[int, int | str | bytes]:
    where = f"body.items[{i}]."
    if isinstance(item, list) and len(item) == 2:
        item = {"id": item[0], "value": item[1]}
    d = _dict(item, where.rstrip("."))
    pid = _int(d, "id", where)
    value = d.get("value")
    spec = PARAMETERS.get(pid)
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{where}value must be an integer or a string, not {value!r}")
    if isinstance(value, int):
        return pid, value
    if not isinstance(value, str):
        raise ValueError(f"{where}value must be an integer or a string, not {value!r}")
    if spec is not None and spec[1] == "STRING":
        return pid, value
    try:
        return pid, bytes.fromhex(value)  # unknown ids and odd-sized values travel as hex
    except ValueError:
        raise ValueError(f"{where}value of parameter 0x{pid:04X} must be hex, not {value!r}") from None


def _plain(cls: type, d: dict[str, Any]) -> object:
    args: dict[str, object] = {}
    for f in fields(cls):
        where = "body."
        if f.name not in d and f.type == "str | None":
            continue
        if f.type == "int":
            args[f.name] = _int(d, f.name, where)
        elif f.type == "str":
            args[f.name] = _str(d, f.name, where)
        elif f.type == "str | None":
            args[f.name] = None if d[f.name] is None else _str(d, f.name, where)
        else:  # pragma: no cover - every message class is handled above or has simple fields
            raise TypeError(f"{cls.__name__}.{f.name}: unhandled field type {f.type}")
    return cls(**args)


def message_from_json(msg_id: int, body: object) -> object:
    """The message dataclass for ``msg_id`` from its JSON body."""
    cls = MESSAGE_TYPES.get(msg_id)
    if cls is None:
        raise ValueError(f"message 0x{msg_id:04X} is not modelled; give its body as a hex string")
    d = _dict(body, "body")
    if cls is Location:
        return location_from_json(d)
    if cls is LocationBatch:
        items = d.get("items")
        if not isinstance(items, list):
            raise ValueError("body.items must be a list of locations")
        return LocationBatch(
            _int(d, "type", "body."),
            tuple(location_from_json(x, f"body.items[{i}].") for i, x in enumerate(items)),
        )
    if cls is LocationQueryResponse:
        return LocationQueryResponse(
            _int(d, "ack_serial", "body."), location_from_json(d.get("location"), "body.location.")
        )
    if cls is SetParameters:
        items = d.get("items")
        if not isinstance(items, list):
            raise ValueError("body.items must be a list of {id, value} objects")
        return SetParameters(tuple(_parameter(x, i) for i, x in enumerate(items)))
    if cls is TimeResponse:
        return TimeResponse(_time(d, "time", "body."))
    return _plain(cls, d)


def frame_from_json(obj: dict[str, Any]) -> list[bytes]:
    """Wire frames for a JSON object of ``frame_to_json``'s shape: msg_id, version (default 2013), phone,
    serial (default 0), body (an object, or a hex string for a raw body), optional protocol_version
    (default 1), optional max_body (split into subpackages above it), optional packet [total, index]
    (only with a hex body: one pre-split part). Bad input is a ValueError naming the field."""
    d = _dict(obj, "input")
    msg_id = _int(d, "msg_id", "")
    version = _int(d, "version", "", 2013)
    if version not in VERSIONS:
        raise ValueError(f"version must be 2011, 2013 or 2019, not {version}")
    phone = d.get("phone")
    if isinstance(phone, int) and not isinstance(phone, bool):
        phone = str(phone)
    if not isinstance(phone, str):
        raise ValueError(f"phone must be a string of digits, not {phone!r}")
    serial = _int(d, "serial", "", 0)
    protocol_version = _int(d, "protocol_version", "", 1)
    max_body = _int(d, "max_body", "", MAX_BODY)
    body = d.get("body", {})
    if isinstance(body, str):
        try:
            raw = bytes.fromhex(body)
        except ValueError:
            raise ValueError("body given as a string must be hex") from None
    else:
        _, raw = encode_body(message_from_json(msg_id, body), version)
    packet = d.get("packet")
    if packet is not None:
        if not isinstance(body, str):
            raise ValueError("packet goes with a hex body (one part); for a whole body use max_body")
        if not (isinstance(packet, list) and len(packet) == 2 and all(type(x) is int for x in packet)):
            raise ValueError(f"packet must be [total, index], not {packet!r}")
        return [
            build_frame(
                msg_id,
                phone,
                serial,
                raw,
                version=version,
                protocol_version=protocol_version,
                packet=(packet[0], packet[1]),
            )
        ]
    return build_frames(
        msg_id, phone, serial, raw, version=version, protocol_version=protocol_version, max_body=max_body
    )
