"""Roles grant permissions; a principal's division bounds what it sees (own subtree, never sideways
or up); outsiders read only their own cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifa.domain.accounts import OUTSIDE_ROLES, Role
from zhifa.domain.audit import Actor
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.permissions import (
    API_KEY_SCOPES,
    ROLE_PERMISSIONS,
    Forbidden,
    Permission,
    Principal,
    permissions_of,
)
from zhifa.domain.vehicles import VehicleKey

P = Permission
PROVINCE = DivisionCode.parse("340000")
HEFEI = DivisionCode.parse("340100")
YAOHAI = DivisionCode.parse("340102")
SHUSHAN = DivisionCode.parse("340104")
WUHU = DivisionCode.parse("340200")
JINGHU = DivisionCode.parse("340202")
JIANGSU = DivisionCode.parse("320000")
ALL_DIVISIONS = [PROVINCE, HEFEI, YAOHAI, SHUSHAN, WUHU, JINGHU, JIANGSU]
TRUCK = VehicleKey.parse("皖A12345", 2)
OTHER_TRUCK = VehicleKey.parse("皖B54321", 2)


def _principal(
    roles: set[Role],
    division: DivisionCode = YAOHAI,
    *,
    enterprise_id: str | None = None,
    vehicles: frozenset[VehicleKey] = frozenset(),
) -> Principal:
    return Principal(
        actor=Actor("user", "u-1", "测试用户", "unit-1"),
        roles=frozenset(roles),
        permissions=permissions_of(roles),
        division=division,
        unit_id="unit-1",
        enterprise_id=enterprise_id,
        vehicles=vehicles,
    )


# --- roles and permissions --------------------------------------------------------------------


def test_every_role_and_permission_has_a_label() -> None:
    """Each role is in the table, and every permission has a Chinese label for the refusal message."""
    assert set(ROLE_PERMISSIONS) == set(Role)
    for permission in Permission:
        assert permission.label


def test_public_is_granted_even_without_roles() -> None:
    """Everyone, signed in or not, holds PUBLIC; without a role that is all one holds."""
    assert permissions_of([]) == frozenset({P.PUBLIC})


@pytest.mark.parametrize("role", list(Role))
def test_permissions_of_one_role_is_its_row_plus_public(role: Role) -> None:
    """A single role grants exactly its row of ROLE_PERMISSIONS, and PUBLIC."""
    assert permissions_of([role]) == ROLE_PERMISSIONS[role] | {P.PUBLIC}


@settings(max_examples=100, deadline=None)
@given(st.sets(st.sampled_from(list(Role))))
def test_permissions_of_roles_is_the_union(roles: set[Role]) -> None:
    """Several roles grant the union of their rows (and PUBLIC); order and repetition do not matter."""
    expected = frozenset({P.PUBLIC}).union(*(ROLE_PERMISSIONS[r] for r in roles))
    assert permissions_of(roles) == expected
    assert permissions_of(sorted(roles) * 2) == expected


@pytest.mark.parametrize(
    ("role", "granted", "denied"),
    [
        pytest.param(
            Role.ADMIN,
            {P.USERS_MANAGE, P.UNITS_MANAGE, P.API_KEYS_MANAGE, P.REGISTERS_WRITE},
            {P.CASES_READ, P.WEIGHINGS_READ, P.AUDIT_READ, P.PERSONAL_DATA_UNMASK},
            id="admin-keeps-accounts-reads-no-enforcement-data",
        ),
        pytest.param(
            Role.AUDITOR,
            {P.AUDIT_READ, P.USERS_READ},
            {P.CASES_READ, P.USERS_MANAGE, P.DASHBOARD_VIEW, P.PERSONAL_DATA_UNMASK},
            id="auditor-reads-the-log-only",
        ),
        pytest.param(
            Role.OFFICER,
            {P.CASES_READ, P.CASES_REVIEW, P.PARTIES_VERIFY, P.PERSONAL_DATA_UNMASK},
            {P.USERS_MANAGE, P.AUDIT_READ, P.WEIGHINGS_INGEST},
            id="officer",
        ),
        pytest.param(
            Role.DUTY_OFFICER,
            {P.WEIGHINGS_INGEST, P.PARTIES_VERIFY, P.ALERTS_READ},
            {P.CASES_REVIEW, P.PERSONAL_DATA_UNMASK},
            id="duty-officer",
        ),
        pytest.param(
            Role.ENTERPRISE_USER,
            {P.VEHICLES_READ_OWN, P.CASES_READ_OWN, P.ACCOUNT_SELF},
            {P.CASES_READ, P.VEHICLES_READ, P.DASHBOARD_VIEW},
            id="enterprise-its-own",
        ),
        pytest.param(
            Role.PARTY,
            {P.CASES_READ_OWN, P.ACCOUNT_SELF},
            {P.VEHICLES_READ_OWN, P.CASES_READ, P.DASHBOARD_VIEW},
            id="party-its-own-cases",
        ),
        pytest.param(
            Role.API_CLIENT,
            {P.WEIGHINGS_INGEST, P.REGISTERS_READ},
            {P.ACCOUNT_SELF, P.CASES_READ},
            id="machine",
        ),
    ],
)
def test_separation_of_duties(role: Role, granted: set[Permission], denied: set[Permission]) -> None:
    """Key grants and refusals of each role: the administrator reads no enforcement data, the
    auditor only the log and accounts, outsiders only their own."""
    held = permissions_of([role])
    assert granted <= held
    assert not denied & held


def test_api_key_scopes_are_the_api_clients_row() -> None:
    """A machine key can never be scoped beyond what the API-client role grants."""
    assert ROLE_PERMISSIONS[Role.API_CLIENT] == API_KEY_SCOPES


@pytest.mark.parametrize("role", sorted(OUTSIDE_ROLES))
def test_outsiders_read_no_jurisdiction_wide_data(role: Role) -> None:
    """No outside role holds a permission that reads a whole jurisdiction's data."""
    wide = {P.CASES_READ, P.WEIGHINGS_READ, P.ALERTS_READ, P.VEHICLES_READ, P.USERS_READ, P.AUDIT_READ}
    assert not ROLE_PERMISSIONS[role] & wide


def test_can_and_require() -> None:
    """``can`` answers from the held permissions; ``require`` raises Forbidden naming the missing
    permission's label."""
    admin = _principal({Role.ADMIN})
    assert admin.can(P.USERS_MANAGE) and not admin.can(P.CASES_READ)
    admin.require(P.USERS_MANAGE)
    with pytest.raises(Forbidden, match=P.CASES_READ.label):
        admin.require(P.CASES_READ)


# --- jurisdictions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("own", "target", "sees"),
    [
        pytest.param(PROVINCE, PROVINCE, True, id="province-itself"),
        pytest.param(PROVINCE, HEFEI, True, id="province-its-city"),
        pytest.param(PROVINCE, JINGHU, True, id="province-any-county"),
        pytest.param(PROVINCE, JIANGSU, False, id="province-other-province"),
        pytest.param(HEFEI, HEFEI, True, id="city-itself"),
        pytest.param(HEFEI, YAOHAI, True, id="city-its-county"),
        pytest.param(HEFEI, JINGHU, False, id="city-other-citys-county"),
        pytest.param(HEFEI, WUHU, False, id="city-sideways"),
        pytest.param(HEFEI, PROVINCE, False, id="city-up"),
        pytest.param(YAOHAI, YAOHAI, True, id="county-itself"),
        pytest.param(YAOHAI, SHUSHAN, False, id="county-sideways-same-city"),
        pytest.param(YAOHAI, HEFEI, False, id="county-up-to-city"),
        pytest.param(YAOHAI, PROVINCE, False, id="county-up-to-province"),
    ],
)
def test_sees_own_subtree_only(own: DivisionCode, target: DivisionCode, sees: bool) -> None:
    """Staff see their own division and everything beneath it, never sideways or above."""
    assert _principal({Role.OFFICER}, own).sees(target) is sees


@pytest.mark.parametrize(
    ("own", "requested", "scope"),
    [
        pytest.param(YAOHAI, None, YAOHAI, id="county-nothing-asked"),
        pytest.param(YAOHAI, YAOHAI, YAOHAI, id="county-itself"),
        pytest.param(YAOHAI, HEFEI, YAOHAI, id="county-asks-city-narrowed"),
        pytest.param(YAOHAI, PROVINCE, YAOHAI, id="county-asks-province-narrowed"),
        pytest.param(HEFEI, YAOHAI, YAOHAI, id="city-asks-its-county"),
        pytest.param(HEFEI, None, HEFEI, id="city-nothing-asked"),
        pytest.param(PROVINCE, JINGHU, JINGHU, id="province-asks-county"),
        pytest.param(PROVINCE, WUHU, WUHU, id="province-asks-city"),
    ],
)
def test_scope_narrows_to_own_subtree(
    own: DivisionCode, requested: DivisionCode | None, scope: DivisionCode
) -> None:
    """A list is filtered to the requested subtree when it lies within the principal's, and to the
    principal's own when nothing or an enclosing division was asked for."""
    assert _principal({Role.OFFICER}, own).scope(requested) == scope


@pytest.mark.parametrize(
    ("own", "requested"),
    [
        pytest.param(YAOHAI, SHUSHAN, id="county-sideways"),
        pytest.param(YAOHAI, JINGHU, id="county-other-city"),
        pytest.param(YAOHAI, WUHU, id="county-other-city-itself"),
        pytest.param(HEFEI, WUHU, id="city-sideways"),
        pytest.param(HEFEI, JINGHU, id="city-other-citys-county"),
        pytest.param(PROVINCE, JIANGSU, id="other-province"),
    ],
)
def test_scope_refuses_sideways(own: DivisionCode, requested: DivisionCode) -> None:
    """Asking for a division that neither encloses nor lies within one's own is Forbidden."""
    with pytest.raises(Forbidden, match=str(requested)):
        _principal({Role.OFFICER}, own).scope(requested)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALL_DIVISIONS), st.sampled_from([*ALL_DIVISIONS, None]))
def test_scope_is_always_seen(own: DivisionCode, requested: DivisionCode | None) -> None:
    """Whatever is asked, the scope that comes back (if any) lies within what the principal sees."""
    principal = _principal({Role.OFFICER}, own)
    try:
        scope = principal.scope(requested)
    except Forbidden:
        assert requested is not None
        assert not own.contains(requested) and not requested.contains(own)
        return
    assert principal.sees(scope)


@pytest.mark.parametrize("level", ["province", "city", "county"])
def test_is_province(level: str) -> None:
    """Only a principal of a province-level unit is the province (it alone issues API keys)."""
    division = {"province": PROVINCE, "city": HEFEI, "county": YAOHAI}[level]
    assert _principal({Role.ADMIN}, division).is_province is (level == "province")


# --- cases ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enterprise_id", "vehicles", "case_vehicle", "case_enterprise", "owns"),
    [
        pytest.param("e-1", frozenset(), OTHER_TRUCK, "e-1", True, id="enterprise-own-case"),
        pytest.param("e-1", frozenset(), TRUCK, "e-2", False, id="enterprise-other-enterprise"),
        pytest.param("e-1", frozenset(), TRUCK, None, False, id="enterprise-case-against-person"),
        pytest.param(None, frozenset({TRUCK}), TRUCK, None, True, id="party-verified-vehicle"),
        pytest.param(None, frozenset({TRUCK}), OTHER_TRUCK, None, False, id="party-other-vehicle"),
        pytest.param(None, frozenset(), TRUCK, None, False, id="party-nothing-bound"),
        pytest.param(None, frozenset(), TRUCK, "e-1", False, id="no-enterprise-never-matches"),
    ],
)
def test_owns_case(
    enterprise_id: str | None,
    vehicles: frozenset[VehicleKey],
    case_vehicle: VehicleKey,
    case_enterprise: str | None,
    owns: bool,
) -> None:
    """A case is an outsider's when it is against their enterprise or a vehicle verified as theirs;
    an account bound to no enterprise never matches a case without one."""
    roles = {Role.ENTERPRISE_USER} if enterprise_id else {Role.PARTY}
    principal = _principal(roles, enterprise_id=enterprise_id, vehicles=vehicles)
    assert principal.owns_case(case_vehicle, case_enterprise) is owns


@pytest.mark.parametrize(
    ("roles", "division", "extra", "case_division", "case_enterprise", "may"),
    [
        pytest.param({Role.OFFICER}, YAOHAI, {}, YAOHAI, None, True, id="officer-own-county"),
        pytest.param({Role.OFFICER}, YAOHAI, {}, SHUSHAN, None, False, id="officer-sideways"),
        pytest.param({Role.OFFICER}, HEFEI, {}, YAOHAI, None, True, id="city-officer-below"),
        pytest.param({Role.ADMIN}, YAOHAI, {}, YAOHAI, None, False, id="admin-reads-no-cases"),
        pytest.param({Role.AUDITOR}, PROVINCE, {}, YAOHAI, None, False, id="auditor-reads-no-cases"),
        pytest.param(
            {Role.ENTERPRISE_USER},
            YAOHAI,
            {"enterprise_id": "e-1"},
            JINGHU,
            "e-1",
            True,
            id="enterprise-own-case-anywhere",
        ),
        pytest.param(
            {Role.ENTERPRISE_USER},
            YAOHAI,
            {"enterprise_id": "e-1"},
            YAOHAI,
            "e-2",
            False,
            id="enterprise-others-case-in-own-county",
        ),
        pytest.param(
            {Role.PARTY},
            PROVINCE,
            {"vehicles": frozenset({TRUCK})},
            JINGHU,
            None,
            True,
            id="party-own-vehicle",
        ),
        pytest.param({Role.PARTY}, PROVINCE, {}, YAOHAI, None, False, id="party-unbound-at-province"),
    ],
)
def test_may_read_case(
    roles: set[Role],
    division: DivisionCode,
    extra: dict[str, object],
    case_division: DivisionCode,
    case_enterprise: str | None,
    may: bool,
) -> None:
    """Staff with CASES_READ read cases in their subtree; outsiders read their own cases wherever
    they are, and nothing else even if their unit's division would cover it."""
    enterprise_id = extra.get("enterprise_id")
    vehicles = extra.get("vehicles", frozenset())
    assert enterprise_id is None or isinstance(enterprise_id, str)
    assert isinstance(vehicles, frozenset)
    principal = _principal(roles, division, enterprise_id=enterprise_id, vehicles=vehicles)
    assert principal.may_read_case(case_division, TRUCK, case_enterprise) is may
