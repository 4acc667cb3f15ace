"""Use cases: sensors and operators hand readings to the data plane.

Every record is validated on its own; the valid ones are published to the bus and the call
returns only once the bus has durably accepted them, so an acknowledged reading is never lost.
The invalid ones come back with every reason, by their place in the batch (or row in the file),
and nothing is dropped silently. From the bus, the lake writer (services/lake.py) stores them.

Re-sending a batch is always safe: the lake keeps one row per record id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhifa.domain.audit import SYSTEM, Actor
from zhifa.domain.readings import Position, ReadingKind, RejectedRecord, parse_reading, sent_record_id
from zhifa.domain.weighings import InvalidRecord
from zhifa.services.audit import note
from zhifa.services.policy import Policy
from zhifa.services.ports import Batch, Bus, Clock, ColumnarReadings, UnitOfWorkFactory

# Positions and passages in one JSON request: a gateway or a gantry controller batches them up.
# Weighings keep policy.max_batch_records (they are assessed in the request).
MAX_JSON_RECORDS = 10_000
IMPORT_BATCH_ROWS = 50_000


class BatchTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class IngestReport:
    kind: ReadingKind
    received: int
    accepted: int
    rejected: tuple[RejectedRecord, ...] = ()
    defective: int = 0  # accepted positions that are not valid positions (RULES.md §2)

    def __add__(self, other: IngestReport) -> IngestReport:
        return IngestReport(
            self.kind,
            self.received + other.received,
            self.accepted + other.accepted,
            self.rejected + other.rejected,
            self.defective + other.defective,
        )


@dataclass
class Feed:
    """The bus and the columnar form of readings: what every ingest path publishes through."""

    bus: Bus
    readings: ColumnarReadings

    def publish(self, kind: ReadingKind, batch: Batch) -> None:
        """Return once the bus holds every row of the batch; BusUnavailable otherwise."""
        if batch.num_rows:
            self.bus.publish(kind.value, self.readings.to_messages(kind, batch, self.bus.partitions))


@dataclass
class IngestDeps:
    feed: Feed
    clock: Clock
    uow: UnitOfWorkFactory
    policy: Policy = field(default_factory=Policy)


def ingest_records(deps: IngestDeps, kind: ReadingKind, records: Sequence[Any]) -> IngestReport:
    """A JSON batch of positions or passages, parsed record by record by the domain."""
    if kind is ReadingKind.WEIGHING:
        raise ValueError("weighings are ingested by services.weighings, which also assesses them")
    if len(records) > MAX_JSON_RECORDS:
        raise BatchTooLarge(f"a batch may carry at most {MAX_JSON_RECORDS} records, got {len(records)}")
    now = deps.clock.now()
    accepted: list[object] = []
    rejected: list[RejectedRecord] = []
    for index, raw in enumerate(records):
        try:
            accepted.append(
                parse_reading(
                    kind, raw, now, clock_skew=deps.policy.clock_skew, nev_marks=deps.policy.nev_marks
                )
            )
        except InvalidRecord as exc:
            rejected.append(RejectedRecord(index, sent_record_id(raw), exc.errors))
    deps.feed.publish(kind, deps.feed.readings.from_records(kind, accepted, now))
    defective = sum(1 for r in accepted if isinstance(r, Position) and not r.valid)
    return IngestReport(kind, len(records), len(accepted), tuple(rejected), defective)


def ingest_batch(deps: IngestDeps, kind: ReadingKind, raw: Batch, *, first_index: int = 0) -> IngestReport:
    """A columnar batch (a gateway's, or a file's), checked whole against the domain's rules."""
    now = deps.clock.now()
    batch, rejected = deps.feed.readings.check(
        kind,
        raw,
        now,
        received_at=now,
        clock_skew=deps.policy.clock_skew,
        nev_marks=deps.policy.nev_marks,
        first_index=first_index,
    )
    deps.feed.publish(kind, batch)
    return IngestReport(
        kind, raw.num_rows, batch.num_rows, tuple(rejected), deps.feed.readings.defective(batch)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(
    deps: IngestDeps,
    kind: ReadingKind,
    path: Path,
    *,
    actor: Actor = SYSTEM,
    rows_per_batch: int = IMPORT_BATCH_ROWS,
) -> IngestReport:
    """``zhifa import``: a CSV or Parquet file of positions or passages, batch by batch.

    Each batch is published before the next is read, so a failure part-way leaves a prefix of the
    file on the bus; importing the file again completes it without doubling a row (the lake keeps
    one row per record id). The import is audited with the file's SHA-256.
    """
    if kind is ReadingKind.WEIGHING:
        raise ValueError("weighings are imported through services.weighings, which also assesses them")
    report = IngestReport(kind, 0, 0)
    for raw in deps.feed.readings.read_file(kind, path, rows_per_batch):
        report = report + ingest_batch(deps, kind, raw, first_index=report.received)
    with deps.uow() as uow:
        note(
            uow,
            deps.clock.now(),
            actor,
            "readings.import",
            f"{kind.value}_file",
            path.name,
            before=None,
            after={"sha256": _sha256(path), "accepted": report.accepted},
            received=report.received,
            rejected=len(report.rejected),
        )
        uow.commit()
    return report
