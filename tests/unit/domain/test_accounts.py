"""Units, users and their rules: the unit tree, role mixing, officer credentials, personal data
formats, the password policy and the lockout after repeated failed sign-ins.

Identity numbers are built with python-stdnum's check-digit function, never typed from memory
(``calc_check_digit`` reads all but the last character, so the body is passed with a placeholder).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from zhifa.domain.accounts import (
    AccountError,
    Department,
    LockoutPolicy,
    PasswordPolicy,
    Role,
    Unit,
    User,
    after_failed_login,
    after_successful_login,
    check_unit_parent,
    password_problems,
)
from zhifa.domain.errors import DomainError
from zhifa.domain.jurisdictions import DivisionCode, Level

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def _with_check(body: str) -> str:
    """``body`` (17 digits) completed with its GB 11643 check character."""
    return body + ric.calc_check_digit(body + "?")


ID_BODY = "34010419900101123"  # 合肥市蜀山区, born 1990-01-01
ID_NUMBER = _with_check(ID_BODY)  # 340104199001011238


def _x_id_number() -> str:
    """A valid identity number whose check character is X."""
    for serial in range(1000):
        body = f"34010419900101{serial:03d}"
        if _with_check(body).endswith("X"):
            return _with_check(body)
    raise AssertionError("no serial gives an X check character")


ID_NUMBER_X = _x_id_number()
POLICY = PasswordPolicy(min_length=12, min_classes=3)
LOCKOUT = LockoutPolicy(max_failures=5, lock_for=timedelta(minutes=15))


def _unit(division: str, name: str = "综合执法单位", parent_id: str | None = None) -> Unit:
    return Unit(f"u-{division}", DivisionCode.parse(division), name, Department.ENFORCEMENT, parent_id)


def _user(**overrides: Any) -> User:
    values: dict[str, Any] = {
        "id": "user-1",
        "username": "wang.zhifa",
        "display_name": "王执法",
        "unit_id": "u-340102",
        "roles": frozenset({Role.DUTY_OFFICER}),
        "password_hash": "$argon2id$dummy",
        "password_changed_at": NOW,
        "created_at": NOW,
    }
    values.update(overrides)
    return User(**values)


# --- units ------------------------------------------------------------------------------------


def test_account_error_is_a_domain_error() -> None:
    """Account rule violations are domain errors, so the entrypoints answer them as 4xx, not 500."""
    assert issubclass(AccountError, DomainError)


@pytest.mark.parametrize(
    ("division", "level"),
    [("340000", Level.PROVINCE), ("340100", Level.CITY), ("340102", Level.COUNTY)],
)
def test_unit_level_is_its_divisions(division: str, level: Level) -> None:
    """A unit is at the level of the GB/T 2260 division it sits at."""
    assert _unit(division).level is level


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_unit_needs_a_name(name: str) -> None:
    """A unit without a (non-blank) name is refused."""
    with pytest.raises(AccountError, match="needs a name"):
        _unit("340102", name)


@pytest.mark.parametrize(
    ("unit", "parent"),
    [
        pytest.param("340000", None, id="province-alone"),
        pytest.param("340100", "340000", id="city-under-province"),
        pytest.param("340102", "340000", id="county-under-province"),
        pytest.param("340102", "340100", id="county-under-its-city"),
        pytest.param("340102", "340102", id="department-under-same-county"),
        pytest.param("340000", "340000", id="department-under-province"),
    ],
)
def test_unit_may_hang_under_own_or_enclosing_division(unit: str, parent: str | None) -> None:
    """A unit sits under the unit of its own division or one enclosing it; only a province stands alone."""
    check_unit_parent(_unit(unit), _unit(parent) if parent else None)


@pytest.mark.parametrize(
    ("unit", "parent", "message"),
    [
        pytest.param("340100", None, "only a province-level unit", id="city-without-parent"),
        pytest.param("340102", None, "only a province-level unit", id="county-without-parent"),
        pytest.param("340202", "340100", "cannot sit under", id="county-under-other-city"),
        pytest.param("340102", "340104", "cannot sit under", id="county-beside-county"),
        pytest.param("340100", "340102", "cannot sit under", id="city-under-its-county"),
        pytest.param("340000", "340100", "cannot sit under", id="province-under-city"),
        pytest.param("320000", "340000", "cannot sit under", id="other-province"),
    ],
)
def test_unit_tree_never_goes_sideways_or_up(unit: str, parent: str | None, message: str) -> None:
    """A unit under a sibling, a child or another province's unit, or a non-province without a
    parent, is refused."""
    with pytest.raises(AccountError, match=message):
        check_unit_parent(_unit(unit), _unit(parent) if parent else None)


# --- users ------------------------------------------------------------------------------------


def test_a_valid_user_is_accepted() -> None:
    """The baseline of the table below: a duty officer with a plain username passes every rule."""
    user = _user()
    assert user.active and user.failed_logins == 0 and user.locked_until is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"username": "ab"}, "3–64 characters", id="username-too-short"),
        pytest.param({"username": "a" * 65}, "3–64 characters", id="username-too-long"),
        pytest.param({"username": "Wang"}, "3–64 characters", id="username-upper-case"),
        pytest.param({"username": ".wang"}, "3–64 characters", id="username-starts-with-dot"),
        pytest.param({"username": "wang zhifa"}, "3–64 characters", id="username-space"),
        pytest.param({"username": "王执法"}, "3–64 characters", id="username-chinese"),
        pytest.param({"display_name": "  "}, "display name is required", id="blank-display-name"),
        pytest.param({"roles": frozenset()}, "at least one role", id="no-role"),
        pytest.param({"roles": frozenset({Role.API_CLIENT})}, "API keys", id="machine-role"),
        pytest.param(
            {"roles": frozenset({Role.PARTY, Role.DUTY_OFFICER})},
            "cannot also hold a staff role",
            id="party+staff",
        ),
        pytest.param(
            {"roles": frozenset({Role.ENTERPRISE_USER, Role.AUDITOR}), "enterprise_id": "e-1"},
            "cannot also hold a staff role",
            id="enterprise+auditor",
        ),
        pytest.param(
            {"roles": frozenset({Role.ENTERPRISE_USER, Role.PARTY}), "enterprise_id": "e-1"},
            "either an enterprise's or a party's",
            id="enterprise+party",
        ),
        pytest.param(
            {"roles": frozenset({Role.ENTERPRISE_USER})}, "exactly one enterprise", id="enterprise-unbound"
        ),
        pytest.param(
            {"roles": frozenset({Role.DUTY_OFFICER}), "enterprise_id": "e-1"},
            "exactly one enterprise",
            id="staff-bound-to-enterprise",
        ),
        pytest.param(
            {"roles": frozenset({Role.PARTY}), "enterprise_id": "e-1"},
            "exactly one enterprise",
            id="party-bound-to-enterprise",
        ),
        pytest.param({"id_number": ID_BODY + "1"}, "身份证号码无效", id="id-number-checksum"),
        pytest.param({"id_number": ID_NUMBER[:17]}, "身份证号码无效", id="id-number-17-chars"),
        pytest.param(
            {"id_number": _with_check("34010419901301001")}, "身份证号码无效", id="id-number-month-13"
        ),
        pytest.param(
            {"id_number": _with_check("99010419900101001")}, "身份证号码无效", id="id-number-no-such-place"
        ),
        pytest.param({"phone": "12812345678"}, "联系电话", id="phone-bad-prefix"),
        pytest.param({"phone": "1381234567"}, "联系电话", id="phone-10-digits"),
        pytest.param({"phone": "138123456789"}, "联系电话", id="phone-12-digits"),
        pytest.param({"phone": "551-1234567"}, "联系电话", id="landline-without-0"),
        pytest.param({"phone": "+8613812345678"}, "联系电话", id="phone-with-country-code"),
    ],
)
def test_user_rules(overrides: dict[str, Any], message: str) -> None:
    """Each user rule refuses its case with a message saying which rule: username shape, a display
    name, one role at least and no machine role, no outside role beside a staff role, an enterprise
    user bound to exactly one enterprise (and only they), a GB 11643 identity number, a phone."""
    with pytest.raises(AccountError, match=message):
        _user(**overrides)


@pytest.mark.parametrize(
    "credential",
    ["", "123", "a" * 33, "3401 0020", "执法证0001", "3401/0001"],
)
def test_officer_needs_enforcement_credential(credential: str) -> None:
    """行政处罚法 第四十二条: an officer needs an enforcement credential number of 4–32 letters,
    digits or hyphens; the message cites the article."""
    with pytest.raises(AccountError, match="第四十二条"):
        _user(roles=frozenset({Role.OFFICER}), credential_number=credential)


@pytest.mark.parametrize("credential", ["0001", "34010020260001", "WS-3401-0001", "a" * 32])
def test_officer_with_credential_is_accepted(credential: str) -> None:
    """A well-formed credential number admits an officer, also beside other staff roles."""
    user = _user(roles=frozenset({Role.OFFICER, Role.ADMIN}), credential_number=credential)
    assert Role.OFFICER in user.roles


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"username": "wang.zhifa\n"}, id="username"),
        pytest.param({"phone": "13812345678\n"}, id="phone"),
        pytest.param(
            {"roles": frozenset({Role.OFFICER}), "credential_number": "0001\n"}, id="credential-number"
        ),
    ],
)
def test_trailing_newline_is_refused(overrides: dict[str, Any]) -> None:
    """A username, phone or credential number ending in a newline is not of the documented form."""
    with pytest.raises(AccountError):
        _user(**overrides)


def test_credential_is_not_required_of_non_officers() -> None:
    """Only the officer role needs a credential: a legal reviewer or duty officer goes without."""
    _user(roles=frozenset({Role.LEGAL_REVIEWER, Role.DUTY_OFFICER}))


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"roles": frozenset({Role.ENTERPRISE_USER}), "enterprise_id": "e-1"}, id="enterprise"),
        pytest.param({"roles": frozenset({Role.PARTY})}, id="party"),
        pytest.param({"id_number": ID_NUMBER}, id="id-number"),
        pytest.param({"id_number": ID_NUMBER_X}, id="id-number-with-X"),
        pytest.param({"phone": "13812345678"}, id="mobile"),
        pytest.param({"phone": "0551-12345678"}, id="landline-hyphen"),
        pytest.param({"phone": "055112345678"}, id="landline-plain"),
        pytest.param({"phone": "010-1234567"}, id="landline-3-digit-area-7-digit"),
        pytest.param({"username": "wang_zhifa-2.b"}, id="username-punctuation"),
        pytest.param({"username": "abc"}, id="username-3-chars"),
        pytest.param({"username": "a" * 64}, id="username-64-chars"),
    ],
)
def test_user_accepts_valid_variants(overrides: dict[str, Any]) -> None:
    """Bound enterprise users, parties, valid identity numbers (also ending in X), mobiles and
    landlines with an area code, usernames at the limits: all accepted."""
    _user(**overrides)


def test_id_number_built_for_tests_is_valid() -> None:
    """The fixtures themselves: eighteen characters that pass GB 11643's check."""
    assert len(ID_NUMBER) == 18 and ric.is_valid(ID_NUMBER)
    assert ID_NUMBER[-1] != "1"  # so the checksum row of the table above is wrong
    assert ID_NUMBER_X.endswith("X") and ric.is_valid(ID_NUMBER_X)


# --- lockout ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locked_until", "now", "locked"),
    [
        pytest.param(None, NOW, False, id="never-locked"),
        pytest.param(NOW + timedelta(minutes=1), NOW, True, id="before-expiry"),
        pytest.param(NOW, NOW, False, id="at-expiry"),
        pytest.param(NOW - timedelta(seconds=1), NOW, False, id="after-expiry"),
    ],
)
def test_is_locked_until_the_lock_expires(locked_until: datetime | None, now: datetime, locked: bool) -> None:
    """An account is locked strictly before ``locked_until``; from that instant it is open again."""
    assert _user(locked_until=locked_until).is_locked(now) is locked


def test_failures_count_up_and_the_last_locks() -> None:
    """The first ``max_failures - 1`` failures count; the ``max_failures``-th locks for ``lock_for``
    and resets the count, so a lock that ran out gives a fresh set of tries."""
    user = _user()
    for expected in range(1, LOCKOUT.max_failures):
        user = after_failed_login(user, NOW, LOCKOUT)
        assert user.failed_logins == expected
        assert not user.is_locked(NOW)
    user = after_failed_login(user, NOW, LOCKOUT)
    assert user.failed_logins == 0
    assert user.locked_until == NOW + LOCKOUT.lock_for
    assert user.is_locked(NOW + timedelta(minutes=14, seconds=59))
    assert not user.is_locked(NOW + timedelta(minutes=15))


def test_success_clears_failures_and_lock() -> None:
    """A successful sign-in forgets earlier failures and any (expired) lock."""
    user = _user(failed_logins=3, locked_until=NOW - timedelta(minutes=1))
    cleared = after_successful_login(user)
    assert cleared.failed_logins == 0 and cleared.locked_until is None
    assert replace(cleared, failed_logins=3, locked_until=user.locked_until) == user


@settings(max_examples=50, deadline=None)
@given(max_failures=st.integers(min_value=1, max_value=10), minutes=st.integers(min_value=1, max_value=120))
def test_exactly_max_failures_in_a_row_lock(max_failures: int, minutes: int) -> None:
    """For any policy, the account is unlocked after ``max_failures - 1`` failures in a row and
    locked for ``lock_for`` after exactly ``max_failures``."""
    policy = LockoutPolicy(max_failures, timedelta(minutes=minutes))
    user = _user()
    for _ in range(max_failures - 1):
        user = after_failed_login(user, NOW, policy)
    assert user.locked_until is None
    user = after_failed_login(user, NOW, policy)
    assert user.locked_until == NOW + timedelta(minutes=minutes)


# --- passwords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "username", "reasons"),
    [
        pytest.param("Zhifa-Test-2026!", "", [], id="good"),
        pytest.param("zhifa-test-2026", "", [], id="three-classes-no-upper"),
        pytest.param("Short-1a", "", ["密码长度不得少于12位"], id="too-short"),
        pytest.param("abcdefghijklmn", "", ["至少3类"], id="one-class"),
        pytest.param("abcdefgHIJKLMN", "", ["至少3类"], id="two-classes"),
        pytest.param("x", "", ["密码长度不得少于12位", "至少3类", "重复字符"], id="one-letter"),
        pytest.param("Wang.Zhifa-2026", "wang.zhifa", ["密码不得包含用户名"], id="contains-username"),
        pytest.param("aaaaaaaaaaaa", "", ["至少3类", "重复字符"], id="one-character"),
        pytest.param("aA" * 6, "", ["至少3类", "重复字符"], id="two-characters"),
        pytest.param("", "", ["密码长度不得少于12位", "至少3类"], id="empty"),
    ],
)
def test_password_problems(password: str, username: str, reasons: list[str]) -> None:
    """Each problem of the policy is reported once, in Chinese, and a good password has none."""
    problems = password_problems(password, POLICY, username)
    assert len(problems) == len(reasons), problems
    for reason, problem in zip(reasons, problems, strict=True):
        assert reason in problem


def test_password_policy_numbers_come_from_the_policy() -> None:
    """The length and the number of character classes are the deployment's, not fixed."""
    lax = PasswordPolicy(min_length=4, min_classes=1)
    assert password_problems("abcd", lax) == []
    strict = PasswordPolicy(min_length=20, min_classes=4)
    problems = password_problems("Zhifa-Test-2026!", strict)
    assert any("20位" in p for p in problems)
    assert password_problems("Zhifa-Test-2026!-longer", strict) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.from_regex(r"[a-z0-9][a-z0-9._-]{2,10}", fullmatch=True))
def test_a_password_holding_the_username_is_always_refused(password: str, username: str) -> None:
    """Whatever the rest, a password containing the username (in any case) has that problem."""
    problems = password_problems(password[:20] + username.upper() + password[20:], POLICY, username)
    assert "密码不得包含用户名" in problems
