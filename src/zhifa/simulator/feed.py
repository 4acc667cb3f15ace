"""Feed a running platform over HTTP, as the weighing sites of a province would."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from zhifa.domain.signatures import signed_headers
from zhifa.simulator.weighings import WeighingStream

log = logging.getLogger("zhifa.simulator")


class HttpFeeder:
    """Posts a batch every ``interval`` seconds until stopped; retries a failed batch as is.

    ``path`` is the ingest endpoint (weighings by default; ``/api/v1/passages`` takes passages).
    Without a ``stream`` only ``post_once`` is of use: the live replay posts its own records.
    """

    def __init__(
        self,
        base_url: str,
        stream: WeighingStream | None,
        now: Callable[[], datetime],
        *,
        batch_size: int = 8,
        interval: float = 2.0,
        on_result: Callable[[dict[str, object]], None] | None = None,
        key: tuple[str, bytes] | None = None,
        path: str = "/api/v1/weighings",
    ) -> None:
        self.url = base_url.rstrip("/") + path
        self.stream = stream
        self.now = now
        self.batch_size = batch_size
        self.interval = interval
        self.on_result = on_result
        self.key = key  # (key id, signing key) of the unit's API key: requests are signed with it
        self._stop = threading.Event()
        self.sent = 0

    def post_once(self, client: httpx.Client, records: list[dict[str, object]]) -> dict[str, object]:
        body = json.dumps({"records": records}, ensure_ascii=False).encode()
        headers = {"content-type": "application/json"}
        if self.key is not None:
            key_id, secret = self.key
            path = httpx.URL(self.url).raw_path.decode()
            stamp = int(self.now().timestamp())
            headers |= signed_headers(key_id, secret, "POST", path, stamp, uuid.uuid4().hex, body)
        response = client.post(self.url, content=body, headers=headers, timeout=30)
        response.raise_for_status()
        result: dict[str, object] = response.json()
        self.sent += len(records)
        return result

    def run(self) -> None:
        stream = self.stream
        if stream is None:
            raise ValueError("a feeder without a stream has nothing to run")
        pending: list[dict[str, object]] | None = None
        with httpx.Client() as client:
            while not self._stop.is_set():
                if pending is None:
                    # Weighings of the last interval, spread over it, stamped in the past.
                    spacing = timedelta(seconds=self.interval / max(self.batch_size, 1))
                    start = self.now() - timedelta(seconds=self.interval)
                    pending = list(stream.batch(start, self.batch_size, spacing))
                try:
                    result = self.post_once(client, pending)
                except httpx.HTTPError as exc:
                    # At-least-once: the same records again, which the platform treats as duplicates.
                    log.warning("weighing batch not delivered (%s); retrying", exc)
                else:
                    pending = None
                    if self.on_result:
                        self.on_result(result)
                self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
