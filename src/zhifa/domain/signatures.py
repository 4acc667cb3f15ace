"""Signed machine requests: HMAC-SHA256 over method, path, timestamp, nonce and body hash.

A client signs::

    METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(body))

with its key and sends ``X-Zhifa-Key``, ``X-Zhifa-Timestamp`` (Unix seconds), ``X-Zhifa-Nonce``
and ``X-Zhifa-Signature`` (hex). A request outside the time window, or whose nonce was already
seen inside it, is a replay. This module is shared by the platform and the simulator's feeder.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from zhifa.domain.errors import DomainError

KEY_HEADER = "X-Zhifa-Key"
TIMESTAMP_HEADER = "X-Zhifa-Timestamp"
NONCE_HEADER = "X-Zhifa-Nonce"
SIGNATURE_HEADER = "X-Zhifa-Signature"
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class BadSignature(DomainError):
    """The request's signature, timestamp or nonce does not hold; the message says which."""


def canonical_request(method: str, path: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path, str(timestamp), nonce, body_hash)).encode()


def sign(key: bytes, method: str, path: str, timestamp: int, nonce: str, body: bytes) -> str:
    return hmac.new(key, canonical_request(method, path, timestamp, nonce, body), hashlib.sha256).hexdigest()


def signed_headers(
    key_id: str, key: bytes, method: str, path: str, timestamp: int, nonce: str, body: bytes
) -> dict[str, str]:
    return {
        KEY_HEADER: key_id,
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(key, method, path, timestamp, nonce, body),
    }


@dataclass(frozen=True)
class SignedRequest:
    key_id: str
    timestamp: int
    nonce: str
    signature: str

    @classmethod
    def parse(cls, key_id: str, timestamp: str, nonce: str, signature: str) -> SignedRequest:
        if not re.fullmatch(r"[0-9]{1,12}", timestamp):
            raise BadSignature(f"{TIMESTAMP_HEADER} must be Unix seconds")
        if not NONCE.fullmatch(nonce):
            raise BadSignature(f"{NONCE_HEADER} must be 16–64 characters of A–Z, a–z, 0–9, '_' or '-'")
        if not re.fullmatch(r"[0-9a-f]{64}", signature):
            raise BadSignature(f"{SIGNATURE_HEADER} must be 64 lower-case hex digits (HMAC-SHA256)")
        return cls(key_id, int(timestamp), nonce, signature)

    def check(self, key: bytes, method: str, path: str, body: bytes, now: int, window_seconds: int) -> None:
        """Raise BadSignature unless the request is fresh and signed with ``key``."""
        if abs(now - self.timestamp) > window_seconds:
            raise BadSignature(
                f"request timestamp is {self.timestamp - now:+d} s from the server's clock; "
                f"the window is ±{window_seconds} s"
            )
        expected = sign(key, method, path, self.timestamp, self.nonce, body)
        if not hmac.compare_digest(expected, self.signature):
            raise BadSignature("signature does not match the request")
