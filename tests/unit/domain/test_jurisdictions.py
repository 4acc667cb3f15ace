"""GB/T 2260 division codes: levels, the parent chain, containment and authority names."""

from __future__ import annotations

import pytest

from zhifa.domain.jurisdictions import (
    DEFAULT_AUTHORITY_TEMPLATES,
    DivisionCode,
    InvalidDivisionCode,
    Jurisdiction,
    Level,
    authority_name,
    province_abbreviation,
)

ANHUI = DivisionCode.parse("340000")
HEFEI = DivisionCode.parse("340100")
YAOHAI = DivisionCode.parse("340102")  # 合肥市瑶海区
SHUSHAN = DivisionCode.parse("340104")  # 合肥市蜀山区
WUHU = DivisionCode.parse("340200")
JINGHU = DivisionCode.parse("340202")  # 芜湖市镜湖区
HENAN = DivisionCode.parse("410000")


@pytest.mark.parametrize(
    ("raw", "level", "parent", "prefix"),
    [
        pytest.param("340000", Level.PROVINCE, None, "34", id="province"),
        pytest.param("340100", Level.CITY, "340000", "3401", id="city"),
        pytest.param("340102", Level.COUNTY, "340100", "340102", id="county"),
        pytest.param(340202, Level.COUNTY, "340200", "340202", id="int-input"),
        pytest.param(" 341700 ", Level.CITY, "340000", "3417", id="padded"),
    ],
)
def test_parse_levels(raw: object, level: Level, parent: str | None, prefix: str) -> None:
    """Six digits = province 2 + prefecture 2 + county 2; the zeros say the level."""
    code = DivisionCode.parse(raw)
    assert code.level is level
    assert (code.parent.code if code.parent else None) == parent
    assert code.prefix == prefix
    assert code.province == ANHUI


def test_parent_chain_ends_at_the_province() -> None:
    """County → city → province → None."""
    chain = []
    code: DivisionCode | None = YAOHAI
    while code is not None:
        chain.append(code.code)
        code = code.parent
    assert chain == ["340102", "340100", "340000"]


def test_level_labels() -> None:
    """Each level has its Chinese label for documents and the UI."""
    assert [lv.label for lv in Level] == ["省级", "市级", "县级"]


@pytest.mark.parametrize(
    ("outer", "inner", "contains", "reason"),
    [
        pytest.param(HEFEI, YAOHAI, True, "a county of the city", id="city-county"),
        pytest.param(HEFEI, SHUSHAN, True, "another county of the city", id="city-county-2"),
        pytest.param(HEFEI, JINGHU, False, "a county of another city: never sideways", id="city-other"),
        pytest.param(HEFEI, WUHU, False, "a sibling city", id="city-sibling"),
        pytest.param(HEFEI, HEFEI, True, "a unit contains itself", id="city-itself"),
        pytest.param(HEFEI, ANHUI, False, "never upwards", id="city-province"),
        pytest.param(ANHUI, YAOHAI, True, "the province holds every 34xxxx", id="province-county"),
        pytest.param(ANHUI, JINGHU, True, "the province holds every 34xxxx", id="province-county-2"),
        pytest.param(ANHUI, WUHU, True, "the province holds its cities", id="province-city"),
        pytest.param(ANHUI, HENAN, False, "another province", id="province-other"),
        pytest.param(YAOHAI, YAOHAI, True, "a county contains only itself", id="county-itself"),
        pytest.param(YAOHAI, SHUSHAN, False, "a sibling county", id="county-sibling"),
        pytest.param(YAOHAI, HEFEI, False, "never upwards", id="county-city"),
    ],
)
def test_contains(outer: DivisionCode, inner: DivisionCode, contains: bool, reason: str) -> None:
    """contains() looks down the tree only: itself and what lies beneath."""
    assert outer.contains(inner) is contains


@pytest.mark.parametrize(
    ("raw", "message", "reason"),
    [
        pytest.param("34010", "must be six digits", "five digits", id="5-digits"),
        pytest.param("3401020", "must be six digits", "seven digits", id="7-digits"),
        pytest.param("34A100", "must be six digits", "letters", id="letters"),
        pytest.param("040100", "must be six digits", "no province starts with 0", id="leading-zero"),
        pytest.param("", "must be six digits", "empty", id="empty"),
        # 340070 is refused twice over (7x county digits, prefecture 00); the prefecture check speaks.
        pytest.param("340070", "county under no prefecture", "7x under prefecture 00", id="dev-zone-00"),
        pytest.param("340171", "development-zone", "county digits 7x are statistical", id="dev-zone"),
        pytest.param("341275", "development-zone", "阜阳 with 7x county digits", id="dev-zone-2"),
        pytest.param(
            "340002", "county under no prefecture", "prefecture 00 with a county", id="no-prefecture"
        ),
    ],
)
def test_parse_refuses(raw: str, message: str, reason: str) -> None:
    """What GB/T 2260 does not define is refused with the reason."""
    with pytest.raises(InvalidDivisionCode, match=message):
        DivisionCode.parse(raw)


@pytest.mark.parametrize(
    ("code", "abbreviation"),
    [
        pytest.param(ANHUI, "皖", id="anhui"),
        pytest.param(JINGHU, "皖", id="anhui-county"),
        pytest.param(HENAN, "豫", id="henan"),
        pytest.param(DivisionCode.parse("410100"), "豫", id="zhengzhou"),
        pytest.param(DivisionCode.parse("110000"), "京", id="beijing"),
        pytest.param(DivisionCode.parse("650000"), "新", id="xinjiang"),
    ],
)
def test_province_abbreviation(code: DivisionCode, abbreviation: str) -> None:
    """The plate and case-number abbreviation of the code's province."""
    assert province_abbreviation(code) == abbreviation


@pytest.mark.parametrize("raw", ["710000", "810000", "820000"], ids=["taiwan", "hong-kong", "macao"])
def test_province_abbreviation_unknown(raw: str) -> None:
    """A code outside the 31 plate provinces has no abbreviation: an error, not a guess."""
    with pytest.raises(InvalidDivisionCode, match="not in a province with a plate abbreviation"):
        province_abbreviation(DivisionCode.parse(raw))


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        pytest.param(ANHUI, "安徽省", "安徽省交通运输综合行政执法总队", id="province"),
        pytest.param(HEFEI, "合肥市", "合肥市交通运输综合行政执法支队", id="city"),
        pytest.param(YAOHAI, "瑶海区", "瑶海区交通运输综合行政执法大队", id="county"),
    ],
)
def test_authority_name_default_templates(code: DivisionCode, name: str, expected: str) -> None:
    """总队 / 支队 / 大队 by level, after the 2019 reform [S]."""
    assert authority_name(code, name) == expected


def test_authority_name_custom_templates() -> None:
    """A setting overrides the templates per level."""
    templates = {**DEFAULT_AUTHORITY_TEMPLATES, Level.CITY: "{name}交通运输局"}
    assert authority_name(HEFEI, "合肥市", templates) == "合肥市交通运输局"
    assert authority_name(YAOHAI, "瑶海区", templates) == "瑶海区交通运输综合行政执法大队"


def test_jurisdiction_level_and_parent_follow_the_code() -> None:
    """A Jurisdiction's level and parent come from its code."""
    unit = Jurisdiction(YAOHAI, "瑶海区", "瑶海区交通运输综合行政执法大队")
    assert unit.level is Level.COUNTY
    assert unit.parent == HEFEI
    assert str(unit.code) == "340102"
