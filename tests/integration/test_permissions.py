"""Every route × every role × scope: allowed exactly when the role holds the route's permission,
and data never crosses sideways between jurisdictions.

The table is the code's own (``ROLE_PERMISSIONS`` and each route's declared permission), walked
against the running application over HTTP; a route that declares no permission fails the suite.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    JINGHU,
    SHUSHAN,
    YAOHAI,
    KeySigner,
    add_site,
    add_user,
    bearer,
    minutes_before,
    unit_at,
    weighing,
)
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.accounts import Role
from zhifa.domain.cases import Officer
from zhifa.domain.permissions import API_KEY_SCOPES, ROLE_PERMISSIONS, Permission
from zhifa.domain.signatures import signed_headers
from zhifa.entrypoints.api import create_api
from zhifa.entrypoints.api.security import api_routes, declared_permission
from zhifa.services import accounts, registers
from zhifa.services import cases as case_service
from zhifa.services.weighings import ingest_weighings

USCC = "91340100MA2RX0KX2X"
# Routes FastAPI itself adds: the API description and its viewers, open by design.
FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
DENIED = {401, 403}


@dataclass
class World:
    app: App
    client: TestClient
    case_id: str
    filed_case_id: str
    alert_id: str
    record_id: str
    province_unit: str
    party_user: str


def _ingest_case(app: App, clock: FakeClock, record_id: str, site_id: str) -> tuple[str, str]:
    result = ingest_weighings(
        app.weighing_deps,
        [weighing(record_id, site_id=site_id, at=minutes_before(clock, 3), gross_kg=58_000)],
    )
    r = result.results[0]
    assert r.case_id and r.alert_id, r
    return r.case_id, r.alert_id


@pytest.fixture
def world(any_app: App, clock: FakeClock) -> Iterator[World]:
    """Cases in 瑶海区 (one pending, one filed), a Wuhu site, an enterprise and a party, on each store."""
    app = any_app
    add_site(app)
    add_site(app, "WIM-340202-01", county=JINGHU, name="芜湖不停车检测点")
    case_id, alert_id = _ingest_case(app, clock, "W-YAOHAI-1", "WIM-340102-01")
    filed_id, _ = _ingest_case(app, clock, "W-YAOHAI-2", "WIM-340102-01")
    case_service.approve_case(app.case_deps, filed_id, Officer("王执法", "34010020260001"))
    registers.register_enterprise(app.uow, app.ids, clock=app.clock, uscc=USCC, name="安徽测试物流有限公司")
    with TestClient(create_api(app), base_url="https://testserver") as client:
        party = add_user(app, "party.zhang", {Role.PARTY}, display_name="张三")
        yield World(
            app, client, case_id, filed_id, alert_id, "W-YAOHAI-1", unit_at(app, "340000").id, party.id
        )


def _enterprise_id(app: App) -> str:
    with app.uow() as uow:
        enterprise = uow.enterprises.get_by_uscc(USCC)
    assert enterprise is not None
    return enterprise.id


def _user_headers(world: World, role: Role, division: str) -> dict[str, str]:
    username = f"{role.value.replace('_', '-')}.{division}"
    extra: dict[str, Any] = {}
    if role is Role.ENTERPRISE_USER:
        extra["enterprise_id"] = _enterprise_id(world.app)
    add_user(world.app, username, {role}, division=division, **extra)
    return bearer(world.app, username)


def _routes(app: App) -> list[tuple[str, str, Permission]]:
    """(method, path, permission) of every route; fails on a route without a declared permission."""
    found = []
    undeclared = []
    for route in api_routes(create_api(app).routes):
        permission = declared_permission(route)
        if permission is None:
            undeclared.append(route.path)
            continue
        for method in sorted(route.methods or ()):
            found.append((method, route.path, permission))
    assert undeclared == [], f"routes without a declared permission: {undeclared}"
    return sorted(found, key=lambda r: (r[1] == "/api/v1/auth/logout", r[1] == "/logout", r[1], r[0]))


def _fill(path: str, world: World) -> str:
    values = {
        "case_id": world.filed_case_id,
        "alert_id": world.alert_id,
        "record_id": world.record_id,
        "site_id": "WIM-340102-01",
        "plate": "皖A12345",
        "plate_colour": "2",
        "user_id": world.party_user,
        "key_id": "no-such-key",
        "phone": "13511221122",  # enrolled to no vehicle: an allowed caller gets 404 (or 422 on PUT {})
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no sample value for a parameter of {path}"
    return path


def _body(method: str, path: str, world: World) -> bytes | None:
    if method not in ("POST", "PUT", "PATCH"):
        return None
    if path == "/api/v1/api-keys":
        # A valid body, so the province-only rule is reached and a county admin is refused.
        return json.dumps(
            {"unit_id": world.province_unit, "name": "matrix", "scopes": ["weighings:ingest"]}
        ).encode()
    # An empty body: an allowed caller gets past the permission to 4xx validation; nothing changes.
    return b"{}"


def _request(world: World, method: str, path: str, headers: dict[str, str], body: bytes | None) -> int:
    kwargs: dict[str, Any] = {
        "headers": headers | {"content-type": "application/json"},
        "follow_redirects": False,
    }
    if body is not None:
        kwargs["content"] = body
    status: int = world.client.request(method, path, **kwargs).status_code
    return status


@pytest.mark.parametrize("division", ["340000", YAOHAI], ids=["province", "county"])
def test_every_route_allows_exactly_the_roles_holding_its_permission(world: World, division: str) -> None:
    """Each role (and a machine key) at the province and at a county, against every route: a
    route answers 401/403 exactly when the role lacks the route's permission. Issuing and revoking
    machine keys is for the province alone."""
    routes = _routes(world.app)
    failures = []
    headers_of = {role: _user_headers(world, role, division) for role in Role if role is not Role.API_CLIENT}
    signer = KeySigner(world.app, unit_at(world.app, division).id)
    for method, template, permission in routes:
        path = _fill(template, world)
        body = _body(method, path, world)
        for role in Role:
            granted = API_KEY_SCOPES if role is Role.API_CLIENT else ROLE_PERMISSIONS[role]
            expected = permission is Permission.PUBLIC or permission in granted
            if permission is Permission.API_KEYS_MANAGE and division != "340000" and method == "POST":
                expected = False
            if role is Role.API_CLIENT:
                headers = signer.headers(method, path, body or b"")
            else:
                headers = headers_of[role]
            status = _request(world, method, path, headers, body)
            if (status not in DENIED) != expected:
                failures.append(
                    f"{method} {template} as {role.value}@{division}: {status}, expected "
                    f"{'allow' if expected else 'deny'} ({permission.value})"
                )
    assert failures == []


def test_anonymous_requests_are_refused_or_sent_to_sign_in(world: World) -> None:
    """Without credentials only public routes answer; the API says 401 with a problem body, pages
    send a browser to the sign-in page."""
    failures = []
    for method, template, permission in _routes(world.app):
        path = _fill(template, world)
        response = world.client.request(
            method, path, follow_redirects=False, content=_body(method, path, world)
        )
        if permission is Permission.PUBLIC:
            # Open without sign-in; the sign-in form may still refuse a post lacking its CSRF cookie.
            ok = response.status_code != 401
        elif path.startswith("/api/"):
            ok = response.status_code == 401 and response.headers["content-type"].startswith(
                "application/problem+json"
            )
        elif method == "GET":
            ok = response.status_code == 303 and response.headers["location"].startswith("/login?next=")
        else:
            ok = response.status_code == 401
        if not ok:
            failures.append(f"{method} {template}: {response.status_code}")
    assert failures == []


# Staff of these divisions look at data of 瑶海区 (340102, in 合肥市 340100).
SCOPES = [
    ("340000", True),  # the province sees everything
    ("340100", True),  # 合肥市 sees its counties
    (YAOHAI, True),  # the county itself
    (SHUSHAN, False),  # another county of the same city: sideways
    ("340200", False),  # 芜湖市: another city
    (JINGHU, False),  # a county of another city
]
DETAIL_PATHS = [
    "/api/v1/cases/{case_id}",
    "/api/v1/cases/{case_id}/notice.pdf",
    "/api/v1/alerts/{alert_id}",
    "/api/v1/weighings/{record_id}",
    "/cases/{case_id}",
    "/alerts/{alert_id}",
    "/weighings/{record_id}",
]


@pytest.mark.parametrize(("division", "sees"), SCOPES)
def test_staff_see_their_subtree_and_never_sideways(world: World, division: str, sees: bool) -> None:
    """Records of 瑶海区 are readable from the province, 合肥市 and 瑶海区, and absent (404) from a
    sibling county or another city; lists filtered to a sideways jurisdiction are refused (403),
    unfiltered lists hold only the principal's own subtree."""
    headers = _user_headers(world, Role.LEGAL_REVIEWER, division)
    for template in DETAIL_PATHS:
        status = _request(world, "GET", _fill(template, world), headers, None)
        assert status == (200 if sees else 404), (template, division, status)
    for path in ("/api/v1/cases", "/api/v1/alerts", "/api/v1/weighings"):
        own = world.client.get(path, headers=headers).json()
        assert (own["total"] > 0) == sees, (path, division)
        sideways = world.client.get(path, params={"jurisdiction": YAOHAI}, headers=headers)
        assert sideways.status_code == (200 if sees else 403), (path, division)


def test_a_party_and_an_enterprise_see_only_their_own_cases(world: World, clock: FakeClock) -> None:
    """A party sees nothing until an officer verified its vehicle, then exactly that vehicle's
    cases; an enterprise sees the cases against it; neither reaches the staff routes."""
    app = world.app
    party = bearer(app, "party.zhang")
    assert world.client.get("/api/v1/my/cases", headers=party).json()["total"] == 0
    assert world.client.get(f"/api/v1/my/cases/{world.case_id}", headers=party).status_code == 404
    officer = _user_headers(world, Role.OFFICER, YAOHAI)
    bound = world.client.post(
        f"/api/v1/users/{world.party_user}/vehicles",
        json={"plate": "皖A12345", "plate_colour": 2, "evidence": "窗口核验行驶证、身份证"},
        headers=officer,
    )
    assert bound.status_code == 201, bound.text
    party = bearer(app, "party.zhang")
    mine = world.client.get("/api/v1/my/cases", headers=party).json()
    assert mine["total"] == 2 and {c["plate"] for c in mine["items"]} == {"皖A12345"}
    assert (
        world.client.get(f"/api/v1/my/cases/{world.filed_case_id}/notice.pdf", headers=party).status_code
        == 200
    )
    assert world.client.get(f"/api/v1/cases/{world.case_id}", headers=party).status_code == 403

    # A vehicle of another plate is not the party's: its case stays invisible.
    other = ingest_weighings(
        app.weighing_deps,
        [weighing("W-OTHER", at=minutes_before(clock, 2), plate="皖A99999", gross_kg=58_000)],
    ).results[0]
    assert world.client.get(f"/api/v1/my/cases/{other.case_id}", headers=party).status_code == 404

    enterprise = _user_headers(world, Role.ENTERPRISE_USER, "340000")
    assert world.client.get("/api/v1/my/cases", headers=enterprise).json()["total"] == 0


def test_signed_requests_are_checked_and_replays_refused(world: World) -> None:
    """A machine key signs method, path, timestamp, nonce and body: a tampered body, a stale
    timestamp, a reused nonce and a revoked key are each refused with 401."""
    app = world.app
    signer = KeySigner(app, world.province_unit)
    path = "/api/v1/sites"
    headers = signer.headers("GET", path, b"")
    assert world.client.get(path, headers=headers).status_code == 200
    assert world.client.get(path, headers=headers).status_code == 401  # same nonce again: a replay

    body = b'{"records": []}'
    tampered = signer.headers("POST", "/api/v1/weighings", body)
    response = world.client.post(
        "/api/v1/weighings",
        content=b'{"records": [{}]}',
        headers=tampered | {"content-type": "application/json"},
    )
    assert response.status_code == 401 and "signature" in response.json()["detail"]

    stale = signed_headers(
        signer.key_id, signer.secret, "GET", path, int(time.time()) - 3600 * 24 * 400, uuid.uuid4().hex, b""
    )
    assert world.client.get(path, headers=stale).status_code == 401

    accounts.revoke_api_key(app.account_deps, None, signer.key_id)
    assert world.client.get(path, headers=signer.headers("GET", path, b"")).status_code == 401
