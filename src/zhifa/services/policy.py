"""The provincial parameters the use cases apply, gathered once by bootstrap from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from zhifa.domain.cases import DEFAULT_CASE_NUMBER_TEMPLATE, DEFAULT_REQUIRED_IMAGES, CaseNumberFormat
from zhifa.domain.notices import NoticeTerms
from zhifa.domain.overlimit import EXPRESSWAY_ENTRANCE_THRESHOLD_PCT, PartTonne, PenaltyPolicy
from zhifa.domain.vehicles import NEV_MARKS
from zhifa.domain.weighings import ImageKind


@dataclass(frozen=True)
class Policy:
    case_numbers: CaseNumberFormat = field(
        default_factory=lambda: CaseNumberFormat(DEFAULT_CASE_NUMBER_TEMPLATE)
    )
    part_tonne: PartTonne = PartTonne.DROP
    entrance_threshold_pct: Decimal = EXPRESSWAY_ENTRANCE_THRESHOLD_PCT
    hearing_threshold_individual_yuan: int = 10_000
    hearing_threshold_organisation_yuan: int = 100_000
    statement_period_working_days: int = 3
    required_images: tuple[ImageKind, ...] = DEFAULT_REQUIRED_IMAGES
    nev_marks: str = NEV_MARKS
    clock_skew: timedelta = timedelta(minutes=5)
    zone: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    public_portal_url: str = ""
    max_batch_records: int = 1_000

    @property
    def penalty(self) -> PenaltyPolicy:
        return PenaltyPolicy(self.part_tonne)

    @property
    def notice_terms(self) -> NoticeTerms:
        return NoticeTerms(
            hearing_threshold_individual_yuan=self.hearing_threshold_individual_yuan,
            hearing_threshold_organisation_yuan=self.hearing_threshold_organisation_yuan,
            statement_period_working_days=self.statement_period_working_days,
            public_portal_url=self.public_portal_url,
        )
