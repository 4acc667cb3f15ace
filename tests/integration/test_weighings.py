"""Ingest → assess → alert → case draft, on a real store.

Covers the acceptance points of issue #2 §5 and §7: invalid records rejected one by one with a
reason while valid ones are stored; re-sending a record id is idempotent; an over-limit weighing
from a verified, approved device opens a case draft for the site's jurisdiction; one from a
lapsed device raises an alert but no case, and says why.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.factories import JINGHU, YAOHAI, add_site, minutes_before, weighing
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.alerts import AlertStatus
from zhifa.domain.cases import CaseStatus, PartyKind
from zhifa.domain.sites import SiteKind
from zhifa.domain.vehicles import VehicleKind
from zhifa.domain.weighings import Disposition
from zhifa.services import registers
from zhifa.services.ingest import BatchTooLarge
from zhifa.services.queries import AlertFilter, CaseFilter, PageRequest, WeighingFilter
from zhifa.services.weighings import RecordStatus, ingest_weighings


def test_valid_and_invalid_records_in_one_batch(app: App, clock: FakeClock) -> None:
    """Bad records are rejected one by one with every reason; the good ones of the batch are kept."""
    add_site(app)
    at = minutes_before(clock, 5)
    batch = [
        weighing("OK-1", at=at, gross_kg=30_000),
        weighing("BAD-1", at=at, plate="皖AI2345", gross_kg=-5),
        {"record_id": "BAD-2", "site_id": "WIM-340102-01"},
        "not an object",
        weighing("BAD-3", at=at, site_id="NO-SUCH-SITE"),
        weighing("OK-2", at=at, gross_kg=31_000),
    ]
    result = ingest_weighings(app.weighing_deps, batch)

    statuses = [r.status for r in result.results]
    assert statuses == [
        RecordStatus.ACCEPTED,
        RecordStatus.REJECTED,
        RecordStatus.REJECTED,
        RecordStatus.REJECTED,
        RecordStatus.REJECTED,
        RecordStatus.ACCEPTED,
    ]
    bad1 = {e.field for e in result.results[1].errors}
    assert bad1 == {"plate", "gross_kg"}
    assert {e.field for e in result.results[2].errors} >= {"measured_at", "plate", "axles", "gross_kg"}
    assert result.results[3].errors[0].field == "record"
    assert result.results[4].errors[0].field == "site_id"
    page = app.read_model.weighings(WeighingFilter(), PageRequest())
    assert sorted(r["record_id"] for r in page.items) == ["OK-1", "OK-2"]


def test_resending_a_record_is_idempotent(app: App, clock: FakeClock) -> None:
    """The same record twice stores it once and raises one alert; the second answer is 'duplicate'."""
    add_site(app)
    record = weighing("W-1", at=minutes_before(clock, 3), gross_kg=58_000)
    first = ingest_weighings(app.weighing_deps, [record])
    second = ingest_weighings(app.weighing_deps, [record, dict(record)])

    assert first.results[0].status is RecordStatus.ACCEPTED
    assert [r.status for r in second.results] == [RecordStatus.DUPLICATE, RecordStatus.DUPLICATE]
    assert app.read_model.weighings(WeighingFilter(), PageRequest()).total == 1
    assert app.read_model.alerts(AlertFilter(), PageRequest()).total == 1
    assert app.read_model.cases(CaseFilter(), PageRequest()).total == 1


def test_duplicate_within_one_batch(app: App, clock: FakeClock) -> None:
    """A record repeated inside a single batch is stored once."""
    add_site(app)
    record = weighing("W-1", at=minutes_before(clock, 3), gross_kg=20_000)
    result = ingest_weighings(app.weighing_deps, [record, dict(record)])
    assert [r.status for r in result.results] == [RecordStatus.ACCEPTED, RecordStatus.DUPLICATE]


def test_reused_record_id_with_other_content_is_refused(app: App, clock: FakeClock) -> None:
    """An id already stored with different content is a conflict, not a silent overwrite."""
    add_site(app)
    at = minutes_before(clock, 3)
    ingest_weighings(app.weighing_deps, [weighing("W-1", at=at, gross_kg=20_000)])
    result = ingest_weighings(app.weighing_deps, [weighing("W-1", at=at, gross_kg=21_000)])
    assert result.results[0].status is RecordStatus.REJECTED
    assert result.results[0].errors[0].field == "record_id"
    with app.uow() as uow:
        kept = uow.weighings.get("W-1")
    assert kept is not None and kept.reading.gross_kg == 20_000


def test_overlimit_weighing_opens_a_case_draft_for_the_site_jurisdiction(app: App, clock: FakeClock) -> None:
    """Class-5 WIM, 6-axle combination, 58 000 kg: 5 % off gives 55 100 kg, 6 100 kg over 49 000.

    超限规定 第三条第一款第八项 and 第四十三条第一款第二项: 6 whole tonnes → 3 000 yuan.
    The case is a draft awaiting review (待审核) in 瑶海区, where the site is.
    """
    add_site(app)
    result = ingest_weighings(
        app.weighing_deps, [weighing("W-1", at=minutes_before(clock, 3), gross_kg=58_000)]
    )
    r = result.results[0]
    assert r.disposition is Disposition.OVERLIMIT and r.alert_id and r.case_id

    with app.uow() as uow:
        stored = uow.weighings.get("W-1")
        alert = uow.alerts.get(r.alert_id)
        case = uow.cases.get(r.case_id)
        history = uow.cases.history(r.case_id)
    assert stored is not None and stored.assessment is not None
    assert stored.assessment["effective_gross_kg"] == 55_100
    assert stored.assessment["excess_kg"] == 6_100
    assert stored.assessment["penalty"]["amount_yuan"] == 3_000
    assert alert is not None and alert.status is AlertStatus.CASE_OPENED
    assert alert.evidence["site"]["verification_valid_until"] == "2027-02-28"
    assert alert.evidence["images"][0]["kind"] == "front"
    assert case is not None and case.status is CaseStatus.PENDING_REVIEW
    assert case.jurisdiction.code == YAOHAI and case.case_number is None
    assert "超过49000千克的限定标准6100千克" in case.facts
    assert case.proposed_penalty["amount_yuan"] == 3_000
    assert [h.event for h in history] == ["opened"]


def test_lapsed_device_raises_an_alert_but_no_case_and_says_why(app: App, clock: FakeClock) -> None:
    """超限规定 第三十八条: data of a device whose verification lapsed is no basis for enforcement."""
    add_site(app, "WIM-OLD", valid_until=date(2026, 10, 31))
    result = ingest_weighings(
        app.weighing_deps, [weighing("W-1", site_id="WIM-OLD", at=minutes_before(clock, 3), gross_kg=60_000)]
    )
    r = result.results[0]
    assert r.disposition is Disposition.OVERLIMIT_INADMISSIBLE
    assert r.case_id is None and r.alert_id
    assert "2026-10-31" in r.reason and "不得作为执法依据" in r.reason
    with app.uow() as uow:
        alert = uow.alerts.get(r.alert_id)
        stored = uow.weighings.get("W-1")
    assert alert is not None and alert.status is AlertStatus.NO_CASE
    assert "第三十八条" in " ".join(alert.basis)
    assert stored is not None and stored.disposition_reason == r.reason
    assert app.read_model.cases(CaseFilter(), PageRequest()).total == 0


def test_device_not_approved_for_enforcement_opens_no_case(app: App, clock: FakeClock) -> None:
    """行政处罚法 第四十一条: a device without legal and technical review yields no case."""
    add_site(app, "WIM-NEW", approved_on=None)
    result = ingest_weighings(
        app.weighing_deps, [weighing("W-1", site_id="WIM-NEW", at=minutes_before(clock, 3), gross_kg=60_000)]
    )
    assert result.results[0].disposition is Disposition.OVERLIMIT_INADMISSIBLE
    assert "法制和技术审核" in result.results[0].reason


def test_verification_is_judged_on_the_local_day_of_the_weighing(app: App, clock: FakeClock) -> None:
    """A weighing at 23:30 Beijing time on the last valid day is admissible, though UTC says so too;
    one at 00:30 the next local day (16:30 UTC the same UTC day) is not."""
    add_site(app, "WIM-EDGE", valid_until=date(2026, 11, 20))
    clock.set(clock.now().replace(day=21, hour=3))
    last_day = clock.now().replace(day=20, hour=15, minute=30)  # 23:30 on 11-20 in Asia/Shanghai
    next_day = clock.now().replace(day=20, hour=16, minute=30)  # 00:30 on 11-21 in Asia/Shanghai
    result = ingest_weighings(
        app.weighing_deps,
        [
            weighing("W-LAST", site_id="WIM-EDGE", at=last_day, gross_kg=60_000),
            weighing("W-NEXT", site_id="WIM-EDGE", at=next_day, gross_kg=60_000),
        ],
    )
    assert [r.disposition for r in result.results] == [
        Disposition.OVERLIMIT,
        Disposition.OVERLIMIT_INADMISSIBLE,
    ]


def test_within_device_tolerance_is_recorded_not_alerted(app: App, clock: FakeClock) -> None:
    """51 000 kg on a class-5 device is 48 450 kg after tolerance: not over 49 000, no alert."""
    add_site(app)
    result = ingest_weighings(
        app.weighing_deps, [weighing("W-1", at=minutes_before(clock, 3), gross_kg=51_000)]
    )
    assert result.results[0].disposition is Disposition.WITHIN_TOLERANCE
    assert result.results[0].alert_id is None
    assert app.read_model.alerts(AlertFilter(), PageRequest()).total == 0


def test_expressway_entrance_applies_the_105_percent_rule(app: App, clock: FakeClock) -> None:
    """交办公路明电〔2019〕117号: at an entrance, 51 450 kg (105 % of 49 000) is not over-limit,
    51 451 kg is, and the excess then counts from the limit (2 451 kg → 1 000 yuan)."""
    add_site(app, "ENT-1", kind=SiteKind.EXPRESSWAY_ENTRANCE, accuracy_class=Decimal(1))
    at = minutes_before(clock, 3)
    result = ingest_weighings(
        app.weighing_deps,
        [
            weighing("E-1", site_id="ENT-1", at=at, gross_kg=51_450),
            weighing("E-2", site_id="ENT-1", at=at, gross_kg=51_451),
        ],
    )
    assert result.results[0].disposition is Disposition.WITHIN_TOLERANCE
    assert result.results[1].disposition is Disposition.OVERLIMIT
    with app.uow() as uow:
        stored = uow.weighings.get("E-2")
    assert stored is not None and stored.assessment is not None
    assert stored.assessment["excess_kg"] == 2_451
    assert stored.assessment["penalty"]["amount_yuan"] == 1_000


def test_registered_vehicle_decides_the_limit_and_the_party(app: App, clock: FakeClock) -> None:
    """A registered 3-axle truck (not a combination) is held to 25 000 kg, and the case is against
    its enterprise (an organisation), named on the case."""
    add_site(app)
    registers.register_enterprise(
        app.uow, app.ids, clock=app.clock, uscc="91340100MA2RX0KX2X", name="安徽测试物流有限公司"
    )
    registers.register_vehicle(
        app.uow,
        app.ids,
        registers.VehicleInput(
            plate="皖A7T123",
            plate_colour=2,
            kind=VehicleKind.TRUCK,
            axles=3,
            enterprise_uscc="91340100MA2RX0KX2X",
        ),
        clock=app.clock,
    )
    result = ingest_weighings(
        app.weighing_deps,
        [weighing("W-1", at=minutes_before(clock, 3), plate="皖A7T123", axles=3, gross_kg=28_000)],
    )
    r = result.results[0]
    assert r.disposition is Disposition.OVERLIMIT and r.case_id
    with app.uow() as uow:
        case = uow.cases.get(r.case_id)
        stored = uow.weighings.get("W-1")
    assert stored is not None and stored.assessment is not None
    assert stored.assessment["limit_kg"] == 25_000  # 超限规定 第三条第一款第五项, 三轴货车
    assert case is not None and case.party.kind is PartyKind.ORGANISATION
    assert case.party.name == "安徽测试物流有限公司"


def test_unregistered_three_axle_vehicle_gets_the_higher_limit(app: App, clock: FakeClock) -> None:
    """Not registered, no device classification: the 27 000 kg combination limit, in the party's favour."""
    add_site(app)
    result = ingest_weighings(
        app.weighing_deps,
        [weighing("W-1", at=minutes_before(clock, 3), plate="皖A9Z999", axles=3, gross_kg=27_500)],
    )
    with app.uow() as uow:
        stored = uow.weighings.get("W-1")
    assert stored is not None and stored.assessment is not None
    assert stored.assessment["limit_kg"] == 27_000
    assert result.results[0].disposition is Disposition.WITHIN_TOLERANCE  # 27 500 × 95 % = 26 125


def test_jurisdiction_filters_never_look_sideways(app: App, clock: FakeClock) -> None:
    """合肥 sees its 瑶海区 alert, 芜湖 (its 镜湖区 site) sees only its own."""
    add_site(app, "WIM-HF", county=YAOHAI)
    add_site(app, "WIM-WH", county=JINGHU)
    at = minutes_before(clock, 3)
    ingest_weighings(
        app.weighing_deps,
        [
            weighing("HF-1", site_id="WIM-HF", at=at, gross_kg=60_000),
            weighing("WH-1", site_id="WIM-WH", at=at, plate="皖B12345", gross_kg=60_000),
        ],
    )
    from zhifa.domain.jurisdictions import DivisionCode

    hefei = app.read_model.alerts(AlertFilter(under=DivisionCode("340100")), PageRequest())
    wuhu = app.read_model.cases(CaseFilter(under=DivisionCode("340200")), PageRequest())
    province = app.read_model.cases(CaseFilter(under=DivisionCode("340000")), PageRequest())
    assert [a["weighing_record_id"] for a in hefei.items] == ["HF-1"]
    assert [c["plate"] for c in wuhu.items] == ["皖B12345"]
    assert province.total == 2


def test_batch_larger_than_the_limit_is_refused_whole(app: App, clock: FakeClock) -> None:
    """An oversized batch is refused before anything is stored, so nothing is half-taken."""
    add_site(app)
    at = minutes_before(clock, 3)
    records = [weighing(f"W-{i}", at=at) for i in range(app.policy.max_batch_records + 1)]
    with pytest.raises(BatchTooLarge):
        ingest_weighings(app.weighing_deps, records)
    assert app.read_model.weighings(WeighingFilter(), PageRequest()).total == 0


def test_future_time_beyond_clock_skew_is_refused(app: App, clock: FakeClock) -> None:
    """A device clock ahead by more than the allowed skew is refused with the field named."""
    add_site(app)
    result = ingest_weighings(
        app.weighing_deps, [weighing("W-1", at=clock.now() + timedelta(minutes=10), gross_kg=20_000)]
    )
    assert result.results[0].status is RecordStatus.REJECTED
    assert result.results[0].errors[0].field == "measured_at"


@pytest.mark.postgres
def test_chain_on_postgres(any_app: App, clock: FakeClock) -> None:
    """The whole ingest chain gives the same outcome on each store."""
    add_site(any_app)
    result = ingest_weighings(
        any_app.weighing_deps, [weighing("W-1", at=minutes_before(clock, 3), gross_kg=58_000)]
    )
    assert result.results[0].disposition is Disposition.OVERLIMIT
    assert any_app.read_model.counts()["cases_pending_review"] == 1
