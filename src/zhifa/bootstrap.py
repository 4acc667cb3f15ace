"""The one place where settings become a wired application.

``bootstrap(settings, **overrides)`` builds the engines, unit-of-work factory, clock, ids,
evidence store and renderer and hands them to the services; tests pass fakes as overrides.
Nothing here runs at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from zhifa.adapters.geodata.reference import PackagedReferenceData
from zhifa.adapters.ids import Uuid7Ids
from zhifa.adapters.security.passwords import Argon2Hasher
from zhifa.adapters.security.ratelimit import TokenBucketLimiter
from zhifa.adapters.security.secrets import SystemSecrets
from zhifa.config import Settings
from zhifa.domain.accounts import LockoutPolicy, PasswordPolicy
from zhifa.domain.cases import CaseNumberFormat
from zhifa.domain.credentials import SessionPolicy
from zhifa.services.accounts import AccountDeps, AccountPolicy
from zhifa.services.cases import CaseDeps
from zhifa.services.policy import Policy
from zhifa.services.ports import (
    Clock,
    EvidenceStore,
    IdGenerator,
    NoticeRenderer,
    PasswordHasher,
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

    @property
    def account_deps(self) -> AccountDeps:
        return AccountDeps(self.uow, self.clock, self.ids, self.hasher, self.secrets, self.account_policy)

    @property
    def weighing_deps(self) -> WeighingDeps:
        return WeighingDeps(self.uow, self.clock, self.ids, self.policy)

    @property
    def case_deps(self) -> CaseDeps:
        return CaseDeps(self.uow, self.clock, self.ids, self.evidence, self.renderer, self.policy)

    def upgrade_database(self) -> None:
        """Bring the operational store to the latest migration (alembic upgrade head)."""
        from zhifa.adapters.db.migrate import upgrade

        upgrade(self.engines)

    def close(self) -> None:
        self.engines.dispose()


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
    }
    unknown = set(overrides) - set(parts)
    if unknown:
        raise TypeError(f"unknown bootstrap overrides: {sorted(unknown)}")
    parts.update(overrides)
    return App(**parts)
