"""/api/v1/weighings: ingest batches from weighing sites; list and read stored weighings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from zhifa.domain.permissions import Permission as P
from zhifa.domain.permissions import Principal
from zhifa.domain.weighings import Disposition, ImageKind
from zhifa.entrypoints.api.deps import AppDep, PageDep, PageOut, ScopeDep, aware
from zhifa.entrypoints.api.problems import NotFound
from zhifa.entrypoints.api.security import requires
from zhifa.services.queries import WeighingFilter
from zhifa.services.weighings import BatchResult, RecordStatus, ingest_weighings

router = APIRouter(prefix="/api/v1/weighings", tags=["weighings"])

MAX_BODY_BYTES = 32 * 1024 * 1024


class EvidenceImage(BaseModel):
    """A picture or clip held by the site, referenced by URI and fixed by its SHA-256."""

    kind: ImageKind
    uri: str = Field(max_length=1024, examples=["https://wim.example/340102/W1/front.jpg"])
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class WeighingRecord(BaseModel):
    """One weighing as a site sends it. Validated record by record; see docs/api.md."""

    record_id: str = Field(
        max_length=64, description="Sender's unique id; also the 检测单号", examples=["340102-W-0001"]
    )
    site_id: str = Field(description="Registered weighing site id")
    measured_at: datetime = Field(description="ISO 8601 with a UTC offset, e.g. 2026-11-21T10:05:00+08:00")
    plate: str = Field(examples=["皖A12345"])
    plate_colour: int = Field(
        description="JT/T 697.7 code: 1 blue, 2 yellow, 3 black, 4 white, 5 green, 9 other"
    )
    axles: int = Field(ge=2, le=20)
    gross_kg: int = Field(gt=0, description="车货总质量 as measured, kg")
    axle_loads_kg: list[int] | None = Field(default=None, description="One load per axle, kg")
    height_m: float | None = None
    width_m: float | None = None
    length_m: float | None = None
    speed_kmh: float | None = None
    lane: int | None = None
    direction: str | None = None
    vehicle_kind: Literal["truck", "combination"] | None = Field(
        default=None, description="The device's own classification, used when the vehicle is not registered"
    )
    images: list[EvidenceImage] = Field(default_factory=list)


class WeighingBatch(BaseModel):
    records: list[dict[str, Any]] = Field(
        description="Weighing records (schema WeighingRecord); each is accepted or rejected on its own",
        json_schema_extra={"items": {"$ref": "#/components/schemas/WeighingRecord"}},
    )


class FieldErrorOut(BaseModel):
    field: str
    reason: str


class RecordResultOut(BaseModel):
    index: int
    record_id: str | None
    status: RecordStatus
    errors: list[FieldErrorOut] = Field(default_factory=list)
    disposition: Disposition | None = None
    reason: str = ""
    alert_id: str | None = None
    case_id: str | None = None


class BatchResultOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[RecordResultOut]

    @classmethod
    def of(cls, result: BatchResult) -> BatchResultOut:
        return cls(
            accepted=result.count(RecordStatus.ACCEPTED),
            duplicates=result.count(RecordStatus.DUPLICATE),
            rejected=result.count(RecordStatus.REJECTED),
            results=[
                RecordResultOut(
                    index=r.index,
                    record_id=r.record_id,
                    status=r.status,
                    errors=[FieldErrorOut(field=e.field, reason=e.reason) for e in r.errors],
                    disposition=r.disposition,
                    reason=r.reason,
                    alert_id=r.alert_id,
                    case_id=r.case_id,
                )
                for r in result.results
            ],
        )


@router.post(
    "",
    response_model=BatchResultOut,
    summary="Ingest a batch of weighings",
    description="Each record is validated on its own: valid records are stored and assessed "
    "(超限规定 第三条、第四十三条), invalid ones are returned with every reason. Re-sending a "
    "record id with the same content is a duplicate (idempotent); with other content it is rejected.",
)
async def post_weighings(
    batch: WeighingBatch, app: AppDep, who: Annotated[Principal, requires(P.WEIGHINGS_INGEST)]
) -> BatchResultOut:
    result = await run_in_threadpool(
        lambda: ingest_weighings(app.weighing_deps, batch.records, within=who.division, actor=who.actor)
    )
    return BatchResultOut.of(result)


class WeighingOut(BaseModel):
    record_id: str
    site_id: str
    site_name: str
    jurisdiction_code: str
    measured_at: datetime
    plate: str
    plate_colour: int
    axles: int
    gross_kg: int
    limit_kg: int | None
    excess_kg: int | None
    excess_pct: float | None
    disposition: Disposition
    disposition_reason: str
    alert_id: str | None


@router.get("", response_model=PageOut[WeighingOut], summary="List weighings, newest first")
def list_weighings(
    app: AppDep,
    who: Annotated[Principal, requires(P.WEIGHINGS_READ)],
    page: PageDep,
    scope: ScopeDep,
    site_id: str | None = None,
    plate: Annotated[str | None, Query(description="Plate or its beginning")] = None,
    disposition: Disposition | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PageOut[WeighingOut]:
    f = WeighingFilter(
        under=who.scope(scope),
        site_id=site_id,
        plate=plate,
        disposition=disposition.value if disposition else None,
        since=aware(since, app),
        until=aware(until, app),
    )
    result = app.read_model.weighings(f, page)
    return PageOut.of(WeighingOut, result)


class WeighingDetail(BaseModel):
    record_id: str
    site_id: str
    measured_at: datetime
    plate: str
    plate_colour: int
    axles: int
    gross_kg: int
    axle_loads_kg: list[int] | None
    height_mm: int | None
    width_mm: int | None
    length_mm: int | None
    speed_kmh: float | None
    lane: int | None
    direction: str | None
    images: list[EvidenceImage]
    received_at: datetime
    disposition: Disposition
    disposition_reason: str
    assessment: dict[str, Any] | None
    alert_id: str | None


@router.get("/{record_id}", response_model=WeighingDetail, summary="One weighing with its assessment")
def get_weighing(
    record_id: str, app: AppDep, who: Annotated[Principal, requires(P.WEIGHINGS_READ)]
) -> WeighingDetail:
    with app.uow() as uow:
        stored = uow.weighings.get(record_id)
    # Outside the principal's jurisdiction reads as absent: existence is not disclosed sideways.
    if stored is None or not who.sees(stored.jurisdiction):
        raise NotFound(f"no weighing {record_id}")
    r = stored.reading
    return WeighingDetail(
        record_id=r.record_id,
        site_id=r.site_id,
        measured_at=r.measured_at,
        plate=r.vehicle.plate,
        plate_colour=int(r.vehicle.colour),
        axles=r.axles,
        gross_kg=r.gross_kg,
        axle_loads_kg=list(r.axle_loads_kg) if r.axle_loads_kg else None,
        height_mm=r.height_mm,
        width_mm=r.width_mm,
        length_mm=r.length_mm,
        speed_kmh=float(r.speed_kmh) if r.speed_kmh is not None else None,
        lane=r.lane,
        direction=r.direction,
        images=[EvidenceImage(kind=i.kind, uri=i.uri, sha256=i.sha256) for i in r.images],
        received_at=stored.received_at,
        disposition=stored.disposition,
        disposition_reason=stored.disposition_reason,
        assessment=stored.assessment,
        alert_id=stored.alert_id,
    )
