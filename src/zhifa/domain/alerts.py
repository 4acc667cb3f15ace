"""Alerts (预警): a rule fired on a reading, with its evidence and legal basis.

The over-limit rule fires on a weighing that is 超限 after tolerance. Its evidence is frozen at
detection: the site and device as they were that day, the vehicle configuration used and where it
came from, and the assessment. A later change to the site or the register does not rewrite it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.overlimit import (
    Assessment,
    PartTonne,
    PenaltyKind,
    PenaltyPolicy,
    Tolerance,
    VehicleConfiguration,
    assess,
    assessment_to_dict,
)
from zhifa.domain.sites import Admissibility, SiteKind, WeighingSite
from zhifa.domain.vehicles import Vehicle, VehicleKey, VehicleKind
from zhifa.domain.weighings import WeighingReading

OVERLIMIT_RULE_ID = "overlimit.weighing"
OVERLIMIT_RULE_VERSION = 1


class AlertStatus(StrEnum):
    OPEN = "open"  # raised, not yet acted on
    CASE_OPENED = "case_opened"  # an offsite case draft carries it
    NO_CASE = "no_case"  # recorded, but the evidence cannot found a case (reason given)

    @property
    def label(self) -> str:
        return {"open": "待处理", "case_opened": "已生成案件", "no_case": "不予立案"}[self.value]


class Severity(StrEnum):
    LOW = "low"  # a warning is proposed
    MEDIUM = "medium"  # a fine is proposed
    HIGH = "high"  # the fine reaches the hearing threshold (较大数额)

    @property
    def label(self) -> str:
        return {"low": "一般", "medium": "较重", "high": "严重"}[self.value]


@dataclass(frozen=True)
class SiteSnapshot:
    """The site and its device as they were when the vehicle was weighed."""

    id: str
    name: str
    kind: SiteKind
    road: str
    lon: float
    lat: float
    jurisdiction: DivisionCode
    accuracy_class: Decimal
    device_serial: str
    verification_certificate: str
    verification_valid_until: date | None

    @classmethod
    def of(cls, site: WeighingSite) -> SiteSnapshot:
        return cls(
            site.id,
            site.name,
            site.kind,
            site.road,
            site.lon,
            site.lat,
            site.jurisdiction,
            site.accuracy_class,
            site.device_serial,
            site.verification_certificate,
            site.verification_valid_until,
        )


@dataclass(frozen=True)
class VehicleProfile:
    """The configuration Art. 3 was applied to, and where each part of it came from."""

    configuration: VehicleConfiguration
    kind: VehicleKind | None
    source: str  # "register", "device" or "default"
    notes: tuple[str, ...] = ()


def vehicle_profile(reading: WeighingReading, registered: Vehicle | None) -> VehicleProfile:
    """Combine the scale's axle count with what the register or the device knows.

    The scale counts the axles of the whole train, so the measured count is always used. What is
    unknown is read in the party's favour: the higher limit applies.
    """
    axles = reading.axles
    if registered is not None:
        combination = registered.kind.is_combination or axles > registered.axles
        notes = []
        if not registered.kind.is_combination and axles > registered.axles:
            notes.append(f"登记{registered.axles}轴，检测{axles}轴，按汽车列车认定")
        licensed = registered.licensed_gross_kg if registered.kind.limited_by_licence else None
        config = VehicleConfiguration(
            axles=axles,
            combination=combination,
            single_drive_axle=registered.single_drive_axle and axles >= 6,
            single_tyre_axles=min(registered.single_tyre_axles, axles - 1),
            licensed_gross_kg=licensed,
            gb1589_exempt=registered.gb1589_exempt,
        )
        return VehicleProfile(config, registered.kind, "register", tuple(notes))
    if reading.vehicle_kind is not None:
        combination = reading.vehicle_kind.is_combination
        config = VehicleConfiguration(axles=axles, combination=combination)
        return VehicleProfile(config, reading.vehicle_kind, "device", ("车型取自检测设备识别结果",))
    combination = axles >= 3
    default_notes: tuple[str, ...] = ()
    if axles in (3, 4):
        default_notes = ("车辆未登记且设备未识别车型，按有利于当事人的汽车列车限值认定",)
    config = VehicleConfiguration(axles=axles, combination=combination)
    return VehicleProfile(config, None, "default", default_notes)


@dataclass(frozen=True)
class OverlimitFinding:
    """Everything the assessment rests on; re-assessing it gives the same result."""

    record_id: str
    vehicle: VehicleKey
    measured_at: datetime
    site: SiteSnapshot
    profile: VehicleProfile
    tolerance: Tolerance
    policy: PenaltyPolicy
    reading: WeighingReading

    def assess(self) -> Assessment:
        return assess(self.profile.configuration, self.reading.measurement, self.tolerance, self.policy)


def severity_of(assessment: Assessment, hearing_threshold_yuan: int) -> Severity:
    penalty = assessment.penalty
    if penalty.kind is PenaltyKind.FINE and penalty.max_yuan >= hearing_threshold_yuan:
        return Severity.HIGH
    if penalty.kind is PenaltyKind.FINE:
        return Severity.MEDIUM
    return Severity.LOW


@dataclass(frozen=True)
class Alert:
    id: str
    rule_id: str
    rule_version: int
    severity: Severity
    status: AlertStatus
    vehicle: VehicleKey
    site_id: str
    jurisdiction: DivisionCode
    occurred_at: datetime
    created_at: datetime
    weighing_record_id: str
    summary: str
    evidence: dict[str, Any]
    basis: tuple[str, ...]
    no_case_reason: str = ""


def summarise(finding: OverlimitFinding, assessment: Assessment) -> str:
    parts = []
    if assessment.mass_overlimit:
        parts.append(
            f"{finding.reading.axles}轴车货总质量{assessment.effective_gross_kg}千克，"
            f"超限{assessment.excess_kg}千克（{assessment.excess_pct}%）"
        )
    labels = {"height": "超高", "width": "超宽", "length": "超长"}
    parts.extend(labels[d.value] for d in assessment.dimensions_over)
    return f"{finding.vehicle} 于{finding.site.name}：" + "，".join(parts)


def finding_evidence(finding: OverlimitFinding, assessment: Assessment) -> dict[str, Any]:
    """The JSON evidence an alert keeps: enough to re-assess, and what was shown."""
    site = finding.site
    cfg = finding.profile.configuration
    return {
        "record_id": finding.record_id,
        "site": {
            "id": site.id,
            "name": site.name,
            "kind": site.kind.value,
            "road": site.road,
            "lon": site.lon,
            "lat": site.lat,
            "jurisdiction": site.jurisdiction.code,
            "accuracy_class": str(site.accuracy_class),
            "device_serial": site.device_serial,
            "verification_certificate": site.verification_certificate,
            "verification_valid_until": (
                site.verification_valid_until.isoformat() if site.verification_valid_until else None
            ),
        },
        "vehicle_profile": {
            "kind": finding.profile.kind.value if finding.profile.kind else None,
            "source": finding.profile.source,
            "notes": list(finding.profile.notes),
            "axles": cfg.axles,
            "combination": cfg.combination,
            "single_drive_axle": cfg.single_drive_axle,
            "single_tyre_axles": cfg.single_tyre_axles,
            "licensed_gross_kg": cfg.licensed_gross_kg,
            "gb1589_exempt": cfg.gb1589_exempt,
        },
        "tolerance": {
            "deduct_pct": str(finding.tolerance.deduct_pct),
            "threshold_pct": str(finding.tolerance.threshold_pct),
        },
        "policy": {"part_tonne": finding.policy.part_tonne.value},
        "assessment": assessment_to_dict(assessment),
        "images": [{"kind": i.kind.value, "uri": i.uri, "sha256": i.sha256} for i in finding.reading.images],
    }


def finding_from_evidence(evidence: dict[str, Any], reading: WeighingReading) -> OverlimitFinding:
    """Rebuild the finding an alert was raised on, from its stored evidence and the weighing."""
    site = evidence["site"]
    profile = evidence["vehicle_profile"]
    valid_until = site["verification_valid_until"]
    return OverlimitFinding(
        record_id=evidence["record_id"],
        vehicle=reading.vehicle,
        measured_at=reading.measured_at,
        site=SiteSnapshot(
            id=site["id"],
            name=site["name"],
            kind=SiteKind(site["kind"]),
            road=site["road"],
            lon=float(site["lon"]),
            lat=float(site["lat"]),
            jurisdiction=DivisionCode.parse(site["jurisdiction"]),
            accuracy_class=Decimal(site["accuracy_class"]),
            device_serial=site["device_serial"],
            verification_certificate=site["verification_certificate"],
            verification_valid_until=date.fromisoformat(valid_until) if valid_until else None,
        ),
        profile=VehicleProfile(
            configuration=VehicleConfiguration(
                axles=int(profile["axles"]),
                combination=bool(profile["combination"]),
                single_drive_axle=bool(profile["single_drive_axle"]),
                single_tyre_axles=int(profile["single_tyre_axles"]),
                licensed_gross_kg=profile["licensed_gross_kg"],
                gb1589_exempt=bool(profile["gb1589_exempt"]),
            ),
            kind=VehicleKind(profile["kind"]) if profile["kind"] else None,
            source=profile["source"],
            notes=tuple(profile["notes"]),
        ),
        tolerance=Tolerance(
            Decimal(evidence["tolerance"]["deduct_pct"]),
            Decimal(evidence["tolerance"]["threshold_pct"]),
        ),
        policy=PenaltyPolicy(PartTonne(evidence["policy"]["part_tonne"])),
        reading=reading,
    )


def raise_overlimit_alert(
    *,
    alert_id: str,
    finding: OverlimitFinding,
    assessment: Assessment,
    admissibility: Admissibility,
    hearing_threshold_yuan: int,
    now: datetime,
) -> Alert:
    """The over-limit rule's alert. An inadmissible device's alert is kept but opens no case."""
    basis = tuple(str(c) for c in assessment.basis + assessment.penalty.basis)
    if not admissibility.admissible:
        basis += tuple(str(c) for c in admissibility.basis)
    return Alert(
        id=alert_id,
        rule_id=OVERLIMIT_RULE_ID,
        rule_version=OVERLIMIT_RULE_VERSION,
        severity=severity_of(assessment, hearing_threshold_yuan),
        status=AlertStatus.OPEN if admissibility.admissible else AlertStatus.NO_CASE,
        vehicle=finding.vehicle,
        site_id=finding.site.id,
        jurisdiction=finding.site.jurisdiction,
        occurred_at=finding.measured_at,
        created_at=now,
        weighing_record_id=finding.record_id,
        summary=summarise(finding, assessment),
        evidence=finding_evidence(finding, assessment),
        basis=basis,
        no_case_reason="；".join(admissibility.reasons),
    )
