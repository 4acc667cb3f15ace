"""The read model in SQL (SQLAlchemy Core): typed rows for lists, filtered by jurisdiction subtree."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVarTuple, cast

from sqlalchemy import ColumnElement, Engine, Select, and_, false, func, or_, select

from zhifa.adapters.db.tables import AlertRow, CaseRow, JurisdictionRow, SiteRow, WeighingRow
from zhifa.domain.alerts import AlertStatus
from zhifa.domain.cases import CaseStatus
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.vehicles import normalise_plate
from zhifa.domain.weighings import Disposition
from zhifa.services import queries as q

Ts = TypeVarTuple("Ts")


def _under(column: Any, under: DivisionCode | None) -> list[ColumnElement[bool]]:
    return [column.startswith(under.prefix)] if under is not None else []


def _plate(column: Any, plate: str | None) -> list[ColumnElement[bool]]:
    # A partial plate narrows the list (皖A12 finds 皖A12345), as officers type it.
    return [column.startswith(normalise_plate(plate))] if plate else []


def _range(column: Any, since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    out = []
    if since is not None:
        out.append(column >= since)
    if until is not None:
        out.append(column < until)
    return out


class SqlReadModel:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _page(
        self, query: Select[*Ts], order: list[Any], page: q.PageRequest
    ) -> tuple[list[dict[str, Any]], int]:
        with self.engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = conn.execute(query.order_by(*order).limit(page.limit).offset(page.offset)).mappings().all()
        return [dict(r) for r in rows], int(total)

    def weighings(self, f: q.WeighingFilter, page: q.PageRequest) -> q.Page[q.WeighingRow]:
        w = WeighingRow
        query = (
            select(
                w.record_id,
                w.site_id,
                SiteRow.name.label("site_name"),
                w.jurisdiction_code,
                w.measured_at,
                w.plate,
                w.plate_colour,
                w.axles,
                w.gross_kg,
                w.assessment,
                w.disposition,
                w.disposition_reason,
                w.alert_id,
            )
            .join(SiteRow, SiteRow.id == w.site_id)
            .where(
                *_under(w.jurisdiction_code, f.under),
                *_plate(w.plate, f.plate),
                *_range(w.measured_at, f.since, f.until),
            )
        )
        if f.site_id:
            query = query.where(w.site_id == f.site_id)
        if f.disposition:
            query = query.where(w.disposition == f.disposition)
        rows, total = self._page(query, [w.measured_at.desc(), w.record_id], page)
        items: list[q.WeighingRow] = []
        for r in rows:
            a = r.pop("assessment") or {}
            r.update(limit_kg=a.get("limit_kg"), excess_kg=a.get("excess_kg"), excess_pct=a.get("excess_pct"))
            items.append(cast(q.WeighingRow, r))
        return q.Page(items, total, page.limit, page.offset)

    def alerts(self, f: q.AlertFilter, page: q.PageRequest) -> q.Page[q.AlertRow]:
        a = AlertRow
        query = (
            select(
                a.id,
                a.rule_id,
                a.severity,
                a.status,
                a.plate,
                a.plate_colour,
                a.site_id,
                SiteRow.name.label("site_name"),
                a.jurisdiction_code,
                JurisdictionRow.name.label("jurisdiction_name"),
                a.occurred_at,
                a.created_at,
                a.summary,
                a.no_case_reason,
                a.weighing_record_id,
                CaseRow.id.label("case_id"),
            )
            .join(SiteRow, SiteRow.id == a.site_id)
            .join(JurisdictionRow, JurisdictionRow.code == a.jurisdiction_code)
            .outerjoin(CaseRow, CaseRow.alert_id == a.id)
            .where(
                *_under(a.jurisdiction_code, f.under),
                *_plate(a.plate, f.plate),
                *_range(a.occurred_at, f.since, f.until),
            )
        )
        if f.status:
            query = query.where(a.status == f.status)
        if f.severity:
            query = query.where(a.severity == f.severity)
        if f.site_id:
            query = query.where(a.site_id == f.site_id)
        rows, total = self._page(query, [a.occurred_at.desc(), a.id], page)
        return q.Page([cast(q.AlertRow, r) for r in rows], total, page.limit, page.offset)

    def cases(self, f: q.CaseFilter, page: q.PageRequest) -> q.Page[q.CaseRow]:
        c = CaseRow
        query = (
            select(
                c.id,
                c.case_number,
                c.procedure,
                c.status,
                c.jurisdiction_code,
                JurisdictionRow.name.label("jurisdiction_name"),
                c.plate,
                c.plate_colour,
                c.party_kind,
                c.party_name,
                c.opened_at,
                c.proposed_penalty,
                c.reviewer_name,
            )
            .join(JurisdictionRow, JurisdictionRow.code == c.jurisdiction_code)
            .where(
                *_under(c.jurisdiction_code, f.under),
                *_plate(c.plate, f.plate),
                *_range(c.opened_at, f.since, f.until),
            )
        )
        if f.status:
            query = query.where(c.status == f.status)
        if f.case_number:
            query = query.where(c.case_number.contains(f.case_number.strip()))
        if f.own_only:
            owned: list[ColumnElement[bool]] = [
                and_(c.plate == plate, c.plate_colour == colour) for plate, colour in f.own_vehicles
            ]
            if f.own_enterprise_id:
                owned.append(c.party_enterprise_id == f.own_enterprise_id)
            query = query.where(or_(*owned) if owned else false())
        rows, total = self._page(query, [c.opened_at.desc(), c.id], page)
        return q.Page([cast(q.CaseRow, r) for r in rows], total, page.limit, page.offset)

    def sites(self, under: DivisionCode | None = None) -> list[q.SiteRow]:
        s = SiteRow
        query = (
            select(
                s.id,
                s.name,
                s.kind,
                s.road,
                s.lon,
                s.lat,
                s.jurisdiction_code,
                JurisdictionRow.name.label("jurisdiction_name"),
                s.accuracy_class,
                s.verification_valid_until,
                s.enforcement_approved_on,
            )
            .join(JurisdictionRow, JurisdictionRow.code == s.jurisdiction_code)
            .where(*_under(s.jurisdiction_code, under))
            .order_by(s.jurisdiction_code, s.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            q.SiteRow(
                id=r["id"],
                name=r["name"],
                kind=r["kind"],
                road=r["road"],
                lon=r["lon"],
                lat=r["lat"],
                jurisdiction_code=r["jurisdiction_code"],
                jurisdiction_name=r["jurisdiction_name"],
                accuracy_class=str(r["accuracy_class"].normalize()),
                verification_valid_until=(
                    r["verification_valid_until"].isoformat() if r["verification_valid_until"] else None
                ),
                enforcement_approved_on=(
                    r["enforcement_approved_on"].isoformat() if r["enforcement_approved_on"] else None
                ),
            )
            for r in rows
        ]

    def counts(self, under: DivisionCode | None = None, since: datetime | None = None) -> q.Counts:
        w, a, c = WeighingRow, AlertRow, CaseRow
        with self.engine.connect() as conn:
            by_disposition = dict(
                conn.execute(
                    select(w.disposition, func.count())
                    .where(*_under(w.jurisdiction_code, under), *_range(w.measured_at, since, None))
                    .group_by(w.disposition)
                ).all()
            )
            alerts_open = conn.scalar(
                select(func.count()).where(
                    a.status.in_([AlertStatus.OPEN.value, AlertStatus.CASE_OPENED.value]),
                    *_under(a.jurisdiction_code, under),
                    *_range(a.occurred_at, since, None),
                )
            )
            by_status = dict(
                conn.execute(
                    select(c.status, func.count())
                    .where(*_under(c.jurisdiction_code, under))
                    .group_by(c.status)
                ).all()
            )
        return q.Counts(
            weighings=sum(by_disposition.values()),
            overlimit=by_disposition.get(Disposition.OVERLIMIT.value, 0)
            + by_disposition.get(Disposition.OVERLIMIT_INADMISSIBLE.value, 0),
            inadmissible=by_disposition.get(Disposition.OVERLIMIT_INADMISSIBLE.value, 0),
            alerts_open=int(alerts_open or 0),
            cases_pending_review=by_status.get(CaseStatus.PENDING_REVIEW.value, 0),
            cases_filed=by_status.get(CaseStatus.FILED.value, 0)
            + by_status.get(CaseStatus.NOTICE_ISSUED.value, 0),
        )
