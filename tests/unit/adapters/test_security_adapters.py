"""The security primitives behind the identity ports: token-bucket rate limits on an injected
clock, Argon2id password hashes, and the deployment secret with the machine keys derived from it."""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from tests.fakes import FakeClock
from zhifa.adapters.security import ratelimit
from zhifa.adapters.security.passwords import Argon2Hasher
from zhifa.adapters.security.ratelimit import TokenBucketLimiter
from zhifa.adapters.security.secrets import SystemSecrets

# --- rate limits ------------------------------------------------------------------------------


def test_a_full_bucket_allows_a_burst_then_refuses() -> None:
    """A client gets ``per_minute`` requests at once; the next is refused with a positive wait of
    one token's refill time (60 / per_minute seconds)."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(10, clock)
    assert [limiter.retry_after("ip:1") for _ in range(10)] == [0.0] * 10
    wait = limiter.retry_after("ip:1")
    assert wait == pytest.approx(6.0)
    assert wait > 0


def test_bucket_refills_with_the_clock() -> None:
    """Tokens come back at ``per_minute / 60`` a second: after the wait it was told, a refused
    client is let in once more, and after a minute it has a whole burst again."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(6, clock)
    for _ in range(6):
        limiter.retry_after("ip:1")
    wait = limiter.retry_after("ip:1")
    assert wait == pytest.approx(10.0)
    clock.advance(seconds=wait / 2)
    assert limiter.retry_after("ip:1") == pytest.approx(5.0)
    clock.advance(seconds=5)
    assert limiter.retry_after("ip:1") == 0.0
    assert limiter.retry_after("ip:1") > 0
    clock.advance(minutes=1)
    assert [limiter.retry_after("ip:1") for _ in range(6)] == [0.0] * 6
    assert limiter.retry_after("ip:1") > 0


def test_refill_never_exceeds_the_burst() -> None:
    """However long a client stays away, it comes back to one burst, not a saved-up pile."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(3, clock)
    limiter.retry_after("ip:1")
    clock.advance(hours=24)
    assert [limiter.retry_after("ip:1") for _ in range(3)] == [0.0] * 3
    assert limiter.retry_after("ip:1") > 0


def test_clients_have_buckets_of_their_own() -> None:
    """One client exhausting its bucket does not slow another."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(2, clock)
    limiter.retry_after("ip:1")
    limiter.retry_after("ip:1")
    assert limiter.retry_after("ip:1") > 0
    assert limiter.retry_after("ip:2") == 0.0


def test_forgetting_buckets_keeps_the_drained_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """When too many addresses are tracked, the full buckets (which a new request would find full
    anyway) are forgotten; a drained client keeps its debt, so a flood of new addresses does not
    reset it."""
    monkeypatch.setattr(ratelimit, "MAX_TRACKED", 2)
    clock = FakeClock()
    limiter = TokenBucketLimiter(2, clock)
    limiter.retry_after("idle")  # one of two tokens taken; full again within 30 s
    limiter.retry_after("busy")
    limiter.retry_after("busy")  # drained
    clock.advance(seconds=30)  # idle is full again, busy has one token back
    assert limiter.retry_after("new") == 0.0  # a third address: the full bucket is forgotten
    assert limiter.retry_after("busy") == 0.0
    assert limiter.retry_after("busy") > 0  # busy kept its state: a fresh bucket would allow two


# --- passwords --------------------------------------------------------------------------------

CHEAP = {"time_cost": 1, "memory_kib": 8}


def test_hash_is_argon2id_and_verifies() -> None:
    """A hash is an Argon2id PHC string with the configured cost, salted (two hashes of one
    password differ), and verifies the password it was made of."""
    hasher = Argon2Hasher(**CHEAP)
    first, second = hasher.hash("Zhifa-Test-2026!"), hasher.hash("Zhifa-Test-2026!")
    assert first.startswith("$argon2id$") and "m=8,t=1,p=1" in first
    assert first != second
    assert hasher.verify(first, "Zhifa-Test-2026!")
    assert hasher.verify(second, "Zhifa-Test-2026!")


@pytest.mark.parametrize(
    "password",
    ["zhifa-test-2026!", "Zhifa-Test-2026", "Zhifa-Test-2026! ", "", "完全不同的密码"],
)
def test_wrong_password_does_not_verify(password: str) -> None:
    """Any other password, however close, is refused with False (not an exception)."""
    hasher = Argon2Hasher(**CHEAP)
    assert hasher.verify(hasher.hash("Zhifa-Test-2026!"), password) is False


@pytest.mark.parametrize("stored", ["", "not a hash", "$argon2id$v=19$m=8,t=1,p=1$broken", "$2b$12$abc"])
def test_garbage_hash_does_not_verify_and_needs_rehash(stored: str) -> None:
    """A stored value that is no Argon2 hash verifies nothing and is due to be replaced."""
    hasher = Argon2Hasher(**CHEAP)
    assert hasher.verify(stored, "Zhifa-Test-2026!") is False
    assert hasher.needs_rehash(stored) is True


def test_needs_rehash_when_parameters_change() -> None:
    """A hash made with other parameters (or another Argon2 type) is due for rehashing; one made
    with the current parameters is not, and old hashes still verify meanwhile."""
    old = Argon2Hasher(time_cost=1, memory_kib=8)
    new = Argon2Hasher(time_cost=2, memory_kib=16)
    stored = old.hash("Zhifa-Test-2026!")
    assert old.needs_rehash(stored) is False
    assert new.needs_rehash(stored) is True
    assert new.verify(stored, "Zhifa-Test-2026!")
    argon2i = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.I).hash("x")
    assert old.needs_rehash(argon2i) is True


# --- secrets ----------------------------------------------------------------------------------

SECRET = b"0123456789abcdef0123456789abcdef"


def test_key_file_created_once_with_mode_0600(tmp_path: Path) -> None:
    """Without a configured secret the key file is created on first use, in a new directory if
    need be, readable by its owner only, holding 32 random bytes in hex."""
    key_file = tmp_path / "data" / "secret_key"
    secrets = SystemSecrets(None, key_file)
    assert not key_file.exists()  # nothing is created before it is needed
    secrets.api_key("k-1")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}\n", key_file.read_text())


def test_key_file_is_reused(tmp_path: Path) -> None:
    """A second process (instance) of the deployment reads the existing key file rather than
    writing another, so both derive the same machine keys."""
    key_file = tmp_path / "secret_key"
    first = SystemSecrets(None, key_file).api_key("k-1")
    content = key_file.read_bytes()
    assert SystemSecrets(None, key_file).api_key("k-1") == first
    assert key_file.read_bytes() == content


def test_configured_secret_creates_no_file(tmp_path: Path) -> None:
    """A secret from the settings is used as given, and no key file is written."""
    key_file = tmp_path / "secret_key"
    key = SystemSecrets(SECRET, key_file).api_key("k-1")
    assert not key_file.exists()
    assert key == hmac.new(SECRET, b"zhifa api key v1:k-1", hashlib.sha256).digest()


@pytest.mark.parametrize("length", [0, 1, 31])
def test_short_secret_is_refused(tmp_path: Path, length: int) -> None:
    """A configured secret under 32 bytes is refused at once."""
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SystemSecrets(b"x" * length, tmp_path / "secret_key")


def test_short_key_file_is_refused(tmp_path: Path) -> None:
    """A key file holding under 32 bytes (after trimming) is refused with a hint, not used."""
    key_file = tmp_path / "secret_key"
    key_file.write_text("too short\n")
    with pytest.raises(ValueError, match="fewer than 32 bytes"):
        SystemSecrets(None, key_file).api_key("k-1")


def test_api_keys_are_deterministic_per_key_id_and_secret(tmp_path: Path) -> None:
    """The same secret and key id always give the same 32-byte key; another key id or another
    secret gives another key."""
    secrets = SystemSecrets(SECRET, tmp_path / "a")
    again = SystemSecrets(SECRET, tmp_path / "b")
    other_secret = SystemSecrets(SECRET[::-1], tmp_path / "c")
    key = secrets.api_key("k-1")
    assert len(key) == 32
    assert secrets.api_key("k-1") == again.api_key("k-1") == key
    assert secrets.api_key("k-2") != key
    assert other_secret.api_key("k-1") != key


def test_tokens_are_unguessable_and_url_safe(tmp_path: Path) -> None:
    """Tokens are URL-safe, 256 bits (43 characters) long, and never repeat."""
    secrets = SystemSecrets(SECRET, tmp_path / "secret_key")
    tokens = {secrets.token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", t) for t in tokens)
