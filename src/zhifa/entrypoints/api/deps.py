"""Annotated dependencies, so routes stay one screen long."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from zhifa.bootstrap import App
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.permissions import Permission, Principal
from zhifa.services.privacy import record_disclosure
from zhifa.services.queries import MAX_PAGE_SIZE, Page, PageRequest


def get_app(request: Request) -> App:
    app: App = request.app.state.zhifa
    return app


AppDep = Annotated[App, Depends(get_app)]


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page")] = 50,
    offset: Annotated[int, Query(ge=0, description="Rows to skip")] = 0,
) -> PageRequest:
    return PageRequest(limit, offset)


PageDep = Annotated[PageRequest, Depends(page_request)]


def jurisdiction_scope(
    jurisdiction: Annotated[
        str | None,
        Query(
            pattern=r"^[1-9][0-9]{5}$",
            description="GB/T 2260 code: only this jurisdiction and those beneath it",
        ),
    ] = None,
) -> DivisionCode | None:
    return DivisionCode.parse(jurisdiction) if jurisdiction else None


ScopeDep = Annotated[DivisionCode | None, Depends(jurisdiction_scope)]


def aware(value: datetime | None, app: App) -> datetime | None:
    """A time filter without an offset is read in the display zone (Asia/Shanghai)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=app.policy.zone)


ItemT = TypeVar("ItemT", bound=BaseModel)


class PageOut(BaseModel, Generic[ItemT]):
    """One page of a list, newest first, with the total the filters match."""

    items: list[ItemT]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, model: type[ItemT], page: Page[Any]) -> PageOut[ItemT]:
        return PageOut[model](  # type: ignore[valid-type]
            items=[model.model_validate(row) for row in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )


UnmaskQuery = Annotated[
    bool,
    Query(
        description="Show personal data (names, ID numbers, phones) in full. Needs the "
        "personal_data:unmask permission; every such read is written to the audit log."
    ),
]


def disclose(app: App, who: Principal, object_type: str, ids: list[str], fields: list[str]) -> None:
    """Allow and audit an unmasked read of personal data, or refuse it (403)."""
    who.require(Permission.PERSONAL_DATA_UNMASK)
    record_disclosure(app.uow, app.clock, who.actor, object_type, ids, fields)
