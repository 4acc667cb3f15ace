"""审计日志: a tamper-evident, append-only audit log chained by SHA-256.

Every entry's hash covers its whole content, its sequence number and the hash of the entry before
it (``entry_hash``), so an entry changed, deleted or moved in the store breaks the chain at the
first entry concerned. Deleting the newest entries leaves an intact but shorter chain: that is
caught against the head (kept in the store beside the log) and against anchors, copies of
(seq, hash) kept outside it. docs/audit.md describes the format for auditors.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

GENESIS_HASH = "0" * 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEX = frozenset("0123456789abcdef")

# Verification memory: 32 bytes per entry of the intact chain (32 MB per million entries), so any
# anchor can be checked at the end; everything else the verifier keeps is of constant size.
_HASH_BYTES = 32
# How far from its stored seq the verifier looks for the seq an entry was sealed with.
SEQ_WINDOW = 64
# How many entries after a suspected gap or modification are read before it is settled: an entry
# stored out of place shows up within them and turns the verdict into REORDERED.
LOOKAHEAD = 10_000


def _utc_iso(at: datetime) -> str:
    # Fixed width with microseconds, so SQLite and PostgreSQL round trips give the same text.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: audit times must be aware")
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _key(key: object) -> str:
    value = canonical(key)
    return value if isinstance(value, str) else _dumps(value)


def canonical(value: object) -> Any:
    """``value`` as plain JSON data, the same for equal states however they were built.

    Enums become their value, datetimes ISO-8601 UTC with microseconds and a ``Z``, dates ISO,
    Decimals ``str``, dataclasses a mapping of their fields, sets a list sorted by canonical JSON,
    tuples lists, mapping keys strings. A float with an integral value becomes an integer: JSON
    stores (PostgreSQL's JSONB among them) do not keep ``2.0`` apart from ``2``.
    """
    if isinstance(value, Enum):
        return canonical(value.value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be audited: only finite numbers have a JSON form")
        return int(value) if value.is_integer() else value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): canonical(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((canonical(v) for v in value), key=_dumps)
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def canonical_json(value: object) -> str:
    """Canonical JSON text: sorted keys, no spaces, UTF-8 characters unescaped (see ``canonical``)."""
    return _dumps(canonical(value))


def digest(state: object) -> str:
    """SHA-256 (hex) of the canonical JSON of an object's state; ``""`` for no state (``None``)."""
    if state is None:
        return ""
    return hashlib.sha256(canonical_json(state).encode("utf-8")).hexdigest()


def _is_hash(text: str) -> bool:
    return len(text) == 64 and set(text) <= _HEX


@dataclass(frozen=True)
class Actor:
    """Who did it: a signed-in user, a machine client's API key, or the platform itself."""

    kind: str  # "user" | "api_key" | "system"
    id: str
    name: str
    unit_id: str = ""
    source_ip: str = ""


SYSTEM = Actor("system", "system", "系统")


@dataclass(frozen=True)
class AuditDraft:
    """What happened, before the log gives it a place in the chain."""

    at: datetime
    actor: Actor
    action: str  # "case.file", "user.login_failed", "personal_data.unmask", ...
    object_type: str
    object_id: str
    before_digest: str = ""  # digest() of the object's state before, "" when it did not exist
    after_digest: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("an audit entry's time must be aware")
        if not self.action.strip():
            raise ValueError("an audit entry needs an action")


@dataclass(frozen=True)
class Anchor:
    """The chain's (seq, hash) at one moment, kept apart from the log to prove later it was so.

    ``at`` is the time of the entry at ``seq`` (the epoch for the empty chain); only ``seq`` and
    ``hash`` are verified.
    """

    seq: int
    hash: str
    at: datetime

    def __post_init__(self) -> None:
        if self.seq < 0:
            raise ValueError(f"anchor seq {self.seq} is negative")
        if not _is_hash(self.hash):
            raise ValueError(f"anchor hash {self.hash!r} is not a lowercase SHA-256 hex digest")
        if self.at.tzinfo is None:
            raise ValueError("an anchor's time must be aware")

    def to_json(self) -> str:
        """One line of JSON: ``{"at":"…Z","hash":"…","seq":N}``."""
        return _dumps({"seq": self.seq, "hash": self.hash, "at": _utc_iso(self.at)})

    @classmethod
    def from_json(cls, line: str) -> Anchor:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("an anchor is a JSON object")
        seq, hash_, at = data.get("seq"), data.get("hash"), data.get("at")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError("anchor seq must be an integer")
        if not isinstance(hash_, str) or not isinstance(at, str):
            raise ValueError("anchor hash and at must be strings")
        return cls(seq, hash_, _parse_time(at))


# The chain before its first entry: what an empty log's head is.
EMPTY_ANCHOR = Anchor(0, GENESIS_HASH, _EPOCH)


def _parse_time(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return at.astimezone(UTC)


_TEXT_FIELDS = (
    "actor_kind", "actor_id", "actor_name", "unit_id", "action", "object_type", "object_id",
    "before_digest", "after_digest", "source_ip", "prev_hash", "hash",
)  # fmt: skip


@dataclass(frozen=True)
class AuditEntry:
    """One stored entry: the draft's content, its place (seq, prev_hash) and its hash."""

    seq: int
    at: datetime
    actor_kind: str
    actor_id: str
    actor_name: str
    unit_id: str
    action: str
    object_type: str
    object_id: str
    before_digest: str
    after_digest: str
    source_ip: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def computed_hash(self, seq: int | None = None) -> str:
        """The hash this content gives, at its own seq or at ``seq``."""
        return entry_hash(
            prev_hash=self.prev_hash,
            seq=self.seq if seq is None else seq,
            at=self.at,
            actor_kind=self.actor_kind,
            actor_id=self.actor_id,
            actor_name=self.actor_name,
            unit_id=self.unit_id,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            before_digest=self.before_digest,
            after_digest=self.after_digest,
            source_ip=self.source_ip,
            detail=self.detail,
        )

    @property
    def anchor(self) -> Anchor:
        return Anchor(self.seq, self.hash, self.at)

    def to_json(self) -> str:
        """One line of canonical JSON with every field; ``at`` in UTC (the export format)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["at"] = _utc_iso(self.at)
        return _dumps(values)

    @classmethod
    def from_json(cls, line: str) -> AuditEntry:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("an audit entry is a JSON object")
        missing = {f.name for f in fields(cls)} - set(data)
        if missing:
            raise ValueError(f"audit entry lacks {', '.join(sorted(missing))}")
        seq, at, detail = data["seq"], data["at"], data["detail"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError("seq must be an integer")
        if not isinstance(at, str):
            raise ValueError("at must be an ISO-8601 string")
        if not isinstance(detail, dict):
            raise ValueError("detail must be a JSON object")
        texts: dict[str, str] = {}
        for name in _TEXT_FIELDS:
            value = data[name]
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            texts[name] = value
        return cls(seq=seq, at=_parse_time(at), detail=detail, **texts)


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_kind: str,
    actor_id: str,
    actor_name: str,
    unit_id: str,
    action: str,
    object_type: str,
    object_id: str,
    before_digest: str,
    after_digest: str,
    source_ip: str,
    detail: Mapping[str, Any],
) -> str:
    """SHA-256 (lowercase hex) of an entry's canonical serialisation.

    The serialisation is one JSON object holding exactly these 14 members::

        action, actor_id, actor_kind, actor_name, after_digest, at, before_digest,
        detail, object_id, object_type, prev_hash, seq, source_ip, unit_id

    ``seq`` is a JSON integer, ``at`` the UTC time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six
    fractional digits), ``detail`` a JSON object, the rest JSON strings. It is written as by
    Python's ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``:
    members sorted by key at every level, no whitespace, non-ASCII characters as themselves, and
    encoded in UTF-8 before hashing. In ``detail`` a number with an integral value is written as
    an integer (``2``, never ``2.0``). The first entry has seq 1 and ``prev_hash`` 64 zeros.
    """
    payload = {
        "action": action,
        "actor_id": actor_id,
        "actor_kind": actor_kind,
        "actor_name": actor_name,
        "after_digest": after_digest,
        "at": _utc_iso(at),
        "before_digest": before_digest,
        "detail": canonical(dict(detail)),
        "object_id": object_id,
        "object_type": object_type,
        "prev_hash": prev_hash,
        "seq": int(seq),
        "source_ip": source_ip,
        "unit_id": unit_id,
    }
    return hashlib.sha256(_dumps(payload).encode("utf-8")).hexdigest()


def seal(draft: AuditDraft, seq: int, prev_hash: str) -> AuditEntry:
    """The entry ``draft`` becomes at position ``seq``, after the entry whose hash is ``prev_hash``."""
    if seq < 1:
        raise ValueError(f"audit seq starts at 1, got {seq}")
    if not _is_hash(prev_hash):
        raise ValueError(f"prev_hash {prev_hash!r} is not a lowercase SHA-256 hex digest")
    actor = draft.actor
    # Stored in its canonical form, so what the store gives back hashes as it was sealed.
    detail: dict[str, Any] = canonical(dict(draft.detail))
    content: dict[str, Any] = {
        "seq": seq,
        "at": draft.at.astimezone(UTC),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_name": actor.name,
        "unit_id": actor.unit_id,
        "action": draft.action,
        "object_type": draft.object_type,
        "object_id": draft.object_id,
        "before_digest": draft.before_digest,
        "after_digest": draft.after_digest,
        "source_ip": actor.source_ip,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return AuditEntry(**content, hash=entry_hash(**content))


class BreakKind(StrEnum):
    MODIFIED = "modified"  # an entry's content no longer gives its hash
    DELETED = "deleted"  # a gap: the seq skips, or prev_hash names an entry that is not there
    REORDERED = "reordered"  # entries intact but out of chain order
    TRUNCATED = "truncated"  # the chain ends before the recorded head or an anchor
    ANCHOR_MISMATCH = "anchor_mismatch"  # an anchor's (seq, hash) is not the entry at that seq


@dataclass(frozen=True)
class ChainBreak:
    seq: int  # the entry's seq as stored: where to look
    kind: BreakKind
    message: str


def _recomputes(entry: AuditEntry, seq: int | None = None) -> bool:
    try:
        return entry.computed_hash(seq) == entry.hash
    except (ValueError, TypeError):  # a tampered detail may hold what JSON data cannot (NaN)
        return False


@dataclass
class _Suspect:
    """A break not yet classified: what follows may show the entry was only moved."""

    kind: BreakKind
    seq: int
    message: str
    entry: AuditEntry
    content_changed: bool  # else: the entry is intact but its predecessor is missing
    looked_at: int = 0


class ChainVerifier:
    """Checks a chain fed entry by entry in stored order (by seq); reports the first broken link.

    Feed pages with ``feed`` (it returns the break once known, then takes nothing more), then call
    ``finish`` with the head and anchors. A break may be held back for up to ``lookahead`` entries
    while the verifier looks for the entry in question further on: found, it was REORDERED.
    Memory: 32 bytes per verified entry (to check anchors at the end), the rest is constant.
    """

    def __init__(self, *, lookahead: int = LOOKAHEAD, window: int = SEQ_WINDOW) -> None:
        self._lookahead = lookahead
        self._window = window
        self._hashes = bytearray()  # the hash of seq k at [32(k-1), 32k)
        self._count = 0
        self._last: AuditEntry | None = None
        self._suspect: _Suspect | None = None
        self._broken: ChainBreak | None = None

    @property
    def count(self) -> int:
        """Entries examined."""
        return self._count

    @property
    def last(self) -> AuditEntry | None:
        """The last entry of the intact chain so far."""
        return self._last

    @property
    def _tip(self) -> tuple[int, str]:
        return (self._last.seq, self._last.hash) if self._last else (0, GENESIS_HASH)

    def feed(self, entries: Iterable[AuditEntry]) -> ChainBreak | None:
        for entry in entries:
            if self._broken is not None:
                break
            self._count += 1
            if self._suspect is None:
                self._check(entry)
            else:
                self._look_further(self._suspect, entry)
        return self._broken

    def finish(self, head: Anchor | None = None, anchors: Sequence[Anchor] = ()) -> ChainBreak | None:
        """The first break, including a chain that ends short of ``head`` or an anchor."""
        if self._suspect is not None:
            self._settle(self._suspect)
        if self._broken is not None:
            return self._broken
        last_seq, last_hash = self._tip
        found: list[ChainBreak] = []
        for anchor in sorted(anchors, key=lambda a: a.seq):
            if anchor.seq > last_seq:
                found.append(
                    ChainBreak(
                        last_seq + 1,
                        BreakKind.TRUNCATED,
                        f"the log ends at #{last_seq} but anchor #{anchor.seq} {anchor.hash} was recorded",
                    )
                )
            elif self._hash_at(anchor.seq) != anchor.hash:
                found.append(
                    ChainBreak(
                        anchor.seq,
                        BreakKind.ANCHOR_MISMATCH,
                        f"anchor #{anchor.seq} records {anchor.hash}, the log {self._hash_at(anchor.seq)}",
                    )
                )
        if head is not None:
            if head.seq > last_seq:
                found.append(
                    ChainBreak(
                        last_seq + 1,
                        BreakKind.TRUNCATED,
                        f"the log ends at #{last_seq} but its head records #{head.seq}",
                    )
                )
            elif head.seq < last_seq:
                found.append(
                    ChainBreak(
                        head.seq + 1,
                        BreakKind.ANCHOR_MISMATCH,
                        f"entries #{head.seq + 1}–#{last_seq} lie beyond the recorded head #{head.seq}",
                    )
                )
            elif head.hash != last_hash:
                found.append(
                    ChainBreak(
                        head.seq,
                        BreakKind.ANCHOR_MISMATCH,
                        f"the head records {head.hash} for #{head.seq}, the log has {last_hash}",
                    )
                )
        return min(found, key=lambda b: b.seq) if found else None

    def _hash_at(self, seq: int) -> str:
        if seq == 0:
            return GENESIS_HASH
        return bytes(self._hashes[_HASH_BYTES * (seq - 1) : _HASH_BYTES * seq]).hex()

    def _check(self, entry: AuditEntry) -> None:
        tip_seq, tip_hash = self._tip
        if not _recomputes(entry):
            original = self._sealed_at(entry, self._candidates(entry))
            if original is not None:
                self._broken = ChainBreak(
                    entry.seq,
                    BreakKind.REORDERED,
                    f"entry #{entry.seq} holds the intact entry #{original}, stored out of its place",
                )
            else:
                self._suspect = _Suspect(
                    BreakKind.MODIFIED,
                    entry.seq,
                    f"entry #{entry.seq}'s content no longer gives its hash {entry.hash}",
                    entry,
                    content_changed=True,
                )
            return
        if entry.seq <= tip_seq:
            self._broken = ChainBreak(
                entry.seq,
                BreakKind.REORDERED,
                f"entry #{entry.seq} comes after #{tip_seq}: seqs not increasing",
            )
            return
        if entry.prev_hash != tip_hash:
            if entry.seq == tip_seq + 1 and tip_seq > 0:
                # Consecutive seqs but another predecessor hash: #tip was replaced by an entry
                # sealed afresh (its own hash recomputes), so the change is at #tip.
                self._suspect = _Suspect(
                    BreakKind.MODIFIED,
                    tip_seq,
                    f"entry #{entry.seq} follows another #{tip_seq}: #{tip_seq} was rewritten and re-hashed",
                    entry,
                    content_changed=False,
                )
            else:
                self._suspect = _Suspect(
                    BreakKind.DELETED,
                    entry.seq,
                    f"entry #{entry.seq} follows #{tip_seq}, and the entry it was chained to is missing",
                    entry,
                    content_changed=False,
                )
            return
        if entry.seq != tip_seq + 1:
            self._broken = ChainBreak(
                entry.seq, BreakKind.DELETED, f"the seq skips from #{tip_seq} to #{entry.seq}"
            )
            return
        self._hashes += bytes.fromhex(entry.hash)
        self._last = entry

    def _candidates(self, entry: AuditEntry) -> list[int]:
        """Seqs ``entry`` may have been sealed with, nearest first."""
        found = [entry.seq + d * sign for d in range(1, self._window + 1) for sign in (-1, 1)]
        if entry.prev_hash == GENESIS_HASH:
            found.append(1)
        try:
            wanted = bytes.fromhex(entry.prev_hash)
        except ValueError:
            return found
        if len(wanted) != _HASH_BYTES:
            return found
        # Only once per verification (at the first break), so a scan of the chain is affordable.
        start = 0
        while (at := self._hashes.find(wanted, start)) >= 0:
            if at % _HASH_BYTES == 0:
                found.append(at // _HASH_BYTES + 2)
                break
            start = at + 1
        return found

    @staticmethod
    def _sealed_at(entry: AuditEntry, candidates: Iterable[int]) -> int | None:
        for seq in candidates:
            if seq >= 1 and seq != entry.seq and _recomputes(entry, seq):
                return seq
        return None

    def _look_further(self, suspect: _Suspect, later: AuditEntry) -> None:
        suspect.looked_at += 1
        entry = suspect.entry
        if suspect.content_changed:
            candidates = []
            if later.hash == entry.prev_hash:
                candidates.append(later.seq + 1)
            if later.prev_hash == entry.hash:
                candidates.append(later.seq - 1)
            original = self._sealed_at(entry, candidates)
            if original is not None:
                self._broken = ChainBreak(
                    suspect.seq,
                    BreakKind.REORDERED,
                    f"entry #{entry.seq} holds the intact entry #{original}, stored out of its place",
                )
        elif later.hash == entry.prev_hash:
            self._broken = ChainBreak(
                suspect.seq,
                BreakKind.REORDERED,
                f"entry #{entry.seq} is chained to entry #{later.seq}, which is stored after it",
            )
        if self._broken is None and suspect.looked_at >= self._lookahead:
            self._settle(suspect)

    def _settle(self, suspect: _Suspect) -> None:
        self._suspect = None
        if self._broken is None:
            self._broken = ChainBreak(suspect.seq, suspect.kind, suspect.message)


def verify_chain(
    entries: Iterable[AuditEntry], head: Anchor | None = None, anchors: Sequence[Anchor] = ()
) -> ChainBreak | None:
    """The first break of ``entries`` (in stored order) against ``head`` and ``anchors``, or None."""
    verifier = ChainVerifier()
    return verifier.feed(entries) or verifier.finish(head, anchors)
