"""The one place where settings become a wired application.

``bootstrap(settings, **overrides)`` builds the engines, unit-of-work factory, clock, ids,
evidence store and renderer and hands them to the services; tests pass fakes as overrides.
Nothing here runs at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from zhifa.adapters.clock import SystemClock
from zhifa.adapters.db.engine import Engines, make_engines
from zhifa.adapters.db.queries import SqlReadModel
from zhifa.adapters.db.uow import SqlUnitOfWorkFactory
from zhifa.adapters.documents.notice_pdf import ReportLabNoticeRenderer
from zhifa.adapters.evidence.files import FileEvidenceStore
from zhifa.adapters.geodata.reference import PackagedReferenceData, load_road_sources
from zhifa.adapters.ids import Uuid7Ids
from zhifa.adapters.quarantine import FileQuarantine
from zhifa.adapters.readings.arrow import ArrowReadings
from zhifa.adapters.security.passwords import Argon2Hasher
from zhifa.adapters.security.ratelimit import TokenBucketLimiter
from zhifa.adapters.security.secrets import SystemSecrets
from zhifa.config import Settings
from zhifa.domain.accounts import LockoutPolicy, PasswordPolicy
from zhifa.domain.cases import CaseNumberFormat
from zhifa.domain.credentials import SessionPolicy
from zhifa.domain.readings import ReadingKind
from zhifa.services.accounts import AccountDeps, AccountPolicy
from zhifa.services.cases import CaseDeps
from zhifa.services.ingest import Feed, IngestDeps
from zhifa.services.lake import LakeDeps
from zhifa.services.policy import Policy
from zhifa.services.ports import (
    Bus,
    Clock,
    ColumnarReadings,
    EvidenceStore,
    IdGenerator,
    Lake,
    NoticeRenderer,
    PasswordHasher,
    Quarantine,
    RateLimiter,
    ReadModel,
    ReferenceData,
    Secrets,
    UnitOfWorkFactory,
)
from zhifa.services.weighings import WeighingDeps


def policy_from(settings: Settings) -> Policy:
    return Policy(
        case_numbers=CaseNumberFormat(settings.case_number_template),
        part_tonne=settings.part_tonne,
        entrance_threshold_pct=settings.expressway_entrance_threshold_pct,
        hearing_threshold_individual_yuan=settings.hearing_threshold_individual_yuan,
        hearing_threshold_organisation_yuan=settings.hearing_threshold_organisation_yuan,
        statement_period_working_days=settings.statement_period_working_days,
        required_images=settings.required_evidence_images,
        nev_marks=settings.plate_nev_marks,
        clock_skew=timedelta(seconds=settings.clock_skew_seconds),
        zone=ZoneInfo(settings.display_timezone),
        public_portal_url=settings.public_portal_url,
        max_batch_records=settings.max_batch_records,
    )


def account_policy_from(settings: Settings) -> AccountPolicy:
    return AccountPolicy(
        password=PasswordPolicy(settings.password_min_length, settings.password_min_classes),
        lockout=LockoutPolicy(settings.login_max_failures, timedelta(minutes=settings.login_lockout_minutes)),
        sessions=SessionPolicy(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_max_hours),
            bearer=timedelta(hours=settings.bearer_token_hours),
        ),
        signature_window_seconds=settings.signature_window_seconds,
    )


def make_bus(settings: Settings) -> Bus:
    if settings.bus == "nats":
        from zhifa.adapters.bus.nats import NatsBus

        return NatsBus(
            settings.nats_url,
            settings.bus_partitions,
            prefix=settings.nats_prefix,
            ack_wait=settings.bus_ack_wait_seconds,
            max_age_days=settings.nats_max_age_days,
        )
    from zhifa.adapters.bus.local import LocalBus

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return LocalBus(
        settings.data_dir / "bus.sqlite", settings.bus_partitions, ack_wait=settings.bus_ack_wait_seconds
    )


def make_lake(settings: Settings, *, read_only: bool = False) -> Lake:
    from zhifa.adapters.lake.parquet import ParquetLake

    return ParquetLake(
        settings.resolved_lake_dir,
        retention_months={
            ReadingKind.POSITION: settings.lake_retention_months_position,
            ReadingKind.PASSAGE: settings.lake_retention_months_passage,
            ReadingKind.WEIGHING: settings.lake_retention_months_weighing,
        },
        read_only=read_only,
    )


@dataclass
class App:
    """The wired platform: what entrypoints hand to the services."""

    settings: Settings
    engines: Engines
    uow: UnitOfWorkFactory
    read_model: ReadModel
    clock: Clock
    ids: IdGenerator
    evidence: EvidenceStore
    renderer: NoticeRenderer
    reference: ReferenceData
    policy: Policy
    hasher: PasswordHasher
    secrets: Secrets
    account_policy: AccountPolicy
    login_limiter: RateLimiter
    public_limiter: RateLimiter
    readings: ColumnarReadings
    quarantine: Quarantine  # frames the JT/T 808 gateway could not read
    # Opened on first use: describing the API needs no bus, and only the lake's one writer
    # process may open the lake for writing (it recovers interrupted writes when it opens).
    bus_factory: Callable[[], Bus]
    lake_factory: Callable[[], Lake]
    _bus: Bus | None = field(default=None, init=False, repr=False)
    _lake: Lake | None = field(default=None, init=False, repr=False)
    _open_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def bus(self) -> Bus:
        with self._open_lock:
            if self._bus is None:
                self._bus = self.bus_factory()
            return self._bus

    @property
    def lake(self) -> Lake:
        with self._open_lock:
            if self._lake is None:
                self._lake = self.lake_factory()
            return self._lake

    def lake_reader(self) -> Lake:
        """The lake for reading while its writer (another thread or process) goes on: no recovery."""
        return make_lake(self.settings, read_only=True)

    @property
    def feed(self) -> Feed:
        return Feed(self.bus, self.readings)

    @property
    def ingest_deps(self) -> IngestDeps:
        return IngestDeps(self.feed, self.clock, self.uow, self.policy)

    @property
    def lake_deps(self) -> LakeDeps:
        return LakeDeps(self.bus, self.readings, self.lake, self.clock)

    @property
    def account_deps(self) -> AccountDeps:
        return AccountDeps(self.uow, self.clock, self.ids, self.hasher, self.secrets, self.account_policy)

    @property
    def weighing_deps(self) -> WeighingDeps:
        return WeighingDeps(self.uow, self.clock, self.ids, self.policy, self.feed)

    @property
    def case_deps(self) -> CaseDeps:
        return CaseDeps(self.uow, self.clock, self.ids, self.evidence, self.renderer, self.policy)

    def upgrade_database(self) -> None:
        """Bring the operational store to the latest migration (alembic upgrade head)."""
        from zhifa.adapters.db.migrate import upgrade

        upgrade(self.engines)

    def close(self) -> None:
        if self._bus is not None:
            self._bus.close()
        self.engines.dispose()


def reference_road_sources(province_code: str = "340000") -> dict[str, dict[str, Any]]:
    """The packaged OSM bridges, junctions and service areas and the county boundaries of a
    province, as GeoJSON FeatureCollections keyed ``bridges``, ``junctions``, ``service_areas``
    and ``counties``: what ``zhifa.simulator.province.graph.build_province`` takes. Here because
    entrypoints reach the packaged data only through bootstrap."""
    return load_road_sources(province_code)


def bootstrap(settings: Settings | None = None, **overrides: Any) -> App:
    settings = settings or Settings()
    engines: Engines = overrides.pop("engines", None) or make_engines(settings.resolved_database_url)
    clock: Clock = overrides.pop("clock", None) or SystemClock()
    parts: dict[str, Any] = {
        "settings": settings,
        "engines": engines,
        "uow": SqlUnitOfWorkFactory(engines),
        "read_model": SqlReadModel(engines.read),
        "clock": clock,
        "ids": Uuid7Ids(clock),
        "evidence": FileEvidenceStore(Path(settings.data_dir) / "evidence"),
        "renderer": ReportLabNoticeRenderer(settings.pdf_font_file),
        "reference": PackagedReferenceData(settings.authority_templates),
        "policy": policy_from(settings),
        "hasher": Argon2Hasher(settings.password_hash_time_cost, settings.password_hash_memory_kib),
        "secrets": SystemSecrets(
            settings.secret_key.get_secret_value().encode() or None, Path(settings.data_dir) / "secret_key"
        ),
        "account_policy": account_policy_from(settings),
        "login_limiter": TokenBucketLimiter(settings.rate_limit_login_per_minute, clock),
        "public_limiter": TokenBucketLimiter(settings.rate_limit_public_per_minute, clock),
        "readings": ArrowReadings(),
        "quarantine": FileQuarantine(Path(settings.data_dir) / "quarantine" / "jt808"),
        "bus_factory": lambda: make_bus(settings),
        "lake_factory": lambda: make_lake(settings),
    }
    unknown = set(overrides) - set(parts)
    if unknown:
        raise TypeError(f"unknown bootstrap overrides: {sorted(unknown)}")
    parts.update(overrides)
    return App(**parts)
