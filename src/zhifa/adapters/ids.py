"""Time-ordered unique ids (UUID version 7, RFC 9562), so lists sort by creation for free."""

from __future__ import annotations

import os
import uuid

from zhifa.services.ports import Clock


class Uuid7Ids:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def new_id(self) -> str:
        millis = int(self._clock.now().timestamp() * 1000) & ((1 << 48) - 1)
        rand = int.from_bytes(os.urandom(10), "big")
        rand_a = rand >> 62 & 0xFFF  # 12 bits
        rand_b = rand & ((1 << 62) - 1)  # 62 bits
        value = millis << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
        return str(uuid.UUID(int=value))
