"""Enterprises: the unified social credit code (统一社会信用代码, GB 32100-2015).

The check character is computed by python-stdnum (`stdnum.cn.uscc`): a pure, I/O-free library
the domain may use (docs/adr/001-domain-purity.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.cn import uscc as _uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

from zhifa.domain.errors import DomainError


class InvalidCreditCode(DomainError):
    pass


def validate_uscc(raw: str) -> str:
    """Return the compact, upper-case code or raise InvalidCreditCode saying what failed."""
    code = _uscc.compact(raw)
    try:
        return str(_uscc.validate(code))
    except InvalidLength:
        raise InvalidCreditCode(
            f"unified social credit code {raw!r} must have 18 characters, has {len(code)}"
        ) from None
    except InvalidChecksum:
        raise InvalidCreditCode(
            f"unified social credit code {raw!r} fails its GB 32100 check character"
        ) from None
    except (InvalidFormat, InvalidComponent):
        raise InvalidCreditCode(
            f"unified social credit code {raw!r} is malformed (GB 32100: registration authority, "
            "division code, organisation code, check character)"
        ) from None


def uscc_division_code(code: str) -> str:
    """Characters 3-8 of a USCC are the GB/T 2260 division of the registering authority."""
    return code[2:8]


@dataclass(frozen=True)
class Enterprise:
    """A transport enterprise (运输企业), identified by its unified social credit code."""

    id: str
    uscc: str
    name: str
    division: str | None = None  # GB/T 2260 code where it is registered
    address: str = ""

    def __post_init__(self) -> None:
        validate_uscc(self.uscc)
        if not self.name.strip():
            raise DomainError("an enterprise needs a name")
