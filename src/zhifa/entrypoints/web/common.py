"""What every page shares: the template environment, display formats, labels and dependencies.

Times are stored in UTC and shown only in the display zone (Asia/Shanghai by default), so the
formatting filters are bound to ``app.policy.zone`` when the pages are installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo
from enum import Enum
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from zhifa.bootstrap import App
from zhifa.domain.alerts import AlertStatus, Severity
from zhifa.domain.cases import CaseStatus, PartyKind, Procedure
from zhifa.domain.documents import DocumentKind
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.permissions import Permission, Principal
from zhifa.domain.sites import SiteKind
from zhifa.domain.vehicles import PlateColour, VehicleKind
from zhifa.domain.weighings import Disposition, ImageKind
from zhifa.entrypoints.api.security import CSRF_FIELD, csrf_token

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DASH = "—"
# A site whose verification ends within this many days is flagged, so a renewal is booked in time
# (超限规定 第三十八条: records of an unverified device found no penalty).
EXPIRY_WARNING_DAYS = 30

# Each kind of stored value and the enum whose .label is its Chinese name.
LABELLED: dict[str, type[Enum]] = {
    "case": CaseStatus,
    "alert": AlertStatus,
    "severity": Severity,
    "disposition": Disposition,
    "site_kind": SiteKind,
    "image": ImageKind,
    "vehicle_kind": VehicleKind,
    "party": PartyKind,
    "procedure": Procedure,
    "document": DocumentKind,
}

PROFILE_SOURCES = {
    "register": "车辆登记信息",
    "device": "检测设备识别",
    "default": "按有利于当事人的原则认定",
}

# The header's links, each shown only to a principal holding the permission its page declares.
NAV: tuple[tuple[str, str, Permission], ...] = (
    ("/", "总览", Permission.DASHBOARD_VIEW),
    ("/weighings", "称重记录", Permission.WEIGHINGS_READ),
    ("/alerts", "预警", Permission.ALERTS_READ),
    ("/cases", "案件", Permission.CASES_READ),
    ("/sites", "检测站点", Permission.REGISTERS_READ),
)

ERROR_TITLES = {
    400: "请求有误",
    401: "未登录或登录已失效",
    403: "无权访问",
    404: "页面或记录不存在",
    405: "不支持该操作",
    409: "记录已被他人修改，请刷新后重试",
    413: "提交的数据过大",
    422: "无法处理该请求",
    429: "请求过于频繁，请稍后再试",
    500: "系统内部错误",
}


def label(value: object, kind: str) -> str:
    """The Chinese label of a stored enum value; the raw value if it is not (or no longer) known."""
    if value is None or value == "":
        return DASH
    enum = LABELLED[kind]
    try:
        member = enum(value)
    except ValueError:
        return str(value)
    return str(getattr(member, "label", member.value))


def plate_colour(code: object) -> str:
    try:
        return PlateColour(int(str(code))).label
    except ValueError:
        return str(code)


def kilograms(value: object) -> str:
    return DASH if value is None else f"{int(str(value)):,}"


def percent(value: object) -> str:
    return DASH if value is None else f"{float(str(value)):.2f}%"


def metres(mm: int | None) -> str:
    return DASH if mm is None else f"{mm / 1000:.2f} 米"


def penalty_text(penalty: Mapping[str, Any] | None) -> str:
    """The proposed penalty as an officer reads it: an amount, a range for discretion, or 警告."""
    if not penalty:
        return DASH
    parts = []
    if penalty.get("warning"):
        parts.append("警告")
    if penalty.get("kind") == "fine":
        if penalty.get("amount_yuan") is not None:
            parts.append(f"罚款{penalty['amount_yuan']}元")
        elif penalty.get("min_yuan") is not None:
            parts.append(f"罚款{penalty['min_yuan']}元至{penalty['max_yuan']}元（依裁量基准确定）")
    return "、".join(parts) or "不予处罚"


def verification_state(valid_until: date | str | None, on: date, warn_days: int) -> tuple[str, str]:
    """(css key, label) of a device's metrological verification on the day ``on``."""
    if not valid_until:
        return "none", "无检定记录"
    until = date.fromisoformat(valid_until) if isinstance(valid_until, str) else valid_until
    if until < on:
        return "expired", "已过期"
    if warn_days and until - on <= timedelta(days=warn_days):
        return "expiring", f"{warn_days}日内到期"
    return "valid", "有效"


def safe_link(uri: str) -> str | None:
    """Only web addresses become links: a device could send a javascript: URI as an image."""
    return uri if uri.lower().startswith(("https://", "http://")) else None


def wants_unmask(request: Request, who: Principal) -> bool:
    """Whether the page is asked to show personal data in full (``?unmask=1``); asking without the
    permission is refused (403) before anything is read."""
    asked = request.query_params.get("unmask", "").strip().lower() in ("1", "true", "yes", "on")
    if asked:
        who.require(Permission.PERSONAL_DATA_UNMASK)
    return asked


class Pages:
    """The Jinja2 environment (autoescaped, strict) and the HTML responses built with it."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,  # a typo in a template fails the tests instead of showing ""
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            local=self.local_time,
            local_day=self.local_day,
            label=label,
            plate_colour=plate_colour,
            kg=kilograms,
            pct=percent,
            metres=metres,
            penalty=penalty_text,
        )
        self.env.globals.update(
            safe_link=safe_link, profile_sources=PROFILE_SOURCES, nav=NAV, P=Permission, csrf_field=CSRF_FIELD
        )
        # Division names are reference data (GB/T 2260) that change between deployments at most.
        self._division_names: dict[DivisionCode, str] = {}

    def local_time(self, value: datetime | None) -> str:
        if value is None:
            return DASH
        return value.astimezone(self.zone).strftime(TIME_FORMAT)

    def local_day(self, value: datetime | None) -> str:
        return DASH if value is None else value.astimezone(self.zone).date().isoformat()

    def division_name(self, app: App, code: DivisionCode) -> str:
        name = self._division_names.get(code)
        if name is None:
            try:
                with app.uow() as uow:
                    found = uow.jurisdictions.get(code)
            except Exception:
                return code.code  # the 500 page must render even when the store is what failed
            name = self._division_names[code] = found.name if found else code.code
        return name

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        # Login and errors raised before authentication render without anyone signed in; the
        # templates are strict, so "nobody" is passed explicitly rather than left undefined.
        principal: Principal | None = getattr(request.state, "principal", None)
        unit_name = ""
        if principal is not None:
            unit_name = self.division_name(request.app.state.zhifa, principal.division)
        shared = {
            "request": request,
            "path": request.url.path,
            "principal": principal,
            "unit_name": unit_name,
            "csrf_token": csrf_token(request),
        }
        html = self.env.get_template(template).render(**(shared | context))
        response = HTMLResponse(html, status_code=status_code)
        # Pages show enforcement and personal data, and forms carry tokens: no shared cache, and no
        # browser history after sign-out, may keep them.
        response.headers["Cache-Control"] = "no-store"
        return response

    def error(self, request: Request, status: int, detail: str) -> HTMLResponse:
        """The HTML error page that problems.py shows for any failure outside /api/."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        # Starlette's own details are the English status phrase; the heading already says it.
        shown = "" if detail in ("", phrase) or status >= 500 else detail
        title = ERROR_TITLES.get(status, "请求未能完成")
        return self.render(request, "error.html", status, status=status, title=title, detail=shown)


def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.web_pages
    return pages


PagesDep = Annotated[Pages, Depends(get_pages)]
