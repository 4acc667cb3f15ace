"""The audit log in SQL: the audit_log rows and the one audit_head row that orders appends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhifa.adapters.db.tables import AuditEntryRow, AuditHeadRow
from zhifa.domain.audit import GENESIS_HASH, Anchor, AuditDraft, AuditEntry, seal
from zhifa.services.ports import AuditFilter
from zhifa.services.queries import Page, PageRequest

HEAD_ID = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_COLUMNS = (
    AuditEntryRow.seq,
    AuditEntryRow.at,
    AuditEntryRow.actor_kind,
    AuditEntryRow.actor_id,
    AuditEntryRow.actor_name,
    AuditEntryRow.unit_id,
    AuditEntryRow.action,
    AuditEntryRow.object_type,
    AuditEntryRow.object_id,
    AuditEntryRow.before_digest,
    AuditEntryRow.after_digest,
    AuditEntryRow.source_ip,
    AuditEntryRow.detail,
    AuditEntryRow.prev_hash,
    AuditEntryRow.hash,
)


def _entry(row: Row[Any]) -> AuditEntry:
    # Exactly as stored: normalising anything here could hide what the verifier is to find.
    return AuditEntry(**row._asdict())


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _lock_head(self) -> tuple[int, str]:
        # FOR UPDATE makes concurrent appends on PostgreSQL queue on this row; under READ COMMITTED
        # the waiting statement re-reads the row once the holder commits, so it chains to the new
        # head. SQLite renders no FOR UPDATE, but its write transactions begin IMMEDIATE
        # (adapters/db/engine.py), which serialises appenders just the same.
        query = (
            select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == HEAD_ID).with_for_update()
        )
        head = self.session.execute(query).first()
        if head is None:
            try:
                with self.session.begin_nested():
                    self.session.execute(insert(AuditHeadRow).values(id=HEAD_ID, seq=0, hash=GENESIS_HASH))
            except IntegrityError:
                pass  # another first append created it: lock theirs
            head = self.session.execute(query).one()
        return int(head.seq), str(head.hash)

    def append(self, draft: AuditDraft) -> AuditEntry:
        seq, prev_hash = self._lock_head()
        entry = seal(draft, seq + 1, prev_hash)
        self.session.execute(
            insert(AuditEntryRow).values(**{column.key: getattr(entry, column.key) for column in _COLUMNS})
        )
        self.session.execute(
            update(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).values(seq=entry.seq, hash=entry.hash)
        )
        self.session.flush()
        return entry

    def head(self) -> Anchor | None:
        at = select(AuditEntryRow.at).where(AuditEntryRow.seq == AuditHeadRow.seq).scalar_subquery()
        row = self.session.execute(
            select(AuditHeadRow.seq, AuditHeadRow.hash, at.label("at")).where(AuditHeadRow.id == HEAD_ID)
        ).first()
        if row is None:
            return None
        return Anchor(int(row.seq), str(row.hash), row.at or _EPOCH)

    def entries(self, after_seq: int = 0, limit: int = 1000) -> list[AuditEntry]:
        if limit < 1:
            raise ValueError("limit must be positive")
        query = (
            select(*_COLUMNS).where(AuditEntryRow.seq > after_seq).order_by(AuditEntryRow.seq).limit(limit)
        )
        return [_entry(row) for row in self.session.execute(query)]

    def search(self, f: AuditFilter, page: PageRequest) -> Page[AuditEntry]:
        where: list[ColumnElement[bool]] = []
        if f.actor_id is not None:
            where.append(AuditEntryRow.actor_id == f.actor_id)
        if f.action:
            where.append(AuditEntryRow.action.startswith(f.action, autoescape=True))
        if f.object_type is not None:
            where.append(AuditEntryRow.object_type == f.object_type)
        if f.object_id is not None:
            where.append(AuditEntryRow.object_id == f.object_id)
        if f.since is not None:
            where.append(AuditEntryRow.at >= f.since)
        if f.until is not None:
            where.append(AuditEntryRow.at < f.until)
        total = self.session.scalar(select(func.count()).select_from(AuditEntryRow).where(*where)) or 0
        rows = self.session.execute(
            select(*_COLUMNS)
            .where(*where)
            .order_by(AuditEntryRow.seq.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        return Page([_entry(row) for row in rows], int(total), page.limit, page.offset)
