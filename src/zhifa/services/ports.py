"""Ports: what the use cases need from the world, as Protocols. Adapters implement them.

Each repository port has one contract test suite (tests/integration/test_repositories.py) that
every adapter passes, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from zhifa.domain.accounts import Unit, User
from zhifa.domain.alerts import Alert
from zhifa.domain.audit import Anchor, AuditDraft, AuditEntry
from zhifa.domain.cases import Case, CaseRecordEntry
from zhifa.domain.credentials import ApiKey, AuthSession
from zhifa.domain.documents import Document
from zhifa.domain.enterprises import Enterprise
from zhifa.domain.jurisdictions import DivisionCode, Jurisdiction
from zhifa.domain.notices import Notice
from zhifa.domain.readings import ReadingKind, RejectedRecord
from zhifa.domain.roads import Junction
from zhifa.domain.sites import WeighingSite
from zhifa.domain.terminals import Terminal
from zhifa.domain.vehicles import Vehicle, VehicleKey
from zhifa.domain.weighings import Disposition, WeighingReading
from zhifa.services.queries import (
    AlertFilter,
    AlertRow,
    CaseFilter,
    CaseRow,
    Counts,
    Page,
    PageRequest,
    SiteRow,
    WeighingFilter,
    WeighingRow,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A new unique id, roughly sortable by creation time."""
        ...


class ConcurrentUpdate(Exception):
    """Someone else changed the record since it was read; reload and try again."""


class DuplicateKey(Exception):
    """A record with the same natural key is already stored."""


class JurisdictionRepository(Protocol):
    def add(self, jurisdiction: Jurisdiction, boundary_geojson: str | None = None) -> None: ...
    def get(self, code: DivisionCode) -> Jurisdiction | None: ...
    def list(self, under: DivisionCode | None = None) -> list[Jurisdiction]: ...
    def boundaries(self, under: DivisionCode | None = None) -> dict[str, str]:
        """GeoJSON geometry text of each jurisdiction that has one, by code."""
        ...


class SiteRepository(Protocol):
    def add(self, site: WeighingSite) -> None: ...
    def save(self, site: WeighingSite) -> None: ...
    def get(self, site_id: str) -> WeighingSite | None: ...
    def list(self, under: DivisionCode | None = None) -> list[WeighingSite]: ...


class VehicleRepository(Protocol):
    def add(self, vehicle: Vehicle) -> None: ...
    def get(self, vehicle_id: str) -> Vehicle | None: ...
    def get_by_key(self, key: VehicleKey) -> Vehicle | None: ...
    def for_enterprise(self, enterprise_id: str) -> list[Vehicle]: ...


class TerminalRepository(Protocol):
    """车载终端档案: one terminal per SIM phone, at most one per vehicle.

    A terminal lies in its vehicle's 车籍地 (``Vehicle.home_division``), the division the vehicle
    itself carries; the enterprise's division is the operator's, not the vehicle's.
    """

    def add(self, terminal: Terminal) -> None:
        """Store a new terminal; DuplicateKey if the phone or the vehicle is already in the register."""
        ...

    def get(self, phone: str) -> Terminal | None:
        """By the normalised phone (``normalise_phone``)."""
        ...

    def save(self, terminal: Terminal) -> None:
        """Store ``terminal`` over the one with its phone (adding it if new); DuplicateKey if its
        vehicle is bound to another phone."""
        ...

    def get_by_vehicle(self, vehicle_id: str) -> Terminal | None: ...
    def list(self, under: DivisionCode | None = None, page: PageRequest | None = None) -> Page[Terminal]:
        """Terminals whose vehicle's 车籍地 lies in ``under``'s subtree (every terminal when None),
        most recently enrolled first."""
        ...


class EnterpriseRepository(Protocol):
    def add(self, enterprise: Enterprise) -> None: ...
    def get(self, enterprise_id: str) -> Enterprise | None: ...
    def get_by_uscc(self, uscc: str) -> Enterprise | None: ...


@dataclass(frozen=True)
class StoredWeighing:
    reading: WeighingReading
    jurisdiction: DivisionCode  # the weighing site's, so lists filter by subtree without a join
    digest: str
    received_at: datetime
    disposition: Disposition
    disposition_reason: str
    assessment: dict[str, Any] | None
    alert_id: str | None


class WeighingRepository(Protocol):
    def add(self, weighing: StoredWeighing) -> None: ...
    def get(self, record_id: str) -> StoredWeighing | None: ...
    def digests(self, record_ids: list[str]) -> dict[str, str]:
        """Content digests of those of ``record_ids`` already stored."""
        ...


class AlertRepository(Protocol):
    def add(self, alert: Alert) -> None: ...
    def get(self, alert_id: str) -> Alert | None: ...


class CaseRepository(Protocol):
    def add(self, case: Case) -> None: ...
    def get(self, case_id: str) -> Case | None: ...
    def get_by_alert(self, alert_id: str) -> Case | None: ...
    def save(self, case: Case, *, expected_version: int) -> None:
        """Store ``case``; raise ConcurrentUpdate if the stored version is not ``expected_version``."""
        ...

    def record(self, case_id: str, entry: CaseRecordEntry) -> None: ...
    def history(self, case_id: str) -> list[CaseRecordEntry]: ...


class DocumentRepository(Protocol):
    def add(self, document: Document) -> None: ...
    def get(self, document_id: str) -> Document | None: ...
    def for_case(self, case_id: str) -> list[Document]: ...


class UnitRepository(Protocol):
    def add(self, unit: Unit) -> None: ...
    def get(self, unit_id: str) -> Unit | None: ...
    def list(self, under: DivisionCode | None = None) -> list[Unit]:
        """Units whose division lies in ``under``'s subtree (all when None), province first."""
        ...


class UserRepository(Protocol):
    def add(self, user: User) -> None: ...
    def get(self, user_id: str) -> User | None: ...
    def get_by_username(self, username: str) -> User | None: ...
    def save(self, user: User, *, expected_version: int) -> None:
        """Store ``user`` (its ``version`` already advanced); ConcurrentUpdate if the stored one moved."""
        ...

    def list(self, under: DivisionCode | None = None) -> list[User]: ...
    def bind_vehicle(
        self, user_id: str, key: VehicleKey, verified_by: str, at: datetime, evidence: str
    ) -> None:
        """Record a party's verified vehicle; DuplicateKey if already bound."""
        ...


class SessionRepository(Protocol):
    def add(self, session: AuthSession) -> None: ...
    def get(self, token_sha256: str) -> AuthSession | None: ...
    def touch(self, token_sha256: str, at: datetime) -> None: ...
    def revoke(self, token_sha256: str, at: datetime) -> None: ...
    def revoke_all(self, user_id: str, at: datetime) -> int:
        """End every open session of a user (password change, deactivation); how many ended."""
        ...

    def prune(self, before: datetime) -> int:
        """Forget sessions that expired before ``before``."""
        ...


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> None: ...
    def get(self, key_id: str) -> ApiKey | None: ...
    def list(self, unit_ids: list[str] | None = None) -> list[ApiKey]: ...
    def save(self, key: ApiKey) -> None: ...


class NonceRepository(Protocol):
    def remember(self, key_id: str, nonce: str, at: datetime) -> bool:
        """Record a nonce; False when it was already seen (a replay)."""
        ...

    def prune(self, before: datetime) -> int: ...


class NumberSequences(Protocol):
    def next(self, series: str) -> int:
        """The next number of ``series`` (1, 2, ...), gap-free among committed transactions."""
        ...


@dataclass(frozen=True)
class AuditFilter:
    actor_id: str | None = None
    action: str | None = None  # a prefix: "case." finds every case action
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditLog(Protocol):
    """审计日志: append-only, hash-chained (domain/audit.py); nothing here updates or deletes."""

    def append(self, draft: AuditDraft) -> AuditEntry:
        """Seal ``draft`` after the head and store it in the current transaction.

        Appends wait for one another on the head, so the chain follows commit order; a rolled-back
        transaction leaves neither its entry nor a moved head behind.
        """
        ...

    def head(self) -> Anchor | None:
        """The chain's head as the store records it; None before the first append."""
        ...

    def entries(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEntry]:
        """Up to ``limit`` entries with seq above ``after_seq``, in seq order, exactly as stored."""
        ...

    def search(self, f: AuditFilter, page: PageRequest) -> Page[AuditEntry]:
        """Entries matching ``f``, newest first."""
        ...


class UnitOfWork(Protocol):
    jurisdictions: JurisdictionRepository
    sites: SiteRepository
    vehicles: VehicleRepository
    enterprises: EnterpriseRepository
    terminals: TerminalRepository
    weighings: WeighingRepository
    alerts: AlertRepository
    cases: CaseRepository
    documents: DocumentRepository
    sequences: NumberSequences
    audit: AuditLog
    units: UnitRepository
    users: UserRepository
    sessions: SessionRepository
    api_keys: ApiKeyRepository
    nonces: NonceRepository

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class EvidenceStore(Protocol):
    """Content-addressed bytes: photos, videos, issued documents. Nothing is ever overwritten."""

    def put(self, data: bytes) -> str:
        """Store ``data``; return its SHA-256 (hex). Storing the same bytes twice is a no-op."""
        ...

    def get(self, sha256: str) -> bytes | None: ...


class NoticeRenderer(Protocol):
    def render(self, notice: Notice) -> bytes:
        """The notice laid out as a PDF."""
        ...


class ReadModel(Protocol):
    """Lists and counters for pages and the API, filtered by jurisdiction subtree."""

    def weighings(self, f: WeighingFilter, page: PageRequest) -> Page[WeighingRow]: ...
    def alerts(self, f: AlertFilter, page: PageRequest) -> Page[AlertRow]: ...
    def cases(self, f: CaseFilter, page: PageRequest) -> Page[CaseRow]: ...
    def sites(self, under: DivisionCode | None = None) -> list[SiteRow]: ...
    def counts(self, under: DivisionCode | None = None, since: datetime | None = None) -> Counts: ...


class ReferenceData(Protocol):
    """Reference geography of a province: jurisdictions with boundaries, expressway junctions."""

    def jurisdictions(self, province_code: str) -> list[tuple[Jurisdiction, str]]:
        """Province, cities, counties (parents first), each with its GeoJSON boundary."""
        ...

    def junctions(self, province_code: str) -> list[Junction]: ...
    def locate(self, province_code: str, lon: float, lat: float) -> DivisionCode | None:
        """The county whose boundary covers the WGS-84 point, if any."""
        ...

    def site_junctions(
        self, province_code: str, per_city: int = 1, seed: int = 0
    ) -> list[tuple[Junction, DivisionCode]]:
        """Named junctions, ``per_city`` in every city, to host weighing sites."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class Secrets(Protocol):
    """Randomness and the deployment's secret, kept out of the services' own code."""

    def token(self) -> str:
        """A new unguessable URL-safe token (sessions, CSRF, one-time values)."""
        ...

    def api_key(self, key_id: str) -> bytes:
        """The signing key of machine key ``key_id``, derived from the deployment's secret."""
        ...


class RateLimiter(Protocol):
    def retry_after(self, key: str) -> float:
        """Count one request of ``key``: 0 if allowed, else the seconds until the next is."""
        ...


# --- data plane (docs/data-plane.md) ---------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One bus message: a batch of readings of one kind for one partition, already encoded."""

    partition: int
    payload: bytes


@dataclass(frozen=True)
class Delivery:
    """A message handed to a consumer. ``seq`` is the bus's own sequence number for the message,
    increasing in publish order within a kind; ``token`` is what the adapter needs to ack it."""

    kind: str
    partition: int
    seq: int
    payload: bytes
    redelivered: bool
    token: Any = None


class Subscription(Protocol):
    def fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        """Up to ``max_messages`` unacknowledged messages; waits at most ``timeout`` seconds for the
        first one and returns an empty list if none came."""
        ...

    def ack(self, deliveries: list[Delivery]) -> None:
        """Mark messages done for this consumer group; unacked ones are delivered again."""
        ...

    def close(self) -> None: ...


class Bus(Protocol):
    """A durable, partitioned log of reading batches with consumer groups (at-least-once)."""

    @property
    def partitions(self) -> int: ...

    def publish(self, kind: str, messages: list[Outgoing]) -> None:
        """Return only once every message is durably stored; raise BusUnavailable otherwise."""
        ...

    def subscribe(self, kind: str, group: str, partitions: list[int] | None = None) -> Subscription:
        """A durable consumer: its position survives restarts of this process and of the bus."""
        ...

    def close(self) -> None: ...


class BusUnavailable(Exception):
    """The bus did not confirm a publish; nothing was acknowledged to the sender."""


class UnreadableMessage(Exception):
    """A bus message that is not a batch this reader can decode (corrupt, other kind or version)."""


class Quarantine(Protocol):
    """Where bytes nobody could read are kept, with the reason, instead of being dropped."""

    def put(self, at: datetime, source: str, reason: str, detail: str, data: bytes) -> Path: ...

    def items(self) -> list[dict[str, str]]: ...


class UnreadableFile(Exception):
    """An import file that cannot be read as a table of the kind's columns; nothing was sent."""


class Batch(Protocol):
    """A columnar batch of readings of one kind (an Arrow table in the adapters)."""

    @property
    def num_rows(self) -> int: ...


class ColumnarReadings(Protocol):
    """Readings as columns: built from parsed records, checked whole, read from files, and
    carried on the bus. The domain parsers stay the reference for every check made here."""

    def from_records(self, kind: ReadingKind, records: Sequence[object], received_at: datetime) -> Batch: ...

    def check(
        self,
        kind: ReadingKind,
        raw: Batch,
        now: datetime,
        *,
        received_at: datetime,
        clock_skew: timedelta,
        nev_marks: str,
        first_index: int = 0,
    ) -> tuple[Batch, list[RejectedRecord]]:
        """Accept exactly the rows the domain parser would; name every refused one."""
        ...

    def from_columns(self, kind: ReadingKind, columns: Mapping[str, Sequence[object]]) -> Batch:
        """Raw columns as a gateway decoded them (typed values; aware times, or numpy datetime64 read
        as UTC), to be checked; raise UnreadableFile for a column its kind does not have."""
        ...

    def read_file(self, kind: ReadingKind, path: Path, rows_per_batch: int) -> Iterator[Batch]:
        """Raw columns of a CSV or Parquet file, a batch at a time; raise UnreadableFile."""
        ...

    def to_records(self, batch: Batch) -> list[dict[str, Any]]:
        """Rows as the JSON-like records the domain parsers take (list fields decoded from text)."""
        ...

    def defective(self, batch: Batch) -> int:
        """Accepted positions that are not valid positions (RULES.md §2); 0 for other kinds."""
        ...

    def to_messages(self, kind: ReadingKind, batch: Batch, partitions: int) -> list[Outgoing]: ...

    def from_message(self, kind: ReadingKind, payload: bytes) -> Batch:
        """Raise UnreadableMessage for anything but a batch of this kind and a readable version."""
        ...


@dataclass(frozen=True)
class Compaction:
    partitions: int
    files_before: int
    files_after: int
    rows: int


class Lake(Protocol):
    """The telemetry lake: append-only, partitioned by kind and hour, deduplicated by record id."""

    def append(self, kind: ReadingKind, tables: Sequence[Batch]) -> int:
        """Store the rows not already stored; return how many were new. Atomic per file."""
        ...

    def compact(self, now: datetime) -> Compaction: ...

    def retain(self, today: date) -> list[str]:
        """Delete partitions older than each kind's retention; return what was removed."""
        ...

    def count(self, kind: ReadingKind) -> int: ...

    def quarantine(self, kind: ReadingKind, seq: int, payload: bytes, reason: str) -> Path:
        """Keep an unreadable bus message aside, with why, instead of losing or retrying it forever."""
        ...
