"""Filter forms of the list pages: query parameters in, read-model filters and pager links out.

A list page must never fail on what is typed into its address bar, so a value that does not
parse is dropped, named in a notice above the table, and the list shows without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import Enum
from urllib.parse import urlencode

from fastapi import Request

from zhifa.bootstrap import App
from zhifa.domain.errors import DomainError
from zhifa.domain.jurisdictions import DivisionCode, Level
from zhifa.domain.permissions import Principal
from zhifa.services.queries import PageRequest

PAGE_SIZE = 50
MAX_TEXT = 64


@dataclass(frozen=True)
class Option:
    value: str
    text: str
    depth: int = 0  # indentation in the select: province 0, city 1, county 2


@dataclass(frozen=True)
class Pager:
    total: int
    page: int
    pages: int
    prev_href: str | None
    next_href: str | None
    first_row: int
    last_row: int


class ListParams:
    """The cleaned filter values of one request, and the notices about those that were dropped."""

    def __init__(self, request: Request, zone: tzinfo) -> None:
        self.request = request
        self.zone = zone
        self.values: dict[str, str] = {}  # what the form shows again and the pager links keep
        self.invalid: list[str] = []

    def _raw(self, name: str) -> str:
        return self.request.query_params.get(name, "").strip()[:MAX_TEXT]

    def text(self, name: str) -> str | None:
        raw = self._raw(name)
        self.values[name] = raw
        return raw or None

    def choice(self, name: str, enum: type[Enum], title: str) -> str | None:
        raw = self._raw(name)
        if raw and raw not in {str(m.value) for m in enum}:
            self.invalid.append(f"{title}“{raw}”无效，已忽略")
            raw = ""
        self.values[name] = raw
        return raw or None

    def division(self, name: str = "jurisdiction") -> DivisionCode | None:
        raw = self._raw(name)
        code = None
        if raw:
            try:
                code = DivisionCode.parse(raw)
            except DomainError:
                self.invalid.append(f"辖区代码“{raw}”无效，已忽略")
                raw = ""
        self.values[name] = raw
        return code

    def _day(self, name: str, title: str) -> date | None:
        raw = self._raw(name)
        day = None
        if raw:
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                self.invalid.append(f"{title}“{raw}”不是有效日期，已忽略")
                raw = ""
        self.values[name] = raw
        return day

    def days(self, since: str = "since", until: str = "until") -> tuple[datetime | None, datetime | None]:
        """The date inputs as local days: from the first day's midnight to the end of the last."""
        first = self._day(since, "开始日期")
        last = self._day(until, "结束日期")
        start = datetime.combine(first, time(), self.zone) if first else None
        end = datetime.combine(last + timedelta(days=1), time(), self.zone) if last else None
        return start, end

    @property
    def page(self) -> int:
        raw = self.request.query_params.get("page", "1")
        return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1

    @property
    def page_request(self) -> PageRequest:
        return PageRequest(PAGE_SIZE, (self.page - 1) * PAGE_SIZE)

    def href(self, page: int) -> str:
        kept = {k: v for k, v in self.values.items() if v}
        if page > 1:
            kept["page"] = str(page)
        query = urlencode(kept)
        return f"{self.request.url.path}?{query}" if query else self.request.url.path

    def pager(self, total: int) -> Pager:
        pages = max(1, -(-total // PAGE_SIZE))
        page = self.page
        first = (page - 1) * PAGE_SIZE
        return Pager(
            total=total,
            page=page,
            pages=pages,
            prev_href=self.href(page - 1) if page > 1 else None,
            next_href=self.href(page + 1) if page < pages else None,
            first_row=first + 1 if total > first else 0,
            last_row=min(first + PAGE_SIZE, total),
        )


def jurisdiction_options(app: App, who: Principal) -> list[Option]:
    """The principal's division and those beneath it, in code order so each county follows its city,
    indented from the principal's own level (a city's counties one step, not two)."""
    with app.uow() as uow:
        units = uow.jurisdictions.list(who.division)
    depth = {Level.PROVINCE: 0, Level.CITY: 1, Level.COUNTY: 2}
    top = depth[who.division.level]
    return [Option(j.code.code, j.name, depth[j.level] - top) for j in units]


def site_options(app: App, who: Principal) -> list[Option]:
    return [Option(s["id"], f"{s['name']}（{s['id']}）") for s in app.read_model.sites(who.division)]


def enum_options(enum: type[Enum]) -> list[Option]:
    return [Option(str(m.value), str(getattr(m, "label", m.value))) for m in enum]
