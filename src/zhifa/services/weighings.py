"""Use case: a weighing site sends a batch of weighings.

Each record is validated on its own; valid ones are stored and assessed at once, invalid ones are
returned with their reasons, and nothing is dropped silently. A record id seen before is a
duplicate when its content is the same (the batch was re-sent) and a conflict when it is not.

Assessment of a stored weighing follows the chain of ARCHITECTURE.md: over-limit after tolerance
→ an alert with its evidence → for an admissible device, an offsite case draft (待审核) for the
site's jurisdiction. The whole batch is one transaction: a storage failure stores nothing and the
sender retries, which the idempotency above makes safe. Accepted weighings are also published to
the bus (for the telemetry lake) before that transaction commits: the sender's acknowledgement
means both hold them (ADR 006).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from zhifa.domain.alerts import (
    AlertStatus,
    OverlimitFinding,
    SiteSnapshot,
    raise_overlimit_alert,
    vehicle_profile,
)
from zhifa.domain.audit import SYSTEM, Actor
from zhifa.domain.cases import CaseRecordEntry, Party, PartyKind, open_offsite_case
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.notices import facts_text
from zhifa.domain.overlimit import assessment_to_dict
from zhifa.domain.readings import ReadingKind
from zhifa.domain.sites import WeighingSite, admissibility
from zhifa.domain.vehicles import Vehicle
from zhifa.domain.weighings import (
    Disposition,
    FieldError,
    InvalidRecord,
    WeighingReading,
    parse_weighing,
)
from zhifa.services.audit import note
from zhifa.services.ingest import BatchTooLarge, Feed
from zhifa.services.policy import Policy
from zhifa.services.ports import Clock, IdGenerator, StoredWeighing, UnitOfWork, UnitOfWorkFactory

SYSTEM_ACTOR = "system"


class RecordStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class RecordResult:
    index: int
    record_id: str | None
    status: RecordStatus
    errors: tuple[FieldError, ...] = ()
    disposition: Disposition | None = None
    reason: str = ""
    alert_id: str | None = None
    case_id: str | None = None


@dataclass(frozen=True)
class BatchResult:
    results: tuple[RecordResult, ...]

    def count(self, status: RecordStatus) -> int:
        return sum(1 for r in self.results if r.status is status)


@dataclass
class WeighingDeps:
    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    policy: Policy = field(default_factory=Policy)
    feed: Feed | None = None  # the bus to the lake; None only in tests of assessment alone


def _record_id_of(raw: object) -> str | None:
    if isinstance(raw, dict):
        rid = raw.get("record_id")
        return rid if isinstance(rid, str) else None
    return None


def ingest_weighings(
    deps: WeighingDeps, records: list[Any], *, within: DivisionCode | None = None, actor: Actor = SYSTEM
) -> BatchResult:
    """Validate, store and assess a batch; one result per record, in order.

    ``within`` is the sender's jurisdiction: a record from a site outside it is refused, so one
    unit's client cannot write another's records.
    """
    if len(records) > deps.policy.max_batch_records:
        raise BatchTooLarge(
            f"a batch may carry at most {deps.policy.max_batch_records} records, got {len(records)}"
        )
    now = deps.clock.now()
    parsed: list[tuple[int, WeighingReading]] = []
    results: dict[int, RecordResult] = {}
    for index, raw in enumerate(records):
        try:
            reading = parse_weighing(
                raw, now, clock_skew=deps.policy.clock_skew, nev_marks=deps.policy.nev_marks
            )
        except InvalidRecord as exc:
            results[index] = RecordResult(index, _record_id_of(raw), RecordStatus.REJECTED, exc.errors)
            continue
        parsed.append((index, reading))

    with deps.uow() as uow:
        stored = uow.weighings.digests([r.record_id for _, r in parsed])
        sites: dict[str, WeighingSite | None] = {}
        for index, reading in parsed:
            digest = reading.content_digest()
            if reading.record_id in stored:
                if stored[reading.record_id] == digest:
                    results[index] = RecordResult(index, reading.record_id, RecordStatus.DUPLICATE)
                else:
                    results[index] = RecordResult(
                        index,
                        reading.record_id,
                        RecordStatus.REJECTED,
                        (FieldError("record_id", "already used by a record with different content"),),
                    )
                continue
            if reading.site_id not in sites:
                sites[reading.site_id] = uow.sites.get(reading.site_id)
            site = sites[reading.site_id]
            if site is None or (within is not None and not within.contains(site.jurisdiction)):
                # A site outside the sender's jurisdiction reads as unknown: its existence is not told.
                results[index] = RecordResult(
                    index,
                    reading.record_id,
                    RecordStatus.REJECTED,
                    (FieldError("site_id", f"unknown weighing site {reading.site_id!r}"),),
                )
                continue
            results[index] = _store_and_assess(deps, uow, index, reading, site, digest)
            stored[reading.record_id] = digest
        accepted = sorted(
            (r.record_id or "", stored[r.record_id or ""])
            for r in results.values()
            if r.status is RecordStatus.ACCEPTED
        )
        if accepted and deps.feed is not None:
            # On the bus before the commit: if the commit then fails the sender retries, and the
            # lake keeps one row per record id; the other order could store a weighing the lake
            # never sees.
            stored_now = [r for i, r in parsed if results[i].status is RecordStatus.ACCEPTED]
            batch = deps.feed.readings.from_records(ReadingKind.WEIGHING, stored_now, now)
            deps.feed.publish(ReadingKind.WEIGHING, batch)
        if accepted:
            # One entry per batch, not per record: the digest pins exactly which records it stored.
            note(
                uow,
                now,
                actor,
                "weighings.ingest",
                "weighing_batch",
                accepted[0][0],
                after=accepted,
                accepted=len(accepted),
                records=len(records),
            )
        uow.commit()
    return BatchResult(tuple(results[i] for i in range(len(records))))


def import_weighings_file(
    deps: WeighingDeps, path: Path, *, within: DivisionCode | None = None, actor: Actor = SYSTEM
) -> BatchResult:
    """``zhifa import weighing FILE``: a CSV or Parquet file, assessed in batches like the API's.

    List fields (axle_loads_kg, images) are JSON text in a CSV. Each batch commits on its own, so
    an interrupted import is completed by importing the file again (duplicates are recognised).
    """
    if deps.feed is None:
        raise ValueError("importing needs the bus: WeighingDeps.feed is not set")
    results: list[RecordResult] = []
    for table in deps.feed.readings.read_file(ReadingKind.WEIGHING, path, deps.policy.max_batch_records):
        batch = ingest_weighings(deps, list(deps.feed.readings.to_records(table)), within=within, actor=actor)
        offset = len(results)
        results.extend(replace(r, index=r.index + offset) for r in batch.results)
    return BatchResult(tuple(results))


def _party_of(uow: UnitOfWork, vehicle: Vehicle | None) -> Party:
    if vehicle is not None and vehicle.enterprise_id:
        enterprise = uow.enterprises.get(vehicle.enterprise_id)
        if enterprise is not None:
            return Party(PartyKind.ORGANISATION, enterprise.name, enterprise.id)
    if vehicle is not None and vehicle.owner_name:
        return Party(PartyKind.INDIVIDUAL, vehicle.owner_name)
    # Not yet identified: the notice addresses the vehicle's owner, and the lower (individual)
    # hearing threshold applies in the party's favour.
    return Party(PartyKind.INDIVIDUAL, "")


def _store_and_assess(
    deps: WeighingDeps,
    uow: UnitOfWork,
    index: int,
    reading: WeighingReading,
    site: WeighingSite,
    digest: str,
) -> RecordResult:
    now = deps.clock.now()
    policy = deps.policy
    registered = uow.vehicles.get_by_key(reading.vehicle)
    profile = vehicle_profile(reading, registered)
    finding = OverlimitFinding(
        record_id=reading.record_id,
        vehicle=reading.vehicle,
        measured_at=reading.measured_at,
        site=SiteSnapshot.of(site),
        profile=profile,
        tolerance=site.tolerance(policy.entrance_threshold_pct),
        policy=policy.penalty,
        reading=reading,
    )
    assessment = finding.assess()
    assessment_json = assessment_to_dict(assessment)

    def accept(
        disposition: Disposition, reason: str = "", alert_id: str | None = None, case_id: str | None = None
    ) -> RecordResult:
        # The weighing row goes first: the alert and the case refer to it.
        uow.weighings.add(
            StoredWeighing(
                reading, site.jurisdiction, digest, now, disposition, reason, assessment_json, alert_id
            )
        )
        return RecordResult(
            index,
            reading.record_id,
            RecordStatus.ACCEPTED,
            disposition=disposition,
            reason=reason,
            alert_id=alert_id,
            case_id=case_id,
        )

    if profile.configuration.gb1589_exempt:
        return accept(Disposition.NOT_ASSESSED, "；".join(assessment.notes))
    if not assessment.overlimit:
        return accept(Disposition.WITHIN_TOLERANCE if assessment.within_tolerance else Disposition.COMPLIANT)

    local_day = reading.measured_at.astimezone(policy.zone).date()
    verdict = admissibility(site, local_day)
    alert = raise_overlimit_alert(
        alert_id=deps.ids.new_id(),
        finding=finding,
        assessment=assessment,
        admissibility=verdict,
        hearing_threshold_yuan=policy.hearing_threshold_individual_yuan,
        now=now,
    )
    if not verdict.admissible:
        result = accept(Disposition.OVERLIMIT_INADMISSIBLE, alert.no_case_reason, alert.id)
        uow.alerts.add(alert)
        return result

    case = open_offsite_case(
        case_id=deps.ids.new_id(),
        alert_id=alert.id,
        weighing_record_id=reading.record_id,
        jurisdiction=site.jurisdiction,
        vehicle=reading.vehicle,
        party=_party_of(uow, registered),
        facts=facts_text(finding, assessment, policy.zone),
        proposed_penalty=assessment_json["penalty"],
        basis=alert.basis,
        now=now,
    )
    result = accept(Disposition.OVERLIMIT, alert_id=alert.id, case_id=case.id)
    uow.alerts.add(replace(alert, status=AlertStatus.CASE_OPENED))
    uow.cases.add(case)
    uow.cases.record(
        case.id,
        CaseRecordEntry(now, SYSTEM_ACTOR, "opened", {"alert_id": alert.id, "record_id": reading.record_id}),
    )
    return result
