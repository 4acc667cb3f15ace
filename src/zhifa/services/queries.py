"""Read models: what the lists and the dashboard show, as typed rows (no aggregates, no writes).

The port itself, ``ReadModel``, is in services/ports.py with the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar

from zhifa.domain.jurisdictions import DivisionCode

MAX_PAGE_SIZE = 500
T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        if self.offset < 0:
            raise ValueError("offset must not be negative")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class WeighingFilter:
    under: DivisionCode | None = None  # a jurisdiction and everything beneath it
    site_id: str | None = None
    plate: str | None = None
    disposition: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AlertFilter:
    under: DivisionCode | None = None
    status: str | None = None
    severity: str | None = None
    plate: str | None = None
    site_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class CaseFilter:
    under: DivisionCode | None = None
    status: str | None = None
    plate: str | None = None
    case_number: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # An outsider's own cases: against this enterprise, or one of these (plate, colour) vehicles.
    own_only: bool = False
    own_enterprise_id: str | None = None
    own_vehicles: tuple[tuple[str, int], ...] = ()


class WeighingRow(TypedDict):
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
    disposition: str
    disposition_reason: str
    alert_id: str | None


class AlertRow(TypedDict):
    id: str
    rule_id: str
    severity: str
    status: str
    plate: str
    plate_colour: int
    site_id: str
    site_name: str
    jurisdiction_code: str
    jurisdiction_name: str
    occurred_at: datetime
    created_at: datetime
    summary: str
    no_case_reason: str
    weighing_record_id: str
    case_id: str | None


class CaseRow(TypedDict):
    id: str
    case_number: str | None
    procedure: str
    status: str
    jurisdiction_code: str
    jurisdiction_name: str
    plate: str
    plate_colour: int
    party_kind: str
    party_name: str
    opened_at: datetime
    proposed_penalty: dict[str, Any]
    reviewer_name: str | None


class SiteRow(TypedDict):
    id: str
    name: str
    kind: str
    road: str
    lon: float
    lat: float
    jurisdiction_code: str
    jurisdiction_name: str
    accuracy_class: str
    verification_valid_until: str | None
    enforcement_approved_on: str | None


class Counts(TypedDict):
    weighings: int
    overlimit: int
    inadmissible: int
    alerts_open: int
    cases_pending_review: int
    cases_filed: int
