"""/api/v1/positions and /api/v1/passages: sensor readings into the data plane.

A request is answered once the bus has durably accepted every valid record (docs/data-plane.md);
a 503 means nothing was accepted and the batch should be sent again, which is always safe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from zhifa.domain.permissions import Permission as P
from zhifa.domain.permissions import Principal
from zhifa.domain.readings import ReadingKind
from zhifa.entrypoints.api.deps import AppDep
from zhifa.entrypoints.api.security import requires
from zhifa.entrypoints.api.weighings import FieldErrorOut
from zhifa.services.ingest import MAX_JSON_RECORDS, IngestReport, ingest_records

router = APIRouter(prefix="/api/v1", tags=["readings"])


class PositionRecord(BaseModel):
    """One fix of a key vehicle's terminal (JT/T 808 0x0200). See docs/data-plane.md."""

    terminal: str = Field(description="Terminal phone number, 1–20 digits", examples=["13800000001"])
    plate: str = Field(examples=["皖A12345"])
    plate_colour: int = Field(
        description="JT/T 697.7 code: 1 blue, 2 yellow, 3 black, 4 white, 5 green, 9 other"
    )
    time: datetime = Field(description="GPS time, ISO 8601 with a UTC offset, e.g. 2026-11-21T10:05:00+08:00")
    lon: float = Field(description="WGS-84 longitude, degrees")
    lat: float = Field(description="WGS-84 latitude, degrees")
    speed_kmh: float = 0.0
    heading: int = Field(default=0, description="0–359, degrees from north")
    altitude_m: int = 0
    alarm: int = Field(default=0, description="JT/T 808 alarm bits (DWORD)")
    status: int = Field(default=0, description="JT/T 808 status bits (DWORD)")
    extras: str | None = Field(default=None, description="Additional items (附加信息) as JSON text")
    backfill: bool = Field(
        default=False, description="Sent late on purpose (盲区补报, a 0x0704 blind-area batch), not live"
    )


class PassageRecord(BaseModel):
    """One plate read at a gantry or checkpoint (卡口/门架). See docs/data-plane.md."""

    record_id: str = Field(max_length=64, description="Sender's unique id", examples=["G3-K123-000001"])
    site_id: str = Field(max_length=64, examples=["G3-K123"])
    time: datetime = Field(description="ISO 8601 with a UTC offset")
    plate: str = Field(examples=["皖A12345"])
    plate_colour: int
    lane: int | None = Field(default=None, ge=1, le=99)
    direction: str | None = Field(default=None, max_length=16)
    vehicle_class: int | None = Field(
        default=None, description="JT/T 489-2019 class: 客 1–4, 货 11–16, 专项作业 21–26"
    )
    axles: int | None = Field(default=None, ge=2, le=20)
    image_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


class PositionBatch(BaseModel):
    records: list[dict[str, Any]] = Field(
        description=f"At most {MAX_JSON_RECORDS} positions (schema PositionRecord); each is accepted "
        "or rejected on its own",
        json_schema_extra={"items": {"$ref": "#/components/schemas/PositionRecord"}},
    )


class PassageBatch(BaseModel):
    records: list[dict[str, Any]] = Field(
        description=f"At most {MAX_JSON_RECORDS} passages (schema PassageRecord); each is accepted "
        "or rejected on its own",
        json_schema_extra={"items": {"$ref": "#/components/schemas/PassageRecord"}},
    )


class RejectedOut(BaseModel):
    index: int
    record_id: str | None
    errors: list[FieldErrorOut]


class IngestOut(BaseModel):
    kind: ReadingKind
    received: int
    accepted: int = Field(description="Durably on the bus when this answer is sent")
    rejected: int
    defective: int = Field(
        description="Accepted positions outside RULES.md's valid ranges; kept, they count against 数据合格率"
    )
    errors: list[RejectedOut] = Field(description="Every rejected record with every reason")

    @classmethod
    def of(cls, report: IngestReport) -> IngestOut:
        return cls(
            kind=report.kind,
            received=report.received,
            accepted=report.accepted,
            rejected=len(report.rejected),
            defective=report.defective,
            errors=[
                RejectedOut(
                    index=r.index,
                    record_id=r.record_id,
                    errors=[FieldErrorOut(field=e.field, reason=e.reason) for e in r.errors],
                )
                for r in report.rejected
            ],
        )


@router.post(
    "/positions",
    response_model=IngestOut,
    summary="Ingest a batch of vehicle positions",
    description="Records follow PositionRecord. A record that parses but lies outside a valid "
    "position (RULES.md §2) is accepted and counted as defective. One row per terminal and GPS "
    "second is kept, so re-sending is safe.",
)
async def post_positions(
    batch: PositionBatch, app: AppDep, who: Annotated[Principal, requires(P.POSITIONS_INGEST)]
) -> IngestOut:
    report = await run_in_threadpool(ingest_records, app.ingest_deps, ReadingKind.POSITION, batch.records)
    return IngestOut.of(report)


@router.post(
    "/passages",
    response_model=IngestOut,
    summary="Ingest a batch of gantry passages",
    description="Records follow PassageRecord. One row per record_id is kept, so re-sending is safe.",
)
async def post_passages(
    batch: PassageBatch, app: AppDep, who: Annotated[Principal, requires(P.PASSAGES_INGEST)]
) -> IngestOut:
    report = await run_in_threadpool(ingest_records, app.ingest_deps, ReadingKind.PASSAGE, batch.records)
    return IngestOut.of(report)
