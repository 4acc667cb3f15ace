"""The JSON API over HTTP: ingest, lists, review, the notice, registers, errors, OpenAPI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    JINGHU,
    OFFICER_CREDENTIAL,
    OFFICER_NAME,
    add_site,
    add_user,
    bearer,
    minutes_before,
    staff_headers,
    weighing,
)
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.accounts import Role
from zhifa.domain.weighings import RECORD_FIELDS
from zhifa.entrypoints.api import create_api

REPO = Path(__file__).resolve().parents[2]
OPENAPI_FILE = REPO / "docs" / "openapi.json"
OFFICER = {"officer_name": "王执法", "officer_credential": "34010020260001"}


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    """A client signed in as a province-level officer who also ingests and keeps the registers."""
    with TestClient(create_api(app), headers=staff_headers(app)) as c:
        yield c


def _post(client: TestClient, records: list[object]) -> dict:  # type: ignore[type-arg]
    response = client.post("/api/v1/weighings", json={"records": records})
    assert response.status_code == 200, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def test_ingest_reports_each_record(app: App, client: TestClient, clock: FakeClock) -> None:
    """One answer per record, in order, with counts; rejected records carry field and reason."""
    add_site(app)
    at = minutes_before(clock, 3)
    body = _post(
        client,
        [weighing("OK-1", at=at, gross_kg=58_000), weighing("BAD-1", at=at, plate_colour=7), {"junk": 1}],
    )
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 0, 2)
    ok, bad, junk = body["results"]
    assert ok["status"] == "accepted" and ok["disposition"] == "overlimit" and ok["case_id"]
    assert bad["status"] == "rejected" and bad["record_id"] == "BAD-1"
    assert [e["field"] for e in bad["errors"]] == ["plate_colour"]
    assert junk["record_id"] is None and junk["errors"]
    again = _post(client, [weighing("OK-1", at=at, gross_kg=58_000)])
    assert again["duplicates"] == 1


def test_malformed_envelope_is_a_problem(client: TestClient) -> None:
    """A body without ``records`` is refused as a whole with RFC 9457 problem details."""
    response = client.post("/api/v1/weighings", json=[{"record_id": "x"}])
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].endswith("/invalid-request")
    assert problem["instance"] == "/api/v1/weighings"


def test_oversized_batch_is_413(app: App, client: TestClient, clock: FakeClock) -> None:
    add_site(app)
    records = [
        weighing(f"W-{i}", at=minutes_before(clock, 3)) for i in range(app.policy.max_batch_records + 1)
    ]
    response = client.post("/api/v1/weighings", json={"records": records})
    assert response.status_code == 413
    assert response.json()["type"].endswith("/batch-too-large")


def test_lists_filter_and_page(app: App, client: TestClient, clock: FakeClock) -> None:
    """Lists answer with items/total/limit/offset and honour jurisdiction, plate and status filters."""
    add_site(app, "WIM-HF")
    add_site(app, "WIM-WH", county=JINGHU)
    at = minutes_before(clock, 3)
    _post(
        client,
        [
            weighing("HF-1", site_id="WIM-HF", at=at, gross_kg=58_000),
            weighing("HF-2", site_id="WIM-HF", at=at, plate="皖A22222", gross_kg=20_000),
            weighing("WH-1", site_id="WIM-WH", at=at, plate="皖B12345", gross_kg=58_000),
        ],
    )
    assert client.get("/api/v1/weighings").json()["total"] == 3
    hefei = client.get("/api/v1/weighings", params={"jurisdiction": "340100"}).json()
    assert sorted(i["record_id"] for i in hefei["items"]) == ["HF-1", "HF-2"]
    page = client.get("/api/v1/weighings", params={"limit": 1, "offset": 1}).json()
    assert (page["total"], len(page["items"]), page["offset"]) == (3, 1, 1)
    by_plate = client.get("/api/v1/alerts", params={"plate": "皖B"}).json()
    assert [a["weighing_record_id"] for a in by_plate["items"]] == ["WH-1"]
    pending = client.get("/api/v1/cases", params={"status": "pending_review"}).json()
    assert pending["total"] == 2
    assert client.get("/api/v1/weighings", params={"jurisdiction": "34"}).status_code == 422
    assert client.get("/api/v1/weighings", params={"limit": 0}).status_code == 422


def test_review_through_the_api_and_fetch_the_notice(app: App, client: TestClient, clock: FakeClock) -> None:
    """POST approve → case number and notice; the PDF comes back byte for byte with its digest."""
    add_site(app)
    case_id = _post(client, [weighing("W-1", at=minutes_before(clock, 3), gross_kg=58_000)])["results"][0][
        "case_id"
    ]
    detail = client.get(f"/api/v1/cases/{case_id}").json()
    assert detail["status"] == "pending_review" and detail["evidence"]["assessment"]["excess_kg"] == 6_100

    approved = client.post(f"/api/v1/cases/{case_id}/approve", json=OFFICER)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["case_number"] == "皖交执罚〔2026〕1号"
    assert body["status"] == "notice_issued"
    assert [h["event"] for h in body["history"]] == ["opened", "filed", "notice_issued"]
    notice = client.get(f"/api/v1/cases/{case_id}/notice.pdf")
    assert notice.status_code == 200
    assert notice.headers["content-type"] == "application/pdf"
    assert notice.headers["x-content-sha256"] == body["documents"][0]["sha256"]
    assert notice.content.startswith(b"%PDF")

    again = client.post(f"/api/v1/cases/{case_id}/approve", json=OFFICER)
    assert again.status_code == 422 and again.json()["type"].endswith("/rule-violated")


def test_review_is_by_the_signed_in_officer(app: App, client: TestClient, clock: FakeClock) -> None:
    """The reviewer is the signed-in officer (name and credential from the account, not the body);
    a duty officer, who may not review, is refused with 403 and the case stays pending."""
    add_site(app)
    case_id = _post(client, [weighing("W-1", at=minutes_before(clock, 3), gross_kg=58_000)])["results"][0][
        "case_id"
    ]
    add_user(app, "duty.only", {Role.DUTY_OFFICER})
    refused = client.post(
        f"/api/v1/cases/{case_id}/reject", json={"reason": "车牌识别错误"}, headers=bearer(app, "duty.only")
    )
    assert refused.status_code == 403 and refused.json()["type"].endswith("/forbidden")
    assert client.get(f"/api/v1/cases/{case_id}").json()["status"] == "pending_review"
    reject = client.post(
        f"/api/v1/cases/{case_id}/reject", json={"officer_name": "冒名者", "reason": "车牌识别错误"}
    )
    assert reject.status_code == 200 and reject.json()["status"] == "rejected"
    assert reject.json()["reviewed_by"] == f"{OFFICER_NAME}（执法证号{OFFICER_CREDENTIAL}）"


def test_unknown_things_are_404_problems(client: TestClient) -> None:
    for path in (
        "/api/v1/cases/nope",
        "/api/v1/alerts/nope",
        "/api/v1/weighings/nope",
        "/api/v1/cases/nope/notice.pdf",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")


def test_registers_validate_codes(client: TestClient) -> None:
    """Enterprise codes and plates are checked (RULES.md §7); a bad one is a 422 naming the rule."""
    bad = client.post("/api/v1/enterprises", json={"uscc": "91340100MA2RX0KX2N", "name": "测试"})
    assert bad.status_code == 422 and "check character" in bad.json()["detail"]
    good = client.post(
        "/api/v1/enterprises", json={"uscc": "91340100MA2RX0KX2X", "name": "安徽测试物流有限公司"}
    )
    assert good.status_code == 201
    dup = client.post("/api/v1/enterprises", json={"uscc": "91340100MA2RX0KX2X", "name": "again"})
    assert dup.status_code == 409
    vehicle = {
        "plate": "皖A12345",
        "plate_colour": 2,
        "kind": "tractor",
        "axles": 3,
        "enterprise_uscc": "91340100MA2RX0KX2X",
    }
    assert client.post("/api/v1/vehicles", json=vehicle).status_code == 201
    assert client.get("/api/v1/vehicles/皖A12345/2").json()["kind"] == "tractor"
    assert client.get("/api/v1/vehicles/皖A12345/1").status_code == 404
    bad_plate = client.post("/api/v1/vehicles", json={**vehicle, "plate": "皖AO1234"})
    assert bad_plate.status_code == 422 and "GA 36-2018" in bad_plate.json()["detail"]


def test_sites_and_jurisdictions(client: TestClient) -> None:
    """A site is registered with PUT and listed under its city; jurisdictions form the tree."""
    site = {
        "name": "测试不停车检测点",
        "kind": "weigh_in_motion",
        "lon": 117.35,
        "lat": 31.87,
        "jurisdiction": "340102",
        "accuracy_class": 5,
        "verified_on": "2026-03-01",
        "verification_valid_until": "2027-02-28",
        "enforcement_approved_on": "2026-03-15",
    }
    put = client.put("/api/v1/sites/WIM-T1", json=site)
    assert put.status_code == 200, put.text
    assert put.json()["jurisdiction_name"] == "瑶海区"
    assert [s["id"] for s in client.get("/api/v1/sites", params={"jurisdiction": "340100"}).json()] == [
        "WIM-T1"
    ]
    assert client.get("/api/v1/sites", params={"jurisdiction": "340200"}).json() == []
    bad = client.put("/api/v1/sites/WIM-T2", json={**site, "accuracy_class": 3})
    assert bad.status_code == 422
    hefei = client.get("/api/v1/jurisdictions", params={"jurisdiction": "340100"}).json()
    assert hefei[0]["code"] == "340100" and len(hefei) > 5


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "sqlite"}


def test_openapi_documents_the_weighing_record(client: TestClient) -> None:
    """The published record schema lists exactly the fields the ingest validator accepts."""
    schema = client.get("/openapi.json").json()
    record = schema["components"]["schemas"]["WeighingRecord"]
    assert set(record["properties"]) == set(RECORD_FIELDS)
    batch = schema["components"]["schemas"]["WeighingBatch"]
    assert batch["properties"]["records"]["items"] == {"$ref": "#/components/schemas/WeighingRecord"}
    assert "EvidenceImage" in schema["components"]["schemas"]


def test_committed_openapi_description_is_current(client: TestClient) -> None:
    """docs/openapi.json is what the code serves; regenerate with `zhifa openapi > docs/openapi.json`."""
    served = client.get("/openapi.json").json()
    committed = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert committed == served, "docs/openapi.json is stale: run `uv run zhifa openapi > docs/openapi.json`"
