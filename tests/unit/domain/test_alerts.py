"""The over-limit alert: which configuration Art. 3 is applied to, severity, and frozen evidence.

Readings, sites and vehicles are built directly (no parsing, no clock): every time is a literal.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.domain.samples import WIM_SITE
from zhifa.domain.alerts import (
    OVERLIMIT_RULE_ID,
    OVERLIMIT_RULE_VERSION,
    AlertStatus,
    OverlimitFinding,
    Severity,
    SiteSnapshot,
    finding_evidence,
    finding_from_evidence,
    raise_overlimit_alert,
    severity_of,
    vehicle_profile,
)
from zhifa.domain.overlimit import (
    DEFAULT_POLICY,
    NO_TOLERANCE,
    Measurement,
    PartTonne,
    PenaltyPolicy,
    Tolerance,
    VehicleConfiguration,
    assess,
    assessment_to_dict,
    gross_mass_limit,
)
from zhifa.domain.sites import SiteKind, WeighingSite, admissibility
from zhifa.domain.vehicles import PlateColour, Vehicle, VehicleKey, VehicleKind
from zhifa.domain.weighings import EvidenceRef, ImageKind, WeighingReading

KEY = VehicleKey("皖A12345", PlateColour.YELLOW)
MEASURED_AT = datetime(2026, 5, 1, 2, 3, 4, tzinfo=UTC)
CREATED_AT = datetime(2026, 5, 1, 2, 3, 9, tzinfo=UTC)
HEARING_YUAN = 10_000

SITE = WIM_SITE


def reading(
    axles: int = 6, gross_kg: int = 60_000, vehicle_kind: VehicleKind | None = None, **extra: Any
) -> WeighingReading:
    return WeighingReading(
        record_id="WIM-340102-01-20260501100304-000001",
        site_id=SITE.id,
        measured_at=MEASURED_AT,
        vehicle=KEY,
        axles=axles,
        gross_kg=gross_kg,
        vehicle_kind=vehicle_kind,
        images=(EvidenceRef(ImageKind.FRONT, "https://wim.example/front.jpg", "a" * 64),),
        **extra,
    )


def registered(kind: VehicleKind, axles: int, **extra: Any) -> Vehicle:
    return Vehicle("v1", KEY, kind, axles, **extra)


def finding_for(
    r: WeighingReading,
    vehicle: Vehicle | None = None,
    site: WeighingSite = SITE,
    policy: PenaltyPolicy = DEFAULT_POLICY,
) -> OverlimitFinding:
    return OverlimitFinding(
        record_id=r.record_id,
        vehicle=r.vehicle,
        measured_at=r.measured_at,
        site=SiteSnapshot.of(site),
        profile=vehicle_profile(r, vehicle),
        tolerance=site.tolerance(),
        policy=policy,
        reading=r,
    )


# ---------------------------------------------------------------------------------------------
# vehicle_profile
# ---------------------------------------------------------------------------------------------

UNREGISTERED_NOTE = "车辆未登记且设备未识别车型，按有利于当事人的汽车列车限值认定"
DEVICE_NOTE = "车型取自检测设备识别结果"


@pytest.mark.parametrize(
    ("weighed_axles", "device_kind", "vehicle", "combination", "limit_kg", "source", "notes", "basis"),
    [
        pytest.param(
            6, None, registered(VehicleKind.TRACTOR, 3), True, 49_000, "register", (),
            "a tractor with its trailer is an 汽车列车: 第三条第一款第八项", id="tractor-3-weighed-6",
        ),
        pytest.param(
            4, None, registered(VehicleKind.TRUCK, 2), True, 36_000, "register",
            ("登记2轴，检测4轴，按汽车列车认定",),
            "more axles than registered: a truck with a trailer, 第六项 combination", id="truck-2-weighed-4",
        ),
        pytest.param(
            3, None, registered(VehicleKind.TRUCK, 3), False, 25_000, "register", (),
            "as registered: a rigid 3-axle truck, 第五项", id="truck-3-as-registered",
        ),
        pytest.param(
            3, None, registered(VehicleKind.COMBINATION, 3), True, 27_000, "register", (),
            "registered as a train: 第五项 combination", id="combination-3",
        ),
        pytest.param(
            2, None, registered(VehicleKind.FARM_VEHICLE, 2, licensed_gross_kg=4_500), False, 4_500,
            "register", (), "第三条第二款第四项: the 行驶证 mass", id="farm-vehicle",
        ),
        pytest.param(
            2, None, registered(VehicleKind.LOW_SPEED_TRUCK, 2, licensed_gross_kg=7_500), False, 7_500,
            "register", (), "第三条第二款第四项: the 行驶证 mass", id="low-speed-truck",
        ),
        pytest.param(
            2, None, registered(VehicleKind.TRUCK, 2, licensed_gross_kg=16_000), False, 18_000,
            "register", (), "a truck's 行驶证 mass is not its limit: 第四项", id="truck-licence-ignored",
        ),
        pytest.param(
            3, VehicleKind.TRUCK, registered(VehicleKind.TRACTOR, 2), True, 27_000, "register", (),
            "the register wins over the device", id="register-over-device",
        ),
        pytest.param(
            3, VehicleKind.TRUCK, None, False, 25_000, "device", (DEVICE_NOTE,),
            "unregistered: the device says truck", id="device-truck",
        ),
        pytest.param(
            4, VehicleKind.COMBINATION, None, True, 36_000, "device", (DEVICE_NOTE,),
            "unregistered: the device says combination", id="device-combination",
        ),
        pytest.param(
            3, None, None, True, 27_000, "default", (UNREGISTERED_NOTE,),
            "unknown 3-axle: the higher (combination) limit, in the party's favour", id="default-3",
        ),
        pytest.param(
            4, None, None, True, 36_000, "default", (UNREGISTERED_NOTE,),
            "unknown 4-axle: the higher (combination) limit", id="default-4",
        ),
        pytest.param(
            2, None, None, False, 18_000, "default", (), "2 axles have one limit", id="default-2",
        ),
        pytest.param(
            6, None, None, True, 49_000, "default", (), "6 axles: only combinations", id="default-6",
        ),
    ],
)  # fmt: skip
def test_vehicle_profile(
    weighed_axles: int,
    device_kind: VehicleKind | None,
    vehicle: Vehicle | None,
    combination: bool,
    limit_kg: int,
    source: str,
    notes: tuple[str, ...],
    basis: str,
) -> None:
    """The scale's axle count with what the register or device knows; unknowns read in the party's favour."""
    profile = vehicle_profile(reading(weighed_axles, vehicle_kind=device_kind), vehicle)
    assert profile.configuration.axles == weighed_axles
    assert profile.configuration.combination is combination
    assert gross_mass_limit(profile.configuration).kg == limit_kg
    assert profile.source == source
    assert profile.notes == notes
    assert profile.kind == (vehicle.kind if vehicle else device_kind)


@pytest.mark.parametrize(
    ("weighed_axles", "single_drive_axle", "limit_kg"),
    [
        pytest.param(5, False, 43_000, id="5-axles"),
        pytest.param(6, True, 46_000, id="6-axles"),
        pytest.param(7, True, 46_000, id="7-axles"),
    ],
)
def test_single_drive_axle_only_from_six_axles(
    weighed_axles: int, single_drive_axle: bool, limit_kg: int
) -> None:
    """第三条第一款第八项: the single-drive-axle limit (46 t) is for 6+ axle trains only."""
    tractor = registered(VehicleKind.TRACTOR, 3, single_drive_axle=True)
    config = vehicle_profile(reading(weighed_axles), tractor).configuration
    assert config.single_drive_axle is single_drive_axle
    assert gross_mass_limit(config).kg == limit_kg


def test_register_modifiers_pass_through() -> None:
    """Single-tyre axles and the GB 1589 exemption come from the register."""
    truck = registered(VehicleKind.TRUCK, 3, single_tyre_axles=1, gb1589_exempt=True)
    config = vehicle_profile(reading(3), truck).configuration
    assert config == VehicleConfiguration(axles=3, single_tyre_axles=1, gb1589_exempt=True)


def test_single_tyre_axles_capped_below_weighed_axles() -> None:
    """Weighed with fewer axles than registered, the single-tyre count never reaches every axle."""
    truck = registered(VehicleKind.TRUCK, 4, single_tyre_axles=3)
    assert vehicle_profile(reading(2), truck).configuration.single_tyre_axles == 1


# ---------------------------------------------------------------------------------------------
# severity_of
# ---------------------------------------------------------------------------------------------

SIX_AXLES = VehicleConfiguration(6, combination=True)


@pytest.mark.parametrize(
    ("measurement", "threshold", "severity", "reason"),
    [
        pytest.param(Measurement(49_000), HEARING_YUAN, Severity.LOW, "no penalty", id="compliant"),
        pytest.param(Measurement(50_000), HEARING_YUAN, Severity.LOW, "≤1 000 kg: warning", id="warning"),
        pytest.param(Measurement(50_001), HEARING_YUAN, Severity.MEDIUM, "500 yuan", id="first-fine"),
        pytest.param(Measurement(68_999), HEARING_YUAN, Severity.MEDIUM, "9 500 < threshold", id="below"),
        pytest.param(Measurement(69_000), HEARING_YUAN, Severity.HIGH, "10 000 = threshold", id="at"),
        pytest.param(Measurement(120_000), HEARING_YUAN, Severity.HIGH, "capped 30 000", id="cap"),
        pytest.param(
            Measurement(40_000, height_mm=4_300), 1_000, Severity.HIGH, "range max 1 000 = threshold",
            id="range-max-at-threshold",
        ),
        pytest.param(
            Measurement(40_000, height_mm=4_300), 1_001, Severity.MEDIUM, "range max 1 000 < threshold",
            id="range-max-below",
        ),
    ],
)  # fmt: skip
def test_severity_of(measurement: Measurement, threshold: int, severity: Severity, reason: str) -> None:
    """LOW for a warning, MEDIUM for a fine, HIGH once the maximum fine reaches the hearing threshold."""
    assert severity_of(assess(SIX_AXLES, measurement), threshold) is severity


# ---------------------------------------------------------------------------------------------
# raise_overlimit_alert
# ---------------------------------------------------------------------------------------------


def test_alert_from_admissible_device_is_open() -> None:
    """A verified, reviewed device: the alert is open, with summary, basis and evidence."""
    r = reading(6, 60_000)
    finding = finding_for(r, registered(VehicleKind.TRACTOR, 3))
    assessment = finding.assess()
    alert = raise_overlimit_alert(
        alert_id="A1",
        finding=finding,
        assessment=assessment,
        admissibility=admissibility(SITE, date(2026, 5, 1)),
        hearing_threshold_yuan=HEARING_YUAN,
        now=CREATED_AT,
    )
    assert alert.status is AlertStatus.OPEN
    assert alert.no_case_reason == ""
    assert alert.severity is Severity.MEDIUM
    assert (alert.rule_id, alert.rule_version) == (OVERLIMIT_RULE_ID, OVERLIMIT_RULE_VERSION)
    assert (alert.occurred_at, alert.created_at) == (MEASURED_AT, CREATED_AT)
    assert alert.jurisdiction == SITE.jurisdiction
    assert alert.weighing_record_id == r.record_id
    # 60 000 kg less 5 % is 57 000 kg: 8 000 kg over 49 000, 16.33 %.
    assert (
        alert.summary
        == "皖A12345（黄色） 于合肥东不停车检测点：6轴车货总质量57000千克，超限8000千克（16.33%）"
    )
    assert alert.basis == (
        "《超限运输车辆行驶公路管理规定》第三条第一款第八项",
        "《超限运输车辆行驶公路管理规定》第四十三条第一款第二项",
    )
    assert alert.evidence == finding_evidence(finding, assessment)


def test_alert_from_inadmissible_device_opens_no_case() -> None:
    """An expired verification: the alert is kept, status NO_CASE, with the reason and 第三十八条."""
    finding = finding_for(reading(6, 60_000))
    alert = raise_overlimit_alert(
        alert_id="A2",
        finding=finding,
        assessment=finding.assess(),
        admissibility=admissibility(SITE, date(2027, 3, 1)),
        hearing_threshold_yuan=HEARING_YUAN,
        now=CREATED_AT,
    )
    assert alert.status is AlertStatus.NO_CASE
    assert alert.no_case_reason == "检测设备检定有效期至2027-02-28，已过期，检测数据不得作为执法依据"
    assert alert.basis[-1] == "《超限运输车辆行驶公路管理规定》第三十八条"


def test_no_case_reasons_are_joined() -> None:
    """Both admissibility failures are kept, joined by a Chinese semicolon."""
    site = replace(SITE, verified_on=None, verification_valid_until=None, enforcement_approved_on=None)
    finding = finding_for(reading(6, 60_000), site=site)
    alert = raise_overlimit_alert(
        alert_id="A3",
        finding=finding,
        assessment=finding.assess(),
        admissibility=admissibility(site, date(2026, 5, 1)),
        hearing_threshold_yuan=HEARING_YUAN,
        now=CREATED_AT,
    )
    assert alert.no_case_reason == (
        "检测设备无有效检定记录，检测数据不得作为执法依据；"
        "检测设备未经法制和技术审核或设置地点未向社会公布，记录不得作为处罚证据"
    )
    assert alert.basis[-2:] == (
        "《超限运输车辆行驶公路管理规定》第三十八条",
        "《中华人民共和国行政处罚法》第四十一条第一款",
    )


def test_summary_lists_dimensions() -> None:
    """An over-height vehicle within the mass limit is summarised by its dimension alone."""
    finding = finding_for(reading(6, 40_000, height_mm=4_300, width_mm=2_600))
    alert = raise_overlimit_alert(
        alert_id="A4",
        finding=finding,
        assessment=finding.assess(),
        admissibility=admissibility(SITE, date(2026, 5, 1)),
        hearing_threshold_yuan=HEARING_YUAN,
        now=CREATED_AT,
    )
    assert alert.summary == "皖A12345（黄色） 于合肥东不停车检测点：超高，超宽"


# ---------------------------------------------------------------------------------------------
# The evidence round trip: the stored evidence re-assesses to the identical result
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "vehicle", "site", "policy"),
    [
        pytest.param(
            reading(6, 60_000), registered(VehicleKind.TRACTOR, 3), SITE, DEFAULT_POLICY,
            id="wim-class-5-tractor",
        ),
        pytest.param(
            reading(6, 61_234), registered(VehicleKind.TRACTOR, 3, single_drive_axle=True),
            replace(SITE, accuracy_class=Decimal("0.5")), PenaltyPolicy(PartTonne.COUNT),
            id="single-drive-count",
        ),
        pytest.param(
            reading(2, 6_100), registered(VehicleKind.FARM_VEHICLE, 2, licensed_gross_kg=4_500),
            replace(SITE, kind=SiteKind.FIXED_STATION), DEFAULT_POLICY, id="farm-fixed-station",
        ),
        pytest.param(
            reading(3, 29_000), None, replace(SITE, kind=SiteKind.EXPRESSWAY_ENTRANCE), DEFAULT_POLICY,
            id="unregistered-entrance",
        ),
        pytest.param(
            reading(4, 33_000, VehicleKind.TRUCK, height_mm=4_600, length_mm=20_500), None,
            replace(SITE, tolerance_pct=Decimal("2.5"), verification_valid_until=None, verified_on=None),
            DEFAULT_POLICY, id="device-kind-dimensions-no-verification",
        ),
        pytest.param(
            reading(3, 30_000), registered(VehicleKind.TRUCK, 3, single_tyre_axles=1), SITE,
            PenaltyPolicy(PartTonne.COUNT), id="single-tyre",
        ),
        pytest.param(
            reading(3, 40_000), registered(VehicleKind.SPECIAL_PURPOSE, 3, gb1589_exempt=True), SITE,
            DEFAULT_POLICY, id="gb1589-exempt",
        ),
    ],
)  # fmt: skip
def test_evidence_round_trip_reassesses_identically(
    r: WeighingReading, vehicle: Vehicle | None, site: WeighingSite, policy: PenaltyPolicy
) -> None:
    """finding_evidence → JSON → finding_from_evidence rebuilds the finding and its assessment exactly."""
    finding = finding_for(r, vehicle, site, policy)
    assessment = finding.assess()
    stored = json.loads(json.dumps(finding_evidence(finding, assessment), ensure_ascii=False))
    rebuilt = finding_from_evidence(stored, r)
    assert rebuilt == finding
    assert assessment_to_dict(rebuilt.assess()) == assessment_to_dict(assessment)
    assert stored["assessment"] == assessment_to_dict(assessment)


def test_evidence_is_frozen_against_later_site_changes() -> None:
    """Rebuilding uses the snapshot, not today's site: a later class change does not alter it."""
    finding = finding_for(reading(6, 60_000), registered(VehicleKind.TRACTOR, 3))
    evidence = finding_evidence(finding, finding.assess())
    assert evidence["site"]["accuracy_class"] == "5"
    assert evidence["tolerance"] == {"deduct_pct": "5", "threshold_pct": "100"}
    assert evidence["site"]["verification_valid_until"] == "2027-02-28"
    assert evidence["vehicle_profile"]["kind"] == "tractor"
    assert evidence["images"] == [
        {"kind": "front", "uri": "https://wim.example/front.jpg", "sha256": "a" * 64}
    ]
    assert finding_from_evidence(evidence, finding.reading).tolerance == Tolerance(Decimal(5), Decimal(100))


def test_no_tolerance_finding_matches_plain_assess() -> None:
    """A finding re-assesses exactly as assess() does on the same configuration and measurement."""
    r = reading(5, 45_500)
    finding = finding_for(r, None, replace(SITE, kind=SiteKind.FIXED_STATION))
    assert finding.tolerance == NO_TOLERANCE
    assert finding.assess() == assess(VehicleConfiguration(5, combination=True), Measurement(45_500))
