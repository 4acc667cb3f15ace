"""Legal citations: which law, which article, paragraph and item.

Every number the platform enforces carries one of these next to it, and the same object renders
the Chinese citation printed on documents (《超限运输车辆行驶公路管理规定》第四十三条第一款第二项).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Law(StrEnum):
    """Short identifiers of the texts in shared/reference/laws, valued by their Chinese titles."""

    OVERLIMIT_RULES = "超限运输车辆行驶公路管理规定"  # 交通运输部令2016年第62号, 2021年修正
    HIGHWAY_SAFETY_REGULATION = "公路安全保护条例"
    HIGHWAY_LAW = "公路法"
    ADMINISTRATIVE_PENALTY_LAW = "行政处罚法"  # 2021年修订
    ENFORCEMENT_PROCEDURE_RULES = "交通运输行政执法程序规定"  # 交通运输部令2019年第9号, 2021年修正
    EXPRESSWAY_ENTRANCE_NOTICE = "交办公路明电〔2019〕117号"

    @property
    def full_title(self) -> str:
        return _FULL_TITLES.get(self, self.value)


# Laws adopted by the NPC are cited in documents by their full title (中华人民共和国…).
_FULL_TITLES = {
    Law.HIGHWAY_LAW: "中华人民共和国公路法",
    Law.ADMINISTRATIVE_PENALTY_LAW: "中华人民共和国行政处罚法",
}

_DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """Render 1..999 the way statute numbering is written (十一, 二十, 一百零三)."""
    if not 0 < n < 1000:
        raise ValueError(f"article numbers run from 1 to 999, got {n}")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = ""
    if hundreds:
        out += _DIGITS[hundreds] + "百"
        if rest and tens == 0:
            out += "零"
    if tens:
        # 十一 stands alone; inside a hundred it is 一百一十一.
        out += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    if ones:
        out += _DIGITS[ones]
    return out


@dataclass(frozen=True)
class Citation:
    """One provision: law, article, and optionally paragraph (款) and item (项).

    A document without articles (a ministry notice) is cited by its title alone: article None.
    """

    law: Law
    article: int | None = None
    paragraph: int | None = None
    item: int | None = None

    def provision(self) -> str:
        if self.article is None:
            return ""
        text = f"第{chinese_numeral(self.article)}条"
        if self.paragraph is not None:
            text += f"第{chinese_numeral(self.paragraph)}款"
        if self.item is not None:
            text += f"第{chinese_numeral(self.item)}项"
        return text

    def __str__(self) -> str:
        if self.article is None and self.law.value.endswith("号"):
            return str(self.law.value)  # a numbered notice is cited by its number, no 《》
        return f"《{self.law.full_title}》{self.provision()}"


def overlimit_rules(article: int, paragraph: int | None = None, item: int | None = None) -> Citation:
    return Citation(Law.OVERLIMIT_RULES, article, paragraph, item)
