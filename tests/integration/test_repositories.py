"""One repository contract, every store: SQLite (embedded) and PostgreSQL (production).

``RepositoryContract`` holds the tests; each subclass supplies the platform on one store.
Under CI=true the PostgreSQL subclass fails rather than skips when the server is down.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.factories import YAOHAI, add_site, make_app
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.alerts import Alert, AlertStatus, Severity
from zhifa.domain.cases import (
    CaseRecordEntry,
    Officer,
    Party,
    PartyKind,
    approve,
    open_offsite_case,
)
from zhifa.domain.documents import Document, DocumentKind
from zhifa.domain.enterprises import Enterprise
from zhifa.domain.jurisdictions import DivisionCode, Jurisdiction
from zhifa.domain.sites import SiteKind, WeighingSite
from zhifa.domain.vehicles import PlateColour, Vehicle, VehicleKey, VehicleKind
from zhifa.domain.weighings import Disposition, EvidenceRef, ImageKind, WeighingReading
from zhifa.services.ports import ConcurrentUpdate, DuplicateKey, StoredWeighing

AT = datetime(2026, 11, 20, 2, 5, 3, 123456, tzinfo=UTC)
KEY = VehicleKey("皖A12345", PlateColour.YELLOW)


def _reading(record_id: str = "R-1", **changes: object) -> WeighingReading:
    values: dict[str, object] = {
        "record_id": record_id,
        "site_id": "WIM-340102-01",
        "measured_at": AT,
        "vehicle": KEY,
        "axles": 6,
        "gross_kg": 55_300,
        "axle_loads_kg": (6_000, 9_000, 10_000, 10_100, 10_100, 10_100),
        "height_mm": 4_050,
        "width_mm": 2_500,
        "length_mm": 17_900,
        "speed_kmh": Decimal("62.5"),
        "lane": 2,
        "direction": "上行",
        "vehicle_kind": VehicleKind.COMBINATION,
        "images": (EvidenceRef(ImageKind.FRONT, "https://wim.example/f.jpg", "a" * 64),),
    }
    values.update(changes)
    return WeighingReading(**values)  # type: ignore[arg-type]


def _stored(reading: WeighingReading, alert_id: str | None = None) -> StoredWeighing:
    return StoredWeighing(
        reading=reading,
        jurisdiction=DivisionCode(YAOHAI),
        digest=reading.content_digest(),
        received_at=AT + timedelta(seconds=2),
        disposition=Disposition.OVERLIMIT if alert_id else Disposition.COMPLIANT,
        disposition_reason="",
        assessment={"limit_kg": 49_000, "excess_kg": 3_535},
        alert_id=alert_id,
    )


def _alert(alert_id: str = "A-1", record_id: str = "R-1") -> Alert:
    return Alert(
        id=alert_id,
        rule_id="overlimit.weighing",
        rule_version=1,
        severity=Severity.MEDIUM,
        status=AlertStatus.OPEN,
        vehicle=KEY,
        site_id="WIM-340102-01",
        jurisdiction=DivisionCode(YAOHAI),
        occurred_at=AT,
        created_at=AT + timedelta(seconds=2),
        weighing_record_id=record_id,
        summary="皖A12345（黄色） 超限",
        evidence={"record_id": record_id, "nested": {"list": [1, 2, 3], "text": "中文"}},
        basis=("《超限运输车辆行驶公路管理规定》第三条第一款第八项",),
    )


def _case(case_id: str = "C-1", alert_id: str = "A-1", record_id: str = "R-1"):  # type: ignore[no-untyped-def]
    return open_offsite_case(
        case_id=case_id,
        alert_id=alert_id,
        weighing_record_id=record_id,
        jurisdiction=DivisionCode(YAOHAI),
        vehicle=KEY,
        party=Party(PartyKind.INDIVIDUAL, ""),
        facts="事实",
        proposed_penalty={"kind": "fine", "amount_yuan": 1500},
        basis=("《超限运输车辆行驶公路管理规定》第四十三条第一款第二项",),
        now=AT,
    )


def _seed_weighing_alert_case(app: App) -> None:
    add_site(app)
    with app.uow() as uow:
        uow.weighings.add(_stored(_reading(), alert_id="A-1"))
        uow.alerts.add(_alert())
        uow.cases.add(_case())
        uow.commit()


class RepositoryContract:
    __test__ = False

    @pytest.fixture
    def store(self) -> App:  # pragma: no cover - overridden per store
        raise NotImplementedError

    def test_jurisdictions_are_loaded_as_a_tree(self, store: App) -> None:
        """The reference load gives 1 + 16 + 104 units; ``list(under=...)`` walks a subtree only."""
        with store.uow() as uow:
            everything = uow.jurisdictions.list()
            hefei = uow.jurisdictions.list(DivisionCode("340100"))
            yaohai = uow.jurisdictions.get(DivisionCode(YAOHAI))
            boundaries = uow.jurisdictions.boundaries(DivisionCode("340100"))
        assert len(everything) == 121
        assert {j.code.code for j in hefei} >= {"340100", "340102", "340104"}
        assert all(j.code.code.startswith("3401") for j in hefei)
        assert yaohai is not None and yaohai.name == "瑶海区" and yaohai.authority.endswith("大队")
        assert set(boundaries) == {j.code.code for j in hefei}
        assert '"type"' in boundaries[YAOHAI]

    def test_jurisdiction_codes_are_unique(self, store: App) -> None:
        """Adding a code twice is refused, not merged."""
        with store.uow() as uow, pytest.raises(DuplicateKey):
            uow.jurisdictions.add(Jurisdiction(DivisionCode(YAOHAI), "瑶海区", "x"))

    def test_site_round_trip_and_update(self, store: App) -> None:
        """A site keeps every field, decimals and dates included, and ``save`` updates in place."""
        add_site(store, "WS-1", kind=SiteKind.FIXED_STATION, accuracy_class=Decimal("0.5"))
        with store.uow() as uow:
            site = uow.sites.get("WS-1")
            assert site is not None
            assert site.kind is SiteKind.FIXED_STATION
            assert site.accuracy_class == Decimal("0.5")
            assert site.verification_valid_until == date(2027, 2, 28)
            renewed = WeighingSite(**{**site.__dict__, "verification_valid_until": date(2028, 2, 28)})
            uow.sites.save(renewed)
            uow.commit()
        with store.uow() as uow:
            again = uow.sites.get("WS-1")
            listed = [s.id for s in uow.sites.list(DivisionCode("340200"))]
        assert again is not None and again.verification_valid_until == date(2028, 2, 28)
        assert listed == []  # 芜湖 does not see a 合肥 site

    def test_vehicles_are_keyed_by_plate_and_colour(self, store: App) -> None:
        """Same plate, other colour is another vehicle; same plate and colour is a duplicate."""
        with store.uow() as uow:
            uow.enterprises.add(Enterprise("E-1", "91340100MA2RX0KX2X", "安徽测试物流有限公司", "340100"))
            uow.vehicles.add(Vehicle("V-1", KEY, VehicleKind.TRACTOR, 3, enterprise_id="E-1"))
            uow.vehicles.add(Vehicle("V-2", VehicleKey("皖A12345", PlateColour.BLUE), VehicleKind.TRUCK, 2))
            uow.commit()
        with store.uow() as uow:
            found = uow.vehicles.get_by_key(KEY)
            assert found is not None and found.id == "V-1" and found.enterprise_id == "E-1"
            assert found.kind is VehicleKind.TRACTOR
            assert uow.enterprises.get_by_uscc("91340100MA2RX0KX2X") is not None
            with pytest.raises(DuplicateKey):
                uow.vehicles.add(Vehicle("V-3", KEY, VehicleKind.TRUCK, 2))

    def test_weighing_round_trip_keeps_every_field(self, store: App) -> None:
        """What is stored comes back equal: aware UTC time, tuples, decimals, images, digest."""
        add_site(store)
        reading = _reading()
        with store.uow() as uow:
            uow.weighings.add(_stored(reading))
            uow.commit()
        with store.uow() as uow:
            back = uow.weighings.get("R-1")
        assert back is not None
        assert back.reading == reading
        assert back.reading.measured_at.tzinfo is not None
        assert back.reading.measured_at == AT
        assert back.digest == reading.content_digest()
        assert back.assessment == {"limit_kg": 49_000, "excess_kg": 3_535}

    def test_weighing_digests_cover_large_batches(self, store: App) -> None:
        """``digests`` answers for more ids than one statement may bind (it chunks)."""
        add_site(store)
        with store.uow() as uow:
            for i in range(620):
                uow.weighings.add(_stored(_reading(f"R-{i:04d}", gross_kg=10_000 + i)))
            uow.commit()
        with store.uow() as uow:
            found = uow.weighings.digests([f"R-{i:04d}" for i in range(700)])
        assert len(found) == 620
        assert found["R-0619"] == _reading("R-0619", gross_kg=10_619).content_digest()

    def test_alert_round_trip(self, store: App) -> None:
        """An alert comes back equal: JSON evidence intact (Chinese text too), aware times, basis."""
        _seed_weighing_alert_case(store)
        with store.uow() as uow:
            alert = uow.alerts.get("A-1")
            missing = uow.alerts.get("A-404")
        assert alert == _alert()
        assert alert is not None and alert.occurred_at.tzinfo is not None
        assert missing is None

    def test_one_alert_per_weighing(self, store: App) -> None:
        """The same weighing cannot raise a second alert of the rule."""
        _seed_weighing_alert_case(store)
        with store.uow() as uow, pytest.raises(DuplicateKey):
            uow.alerts.add(_alert("A-2", "R-1"))

    def test_case_save_is_optimistic(self, store: App) -> None:
        """Saving with a stale version raises ConcurrentUpdate; the winner's change stays."""
        _seed_weighing_alert_case(store)
        officer = Officer("张三", "34010012345")
        with store.uow() as uow:
            case = uow.cases.get("C-1")
            assert case is not None and uow.cases.get_by_alert("A-1") == case
            filed = approve(case, officer=officer, case_number="皖交执罚〔2026〕1号", missing=(), now=AT)
            uow.cases.save(filed, expected_version=case.version)
            uow.commit()
        with store.uow() as uow:
            stale = approve(case, officer=officer, case_number="皖交执罚〔2026〕2号", missing=(), now=AT)
            with pytest.raises(ConcurrentUpdate):
                uow.cases.save(stale, expected_version=case.version)
        with store.uow() as uow:
            stored = uow.cases.get("C-1")
        assert stored is not None and stored.case_number == "皖交执罚〔2026〕1号"
        assert stored.reviewed_by == officer and stored.version == 2

    def test_case_history_is_ordered(self, store: App) -> None:
        """History entries come back in the order they were recorded."""
        _seed_weighing_alert_case(store)
        with store.uow() as uow:
            for i, event in enumerate(("opened", "filed", "notice_issued")):
                uow.cases.record("C-1", CaseRecordEntry(AT + timedelta(seconds=i), "system", event, {"i": i}))
            uow.commit()
        with store.uow() as uow:
            history = uow.cases.history("C-1")
        assert [h.event for h in history] == ["opened", "filed", "notice_issued"]
        assert history[2].detail == {"i": 2}

    def test_documents_belong_to_cases(self, store: App) -> None:
        """A document is found by id and listed with its case."""
        _seed_weighing_alert_case(store)
        doc = Document(
            "D-1", "C-1", DocumentKind.NOTICE, "皖交执罚〔2026〕1号", "b" * 64, "application/pdf", 6400, AT
        )
        with store.uow() as uow:
            uow.documents.add(doc)
            uow.commit()
        with store.uow() as uow:
            assert uow.documents.get("D-1") == doc
            assert uow.documents.for_case("C-1") == [doc]

    def test_sequences_count_per_series_and_return_numbers_on_rollback(self, store: App) -> None:
        """Each series counts 1, 2, 3…; a rolled-back draw is given back, so there are no gaps."""
        with store.uow() as uow:
            assert [uow.sequences.next("皖交执罚〔2026〕{seq}号") for _ in range(3)] == [1, 2, 3]
            assert uow.sequences.next("皖交执罚〔2027〕{seq}号") == 1
            uow.commit()
        with store.uow() as uow:
            assert uow.sequences.next("皖交执罚〔2026〕{seq}号") == 4
            uow.rollback()
        with store.uow() as uow:
            assert uow.sequences.next("皖交执罚〔2026〕{seq}号") == 4


class TestSqliteRepositories(RepositoryContract):
    __test__ = True

    @pytest.fixture
    def store(self, tmp_path: Path, clock: FakeClock) -> Iterator[App]:
        app = make_app(f"sqlite:///{tmp_path / 'zhifa.db'}", tmp_path / "data", clock)
        yield app
        app.close()


@pytest.mark.postgres
class TestPostgresRepositories(RepositoryContract):
    __test__ = True

    @pytest.fixture
    def store(self, postgres_schema_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[App]:
        app = make_app(postgres_schema_url, tmp_path / "data", clock)
        yield app
        app.close()
