"""Reads of personal data: every response that shows it unmasked leaves an audit entry.

行政处罚法 第五十条 binds the authority to keep personal privacy learnt in enforcement
confidential; who saw whose data, and when, is therefore provable.
"""

from __future__ import annotations

from collections.abc import Sequence

from zhifa.domain.audit import Actor
from zhifa.services.audit import note
from zhifa.services.ports import Clock, UnitOfWorkFactory

MAX_IDS_PER_ENTRY = 200  # a page of a list; longer lists are cut, their count is kept


def record_disclosure(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    actor: Actor,
    object_type: str,
    object_ids: Sequence[str],
    fields: Sequence[str],
    *,
    own: bool = False,
) -> None:
    """Audit that ``actor`` was shown ``fields`` of these objects unmasked (``own``: their own data)."""
    if not object_ids:
        return
    with uow_factory() as uow:
        note(
            uow,
            clock.now(),
            actor,
            "personal_data.read_own" if own else "personal_data.unmask",
            object_type,
            object_ids[0] if len(object_ids) == 1 else f"{len(object_ids)} records",
            ids=list(object_ids[:MAX_IDS_PER_ENTRY]),
            count=len(object_ids),
            fields=sorted(fields),
        )
        uow.commit()
