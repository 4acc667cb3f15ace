"""Units (单位) and their users: who may sign in, how their passwords are judged, when they lock.

Henan's guidance on the three-level supervision system (豫交文〔2021〕33号) has the province allot
accounts and permissions to the province, city and county levels and an enterprise interface;
here a unit sits at a GB/T 2260 division and its users hold roles. The password and lockout
numbers are the deployment's policy (docs/security.md), not the law's: they come in as arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from zhifa.domain.errors import DomainError
from zhifa.domain.jurisdictions import DivisionCode, Level


class AccountError(DomainError):
    """An account or unit rule was not met; the message says which."""


class Department(StrEnum):
    """The departments of a transport authority that hold accounts."""

    TRANSPORT = "transport"
    ENFORCEMENT = "enforcement"
    SAFETY = "safety"
    EXPRESSWAY = "expressway"
    COMMAND = "command"

    @property
    def label(self) -> str:
        return _DEPARTMENT_LABELS[self]


_DEPARTMENT_LABELS = {
    Department.TRANSPORT: "运输管理",
    Department.ENFORCEMENT: "综合执法",
    Department.SAFETY: "安全监管",
    Department.EXPRESSWAY: "高速公路",
    Department.COMMAND: "指挥中心",
}


class Role(StrEnum):
    ADMIN = "admin"
    DUTY_OFFICER = "duty_officer"
    OFFICER = "officer"
    LEGAL_REVIEWER = "legal_reviewer"
    UNIT_HEAD = "unit_head"
    ENTERPRISE_USER = "enterprise_user"
    PARTY = "party"
    AUDITOR = "auditor"
    API_CLIENT = "api_client"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.ADMIN: "系统管理员",
    Role.DUTY_OFFICER: "值班员",
    Role.OFFICER: "执法人员",
    Role.LEGAL_REVIEWER: "法制审核人员",
    Role.UNIT_HEAD: "单位负责人",
    Role.ENTERPRISE_USER: "企业用户",
    Role.PARTY: "当事人",
    Role.AUDITOR: "审计员",
    Role.API_CLIENT: "接口客户端",
}

# A party or an enterprise acts for itself, never for an authority: mixing either with a staff
# role would let one account see both sides of a case.
OUTSIDE_ROLES = frozenset({Role.ENTERPRISE_USER, Role.PARTY})
# Machines are API keys, not people with passwords.
MACHINE_ROLES = frozenset({Role.API_CLIENT})


@dataclass(frozen=True)
class Unit:
    """单位: an authority (or one of its departments) at a province, city or county."""

    id: str
    division: DivisionCode
    name: str
    department: Department
    parent_id: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise AccountError("a unit needs a name")

    @property
    def level(self) -> Level:
        return self.division.level


def check_unit_parent(unit: Unit, parent: Unit | None) -> None:
    """A unit hangs under the unit of its own or an enclosing division: the tree never goes sideways."""
    if parent is None:
        if unit.division.level is not Level.PROVINCE:
            raise AccountError(f"{unit.name}: only a province-level unit stands without a parent unit")
        return
    if not parent.division.contains(unit.division):
        raise AccountError(
            f"{unit.name}（{unit.division}）cannot sit under {parent.name}（{parent.division}）: "
            "a unit belongs to its own or an enclosing division"
        )


PHONE = re.compile(r"1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}")  # mobile, or landline with area code
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
CREDENTIAL = re.compile(r"[0-9A-Za-z-]{4,32}")


@dataclass(frozen=True)
class User:
    id: str
    username: str
    display_name: str
    unit_id: str
    roles: frozenset[Role]
    password_hash: str
    password_changed_at: datetime
    created_at: datetime
    credential_number: str = ""  # 执法证号, required of officers
    enterprise_id: str | None = None  # the one enterprise an enterprise user acts for
    id_number: str = ""  # 身份证号, personal data: masked unless unmasked with permission
    phone: str = ""
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    version: int = 1
    party_vehicles: tuple[tuple[str, int], ...] = field(default=())  # verified (plate, colour)

    def __post_init__(self) -> None:
        if not USERNAME.fullmatch(self.username):
            raise AccountError(
                f"username {self.username!r}: 3–64 characters of a–z, 0–9, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if not self.display_name.strip():
            raise AccountError(f"{self.username}: a display name is required")
        if not self.roles:
            raise AccountError(f"{self.username}: at least one role is required")
        if self.roles & MACHINE_ROLES:
            raise AccountError(f"{self.username}: machine clients get API keys, not user accounts")
        if self.roles & OUTSIDE_ROLES and self.roles - OUTSIDE_ROLES:
            raise AccountError(
                f"{self.username}: an enterprise or party account cannot also hold a staff role"
            )
        if Role.ENTERPRISE_USER in self.roles and Role.PARTY in self.roles:
            raise AccountError(f"{self.username}: an account is either an enterprise's or a party's")
        if Role.OFFICER in self.roles and not CREDENTIAL.fullmatch(self.credential_number):
            # 行政处罚法 第四十二条: penalties are enforced by officers holding enforcement credentials.
            raise AccountError(
                f"{self.username}: an officer needs an enforcement credential number (执法证号), "
                "4–32 letters or digits (行政处罚法 第四十二条)"
            )
        if (Role.ENTERPRISE_USER in self.roles) != (self.enterprise_id is not None):
            raise AccountError(
                f"{self.username}: an enterprise user is bound to exactly one enterprise, and only they are"
            )

        if self.id_number:
            try:
                ric.validate(self.id_number)
            except ValidationError as exc:
                raise AccountError(f"{self.username}: 身份证号码无效（GB 11643）: {exc}") from exc
        if self.phone and not PHONE.fullmatch(self.phone):
            raise AccountError(f"{self.username}: 联系电话应为11位手机号码或带区号的固定电话")

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int  # consecutive failed sign-ins before the account locks
    lock_for: timedelta


def after_failed_login(user: User, now: datetime, policy: LockoutPolicy) -> User:
    """Count a failed sign-in; the ``max_failures``-th in a row locks the account for ``lock_for``."""
    failures = user.failed_logins + 1
    if failures >= policy.max_failures:
        return replace(user, failed_logins=0, locked_until=now + policy.lock_for)
    return replace(user, failed_logins=failures)


def after_successful_login(user: User) -> User:
    return replace(user, failed_logins=0, locked_until=None)


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int
    min_classes: int  # of: lower-case, upper-case, digits, other characters


def password_problems(password: str, policy: PasswordPolicy, username: str = "") -> list[str]:
    """Why ``password`` may not be used (in Chinese, for the form); empty when it may."""
    problems = []
    if len(password) < policy.min_length:
        problems.append(f"密码长度不得少于{policy.min_length}位")
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < policy.min_classes:
        problems.append(f"密码须包含小写字母、大写字母、数字、其他字符中的至少{policy.min_classes}类")
    if username and username.lower() in password.lower():
        problems.append("密码不得包含用户名")
    if password and len(set(password)) <= 2:
        problems.append("密码不得由重复字符组成")
    return problems
