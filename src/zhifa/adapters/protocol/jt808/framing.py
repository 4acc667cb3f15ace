"""JT/T 808 framing: flags, escaping, checksum, the message header, stream splitting and subpackages.

References are to JT/T 808-2019 §4 (协议基础: 标识位, 消息头 表2, 消息包封装项 表3, 校验码) unless marked
-2013; the 2011 and 2013 headers are the same.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

FLAG = 0x7E
MAX_BODY = 0x3FF  # 表2 消息体属性: the body length is 10 bits
MAX_FRAME = 17 + 4 + MAX_BODY + 1  # unescaped: 2019 header, packet items, body, checksum

# 表2 消息体属性 bits
_LENGTH_MASK = 0x03FF
_ENCRYPTION_SHIFT = 10
_ENCRYPTION_MASK = 0x1C00
_SUBPACKAGE = 0x2000
_VERSION_FLAG = 0x4000  # 2019 only; a 2013 terminal leaves it 0 (-2013 calls bits 14-15 保留)

_HEADER = struct.Struct(">HH")
# 表2: msg id WORD, properties WORD, phone BCD[6], serial WORD; 2019 puts a protocol version BYTE before
# a BCD[10] phone.
_HEADER_2013 = struct.Struct(">HH6sH")
_HEADER_2019 = struct.Struct(">HHB10sH")
_WORD = struct.Struct(">H")
_PACKET = struct.Struct(">HH")

REASONS = frozenset(
    {"framing", "escape", "checksum", "length", "header", "encrypted", "unsupported", "body", "too_large"}
)


class FrameError(ValueError):
    """A frame or body the codec refuses; ``reason`` says which check failed (one of ``REASONS``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Header:
    """The message header (消息头, 表2). ``version`` is 2013 for every un-flagged header; 2011 is only
    told apart by the 0x0100 register body (see ``messages.decode_frame``)."""

    msg_id: int
    phone: str
    serial: int
    version: int
    protocol_version: int | None = None
    encryption: int = 0
    packet: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """One parsed frame: its header and the unescaped body (one part of it when subpackaged)."""

    header: Header
    body: bytes


def slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot descriptors' setters of a slotted dataclass, in field order (see ``_new_header``)."""
    return tuple(getattr(cls, f.name).__set__ for f in fields(cls))


_new = object.__new__
_HEADER_SET = slot_setters(Header)
_FRAME_SET = slot_setters(Frame)


def _new_header(
    msg_id: int,
    phone: str,
    serial: int,
    version: int,
    protocol_version: int | None,
    packet: tuple[int, int] | None,
) -> Header:
    # A frozen dataclass's __init__ goes through object.__setattr__ per field; writing the slots
    # directly halves the cost, and parse_frame makes a Header and a Frame for every frame received.
    # tests/unit/adapters/test_jt808_codec.py checks these equal what the constructors build.
    h = _new(Header)
    s_id, s_phone, s_serial, s_version, s_pver, s_enc, s_packet = _HEADER_SET
    s_id(h, msg_id)
    s_phone(h, phone)
    s_serial(h, serial)
    s_version(h, version)
    s_pver(h, protocol_version)
    s_enc(h, 0)
    s_packet(h, packet)
    return h


def _new_frame(header: Header, body: bytes) -> Frame:
    f = _new(Frame)
    _FRAME_SET[0](f, header)
    _FRAME_SET[1](f, body)
    return f


def escape(data: bytes) -> bytes:
    """Escape per the 标识位 rule (§4, same in -2013): 0x7d -> 7d 01, 0x7e -> 7d 02."""
    # 0x7d must go first, or the 7d of each 7d 02 just written would be escaped again.
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Undo ``escape``; a 0x7d followed by anything but 01/02, or at the end, is FrameError("escape")."""
    if b"\x7d" not in data:
        return data
    # In valid input every 7d starts a pair; the pairs cannot overlap, so counting them proves it.
    if data.count(b"\x7d") != data.count(b"\x7d\x01") + data.count(b"\x7d\x02"):
        at = _bad_escape_at(data)
        raise FrameError("escape", f"0x7d at offset {at} is not followed by 0x01 or 0x02")
    return data.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")


def _bad_escape_at(data: bytes) -> int:
    i = data.find(b"\x7d")
    while i >= 0:
        if data[i + 1 : i + 2] not in (b"\x01", b"\x02"):
            return i
        i = data.find(b"\x7d", i + 2)
    return -1  # pragma: no cover - only called when a bad pair exists


# Masks for folding an int by a power-of-two number of bytes (frames are at most a few KiB).
_FOLD_MASKS = {1 << k: (1 << (8 << k)) - 1 for k in range(7, 16)}


def checksum(data: bytes) -> int:
    """The 校验码 (§4): XOR of every byte from the header to the end of the body."""
    # The bytes as one int, XOR-folded onto themselves: ~log2(n) big-int operations in C instead of a
    # Python step per byte. Above 128 bytes, halves are cut off so the int shrinks as it folds; below,
    # shifting in place is cheaper, since only the low byte's value matters.
    x = int.from_bytes(data, "little")
    n = len(data)
    if n > 128:
        half = 1 << ((n - 1).bit_length() - 1)
        masks = _FOLD_MASKS
        while half > 64:
            mask = masks.get(half) or (1 << (half << 3)) - 1
            x = (x >> (half << 3)) ^ (x & mask)
            half >>= 1
    x ^= x >> 512
    x ^= x >> 256
    x ^= x >> 128
    x ^= x >> 64
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    return x & 0xFF


def parse_frame(wire: bytes) -> Frame:
    """Parse one escaped wire frame, with or without its two 0x7e flags.

    Checks, in this order: flags, escaping, checksum, header size, body length against the
    properties, encryption. Reports version 2019 when properties bit 14 is set, else 2013.
    """
    if type(wire) is not bytes:
        wire = bytes(wire)
    if not wire:
        raise FrameError("length", "empty frame")
    if wire[0] == FLAG:
        if len(wire) < 2 or wire[-1] != FLAG:
            raise FrameError("framing", "frame starts with 0x7e but does not end with it")
        data = wire[1:-1]
    elif wire[-1] == FLAG:
        raise FrameError("framing", "frame ends with 0x7e but does not start with it")
    else:
        data = wire
    inner_flag = data.find(b"\x7e")
    if inner_flag >= 0:
        raise FrameError("framing", f"0x7e flag inside the frame at offset {inner_flag + 1}")
    if b"\x7d" in data:
        data = unescape(data)
    n = len(data)
    if n < 13:  # the shortest frame: 12-byte -2013 header + checksum
        raise FrameError("length", f"{n} bytes is shorter than the smallest header and checksum (13)")
    if n > MAX_FRAME:
        raise FrameError("length", f"{n} bytes is longer than any valid frame ({MAX_FRAME})")
    if checksum(data):  # the XOR of everything including the checksum byte is 0 when it matches
        computed = checksum(data[:-1])
        raise FrameError("checksum", f"computed 0x{computed:02x}, frame says 0x{data[-1]:02x}")
    msg_id, props, bcd, serial = _HEADER_2013.unpack_from(data)
    protocol_version: int | None = None
    version = 2013
    offset = 12
    if props & _VERSION_FLAG:
        if n < 18:
            raise FrameError("length", f"{n} bytes is too short for a 2019 header and checksum (18)")
        msg_id, props, protocol_version, bcd, serial = _HEADER_2019.unpack_from(data)
        version = 2019
        offset = 17
    # The phone is kept as the hex of its BCD bytes, i.e. the digits as sent (not validated: see [L61]).
    phone = bcd.hex()
    packet: tuple[int, int] | None = None
    if props & _SUBPACKAGE:
        # 表3 消息包封装项: total WORD, index WORD (from 1) follow the serial
        if n < offset + 5:
            raise FrameError("length", f"{n} bytes is too short for a subpackaged header and checksum")
        total, index = _PACKET.unpack_from(data, offset)
        if index == 0 or index > total:
            raise FrameError("header", f"packet index {index} of {total} (indices run from 1 to the total)")
        packet = (total, index)
        offset += 4
    body = data[offset:-1]
    declared = props & _LENGTH_MASK
    if len(body) != declared:
        raise FrameError("length", f"properties say a {declared}-byte body, frame holds {len(body)} bytes")
    encryption = (props & _ENCRYPTION_MASK) >> _ENCRYPTION_SHIFT
    if encryption:
        # 表2: bit 10 = RSA, bits 11-12 reserved; we hold no keys, so an encrypted body is unreadable.
        raise FrameError("encrypted", f"body encryption bits are 0b{encryption:03b} (bit 10 is RSA)")
    return _new_frame(_new_header(msg_id, phone, serial, version, protocol_version, packet), body)


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _phone_bcd(phone: str, digits: int) -> bytes:
    if len(phone) > digits:
        raise ValueError(f"phone {phone!r} has more than {digits} digits")
    # BCD wants 0-9, but real terminals send hex nibbles as ids (capture [L61]: 4eb6fb4afd9e) and a
    # reply must echo the id as received, so hex nibbles pass; anything else is refused.
    if not set(phone) <= _HEX_DIGITS:
        raise ValueError(f"phone {phone!r} must be BCD digits")
    return bytes.fromhex(phone.rjust(digits, "0"))


def build_frame(
    msg_id: int,
    phone: str,
    serial: int,
    body: bytes = b"",
    *,
    version: int = 2013,
    protocol_version: int = 1,
    packet: tuple[int, int] | None = None,
) -> bytes:
    """One wire frame: flags, header, body, checksum, escaped. Version 2019 sets properties bit 14 and
    writes the protocol version byte and a BCD[10] phone; 2011 and 2013 write the same header."""
    if version not in (2011, 2013, 2019):
        raise ValueError(f"version must be 2011, 2013 or 2019, not {version}")
    if not 0 <= msg_id <= 0xFFFF:
        raise ValueError(f"msg_id {msg_id} is not a WORD")
    if not 0 <= serial <= 0xFFFF:
        raise ValueError(f"serial {serial} is not a WORD")
    if len(body) > MAX_BODY:
        raise ValueError(f"body of {len(body)} bytes exceeds {MAX_BODY}; split it with build_frames")
    props = len(body)
    if version == 2019:
        if not 0 <= protocol_version <= 0xFF:
            raise ValueError(f"protocol_version {protocol_version} is not a BYTE")
        props |= _VERSION_FLAG
        ident = bytes((protocol_version,)) + _phone_bcd(phone, 20)
    else:
        ident = _phone_bcd(phone, 12)
    tail = b""
    if packet is not None:
        total, index = packet
        if not 1 <= index <= total <= 0xFFFF:
            raise ValueError(f"packet {packet} must be (total, index) with 1 <= index <= total <= 65535")
        props |= _SUBPACKAGE
        tail = _PACKET.pack(total, index)
    data = _HEADER.pack(msg_id, props) + ident + _WORD.pack(serial) + tail + body
    return b"\x7e" + escape(data + bytes((checksum(data),))) + b"\x7e"


def build_frames(
    msg_id: int,
    phone: str,
    first_serial: int,
    body: bytes,
    *,
    version: int = 2013,
    protocol_version: int = 1,
    max_body: int = MAX_BODY,
) -> list[bytes]:
    """Wire frames for a body of any size: one frame when it fits ``max_body``, else subpackages (表3
    消息包封装项) of ``max_body`` bytes each with consecutive serials starting at ``first_serial``."""
    if not 1 <= max_body <= MAX_BODY:
        raise ValueError(f"max_body must be 1..{MAX_BODY}, not {max_body}")
    if len(body) <= max_body:
        return [
            build_frame(msg_id, phone, first_serial, body, version=version, protocol_version=protocol_version)
        ]
    parts = [body[i : i + max_body] for i in range(0, len(body), max_body)]
    total = len(parts)
    if total > 0xFFFF:
        raise ValueError(f"body needs {total} packets; the total is a WORD")
    return [
        build_frame(
            msg_id,
            phone,
            (first_serial + i) & 0xFFFF,
            part,
            version=version,
            protocol_version=protocol_version,
            packet=(total, i + 1),
        )
        for i, part in enumerate(parts)
    ]


class Deframer:
    """Splits a TCP byte stream into wire frames."""

    _HUNT, _IN_FRAME, _DISCARD = 0, 1, 2

    def __init__(self, max_frame: int = 4096) -> None:
        self.max_frame = max_frame
        self._buf = b""
        self._state = self._HUNT
        self._garbage_reported = False

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        """Each complete frame's escaped bytes, without flags, in stream order, interleaved with the
        errors met: garbage before the first flag (``framing``, once per run) and frames longer than
        ``max_frame`` (``too_large``, discarded up to the next flag). Empty frames (7e 7e) yield nothing;
        a closing flag may also open the next frame."""
        out: list[bytes | FrameError] = []
        if not data:
            return out
        buf = self._buf + bytes(data) if self._buf else bytes(data)
        parts = buf.split(b"\x7e")
        first = parts[0]
        if len(parts) == 1:
            self._no_flag(first, out)
            return out
        if self._state == self._HUNT:
            if first and not self._garbage_reported:
                out.append(FrameError("framing", f"{len(first)} bytes before the first 0x7e flag skipped"))
        elif self._state == self._IN_FRAME and first:
            self._emit(first, out)
        limit = self.max_frame
        for part in parts[1:-1]:
            if part:
                if len(part) > limit:
                    out.append(self._too_large(len(part)))
                else:
                    out.append(part)
        tail = parts[-1]
        self._garbage_reported = False
        if len(tail) > limit:
            out.append(self._too_large(len(tail)))
            self._state, self._buf = self._DISCARD, b""
        else:
            self._state, self._buf = self._IN_FRAME, tail
        return out

    def _no_flag(self, chunk: bytes, out: list[bytes | FrameError]) -> None:
        if self._state == self._HUNT:
            if not self._garbage_reported:
                out.append(FrameError("framing", f"{len(chunk)} bytes before the first 0x7e flag skipped"))
                self._garbage_reported = True
            self._buf = b""
        elif self._state == self._IN_FRAME:
            if len(chunk) > self.max_frame:
                out.append(self._too_large(len(chunk)))
                self._state, self._buf = self._DISCARD, b""
            else:
                self._buf = chunk
        else:
            self._buf = b""

    def _emit(self, frame: bytes, out: list[bytes | FrameError]) -> None:
        out.append(self._too_large(len(frame)) if len(frame) > self.max_frame else frame)

    def _too_large(self, size: int) -> FrameError:
        return FrameError("too_large", f"frame of {size}+ escaped bytes exceeds {self.max_frame}; discarded")

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held until its closing flag arrives."""
        return len(self._buf)


@dataclass(slots=True)
class _Pending:
    started: float
    total: int
    parts: dict[int, Frame]


class Reassembler:
    """Reassembles subpackaged messages (properties bit 13, 表3 消息包封装项), JT/T 808-2019 §4.4.3."""

    def __init__(self, timeout_s: float = 30.0, max_pending: int = 64) -> None:
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self._pending: dict[tuple[str, int, int], _Pending] = {}

    @property
    def pending(self) -> int:
        """Number of incomplete messages held."""
        return len(self._pending)

    def add(self, frame: Frame, now: float) -> Frame | None:
        """A whole message when ``frame`` completes one (or is not a part), else None.

        Parts are keyed by (phone, msg_id, serial of part 1): the standard numbers a message's packets
        with consecutive serials, so serial - index + 1 names the message. Duplicate parts are ignored.
        When ``max_pending`` messages are open, the oldest is dropped to make room.
        """
        h = frame.header
        if h.packet is None:
            return frame
        total, index = h.packet
        if index == 0 or index > total:
            raise FrameError("header", f"packet index {index} of {total} (indices run from 1 to the total)")
        key = (h.phone, h.msg_id, (h.serial - index + 1) & 0xFFFF)
        entry = self._pending.get(key)
        if entry is None:
            if total == 1:
                return Frame(replace(h, packet=None), frame.body)
            if len(self._pending) >= self.max_pending:
                oldest = min(self._pending, key=lambda k: self._pending[k].started)
                del self._pending[oldest]
            entry = self._pending[key] = _Pending(now, total, {})
        elif entry.total != total:
            raise FrameError(
                "header", f"packet says {total} parts, earlier parts of the message said {entry.total}"
            )
        entry.parts.setdefault(index, frame)
        if len(entry.parts) < total:
            return None
        del self._pending[key]
        parts = entry.parts
        first = parts[1].header
        body = b"".join(parts[i].body for i in range(1, total + 1))
        return Frame(replace(first, packet=None, serial=key[2]), body)

    def expire(self, now: float) -> list[tuple[str, int, int]]:
        """Drop messages whose first part arrived more than ``timeout_s`` ago; return their keys."""
        stale = [k for k, p in self._pending.items() if now - p.started > self.timeout_s]
        for k in stale:
            del self._pending[k]
        return stale
