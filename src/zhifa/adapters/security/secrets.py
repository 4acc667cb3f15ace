"""Tokens from the operating system's CSPRNG; machine keys derived from the deployment's secret.

A machine key is HMAC-SHA256(secret, "zhifa api key v1:" + key id): the platform can rebuild it
to check a signature, while the database keeps only its SHA-256 fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


class SystemSecrets:
    """``secret`` if the settings give one; else the key file, created on first use (mode 0600)."""

    def __init__(self, secret: bytes | None, key_file: Path) -> None:
        if secret is not None and len(secret) < 32:
            raise ValueError("the deployment secret must be at least 32 bytes")
        self._secret = secret
        self._key_file = key_file

    def _deployment_secret(self) -> bytes:
        if self._secret is None:
            self._secret = self._load_or_create()
        return self._secret

    def _load_or_create(self) -> bytes:
        path = self._key_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process of this deployment created it first: use theirs
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32) + "\n")
        value = path.read_bytes().strip()
        if len(value) < 32:
            raise ValueError(f"{path} holds fewer than 32 bytes; delete it or set ZHIFA_SECRET_KEY")
        return value

    def token(self) -> str:
        return secrets.token_urlsafe(32)

    def api_key(self, key_id: str) -> bytes:
        message = f"zhifa api key v1:{key_id}".encode()
        return hmac.new(self._deployment_secret(), message, hashlib.sha256).digest()
