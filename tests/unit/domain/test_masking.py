"""Masking personal data for display (行政处罚法 第五十条): what is kept, what is hidden, and that
the hidden part carries nothing of the original."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifa.domain.masking import MASK, mask_id_number, mask_name, mask_phone

DIGITS = "0123456789"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        pytest.param("340104199001011234", "340104********1234", id="docstring-example"),
        pytest.param("34010419900101123X", "340104********123X", id="check-character-X"),
        pytest.param(" 340104199001011234 ", "340104********1234", id="surrounding-space"),
        pytest.param("340104900101123", "340104*****1123", id="old-15-digit"),
        pytest.param("34010412345", "340104*2345", id="eleven-characters"),
        pytest.param("3401041234", "**********", id="ten-characters-all-hidden"),
        pytest.param("12345", "*****", id="short"),
        pytest.param("", "", id="empty"),
    ],
)
def test_mask_id_number(value: str, masked: str) -> None:
    """An identity number keeps its first six (issuing division) and last four characters; ten or
    fewer are hidden entirely, since keeping ten would show all of them."""
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        pytest.param("13812345678", "138****5678", id="mobile"),
        pytest.param("0551-12345678", "055******5678", id="landline-with-area-code"),
        pytest.param(" 13812345678\n", "138****5678", id="surrounding-space"),
        pytest.param("1234567", "*****67", id="short-keeps-last-two"),
        pytest.param("123", "*23", id="three-digits"),
        pytest.param("12", "**", id="two-digits-all-hidden"),
        pytest.param("1", "*", id="one-digit"),
        pytest.param("", "", id="empty"),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    """A phone keeps its first three and last four digits; a short number only its last two, and
    two digits or fewer nothing."""
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        pytest.param("张三", "张*", id="two-characters"),
        pytest.param("欧阳娜娜", "欧***", id="four-characters"),
        pytest.param("阿卜杜·热合曼", "阿******", id="with-middle-dot"),
        pytest.param(" 王五 ", "王*", id="surrounding-space"),
        pytest.param("李", "李", id="one-character"),
        pytest.param("", "", id="empty"),
    ],
)
def test_mask_name(value: str, masked: str) -> None:
    """A name keeps its first character (the surname, mostly) and hides the rest."""
    assert mask_name(value) == masked


_ID_LIKE = st.text(alphabet=DIGITS + "X", min_size=11, max_size=24)
_PHONE_LIKE = st.text(alphabet=DIGITS + "-", min_size=11, max_size=20)


@settings(max_examples=300, deadline=None)
@given(_ID_LIKE, st.text(alphabet=DIGITS + "X", min_size=1, max_size=14))
def test_masked_id_number_keeps_only_its_ends(value: str, other_middle: str) -> None:
    """For an identity number of 11 or more characters the mask has the same length, keeps the
    first six and last four, and is all MASK between: any other middle of the same length masks
    to the same text, so the middle's digits cannot be read back."""
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    assert masked[:6] == value[:6] and masked[-4:] == value[-4:]
    assert set(masked[6:-4]) == {MASK}
    middle = (other_middle * len(value))[: len(value) - 10]
    assert mask_id_number(value[:6] + middle + value[-4:]) == masked


@settings(max_examples=300, deadline=None)
@given(_PHONE_LIKE, st.text(alphabet=DIGITS, min_size=1, max_size=13))
def test_masked_phone_keeps_only_its_ends(value: str, other_middle: str) -> None:
    """For a phone of 11 or more characters the mask has the same length, keeps the first three
    and last four, and is all MASK between: any other middle masks the same."""
    masked = mask_phone(value)
    assert len(masked) == len(value)
    assert masked[:3] == value[:3] and masked[-4:] == value[-4:]
    assert set(masked[3:-4]) == {MASK}
    middle = (other_middle * len(value))[: len(value) - 7]
    assert mask_phone(value[:3] + middle + value[-4:]) == masked


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=DIGITS, max_size=10))
def test_short_numbers_show_at_most_two_characters(value: str) -> None:
    """Short identity numbers are hidden entirely and short phones show at most their last two
    digits; the length is kept either way."""
    assert mask_id_number(value) == MASK * len(value)
    masked = mask_phone(value)
    assert len(masked) == len(value)
    assert sum(c != MASK for c in masked) <= 2


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=12).map(str.strip).filter(bool))
def test_masked_name_keeps_the_first_character_only(value: str) -> None:
    """A name of any length keeps its first character and the same length; the rest is MASK."""
    masked = mask_name(value)
    assert len(masked) == len(value)
    assert masked[0] == value[0]
    assert set(masked[1:]) <= {MASK}
