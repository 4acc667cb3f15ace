"""Enforcement documents (执法文书): the Ministry's standard forms, each tied to a case number.

交通运输行政执法程序规定 第一百三十一条 requires the Ministry's unified forms. A document, once
issued, is evidence: its bytes are stored by SHA-256 and never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DocumentKind(StrEnum):
    NOTICE = "notice"  # 违法行为通知书 (程序规定 第六十九条)

    @property
    def label(self) -> str:
        return {"notice": "违法行为通知书"}[self.value]


@dataclass(frozen=True)
class Document:
    id: str
    case_id: str
    kind: DocumentKind
    case_number: str
    sha256: str
    media_type: str
    size: int
    created_at: datetime
