"""The terminal register (车载终端档案) on every store: enrolment, the 0x0100 registration the
gateway decides with it, 0x0102 authentication, blocking, the audit trail, and the HTTP routes.

Runs on SQLite and PostgreSQL (the ``any_app`` fixture).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories import JINGHU, SHUSHAN, YAOHAI, add_user, bearer
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.accounts import Role
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.terminals import InvalidTerminal, RegisterResult
from zhifa.domain.vehicles import PlateColour, VehicleKey, VehicleKind
from zhifa.entrypoints.api import create_api
from zhifa.services import registers
from zhifa.services import terminals as svc
from zhifa.services.ports import AuditFilter, DuplicateKey
from zhifa.services.queries import PageRequest

PHONE = "13511221122"
OTHER_PHONE = "13900000001"
KEY = VehicleKey("皖A12345", PlateColour.YELLOW)  # 车籍地 瑶海区
WUHU_KEY = VehicleKey("皖B99999", PlateColour.YELLOW)  # 车籍地 镜湖区 (芜湖)
HOMELESS_KEY = VehicleKey("皖A77777", PlateColour.YELLOW)  # no 车籍地 recorded
DEVICE = "RM1234567"


class Codes:
    """A ``new_code`` that hands out distinct, recognisable codes and remembers them."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    def __call__(self) -> str:
        self.issued.append(f"Code{len(self.issued):04d}-xYz-{len(self.issued) * 7:06d}")
        return self.issued[-1]


def _vehicle(app: App, key: VehicleKey, home: str | None) -> str:
    vehicle = registers.register_vehicle(
        app.uow,
        app.ids,
        registers.VehicleInput(
            plate=key.plate,
            plate_colour=int(key.colour),
            kind=VehicleKind.TRACTOR,
            axles=3,
            home_division=home,
        ),
        clock=app.clock,
    )
    return vehicle.id


@pytest.fixture
def platform(any_app: App) -> App:
    """Three vehicles: one of 瑶海区, one of 镜湖区 (another city), one without a 车籍地."""
    _vehicle(any_app, KEY, YAOHAI)
    _vehicle(any_app, WUHU_KEY, JINGHU)
    _vehicle(any_app, HOMELESS_KEY, None)
    return any_app


def _registration(plate: str = KEY.plate, colour: int = 2, device: str = DEVICE) -> svc.Registration:
    return svc.Registration(
        province=34,
        city=102,
        maker="70111",
        model="RM-T808",
        device_id=device,
        plate_colour=colour,
        plate=plate,
    )


def _register(app: App, codes: Codes, *, phone: str = PHONE, **sent: object) -> svc.RegisterOutcome:
    return svc.register_terminal(app.uow, phone, _registration(**sent), clock=app.clock, new_code=codes)  # type: ignore[arg-type]


def _enrol(app: App, phone: str = PHONE, key: VehicleKey = KEY, **extra: str) -> None:
    svc.enrol_terminal(app.uow, phone, key, clock=app.clock, **extra)  # type: ignore[arg-type]


def _audit(app: App, action: str) -> list[dict[str, object]]:
    with app.uow() as uow:
        page = uow.audit.search(AuditFilter(action=action), PageRequest(limit=500))
    return [{"object_id": e.object_id, **e.detail} for e in reversed(page.items)]


# ---------------------------------------------------------------------------------------------
# enrol → register → authenticate
# ---------------------------------------------------------------------------------------------


def test_enrol_register_authenticate_and_register_again(platform: App, clock: FakeClock) -> None:
    """A terminal enrolled under its 2013 (BCD[6]) phone registers under its 2019 (BCD[10]) phone,
    gets a code, authenticates with it; registering again issues a new code and kills the old."""
    app, codes = platform, Codes()
    svc.enrol_terminal(app.uow, "0" + PHONE, KEY, clock=app.clock)
    clock.advance(minutes=5)
    first = _register(app, codes, phone="000000000" + PHONE)
    assert first.result is RegisterResult.SUCCESS and first.auth_code == codes.issued[0]
    assert first.terminal is not None and first.terminal.registered
    # The device fills the fields the operator left blank.
    assert (first.terminal.device_id, first.terminal.maker, first.terminal.model) == (
        DEVICE,
        "70111",
        "RM-T808",
    )
    assert first.terminal.registered_at == clock.now()

    bound = svc.authenticate_terminal(app.uow, "0" + PHONE, first.auth_code)
    assert bound == svc.BoundTerminal(PHONE, KEY)
    assert svc.authenticate_terminal(app.uow, PHONE, "wrong") is None

    again = _register(app, codes)
    assert again.result is RegisterResult.SUCCESS and again.auth_code not in (None, first.auth_code)
    assert svc.authenticate_terminal(app.uow, PHONE, first.auth_code) is None
    assert svc.authenticate_terminal(app.uow, PHONE, again.auth_code or "") == bound


def test_an_unregistered_terminal_cannot_authenticate(platform: App) -> None:
    """Enrolled but never registered: no code was issued, so none (not even empty) is accepted."""
    _enrol(platform)
    assert svc.authenticate_terminal(platform.uow, PHONE, "") is None
    assert svc.authenticate_terminal(platform.uow, PHONE, "anything") is None
    assert svc.authenticate_terminal(platform.uow, "not-a-phone", "anything") is None


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        pytest.param({"plate": "皖A54321"}, RegisterResult.NO_SUCH_VEHICLE, id="2-wrong-plate"),
        pytest.param({"plate": WUHU_KEY.plate}, RegisterResult.VEHICLE_TAKEN, id="1-other-terminals-vehicle"),
        pytest.param({"device": "OTHER0001"}, RegisterResult.TERMINAL_TAKEN, id="3-other-device"),
        pytest.param({"colour": 0, "plate": "LSVAU2180N2183294"}, RegisterResult.NO_SUCH_VEHICLE, id="2-vin"),
    ],
)
def test_refused_registrations_answer_the_standards_code(
    platform: App, sent: dict[str, object], expected: RegisterResult
) -> None:
    """Each refusal is returned (not raised) with its 0x8100 code, issues no code, stores nothing,
    and is audited with its result."""
    app, codes = platform, Codes()
    _enrol(app, device_id=DEVICE)
    _enrol(app, OTHER_PHONE, WUHU_KEY)
    outcome = _register(app, codes, **sent)  # type: ignore[arg-type]
    assert outcome.result is expected
    assert outcome.auth_code is None and codes.issued == []
    with app.uow() as uow:
        stored = uow.terminals.get(PHONE)
    assert stored is not None and not stored.registered
    last = _audit(app, "terminal.register")[-1]
    assert (last["object_id"], last["result"], last["result_label"]) == (PHONE, int(expected), expected.label)


def test_an_unknown_phone_is_no_such_terminal(platform: App) -> None:
    """Result 4 for a SIM nobody enrolled (and for a phone that is no number), audited."""
    codes = Codes()
    assert _register(platform, codes).result is RegisterResult.NO_SUCH_TERMINAL
    assert _register(platform, codes, phone="0000").result is RegisterResult.NO_SUCH_TERMINAL
    assert codes.issued == []
    assert [(e["object_id"], e["result"]) for e in _audit(platform, "terminal.register")] == [
        (PHONE, 4),
        ("0000", 4),
    ]


def test_a_disabled_terminal_neither_registers_nor_authenticates(platform: App) -> None:
    """Blocking a stolen SIM: 4 on registration, no authentication with the code it holds;
    enabling it again restores that code."""
    app, codes = platform, Codes()
    _enrol(app)
    code = _register(app, codes).auth_code
    assert code is not None
    svc.disable_terminal(app.uow, PHONE, clock=app.clock)
    assert svc.authenticate_terminal(app.uow, PHONE, code) is None
    assert _register(app, codes).result is RegisterResult.NO_SUCH_TERMINAL
    svc.enable_terminal(app.uow, PHONE, clock=app.clock)
    assert svc.authenticate_terminal(app.uow, PHONE, code) == svc.BoundTerminal(PHONE, KEY)
    assert [e["object_id"] for e in _audit(app, "terminal.disable")] == [PHONE]
    assert [e["object_id"] for e in _audit(app, "terminal.enable")] == [PHONE]


def test_the_register_keeps_the_hash_never_the_code(platform: App) -> None:
    """The terminals row holds SHA-256(code); the code appears in no column and no audit entry."""
    app, codes = platform, Codes()
    _enrol(app)
    code = _register(app, codes).auth_code
    assert code is not None
    with app.engines.write.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM terminals"))]
        audit = [str(r) for r in conn.execute(text("SELECT * FROM audit_log"))]
    assert len(rows) == 1
    assert rows[0]["auth_code_sha256"] == hashlib.sha256(code.encode()).hexdigest()
    assert all(code not in str(value) for value in rows[0].values())
    assert audit and all(code not in entry for entry in audit)


# ---------------------------------------------------------------------------------------------
# enrolment rules
# ---------------------------------------------------------------------------------------------


def test_enrolment_rules(platform: App) -> None:
    """The vehicle must be registered and free; a bad phone is refused; the same phone enrolled
    again to another vehicle moves there and must register again; every enrolment is audited."""
    app, codes = platform, Codes()
    with pytest.raises(svc.TerminalError):
        _enrol(app, key=VehicleKey("皖A00001", PlateColour.YELLOW))
    with pytest.raises(InvalidTerminal):
        _enrol(app, phone="13x")
    _enrol(app)
    with pytest.raises(svc.VehicleTaken):
        _enrol(app, OTHER_PHONE, KEY)
    code = _register(app, codes).auth_code
    assert code is not None

    _enrol(app, key=HOMELESS_KEY)
    with app.uow() as uow:
        moved = uow.terminals.get(PHONE)
        old_vehicle = uow.vehicles.get_by_key(KEY)
        assert old_vehicle is not None and uow.terminals.get_by_vehicle(old_vehicle.id) is None
    assert moved is not None and moved.vehicle == HOMELESS_KEY and not moved.registered
    assert svc.authenticate_terminal(app.uow, PHONE, code) is None
    # The freed vehicle can take another terminal.
    _enrol(app, OTHER_PHONE, KEY)
    enrolments = _audit(app, "terminal.enrol")
    assert [(e["object_id"], e["plate"]) for e in enrolments] == [
        (PHONE, KEY.plate),
        (PHONE, HOMELESS_KEY.plate),
        (OTHER_PHONE, KEY.plate),
    ]
    assert enrolments[1]["moved_from"] == str(KEY)


def test_a_new_device_id_clears_the_code(platform: App) -> None:
    """Enrolling another device for the same SIM and vehicle ends the old device's code; only the
    new device may register."""
    app, codes = platform, Codes()
    _enrol(app, device_id=DEVICE)
    code = _register(app, codes).auth_code
    assert code is not None
    _enrol(app, device_id="NEW00002")
    assert svc.authenticate_terminal(app.uow, PHONE, code) is None
    assert _register(app, codes).result is RegisterResult.TERMINAL_TAKEN
    assert _register(app, codes, device="new00002").result is RegisterResult.SUCCESS


def test_the_repository_scopes_lists_by_the_vehicles_home(platform: App, clock: FakeClock) -> None:
    """list(under) holds the terminals whose vehicle's 车籍地 lies in the subtree, newest first,
    with the total; one terminal per vehicle is enforced by the store itself."""
    app = platform
    _enrol(app)
    clock.advance(minutes=1)
    _enrol(app, OTHER_PHONE, WUHU_KEY)
    clock.advance(minutes=1)
    _enrol(app, "13700000002", HOMELESS_KEY)
    with app.uow() as uow:
        everything = uow.terminals.list(None, PageRequest(limit=2))
        hefei = uow.terminals.list(DivisionCode("340100"))
        shushan = uow.terminals.list(DivisionCode(SHUSHAN))
        wuhu = uow.terminals.list(DivisionCode("340200"))
        taken = uow.terminals.get(PHONE)
    assert everything.total == 3 and [t.phone for t in everything.items] == ["13700000002", OTHER_PHONE]
    assert [t.phone for t in hefei.items] == [PHONE] and shushan.total == 0
    assert [t.phone for t in wuhu.items] == [OTHER_PHONE]
    assert taken is not None
    with pytest.raises(DuplicateKey), app.uow() as uow:
        uow.terminals.add(replace(taken, phone="13600000003"))


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


@dataclass
class Http:
    app: App
    client: TestClient
    headers: Callable[[Role, str], dict[str, str]]


@pytest.fixture
def http(platform: App) -> Iterator[Http]:
    made: dict[tuple[Role, str], dict[str, str]] = {}

    def headers(role: Role, division: str) -> dict[str, str]:
        if (role, division) not in made:
            username = f"{role.value.replace('_', '-')}.{division}"
            add_user(platform, username, {role}, division=division)
            made[role, division] = bearer(platform, username)
        return made[role, division]

    with TestClient(create_api(platform), base_url="https://testserver") as client:
        yield Http(platform, client, headers)


def _no_secret(response_text: str, app: App) -> None:
    assert "auth_code" not in response_text and "sha256" not in response_text
    with app.uow() as uow:
        digests = [t.auth_code_sha256 for t in uow.terminals.list().items if t.auth_code_sha256]
    assert all(d not in response_text for d in digests)


def test_api_enrols_lists_blocks_and_never_shows_the_code(http: Http) -> None:
    """A province administrator: PUT creates (201) then updates (200); GET, the list, disable and
    enable answer the terminal with ``registered`` but neither the code nor its hash."""
    app, client = http.app, http.client
    admin = http.headers(Role.ADMIN, "340000")
    body = {"plate": "皖A12345", "plate_colour": 2, "device_id": "rm1234567"}
    created = client.put(f"/api/v1/terminals/0{PHONE}", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json() | {"enrolled_at": None} == {
        "phone": PHONE,
        "plate": "皖A12345",
        "plate_colour": 2,
        "device_id": "RM1234567",
        "maker": None,
        "model": None,
        "registered": False,
        "registered_at": None,
        "enabled": True,
        "enrolled_at": None,
    }
    updated = client.put(f"/api/v1/terminals/{PHONE}", json=body | {"maker": "70111"}, headers=admin)
    assert updated.status_code == 200 and updated.json()["maker"] == "70111"

    code = _register(app, Codes()).auth_code
    assert code is not None
    responses = [
        client.get(f"/api/v1/terminals/{PHONE}", headers=admin),
        client.get("/api/v1/terminals", headers=admin),
        client.post(f"/api/v1/terminals/{PHONE}/disable", headers=admin),
        client.post(f"/api/v1/terminals/{PHONE}/enable", headers=admin),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    one, listing, disabled, enabled = (r.json() for r in responses)
    assert one["registered"] is True and one["registered_at"]
    assert listing["total"] == 1 and listing["items"][0]["phone"] == PHONE
    assert (disabled["enabled"], enabled["enabled"]) == (False, True)
    for r in (created, updated, *responses):
        assert code not in r.text
        _no_secret(r.text, app)


def test_api_problems(http: Http) -> None:
    """404 unknown terminal, 422 malformed phone or unknown vehicle or bad plate, 409 a vehicle
    bound to another terminal, all as problem details."""
    client, admin = http.client, http.headers(Role.ADMIN, "340000")
    body = {"plate": "皖A12345", "plate_colour": 2}
    assert client.put(f"/api/v1/terminals/{PHONE}", json=body, headers=admin).status_code == 201
    cases = [
        (client.get("/api/v1/terminals/13000000000", headers=admin), 404, "not-found"),
        (client.post("/api/v1/terminals/13000000000/disable", headers=admin), 404, "not-found"),
        (client.get("/api/v1/terminals/13x", headers=admin), 422, "invalid-request"),
        (client.get("/api/v1/terminals/0000", headers=admin), 422, "rule-violated"),
        (client.put("/api/v1/terminals/" + "1" * 21, json=body, headers=admin), 422, "invalid-request"),
        (
            client.put(f"/api/v1/terminals/{OTHER_PHONE}", json=body | {"plate": "皖A00001"}, headers=admin),
            422,
            "rule-violated",
        ),
        (
            client.put(f"/api/v1/terminals/{OTHER_PHONE}", json=body | {"plate": "皖AI2345"}, headers=admin),
            422,
            "rule-violated",
        ),
        (client.put(f"/api/v1/terminals/{OTHER_PHONE}", json=body, headers=admin), 409, "duplicate"),
    ]
    for response, status, kind in cases:
        assert (response.status_code, response.json()["type"].rsplit("/", 1)[-1]) == (status, kind), (
            response.request.url,
            response.text,
        )
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("division", "sees"),
    [
        ("340000", True),  # the province keeps the whole register
        ("340100", True),  # 合肥市 sees its counties
        (YAOHAI, True),  # the vehicle's own county
        (SHUSHAN, False),  # a sibling county: sideways
        ("340200", False),  # 芜湖市: another city
    ],
)
def test_api_scopes_terminals_by_the_vehicles_home(http: Http, division: str, sees: bool) -> None:
    """A terminal of a 瑶海区 vehicle is read and kept from the province, 合肥市 and 瑶海区; sideways
    it is absent (404), unlisted, and cannot be changed (403 on enrolment); a terminal of a vehicle
    without 车籍地 is the province's alone."""
    client, app = http.client, http.app
    province = http.headers(Role.ADMIN, "340000")
    for phone, plate in ((PHONE, KEY.plate), ("13700000002", HOMELESS_KEY.plate)):
        put = client.put(
            f"/api/v1/terminals/{phone}", json={"plate": plate, "plate_colour": 2}, headers=province
        )
        assert put.status_code == 201
    reader = http.headers(Role.OFFICER, division)  # registers:read, no registers:write
    admin = http.headers(Role.ADMIN, division)
    assert client.get(f"/api/v1/terminals/{PHONE}", headers=reader).status_code == (200 if sees else 404)
    homeless = client.get("/api/v1/terminals/13700000002", headers=reader).status_code
    assert homeless == (200 if division == "340000" else 404)
    listing = client.get("/api/v1/terminals", headers=reader).json()
    assert {t["phone"] for t in listing["items"]} == (
        {PHONE, "13700000002"} if division == "340000" else {PHONE} if sees else set()
    )
    filtered = client.get("/api/v1/terminals", params={"jurisdiction": YAOHAI}, headers=reader)
    assert filtered.status_code == (200 if sees else 403)
    if sees:
        assert [t["phone"] for t in filtered.json()["items"]] == [PHONE]

    body = {"plate": KEY.plate, "plate_colour": 2, "model": "RM-T808"}
    assert client.put(f"/api/v1/terminals/{PHONE}", json=body, headers=reader).status_code == 403
    assert client.put(f"/api/v1/terminals/{PHONE}", json=body, headers=admin).status_code == (
        200 if sees else 403
    )
    blocked = client.post(f"/api/v1/terminals/{PHONE}/disable", headers=admin)
    assert blocked.status_code == (200 if sees else 404)
    with app.uow() as uow:
        terminal = uow.terminals.get(PHONE)
    assert terminal is not None and terminal.enabled is (not sees)
    audited = _audit(app, "terminal.")
    assert json.dumps(audited, ensure_ascii=False).count('"object_id": "13511221122"') == (3 if sees else 1)
