"""The audit log on every store: appends chain in commit order, and tampering in SQL is found.

Tampering goes straight to the tables through ``app.engines.write``, as someone with database
access would, bypassing the platform.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.audit import Actor, AuditDraft, AuditEntry, BreakKind
from zhifa.entrypoints.cli.audit import append_anchor, read_anchors
from zhifa.services import audit
from zhifa.services.ports import AuditFilter
from zhifa.services.queries import PageRequest

OFFICER = Actor("user", "U-1", "张伟", unit_id="UNIT-340102", source_ip="10.1.2.3")
DETAIL = {
    "fine_yuan": 2000.0,
    "ratio": 0.1,
    "big": 1e20,
    "note": "立案",
    "nested": {"b": [1, "二"], "a": None},
}


def draft(clock: FakeClock, i: int, action: str = "case.file", actor: Actor = OFFICER) -> AuditDraft:
    clock.advance(seconds=1, microseconds=7)
    return AuditDraft(clock.now(), actor, action, "case", f"C-{i}", "a" * 64, "b" * 64, {**DETAIL, "i": i})


def base(app: App) -> int:
    head = audit.anchor(app.uow)
    return head.seq if head else 0


def append(app: App, clock: FakeClock, n: int, per_transaction: int = 1) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    for start in range(0, n, per_transaction):
        with app.uow() as uow:
            for i in range(start, min(n, start + per_transaction)):
                out.append(audit.record(uow, draft(clock, i)))
            uow.commit()
    return out


def sql(app: App, statement: str, **params: Any) -> None:
    with app.engines.write.begin() as conn:
        conn.execute(text(statement), params)


def broken_at(app: App, **kwargs: Any) -> tuple[BreakKind, int]:
    report = audit.verify(app.uow, **kwargs)
    assert report.broken is not None, report
    return report.broken.kind, report.broken.seq


def test_appends_chain_and_read_back_exactly(any_app: App, clock: FakeClock) -> None:
    """Entries read back equal what was sealed (times, JSON detail), and the chain verifies."""
    start = base(any_app)
    sealed = append(any_app, clock, 5) + append(any_app, clock, 6, per_transaction=3)
    assert [e.seq for e in sealed] == list(range(start + 1, start + 12))
    with any_app.uow() as uow:
        assert uow.audit.entries(after_seq=start) == sealed
        assert uow.audit.entries(after_seq=start + 9, limit=1) == [sealed[9]]
    report = audit.verify(any_app.uow, page_size=4)
    assert report.broken is None
    assert report.entries == start + 11
    assert report.head == sealed[-1].anchor


def test_modified_detail_is_found(any_app: App, clock: FakeClock) -> None:
    """A detail changed in SQL: MODIFIED at that entry."""
    seq = append(any_app, clock, 10)[3].seq
    tampered = json.dumps({**DETAIL, "i": 99})
    value = "CAST(:d AS JSONB)" if any_app.engines.dialect == "postgresql" else ":d"
    sql(any_app, f"UPDATE audit_log SET detail = {value} WHERE seq = :s", d=tampered, s=seq)  # noqa: S608
    assert broken_at(any_app) == (BreakKind.MODIFIED, seq)


def test_modified_actor_name_is_found(any_app: App, clock: FakeClock) -> None:
    """An actor's name changed in SQL: MODIFIED at that entry."""
    seq = append(any_app, clock, 10)[6].seq
    sql(any_app, "UPDATE audit_log SET actor_name = '李四' WHERE seq = :s", s=seq)
    assert broken_at(any_app, page_size=3) == (BreakKind.MODIFIED, seq)


def test_deleted_middle_entry_is_found(any_app: App, clock: FakeClock) -> None:
    """A middle entry deleted: DELETED at the entry after the gap."""
    entries = append(any_app, clock, 10)
    sql(any_app, "DELETE FROM audit_log WHERE seq = :s", s=entries[4].seq)
    assert broken_at(any_app) == (BreakKind.DELETED, entries[5].seq)


def test_swapped_seqs_are_found(any_app: App, clock: FakeClock) -> None:
    """Two entries' seq values exchanged (through a temporary seq): REORDERED at the first."""
    entries = append(any_app, clock, 10)
    a, b = entries[4].seq, entries[5].seq
    sql(any_app, "UPDATE audit_log SET seq = -1 WHERE seq = :s", s=a)
    sql(any_app, "UPDATE audit_log SET seq = :a WHERE seq = :b", a=a, b=b)
    sql(any_app, "UPDATE audit_log SET seq = :b WHERE seq = -1", b=b)
    assert broken_at(any_app) == (BreakKind.REORDERED, a)


def test_deleted_last_entry_is_truncation(any_app: App, clock: FakeClock) -> None:
    """The newest entry deleted: the head still records it, so TRUNCATED at its seq."""
    entries = append(any_app, clock, 10)
    sql(any_app, "DELETE FROM audit_log WHERE seq = :s", s=entries[-1].seq)
    assert broken_at(any_app) == (BreakKind.TRUNCATED, entries[-1].seq)


def test_truncation_with_head_moved_back_is_caught_by_an_anchor(any_app: App, clock: FakeClock) -> None:
    """Tail and head rewound together pass the chain check, but not an anchor taken before."""
    entries = append(any_app, clock, 10)
    anchor = audit.anchor(any_app.uow)
    assert anchor is not None
    sql(any_app, "DELETE FROM audit_log WHERE seq > :s", s=entries[6].seq)
    sql(any_app, "UPDATE audit_head SET seq = :s, hash = :h", s=entries[6].seq, h=entries[6].hash)
    assert audit.verify(any_app.uow).broken is None
    report = audit.verify(any_app.uow, anchors=[anchor])
    assert report.broken is not None
    assert (report.broken.kind, report.broken.seq) == (BreakKind.TRUNCATED, entries[7].seq)


def test_rolled_back_transaction_leaves_no_entry(any_app: App, clock: FakeClock) -> None:
    """An entry recorded in a transaction that rolls back is gone, and the head did not move."""
    append(any_app, clock, 2)
    head = audit.anchor(any_app.uow)
    with any_app.uow() as uow:
        audit.record(uow, draft(clock, 100))
    with any_app.uow() as uow:
        audit.record(uow, draft(clock, 101))
        uow.rollback()
    assert audit.anchor(any_app.uow) == head
    assert head is not None
    with any_app.uow() as uow:
        assert uow.audit.entries(after_seq=head.seq) == []
    later = append(any_app, clock, 1)[0]
    assert later.seq == head.seq + 1
    assert later.prev_hash == head.hash
    assert audit.verify(any_app.uow).broken is None


def test_first_append_rolled_back_leaves_no_head(any_app: App, clock: FakeClock) -> None:
    """Before any commit there is no head, and a rolled-back first append does not create one."""
    if base(any_app):
        return  # entries were recorded while the platform was set up
    assert audit.anchor(any_app.uow) is None
    with any_app.uow() as uow:
        audit.record(uow, draft(clock, 1))
    assert audit.anchor(any_app.uow) is None
    report = audit.verify(any_app.uow)
    assert (report.entries, report.head, report.broken) == (0, None, None)


def test_concurrent_appends_form_one_chain(any_app: App, clock: FakeClock) -> None:
    """4 threads × 25 appends, each its own transaction: one intact chain of 100 more entries."""
    start = base(any_app)
    errors: list[BaseException] = []

    def writer(thread: int) -> None:
        try:
            for i in range(25):
                with any_app.uow() as uow:
                    audit.record(
                        uow, draft(clock, thread * 100 + i, actor=Actor("user", f"U-{thread}", "张伟"))
                    )
                    uow.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = audit.verify(any_app.uow, page_size=30)
    assert report.broken is None
    assert report.entries == start + 100
    assert report.head is not None
    assert report.head.seq == start + 100
    with any_app.uow() as uow:
        assert [e.seq for e in uow.audit.entries(after_seq=start, limit=1000)] == list(
            range(start + 1, start + 101)
        )


def test_export_verifies_offline_alike(any_app: App, clock: FakeClock) -> None:
    """An export verifies offline as the store does: intact, then modified at the same entry."""
    entries = append(any_app, clock, 12)
    lines = list(audit.export_lines(any_app.uow, page_size=5))
    assert len(lines) == entries[-1].seq
    offline = audit.verify_export(lines)
    assert offline.broken is None
    assert offline.head == entries[-1].anchor
    assert offline.entries == audit.verify(any_app.uow).entries

    sql(any_app, "UPDATE audit_log SET object_id = 'C-X' WHERE seq = :s", s=entries[8].seq)
    online = audit.verify(any_app.uow)
    offline = audit.verify_export(audit.export_lines(any_app.uow))
    assert online.broken is not None
    assert online.broken == offline.broken
    assert (online.broken.kind, online.broken.seq) == (BreakKind.MODIFIED, entries[8].seq)


def test_truncated_export_is_caught_by_anchors(any_app: App, clock: FakeClock, tmp_path: Path) -> None:
    """Anchors written to a file and read back catch an export missing its tail."""
    entries = append(any_app, clock, 8)
    path = tmp_path / "audit" / "anchors.jsonl"
    head = audit.anchor(any_app.uow)
    assert head is not None
    append_anchor(path, entries[2].anchor)
    append_anchor(path, head)
    anchors = read_anchors(path)
    assert anchors == [entries[2].anchor, head]
    lines = list(audit.export_lines(any_app.uow))
    report = audit.verify_export(lines, anchors)
    assert (report.broken, report.anchors_checked) == (None, 2)
    report = audit.verify_export(lines[:-2], anchors)
    assert report.broken is not None
    assert (report.broken.kind, report.broken.seq) == (BreakKind.TRUNCATED, entries[-2].seq)


def test_search_filters_newest_first(any_app: App, clock: FakeClock) -> None:
    """Search narrows by actor, action prefix, object and time, newest first, with a total."""
    start_at = clock.now()
    with any_app.uow() as uow:
        for i in range(6):
            audit.record(uow, draft(clock, i, action="case.file" if i % 2 else "user.login_failed"))
        uow.commit()
    with any_app.uow() as uow:
        page = uow.audit.search(AuditFilter(action="case."), PageRequest(limit=2))
        assert page.total == 3
        assert [e.object_id for e in page.items] == ["C-5", "C-3"]
        assert uow.audit.search(AuditFilter(action="case%"), PageRequest()).total == 0
        assert uow.audit.search(AuditFilter(object_id="C-4", actor_id="U-1"), PageRequest()).total == 1
        assert uow.audit.search(AuditFilter(actor_id="nobody"), PageRequest()).total == 0
        later = uow.audit.search(AuditFilter(since=start_at + timedelta(seconds=4)), PageRequest())
        assert [e.object_id for e in later.items] == ["C-5", "C-4", "C-3"]
