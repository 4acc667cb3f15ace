"""Jurisdictions (辖区) by GB/T 2260 division code: province → city → county.

Six digits: province 2 + prefecture 2 + county 2. ``340000`` is a province, ``340100`` a city,
``340102`` a county-level unit. Statistical codes whose county digits start with 7 (development
zones) are not GB/T 2260 units and are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from zhifa.domain.errors import DomainError


class InvalidDivisionCode(DomainError):
    pass


class Level(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"

    @property
    def label(self) -> str:
        return {"province": "省级", "city": "市级", "county": "县级"}[self.value]


_CODE = re.compile(r"^[1-9][0-9]{5}$")


@dataclass(frozen=True, order=True)
class DivisionCode:
    code: str

    @classmethod
    def parse(cls, raw: object) -> DivisionCode:
        text = str(raw).strip()
        if not _CODE.match(text):
            raise InvalidDivisionCode(f"division code {raw!r} must be six digits (GB/T 2260)")
        if text[2:4] == "00" and text[4:6] != "00":
            raise InvalidDivisionCode(f"division code {raw!r} has a county under no prefecture")
        if text[4] == "7":
            raise InvalidDivisionCode(
                f"division code {raw!r} is a statistical development-zone code, not GB/T 2260"
            )
        return cls(text)

    @property
    def level(self) -> Level:
        if self.code.endswith("0000"):
            return Level.PROVINCE
        if self.code.endswith("00"):
            return Level.CITY
        return Level.COUNTY

    @property
    def province(self) -> DivisionCode:
        return DivisionCode(self.code[:2] + "0000")

    @property
    def parent(self) -> DivisionCode | None:
        if self.level is Level.PROVINCE:
            return None
        if self.level is Level.CITY:
            return self.province
        return DivisionCode(self.code[:4] + "00")

    @property
    def prefix(self) -> str:
        """The code prefix this unit shares with everything beneath it (34, 3401, 340102)."""
        return {Level.PROVINCE: self.code[:2], Level.CITY: self.code[:4], Level.COUNTY: self.code}[self.level]

    def contains(self, other: DivisionCode) -> bool:
        """True when ``other`` is this unit or lies beneath it (never sideways)."""
        return other.code.startswith(self.prefix)

    def __str__(self) -> str:
        return self.code


# GB/T 2260 province codes to the abbreviation that opens a plate and a case number.
PROVINCE_ABBREVIATION_BY_CODE = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑",
    "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫",
    "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "贵",
    "53": "云", "54": "藏", "61": "陕", "62": "甘", "63": "青", "64": "宁", "65": "新",
}  # fmt: skip


def province_abbreviation(code: DivisionCode) -> str:
    try:
        return PROVINCE_ABBREVIATION_BY_CODE[code.code[:2]]
    except KeyError:
        raise InvalidDivisionCode(f"{code} is not in a province with a plate abbreviation") from None


@dataclass(frozen=True)
class Jurisdiction:
    """A province, city or county and the enforcement authority that acts for it."""

    code: DivisionCode
    name: str  # 合肥市, 瑶海区
    authority: str  # the unit that signs documents, e.g. 合肥市交通运输综合行政执法支队
    label_lon: float | None = None
    label_lat: float | None = None

    @property
    def level(self) -> Level:
        return self.code.level

    @property
    def parent(self) -> DivisionCode | None:
        return self.code.parent


# How an authority is named when the reference data does not say [S]: after the 2019 reform,
# provinces set up 综合行政执法 总队/支队/大队 at province/city/county level. A setting overrides it.
DEFAULT_AUTHORITY_TEMPLATES = {
    Level.PROVINCE: "{name}交通运输综合行政执法总队",
    Level.CITY: "{name}交通运输综合行政执法支队",
    Level.COUNTY: "{name}交通运输综合行政执法大队",
}


def authority_name(code: DivisionCode, name: str, templates: dict[Level, str] | None = None) -> str:
    return (templates or DEFAULT_AUTHORITY_TEMPLATES)[code.level].format(name=name)
