"""The unified social credit code (统一社会信用代码, GB 32100-2015) and the enterprise register entry.

Valid codes are built here with python-stdnum's check-character function rather than typed from
memory, so a row cannot pass on a mistyped check character.
"""

from __future__ import annotations

import pytest
from stdnum.cn.uscc import calc_check_digit

from zhifa.domain.enterprises import Enterprise, InvalidCreditCode, uscc_division_code, validate_uscc
from zhifa.domain.errors import DomainError

# GB 32100 character set (no I, O, S, V, Z).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# 9 工商 + 1 企业 + 340100 合肥市 + a nine-character organisation code.
BODY = "91340100MA2RXXXXX"
VALID = BODY + calc_check_digit(BODY)
# 芜湖市镜湖区, to show the division is read from the code, not assumed.
JINGHU_BODY = "913402027050123456"[:17]
JINGHU = JINGHU_BODY + calc_check_digit(JINGHU_BODY)


def _wrong_check(code: str) -> str:
    """The same code with any other check character."""
    other = next(c for c in ALPHABET if c != code[-1])
    return code[:-1] + other


def test_built_code_is_valid_and_eighteen_characters() -> None:
    """The fixture itself: 17 body characters plus the computed check character."""
    assert len(VALID) == 18
    assert VALID[-1] in ALPHABET
    assert validate_uscc(VALID) == VALID


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(VALID.lower(), "lower case is upper-cased", id="lower-case"),
        pytest.param(f" {VALID[:6]} {VALID[6:]} ", "spaces are separators", id="spaces"),
        pytest.param(f"{VALID[:2]}-{VALID[2:8]}-{VALID[8:]}", "hyphens are separators", id="hyphens"),
    ],
)
def test_validate_uscc_compacts(raw: str, reason: str) -> None:
    """Separators and case do not matter: the compact upper-case code comes back."""
    assert validate_uscc(raw) == VALID


@pytest.mark.parametrize(
    ("raw", "message", "reason"),
    [
        pytest.param(VALID[:17], "must have 18 characters, has 17", "one short", id="17-chars"),
        pytest.param(VALID + "0", "must have 18 characters, has 19", "one long", id="19-chars"),
        pytest.param("", "must have 18 characters, has 0", "empty", id="empty"),
        pytest.param(_wrong_check(VALID), "fails its GB 32100 check character", "checksum", id="checksum"),
        pytest.param(_wrong_check(JINGHU), "fails its GB 32100 check character", "checksum", id="checksum-2"),
        pytest.param(
            "9134A100MA2RXXXXX0", "is malformed", "authority and division are digits", id="letter-in-division"
        ),
        pytest.param("91340100MA2RXXXXI0", "is malformed", "I is not in the GB 32100 set", id="letter-i"),
        pytest.param("91340100MA2RXXXXO0", "is malformed", "O is not in the GB 32100 set", id="letter-o"),
    ],
)
def test_validate_uscc_refuses(raw: str, message: str, reason: str) -> None:
    """Length, check character and character set are each refused with their own message."""
    with pytest.raises(InvalidCreditCode, match=message):
        validate_uscc(raw)


def test_uscc_refusals_are_domain_errors() -> None:
    """A bad code is a rule of the trade not met: callers catch DomainError."""
    with pytest.raises(DomainError):
        validate_uscc(_wrong_check(VALID))


@pytest.mark.parametrize(
    ("code", "division"),
    [pytest.param(VALID, "340100", id="hefei"), pytest.param(JINGHU, "340202", id="jinghu")],
)
def test_uscc_division_code(code: str, division: str) -> None:
    """Characters 3-8 are the GB/T 2260 division of the registering authority."""
    assert uscc_division_code(code) == division


def test_enterprise_accepts_a_valid_code() -> None:
    """A register entry with a valid code and a name is built as given."""
    enterprise = Enterprise("e1", VALID, "安徽顺达物流有限公司", division="340100")
    assert enterprise.uscc == VALID


def test_enterprise_refuses_a_bad_code() -> None:
    """The register never holds a code that fails its check character."""
    with pytest.raises(InvalidCreditCode):
        Enterprise("e1", _wrong_check(VALID), "安徽顺达物流有限公司")


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "blank"])
def test_enterprise_needs_a_name(name: str) -> None:
    """An enterprise without a name cannot be addressed on a document."""
    with pytest.raises(DomainError, match="an enterprise needs a name"):
        Enterprise("e1", VALID, name)
