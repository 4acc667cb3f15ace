"""Citations as printed on documents: statute numbering in Chinese numerals."""

from __future__ import annotations

import pytest

from zhifa.domain.legal import Citation, Law, chinese_numeral, overlimit_rules


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        pytest.param(1, "一", id="1"),
        pytest.param(9, "九", id="9"),
        pytest.param(10, "十", id="10"),
        # A bare 十 leads the teens: 十一, never 一十一.
        pytest.param(11, "十一", id="11"),
        pytest.param(20, "二十", id="20"),
        pytest.param(43, "四十三", id="43"),
        pytest.param(99, "九十九", id="99"),
        pytest.param(100, "一百", id="100"),
        # A gap in the tens is spoken as 零.
        pytest.param(101, "一百零一", id="101"),
        pytest.param(103, "一百零三", id="103"),
        # Inside a hundred the ten carries its digit: 一百一十.
        pytest.param(110, "一百一十", id="110"),
        pytest.param(111, "一百一十一", id="111"),
        pytest.param(120, "一百二十", id="120"),
        pytest.param(131, "一百三十一", id="131"),
        pytest.param(999, "九百九十九", id="999"),
    ],
)
def test_chinese_numeral(n: int, expected: str) -> None:
    assert chinese_numeral(n) == expected


@pytest.mark.parametrize("n", [0, -1, 1000], ids=["0", "-1", "1000"])
def test_chinese_numeral_outside_statute_range(n: int) -> None:
    with pytest.raises(ValueError, match=f"got {n}"):
        chinese_numeral(n)


@pytest.mark.parametrize(
    ("citation", "expected"),
    [
        pytest.param(
            overlimit_rules(43, 1, 2),
            "《超限运输车辆行驶公路管理规定》第四十三条第一款第二项",
            id="article-paragraph-item",
        ),
        pytest.param(
            overlimit_rules(43, 2), "《超限运输车辆行驶公路管理规定》第四十三条第二款", id="paragraph"
        ),
        pytest.param(overlimit_rules(3), "《超限运输车辆行驶公路管理规定》第三条", id="article"),
        # Some articles list items without paragraphs: 第三条第二项 is a valid citation.
        pytest.param(
            Citation(Law.OVERLIMIT_RULES, 3, None, 2),
            "《超限运输车辆行驶公路管理规定》第三条第二项",
            id="item-without-paragraph",
        ),
        pytest.param(
            Citation(Law.HIGHWAY_SAFETY_REGULATION, 66), "《公路安全保护条例》第六十六条", id="other-law"
        ),
        pytest.param(
            Citation(Law.ENFORCEMENT_PROCEDURE_RULES, 131),
            "《交通运输行政执法程序规定》第一百三十一条",
            id="article-over-100",
        ),
        # A law cited as a whole keeps its 书名号, and an NPC law its full title.
        pytest.param(Citation(Law.HIGHWAY_LAW), "《中华人民共和国公路法》", id="whole-law"),
        pytest.param(
            Citation(Law.ADMINISTRATIVE_PENALTY_LAW, 44),
            "《中华人民共和国行政处罚法》第四十四条",
            id="npc-law-full-title",
        ),
        # A numbered notice is cited by its document number, without 书名号.
        pytest.param(
            Citation(Law.EXPRESSWAY_ENTRANCE_NOTICE), "交办公路明电〔2019〕117号", id="numbered-notice"
        ),
    ],
)
def test_citation_rendering(citation: Citation, expected: str) -> None:
    assert str(citation) == expected


def test_provision_is_empty_for_a_whole_document() -> None:
    assert Citation(Law.EXPRESSWAY_ENTRANCE_NOTICE).provision() == ""
    assert overlimit_rules(3, 1, 8).provision() == "第三条第一款第八项"


def test_overlimit_rules_builds_citations_of_the_overlimit_rules() -> None:
    assert overlimit_rules(3, 2, 5) == Citation(Law.OVERLIMIT_RULES, 3, 2, 5)
