"""0x8001 平台通用应答 for one terminal, built from a header made once per connection.

The gateway answers every frame it stores. Between two answers to one terminal only the serial
and the 5-byte body change, so the header (message id, properties, protocol version, BCD phone)
is escaped and XOR-summed once; an answer then costs a pack, a few XORs and the escaping of eight
bytes. tests/unit/adapters/test_jt808_columnar.py proves every answer equals what ``build_frame``
makes of ``encode_body(PlatformResponse(...))``.
"""

from __future__ import annotations

import struct

from zhifa.adapters.protocol.jt808.framing import build_frame, checksum, escape, unescape
from zhifa.adapters.protocol.jt808.messages import MSG_PLATFORM_RESPONSE

_TAIL = struct.Struct(">HHHB")  # serial; 表5 body: ack serial WORD, ack id WORD, result BYTE
_BODY_SIZE = 5


class AckEncoder:
    """Wire frames of 0x8001 to the terminal ``phone`` speaking ``version``."""

    __slots__ = ("_head", "_head_xor")

    def __init__(self, phone: str, version: int, pver: int = 1) -> None:
        """``pver``: the 2019 header's protocol version byte (the standard's 1)."""
        # The reference builder lays out the header (and checks the phone and the version).
        sample = build_frame(
            MSG_PLATFORM_RESPONSE,
            phone,
            0,
            bytes(_BODY_SIZE),
            version=version,
            protocol_version=pver,
        )
        # Serial and body are the last 7 bytes before the checksum; what precedes them is this terminal's.
        head = unescape(sample[1:-1])[: -(_TAIL.size + 1)]
        self._head = b"\x7e" + escape(head)
        self._head_xor = checksum(head)

    def frame(self, serial: int, ack_serial: int, ack_id: int, result: int) -> bytes:
        tail = _TAIL.pack(serial, ack_serial, ack_id, result)
        x = self._head_xor ^ serial ^ (serial >> 8) ^ ack_serial ^ (ack_serial >> 8) ^ ack_id ^ (ack_id >> 8)
        return self._head + escape(tail + bytes((((x ^ result) & 0xFF),))) + b"\x7e"
