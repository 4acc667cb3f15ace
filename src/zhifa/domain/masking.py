"""Masking personal data for display (行政处罚法 第五十条: personal privacy learnt while enforcing
is kept confidential).

Identity numbers keep their first six (the issuing division) and last four characters, phones
their first three and last four digits, names their first character: enough to tell two people
apart on a list, not enough to identify one. Seeing the whole value is a permission, and audited.
"""

from __future__ import annotations

from zhifa.domain.cases import PartyKind

MASK = "*"


def mask_id_number(value: str) -> str:
    """``340104199001011234`` → ``340104********1234``."""
    value = value.strip()
    if len(value) <= 10:
        return MASK * len(value)
    return value[:6] + MASK * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``; short numbers keep only their last two digits."""
    value = value.strip()
    if len(value) >= 11:
        return value[:3] + MASK * (len(value) - 7) + value[-4:]
    if len(value) <= 2:
        return MASK * len(value)
    return MASK * (len(value) - 2) + value[-2:]


def mask_name(value: str) -> str:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``; empty stays empty."""
    value = value.strip()
    if len(value) <= 1:
        return value
    return value[0] + MASK * (len(value) - 1)


def is_personal_party(kind: object, name: str) -> bool:
    """An individual party's name is personal data; an organisation's (法人或者其他组织) is not."""
    return bool(name) and str(kind) != PartyKind.ORGANISATION.value


def shown_party_name(kind: object, name: str, unmasked: bool) -> str:
    """The party's name as shown: an individual's masked unless unmasking was allowed."""
    return name if unmasked or not is_personal_party(kind, name) else mask_name(name)
