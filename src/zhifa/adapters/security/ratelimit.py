"""Token buckets per client address, in this process's memory.

Each process limits on its own; behind a balancer with N API processes a client gets up to N
times the rate, which is still bounded. Lockout after failed sign-ins is kept in the database
and holds across processes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from zhifa.services.ports import Clock

# Addresses remembered at most. Beyond it, full buckets are forgotten (they hold no debt), then the
# least recently seen half, so a flood of new addresses cannot erase the debt of an active one.
MAX_TRACKED = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucketLimiter:
    """``per_minute`` requests a minute per key, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float:
        """Take one token for ``key``: 0 if allowed, else the seconds until one is free."""
        now = self._clock.now().timestamp()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_TRACKED:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        for key in [
            k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.capacity
        ]:
            del self._buckets[key]
        if len(self._buckets) >= MAX_TRACKED:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k].at)
            for key in by_age[: len(by_age) // 2]:
                del self._buckets[key]
