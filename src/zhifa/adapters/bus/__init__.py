"""The reading bus (services.ports.Bus): a durable, partitioned log with consumer groups.

Two adapters pass the same contract suite (tests/integration/test_bus.py):

- ``zhifa.adapters.bus.local.LocalBus`` — the embedded default: one SQLite file, shared by the
  processes of one host (an API process publishes, a worker consumes);
- ``zhifa.adapters.bus.nats.NatsBus`` — production: NATS JetStream, one stream per kind.

This module holds only what both share: the checks of names and partitions, so that both refuse
the same mistakes with the same ValueError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from zhifa.services.ports import Outgoing

_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_GROUP = re.compile(r"[a-z][a-z0-9_-]{0,63}")
MAX_PARTITIONS = 1024


def check_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise ValueError(f"bad bus kind {kind!r}: expected [a-z][a-z0-9_]{{0,31}}, e.g. 'position'")
    return kind


def check_group(group: str) -> str:
    if not isinstance(group, str) or not _GROUP.fullmatch(group):
        raise ValueError(f"bad consumer group {group!r}: expected [a-z][a-z0-9_-]{{0,63}}")
    return group


def check_partition_count(partitions: int) -> int:
    if (
        isinstance(partitions, bool)
        or not isinstance(partitions, int)
        or not 1 <= partitions <= MAX_PARTITIONS
    ):
        raise ValueError(f"bad partition count {partitions!r}: expected 1..{MAX_PARTITIONS}")
    return partitions


def check_partition(partition: int, partitions: int) -> int:
    if isinstance(partition, bool) or not isinstance(partition, int) or not 0 <= partition < partitions:
        raise ValueError(f"bad partition {partition!r}: this bus has partitions 0..{partitions - 1}")
    return partition


def check_partitions(selected: Iterable[int] | None, partitions: int) -> list[int]:
    """The sorted, distinct partitions of a subscription; all of them when ``selected`` is None."""
    if selected is None:
        return list(range(partitions))
    chosen = sorted({check_partition(p, partitions) for p in selected})
    if not chosen:
        raise ValueError("a subscription needs at least one partition")
    return chosen


def check_outgoing(messages: list[Outgoing], partitions: int) -> None:
    for message in messages:
        check_partition(message.partition, partitions)
        if not isinstance(message.payload, bytes | bytearray | memoryview):
            raise ValueError(f"bus payloads are bytes, not {type(message.payload).__name__}")
