"""Permissions, the roles that hold them, and the data each principal may see.

Every route and page declares one permission; a principal's roles grant permissions, and its
unit's division bounds what it sees: its own jurisdiction and those below it, never sideways or
above. Enterprises see their own vehicles and the cases against them; a party sees the cases of
the vehicles bound to its account after verification.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from zhifa.domain.accounts import Role
from zhifa.domain.audit import Actor
from zhifa.domain.errors import DomainError
from zhifa.domain.jurisdictions import DivisionCode, Level
from zhifa.domain.vehicles import VehicleKey


class Permission(StrEnum):
    PUBLIC = "public"  # no sign-in: login, health, static files
    ACCOUNT_SELF = "account:self"
    DASHBOARD_VIEW = "dashboard:view"
    WEIGHINGS_READ = "weighings:read"
    WEIGHINGS_INGEST = "weighings:ingest"
    POSITIONS_INGEST = "positions:ingest"
    PASSAGES_INGEST = "passages:ingest"
    ALERTS_READ = "alerts:read"
    CASES_READ = "cases:read"
    CASES_READ_OWN = "cases:read_own"
    CASES_REVIEW = "cases:review"
    REGISTERS_READ = "registers:read"
    REGISTERS_WRITE = "registers:write"
    VEHICLES_READ = "vehicles:read"
    VEHICLES_READ_OWN = "vehicles:read_own"
    PARTIES_VERIFY = "parties:verify"
    UNITS_MANAGE = "units:manage"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    API_KEYS_MANAGE = "api_keys:manage"
    AUDIT_READ = "audit:read"
    PERSONAL_DATA_UNMASK = "personal_data:unmask"

    @property
    def label(self) -> str:
        return _PERMISSION_LABELS[self]


_PERMISSION_LABELS = {
    Permission.PUBLIC: "公开（无需登录）",
    Permission.ACCOUNT_SELF: "本人账号（查看、修改密码、退出）",
    Permission.DASHBOARD_VIEW: "查看工作台",
    Permission.WEIGHINGS_READ: "查看检测记录",
    Permission.WEIGHINGS_INGEST: "报送检测记录",
    Permission.POSITIONS_INGEST: "报送车辆定位数据",
    Permission.PASSAGES_INGEST: "报送卡口过车数据",
    Permission.ALERTS_READ: "查看预警",
    Permission.CASES_READ: "查看辖区案件",
    Permission.CASES_READ_OWN: "查看本人（本企业）案件",
    Permission.CASES_REVIEW: "审核立案",
    Permission.REGISTERS_READ: "查看辖区、检测站点",
    Permission.REGISTERS_WRITE: "维护检测站点、企业、车辆档案",
    Permission.VEHICLES_READ: "查看车辆档案",
    Permission.VEHICLES_READ_OWN: "查看本企业车辆",
    Permission.PARTIES_VERIFY: "核验当事人车辆绑定",
    Permission.UNITS_MANAGE: "管理单位",
    Permission.USERS_READ: "查看用户",
    Permission.USERS_MANAGE: "管理用户",
    Permission.API_KEYS_MANAGE: "签发、吊销接口密钥（省级）",
    Permission.AUDIT_READ: "查看、校验审计日志",
    Permission.PERSONAL_DATA_UNMASK: "查看完整个人信息（留痕）",
}

P = Permission
_STAFF_READ = frozenset({P.ACCOUNT_SELF, P.DASHBOARD_VIEW, P.REGISTERS_READ})
_ENFORCEMENT_READ = _STAFF_READ | {P.WEIGHINGS_READ, P.ALERTS_READ, P.CASES_READ, P.VEHICLES_READ}

# Separation of duties: the administrator keeps accounts and registers but reads no enforcement
# data; the auditor reads the audit log and the accounts it names, nothing else.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: _STAFF_READ
    | {P.REGISTERS_WRITE, P.UNITS_MANAGE, P.USERS_READ, P.USERS_MANAGE, P.API_KEYS_MANAGE},
    Role.DUTY_OFFICER: _ENFORCEMENT_READ | {P.WEIGHINGS_INGEST, P.PARTIES_VERIFY},
    Role.OFFICER: _ENFORCEMENT_READ | {P.CASES_REVIEW, P.PARTIES_VERIFY, P.PERSONAL_DATA_UNMASK},
    Role.LEGAL_REVIEWER: _ENFORCEMENT_READ | {P.PERSONAL_DATA_UNMASK},
    Role.UNIT_HEAD: _ENFORCEMENT_READ | {P.USERS_READ, P.PERSONAL_DATA_UNMASK},
    Role.ENTERPRISE_USER: frozenset({P.ACCOUNT_SELF, P.VEHICLES_READ_OWN, P.CASES_READ_OWN}),
    Role.PARTY: frozenset({P.ACCOUNT_SELF, P.CASES_READ_OWN}),
    Role.AUDITOR: frozenset({P.ACCOUNT_SELF, P.AUDIT_READ, P.USERS_READ}),
    Role.API_CLIENT: frozenset({P.WEIGHINGS_INGEST, P.POSITIONS_INGEST, P.PASSAGES_INGEST, P.REGISTERS_READ}),
}

# What a machine key may be scoped to: never more than an API client's role grants.
API_KEY_SCOPES = ROLE_PERMISSIONS[Role.API_CLIENT]


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    granted: set[Permission] = {P.PUBLIC}
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


class Forbidden(DomainError):
    """The principal lacks the permission, or the data lies outside its jurisdiction."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user or a machine key, with what they may do and see."""

    actor: Actor
    roles: frozenset[Role]
    permissions: frozenset[Permission]
    division: DivisionCode  # the unit's: the root of everything this principal sees
    unit_id: str
    enterprise_id: str | None = None
    vehicles: frozenset[VehicleKey] = frozenset()  # a party's verified vehicles
    credential_number: str = ""
    display_name: str = ""

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"无权执行该操作（需要权限：{permission.label}）")

    @property
    def is_province(self) -> bool:
        return self.division.level is Level.PROVINCE

    def sees(self, jurisdiction: DivisionCode) -> bool:
        """Staff see their own division and everything under it: a county its county, a city its
        counties, the province all of it."""
        return self.division.contains(jurisdiction)

    def scope(self, requested: DivisionCode | None) -> DivisionCode:
        """The subtree a list is filtered to: the requested one if it lies within the principal's,
        the principal's own if none (or an enclosing one) was asked for. Sideways is refused."""
        if requested is None or requested.contains(self.division):
            return self.division
        if self.division.contains(requested):
            return requested
        raise Forbidden(f"无权查看辖区 {requested} 的数据（本单位辖区 {self.division}）")

    def owns_case(self, vehicle: VehicleKey, party_enterprise_id: str | None) -> bool:
        """A case is an outsider's own when it is against their enterprise or a vehicle verified as theirs."""
        if self.enterprise_id is not None and party_enterprise_id == self.enterprise_id:
            return True
        return vehicle in self.vehicles

    def may_read_case(
        self, jurisdiction: DivisionCode, vehicle: VehicleKey, enterprise_id: str | None
    ) -> bool:
        if self.can(P.CASES_READ) and self.sees(jurisdiction):
            return True
        return self.can(P.CASES_READ_OWN) and self.owns_case(vehicle, enterprise_id)
