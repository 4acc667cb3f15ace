"""Use cases of the audit log (审计日志): record, verify, anchor, export and verify an export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zhifa.domain.audit import (
    EMPTY_ANCHOR,
    Actor,
    Anchor,
    AuditDraft,
    AuditEntry,
    BreakKind,
    ChainBreak,
    ChainVerifier,
    digest,
)
from zhifa.services.ports import UnitOfWork, UnitOfWorkFactory

PAGE_SIZE = 5000


def record(uow: UnitOfWork, draft: AuditDraft) -> AuditEntry:
    """Append ``draft`` in the caller's transaction: it commits, or rolls back, with what it records."""
    return uow.audit.append(draft)


def note(
    uow: UnitOfWork,
    at: datetime,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    *,
    before: object = None,
    after: object = None,
    **detail: Any,
) -> AuditEntry:
    """``record`` in one call: the object's states before and after are kept as digests only."""
    draft = AuditDraft(at, actor, action, object_type, object_id, digest(before), digest(after), detail)
    return record(uow, draft)


@dataclass(frozen=True)
class VerifyReport:
    entries: int  # entries examined
    head: Anchor | None  # the store's head; for an export, its last intact entry
    broken: ChainBreak | None
    anchors_checked: int

    @property
    def intact(self) -> bool:
        return self.broken is None


def anchor(uow_factory: UnitOfWorkFactory) -> Anchor | None:
    """The current head, to be kept outside the store (None while the log is empty)."""
    with uow_factory() as uow:
        return uow.audit.head()


def _page(uow_factory: UnitOfWorkFactory, after_seq: int, page_size: int) -> list[AuditEntry]:
    # One short transaction per page: verifying millions of entries must not hold the store.
    with uow_factory() as uow:
        return uow.audit.entries(after_seq=after_seq, limit=page_size)


def _pump(
    verifier: ChainVerifier,
    uow_factory: UnitOfWorkFactory,
    after_seq: int,
    page_size: int,
    up_to: int | None = None,
) -> tuple[int, ChainBreak | None]:
    while True:
        page = _page(uow_factory, after_seq, page_size)
        if not page:
            return after_seq, None
        after_seq = page[-1].seq
        if up_to is not None:
            page = [e for e in page if e.seq <= up_to]
        broken = verifier.feed(page)
        if broken is not None or (up_to is not None and after_seq >= up_to):
            return after_seq, broken


def verify(
    uow_factory: UnitOfWorkFactory, anchors: Sequence[Anchor] = (), page_size: int = PAGE_SIZE
) -> VerifyReport:
    """Recompute the whole chain from the store, page by page, against its head and ``anchors``."""
    verifier = ChainVerifier()
    after_seq, broken = _pump(verifier, uow_factory, 0, page_size)
    # The head is read after the entries: whatever was committed with an entry already seen moved
    # the head at least that far, so a head behind the chain means entries were slipped in.
    head = anchor(uow_factory)
    if broken is None and head is not None and head.seq > after_seq:
        # Appended while we read: take those up to the head (and no newer, which the head
        # would not know of yet).
        _, broken = _pump(verifier, uow_factory, after_seq, page_size, up_to=head.seq)
    if broken is None:
        broken = verifier.finish(head or EMPTY_ANCHOR, anchors)
        if head is None and broken is not None and broken.kind is BreakKind.ANCHOR_MISMATCH:
            broken = ChainBreak(
                broken.seq,
                BreakKind.ANCHOR_MISMATCH,
                f"the head row is missing, yet the log holds entries from #{broken.seq}",
            )
    return _report(verifier, head, broken, anchors)


def _report(
    verifier: ChainVerifier, head: Anchor | None, broken: ChainBreak | None, anchors: Sequence[Anchor]
) -> VerifyReport:
    reached_anchors = broken is None or broken.kind in (BreakKind.TRUNCATED, BreakKind.ANCHOR_MISMATCH)
    return VerifyReport(verifier.count, head, broken, len(anchors) if reached_anchors else 0)


def export_lines(uow_factory: UnitOfWorkFactory, page_size: int = PAGE_SIZE) -> Iterator[str]:
    """Every entry as one line of JSON (``AuditEntry.to_json``, no newline), in seq order."""
    after_seq = 0
    while page := _page(uow_factory, after_seq, page_size):
        yield from (entry.to_json() for entry in page)
        after_seq = page[-1].seq


def verify_export(lines: Iterable[str], anchors: Sequence[Anchor] = ()) -> VerifyReport:
    """Verify an export offline, against ``anchors`` (an export carries no head of its own)."""
    verifier = ChainVerifier()
    broken: ChainBreak | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = AuditEntry.from_json(line)
        except ValueError as exc:  # json.JSONDecodeError among them
            # An earlier break, even one not settled yet, is the first; else this line is it.
            broken = verifier.finish()
            if broken is None:
                last = verifier.last
                broken = ChainBreak(
                    (last.seq if last else 0) + 1,
                    BreakKind.MODIFIED,
                    f"line {number} is no audit entry: {exc}",
                )
            break
        broken = verifier.feed((entry,))
        if broken is not None:
            break
    if broken is None:
        broken = verifier.finish(None, anchors)
    last = verifier.last
    return _report(verifier, last.anchor if last else None, broken, anchors)
