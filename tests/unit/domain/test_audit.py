"""The audit chain: canonical digests, sealing, and each kind of tampering found where it happened."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifa.domain.audit import (
    GENESIS_HASH,
    SYSTEM,
    Actor,
    Anchor,
    AuditDraft,
    AuditEntry,
    BreakKind,
    ChainVerifier,
    digest,
    entry_hash,
    seal,
    verify_chain,
)

T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
OFFICER = Actor("user", "U-1", "张伟", unit_id="UNIT-340102", source_ip="10.1.2.3")


def chain(n: int, start: datetime = T0) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        draft = AuditDraft(
            at=start + timedelta(seconds=i),
            actor=OFFICER if i % 2 else SYSTEM,
            action="case.file" if i % 3 else "personal_data.unmask",
            object_type="case",
            object_id=f"C-{i}",
            before_digest=digest({"n": i - 1}),
            after_digest=digest({"n": i}),
            detail={"i": i, "note": "立案", "ids": [f"R-{i}", f"R-{i + 1}"]},
        )
        entry = seal(draft, i, prev)
        entries.append(entry)
        prev = entry.hash
    return entries


def swap_seqs(entries: list[AuditEntry], k: int) -> list[AuditEntry]:
    """Entries k and k+1 with their seq values exchanged, re-read in seq order (as SQL would)."""
    out = list(entries)
    a, b = out[k - 1], out[k]
    out[k - 1], out[k] = dataclasses.replace(b, seq=a.seq), dataclasses.replace(a, seq=b.seq)
    return out


class Colour(StrEnum):
    YELLOW = "yellow"


def test_digest_ignores_key_order() -> None:
    """Equal states digest alike however their mappings were built."""
    assert digest({"a": 1, "b": {"x": [1, 2], "y": "二"}}) == digest({"b": {"y": "二", "x": [1, 2]}, "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})


def test_digest_normalises_time_zones() -> None:
    """The same instant in +08:00 and in UTC is the same state."""
    shanghai = timezone(timedelta(hours=8))
    assert digest({"at": datetime(2026, 11, 21, 10, 0, tzinfo=shanghai)}) == digest({"at": T0})
    assert digest({"at": T0}) != digest({"at": T0 + timedelta(microseconds=1)})


def test_digest_of_rich_values() -> None:
    """Dataclasses, enums, Decimals, dates and sets have one canonical form; None has no state."""

    @dataclasses.dataclass(frozen=True)
    class State:
        colour: Colour
        fine: Decimal
        on: date
        tags: frozenset[str]

    state = State(Colour.YELLOW, Decimal("500.00"), date(2026, 11, 21), frozenset({"b", "a"}))
    assert digest(state) == digest(
        {"colour": "yellow", "fine": "500.00", "on": "2026-11-21", "tags": ["a", "b"]}
    )
    assert digest(None) == ""
    assert len(digest({})) == 64
    with pytest.raises(ValueError, match="naive"):
        digest({"at": datetime(2026, 1, 1)})  # noqa: DTZ001 - the point of the test


def test_draft_is_validated() -> None:
    """An entry needs an aware time and an action."""
    with pytest.raises(ValueError, match="aware"):
        AuditDraft(datetime(2026, 1, 1), SYSTEM, "case.file", "case", "C-1")  # noqa: DTZ001
    with pytest.raises(ValueError, match="action"):
        AuditDraft(T0, SYSTEM, " ", "case", "C-1")


def test_seal_chains_and_normalises() -> None:
    """Sealing stores UTC time and plain JSON detail, and the hash covers seq and prev_hash."""
    shanghai = timezone(timedelta(hours=8))
    draft = AuditDraft(T0.astimezone(shanghai), OFFICER, "case.file", "case", "C-1", detail={"fine": 2.0})
    entry = seal(draft, 1, GENESIS_HASH)
    assert entry.at.utcoffset() == timedelta(0)
    assert entry.detail == {"fine": 2}
    assert (entry.actor_kind, entry.actor_name, entry.unit_id, entry.source_ip) == (
        "user",
        "张伟",
        "UNIT-340102",
        "10.1.2.3",
    )
    assert entry.computed_hash() == entry.hash
    assert entry.computed_hash(2) != entry.hash
    assert seal(draft, 1, "1" * 64).hash != entry.hash


def test_entry_hash_matches_the_documented_serialisation() -> None:
    """An auditor re-implementing the docstring's recipe gets the same hash."""
    import hashlib
    import json

    entry = chain(1)[0]
    payload = {
        "action": entry.action,
        "actor_id": entry.actor_id,
        "actor_kind": entry.actor_kind,
        "actor_name": entry.actor_name,
        "after_digest": entry.after_digest,
        "at": entry.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "before_digest": entry.before_digest,
        "detail": entry.detail,
        "object_id": entry.object_id,
        "object_type": entry.object_type,
        "prev_hash": entry.prev_hash,
        "seq": entry.seq,
        "source_ip": entry.source_ip,
        "unit_id": entry.unit_id,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == entry.hash
    fields = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry) if f.name != "hash"}
    assert entry_hash(**fields) == entry.hash


def test_intact_chain_verifies() -> None:
    """50 sealed entries verify, against their head and an anchor in the middle."""
    entries = chain(50)
    assert verify_chain(entries) is None
    assert verify_chain(entries, entries[-1].anchor, [entries[19].anchor]) is None
    assert verify_chain([]) is None
    verifier = ChainVerifier()
    assert verifier.feed(entries[:20]) is None
    assert verifier.feed(entries[20:]) is None
    assert verifier.finish(entries[-1].anchor) is None
    assert verifier.count == 50
    assert verifier.last == entries[-1]


def test_json_lines_round_trip() -> None:
    """Entries and anchors survive their one-line JSON forms exactly."""
    entries = chain(3)
    assert [AuditEntry.from_json(e.to_json()) for e in entries] == entries
    assert "\n" not in entries[0].to_json()
    assert "立案" in entries[0].to_json()
    anchor = entries[-1].anchor
    assert Anchor.from_json(anchor.to_json()) == anchor
    with pytest.raises(ValueError):
        Anchor.from_json('{"seq": 1, "hash": "nothex", "at": "2026-11-21T02:00:00Z"}')
    with pytest.raises(ValueError):
        AuditEntry.from_json('{"seq": 1}')


def test_modified_detail() -> None:
    """A changed detail is MODIFIED at that entry."""
    entries = chain(50)
    entries[16] = dataclasses.replace(entries[16], detail={**entries[16].detail, "note": "撤销"})
    broken = verify_chain(entries)
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.MODIFIED, 17)


def test_modified_actor_name() -> None:
    """A changed actor name is MODIFIED at that entry."""
    entries = chain(50)
    entries[29] = dataclasses.replace(entries[29], actor_name="李四")
    broken = verify_chain(entries, entries[-1].anchor)
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.MODIFIED, 30)


def test_rewritten_and_rehashed_entry() -> None:
    """An entry changed and re-hashed is still caught: its successor remembers the old hash."""
    entries = chain(50)
    forged = seal(
        AuditDraft(entries[9].at, SYSTEM, "case.reject", "case", "C-10"), entries[9].seq, entries[9].prev_hash
    )
    entries[9] = forged
    broken = verify_chain(entries)
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.MODIFIED, 10)


def test_deleted_middle_entry() -> None:
    """A deleted entry is a DELETED break at the entry after the gap."""
    entries = chain(50)
    del entries[24]
    broken = verify_chain(entries, chain(50)[-1].anchor)
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.DELETED, 26)


def test_swapped_seq_values() -> None:
    """Two entries' seq values exchanged: REORDERED (not MODIFIED) at the first of them."""
    entries = swap_seqs(chain(50), 17)
    broken = verify_chain(entries)
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.REORDERED, 17)


def test_distant_swap_is_reordered() -> None:
    """Entries far apart swapped (beyond the seq window) are still found REORDERED."""
    entries = chain(300)
    a, b = entries[9], entries[249]
    entries[9], entries[249] = dataclasses.replace(b, seq=a.seq), dataclasses.replace(a, seq=b.seq)
    broken = verify_chain(entries)
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.REORDERED, 10)


def test_lines_out_of_order() -> None:
    """Intact entries in the wrong order (a shuffled export) are REORDERED, not DELETED."""
    entries = chain(50)
    entries[20], entries[21] = entries[21], entries[20]
    broken = verify_chain(entries)
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.REORDERED, 22)


def test_dropped_tail_is_truncated() -> None:
    """The newest entries deleted: TRUNCATED against the head, at the first missing seq."""
    entries = chain(50)
    head = entries[-1].anchor
    assert verify_chain(entries[:47]) is None  # nothing inside the chain shows it
    broken = verify_chain(entries[:47], head)
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.TRUNCATED, 48)
    broken = verify_chain(entries[:47], None, [entries[48].anchor])
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.TRUNCATED, 48)


def test_anchor_with_wrong_hash() -> None:
    """An anchor whose hash is not the entry's at its seq: ANCHOR_MISMATCH at that seq."""
    entries = chain(50)
    wrong = Anchor(20, entries[20].hash, entries[19].at)
    broken = verify_chain(entries, entries[-1].anchor, [entries[9].anchor, wrong])
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.ANCHOR_MISMATCH, 20)


def test_entries_beyond_the_head() -> None:
    """Entries the head does not know of were slipped in: ANCHOR_MISMATCH after the head."""
    entries = chain(50)
    broken = verify_chain(entries, entries[44].anchor)
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.ANCHOR_MISMATCH, 46)


# Property tests ------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_drafts = st.builds(
    AuditDraft,
    at=st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]),
    ),
    actor=st.builds(Actor, st.sampled_from(["user", "api_key", "system"]), _text, _text, _text, _text),
    action=_text.filter(lambda s: bool(s.strip())),
    object_type=_text,
    object_id=_text,
    before_digest=st.sampled_from(["", "a" * 64]),
    after_digest=st.sampled_from(["", "b" * 64]),
    detail=st.dictionaries(_text, _json, max_size=4),
)


def sealed(drafts: list[AuditDraft]) -> list[AuditEntry]:
    entries, prev = [], GENESIS_HASH
    for seq, draft in enumerate(drafts, start=1):
        entries.append(seal(draft, seq, prev))
        prev = entries[-1].hash
    return entries


def mutate(entry: AuditEntry, name: str, salt: int) -> AuditEntry:
    value: Any = getattr(entry, name)
    if name == "seq":
        new: Any = value + salt
    elif name == "at":
        new = value + timedelta(microseconds=salt)
    elif name == "detail":
        new = {**value, "tampered": salt} if value.get("tampered") != salt else {}
    elif name in ("hash", "prev_hash"):
        new = ("0" if value[0] != "0" else "1") + value[1:]
    else:
        new = value + "x"
    return dataclasses.replace(entry, **{name: new})


FIELDS = [f.name for f in dataclasses.fields(AuditEntry)]


@settings(max_examples=60, deadline=None)
@given(st.lists(_drafts, min_size=0, max_size=12))
def test_random_intact_chains_verify(drafts: list[AuditDraft]) -> None:
    """Any chain as sealed verifies, against its own head."""
    entries = sealed(drafts)
    head = entries[-1].anchor if entries else None
    assert verify_chain(entries, head) is None


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_drafts, min_size=1, max_size=12),
    st.data(),
    st.sampled_from(FIELDS),
    st.integers(1, 1000),
)
def test_any_single_mutation_is_found(drafts: list[AuditDraft], data: Any, name: str, salt: int) -> None:
    """Changing any one field of any one entry breaks the chain at (or before) that entry."""
    entries = sealed(drafts)
    head = entries[-1].anchor
    index = data.draw(st.integers(0, len(entries) - 1))
    original = entries[index]
    entries[index] = mutate(original, name, salt)
    broken = verify_chain(entries, head)
    assert broken is not None
    if name == "seq":
        # Reported under the seq the entry is now stored with, so it can be found.
        assert broken.seq in (original.seq, entries[index].seq) or broken.seq < original.seq
        assert broken.kind is BreakKind.REORDERED
    else:
        assert broken.seq <= original.seq
