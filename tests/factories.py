"""Builders of realistic test data: Anhui jurisdictions, weighing sites, weighing records."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from zhifa.bootstrap import App, bootstrap
from zhifa.config import Settings
from zhifa.domain.accounts import Department, Role, Unit, User
from zhifa.domain.credentials import SessionKind
from zhifa.domain.permissions import API_KEY_SCOPES
from zhifa.domain.signatures import signed_headers
from zhifa.domain.sites import SiteKind
from zhifa.services import accounts, registers
from zhifa.services.ports import Clock

# Real Anhui counties (GB/T 2260) used across tests.
YAOHAI = "340102"  # 合肥市瑶海区
SHUSHAN = "340104"  # 合肥市蜀山区
JINGHU = "340202"  # 芜湖市镜湖区
IMAGE_KINDS = ("front", "side", "rear", "panorama", "plate")


# Cheap Argon2 parameters and a fixed secret keep tests fast and repeatable; production uses the
# RFC 9106 defaults and its own secret.
TEST_SETTINGS: dict[str, Any] = {
    "password_hash_time_cost": 1,
    "password_hash_memory_kib": 8,
    "secret_key": "k3Y-f0r-t3sts-0nly-8c1d9e2f7a6b5c4d3e2f1a0b",
}
PASSWORD = "Zhifa-Test-2026!"
OFFICER_NAME = "王执法"
OFFICER_CREDENTIAL = "34010020260001"
# Staff roles that together can do everything the over-limit slice offers.
ALL_STAFF = frozenset({Role.ADMIN, Role.DUTY_OFFICER, Role.OFFICER})


def make_app(url: str, data_dir: Path, clock: Clock, **settings: Any) -> App:
    """A platform on ``url`` with its schema migrated and Anhui loaded."""
    app = bootstrap(Settings(data_dir=data_dir, database_url=url, **(TEST_SETTINGS | settings)), clock=clock)
    app.upgrade_database()
    registers.load_reference_province(app.uow, app.reference, "340000")
    return app


def add_site(
    app: App,
    site_id: str = "WIM-340102-01",
    *,
    county: str = YAOHAI,
    kind: SiteKind = SiteKind.WEIGH_IN_MOTION,
    accuracy_class: Decimal = Decimal(5),
    verified_on: date | None = date(2026, 3, 1),
    valid_until: date | None = date(2027, 2, 28),
    approved_on: date | None = date(2026, 3, 15),
    name: str = "合肥东不停车检测点",
) -> str:
    registers.save_site(
        app.uow,
        registers.SiteInput(
            id=site_id,
            name=name,
            kind=kind,
            lon=117.35,
            lat=31.87,
            jurisdiction=county,
            accuracy_class=accuracy_class,
            device_serial=f"DEV-{site_id}",
            verification_certificate=f"皖计检〔2026〕{site_id[-2:]}号",
            verified_on=verified_on,
            verification_valid_until=valid_until,
            enforcement_approved_on=approved_on,
            road="G40 沪陕高速",
        ).to_site(),
        clock=app.clock,
    )
    return site_id


def images(record_id: str, kinds: tuple[str, ...] = IMAGE_KINDS) -> list[dict[str, str]]:
    return [
        {
            "kind": kind,
            "uri": f"https://wim.example/{record_id}/{kind}.jpg",
            "sha256": hashlib.sha256(f"{record_id}/{kind}".encode()).hexdigest(),
        }
        for kind in kinds
    ]


def weighing(
    record_id: str,
    *,
    site_id: str = "WIM-340102-01",
    at: datetime,
    plate: str = "皖A12345",
    colour: int = 2,
    axles: int = 6,
    gross_kg: int = 49_000,
    with_images: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A weighing record as a site would send it (JSON-ready)."""
    record: dict[str, Any] = {
        "record_id": record_id,
        "site_id": site_id,
        "measured_at": at.isoformat(),
        "plate": plate,
        "plate_colour": colour,
        "axles": axles,
        "gross_kg": gross_kg,
        "lane": 2,
        "speed_kmh": 62.5,
    }
    if with_images:
        record["images"] = images(record_id)
    record.update(extra)
    return record


def minutes_before(clock: Clock, minutes: int) -> datetime:
    return clock.now() - timedelta(minutes=minutes)


def unit_at(app: App, division: str) -> Unit:
    """The enforcement unit of ``division``, created with its parents (province → city → county)."""
    from zhifa.domain.jurisdictions import DivisionCode

    code = DivisionCode.parse(division)
    chain = [c for c in (code.province, code.parent if code.level.value == "county" else None, code) if c]
    parent: Unit | None = None
    for c in dict.fromkeys(chain):  # ordered, without repeats
        with app.uow() as uow:
            existing = next((u for u in uow.units.list(c) if u.division == c), None)
            name = uow.jurisdictions.get(c)
        if existing is None:
            assert name is not None
            existing = accounts.create_unit(
                app.account_deps,
                None,
                division=c.code,
                name=name.authority,
                department=Department.ENFORCEMENT,
                parent_id=parent.id if parent else None,
            )
        parent = existing
    assert parent is not None
    return parent


def add_user(
    app: App,
    username: str,
    roles: frozenset[Role] | set[Role],
    *,
    division: str = "340000",
    display_name: str = OFFICER_NAME,
    credential: str = OFFICER_CREDENTIAL,
    enterprise_id: str | None = None,
    **extra: Any,
) -> User:
    roles = frozenset(roles)
    return accounts.create_user(
        app.account_deps,
        None,
        accounts.NewUser(
            username=username,
            display_name=display_name,
            unit_id=unit_at(app, division).id,
            roles=roles,
            password=PASSWORD,
            credential_number=credential if Role.OFFICER in roles else "",
            enterprise_id=enterprise_id,
            **extra,
        ),
    )


def bearer(app: App, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers of a freshly signed-in user."""
    signed = accounts.sign_in(app.account_deps, username, password, SessionKind.BEARER, "127.0.0.1")
    return {"Authorization": f"Bearer {signed.token}"}


def staff_headers(app: App, username: str = "wang.zhifa", division: str = "340000") -> dict[str, str]:
    """A province-level user holding every staff role of the slice, signed in."""
    add_user(app, username, ALL_STAFF, division=division)
    return bearer(app, username)


class KeySigner:
    """Signs each request with a unit's API key, as a machine client would."""

    def __init__(self, app: App, unit_id: str) -> None:
        issued = accounts.issue_api_key(
            app.account_deps, None, unit_id=unit_id, name="matrix client", scopes=API_KEY_SCOPES
        )
        self.key_id, self.secret = issued.key.id, bytes.fromhex(issued.secret)
        self.app = app

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        now = int(self.app.clock.now().timestamp())
        return signed_headers(self.key_id, self.secret, method, path, now, uuid.uuid4().hex, body)
