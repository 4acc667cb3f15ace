"""Bytes the platform could not read, kept aside with the reason (the Quarantine port).

One JSON line per item in ``<root>/<UTC date>.jsonl``: when, from where, why, and the bytes as
hex, so an engineer can replay a terminal's malformed frame through ``zhifa jt808 decode``.
Lines are appended and flushed at once; a torn last line after a crash is the only possible loss.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path


class FileQuarantine:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def put(self, at: datetime, source: str, reason: str, detail: str, data: bytes) -> Path:
        line = json.dumps(
            {"at": at.isoformat(), "source": source, "reason": reason, "detail": detail, "hex": data.hex()},
            ensure_ascii=False,
        )
        path = self.root / f"{at.date().isoformat()}.jsonl"
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        return path

    def items(self) -> list[dict[str, str]]:
        """Every quarantined item, oldest file first (for tests and the operator)."""
        out: list[dict[str, str]] = []
        for path in sorted(self.root.glob("*.jsonl")):
            with path.open(encoding="utf-8") as lines:
                out += [json.loads(line) for line in lines if line.strip()]
        return out
