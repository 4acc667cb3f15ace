"""Signed machine requests: the canonical form, the headers a client sends, and the checks that
refuse stale, forged, tampered or malformed requests."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zhifa.domain.errors import DomainError
from zhifa.domain.signatures import (
    KEY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    SignedRequest,
    canonical_request,
    sign,
    signed_headers,
)

KEY = bytes.fromhex("0f" * 32)
OTHER_KEY = bytes.fromhex("f0" * 32)
NOW = 1_795_000_000
WINDOW = 300
NONCE = "n0nce-0123456789abcdef"
BODY = b'{"records":[{"record_id":"W-1"}]}'
PATH = "/api/v1/weighings?dry_run=1"


def _signed(
    key: bytes = KEY,
    method: str = "POST",
    path: str = PATH,
    timestamp: int = NOW,
    nonce: str = NONCE,
    body: bytes = BODY,
) -> SignedRequest:
    headers = signed_headers("key-1", key, method, path, timestamp, nonce, body)
    return SignedRequest.parse(
        headers[KEY_HEADER], headers[TIMESTAMP_HEADER], headers[NONCE_HEADER], headers[SIGNATURE_HEADER]
    )


def test_bad_signature_is_a_domain_error() -> None:
    """A refused signature is a domain error, which the API turns into 401."""
    assert issubclass(BadSignature, DomainError)


def test_canonical_request_layout() -> None:
    """The signed text is METHOD, PATH?QUERY, TIMESTAMP, NONCE and hex SHA-256 of the body, one a
    line; the method is upper-cased."""
    expected = "\n".join(("POST", PATH, str(NOW), NONCE, hashlib.sha256(BODY).hexdigest())).encode()
    assert canonical_request("post", PATH, NOW, NONCE, BODY) == expected


def test_sign_is_hmac_sha256_of_the_canonical_request() -> None:
    """The signature is hex HMAC-SHA256 with the key over the canonical request, as any client can
    compute with its standard library."""
    expected = hmac.new(KEY, canonical_request("POST", PATH, NOW, NONCE, BODY), hashlib.sha256).hexdigest()
    assert sign(KEY, "POST", PATH, NOW, NONCE, BODY) == expected


def test_signed_headers_carry_key_timestamp_nonce_and_signature() -> None:
    """A client sends the key id, the Unix timestamp, the nonce and the signature, nothing else."""
    headers = signed_headers("key-1", KEY, "POST", PATH, NOW, NONCE, BODY)
    assert headers == {
        KEY_HEADER: "key-1",
        TIMESTAMP_HEADER: str(NOW),
        NONCE_HEADER: NONCE,
        SIGNATURE_HEADER: sign(KEY, "POST", PATH, NOW, NONCE, BODY),
    }


def test_the_right_request_passes() -> None:
    """A request signed with the key, checked as sent and in time, passes."""
    _signed().check(KEY, "POST", PATH, BODY, NOW, WINDOW)


@pytest.mark.parametrize("skew", [-WINDOW, -1, 0, 1, WINDOW])
def test_inside_the_window_passes(skew: int) -> None:
    """A timestamp up to ``window`` seconds either side of the server's clock is fresh."""
    _signed(timestamp=NOW + skew).check(KEY, "POST", PATH, BODY, NOW, WINDOW)


@pytest.mark.parametrize(
    ("skew", "shown"), [(-WINDOW - 1, "-301 s"), (WINDOW + 1, "+301 s"), (86_400, "+86400")]
)
def test_outside_the_window_is_refused(skew: int, shown: str) -> None:
    """A timestamp one second or more beyond the window is refused, and the message says how far
    off it is and what the window is."""
    with pytest.raises(BadSignature, match="window is ±300 s") as refused:
        _signed(timestamp=NOW + skew).check(KEY, "POST", PATH, BODY, NOW, WINDOW)
    assert shown in str(refused.value)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("PUT", PATH, BODY, id="method"),
        pytest.param("POST", "/api/v1/weighings", BODY, id="query-dropped"),
        pytest.param("POST", "/api/v1/weighings?dry_run=0", BODY, id="query-changed"),
        pytest.param("POST", "/api/v1/sites", BODY, id="path"),
        pytest.param("POST", PATH, BODY + b" ", id="body-appended"),
        pytest.param("POST", PATH, b"", id="body-emptied"),
        pytest.param("POST", PATH, BODY.replace(b"W-1", b"W-2"), id="body-tampered"),
    ],
)
def test_tampered_request_is_refused(method: str, path: str, body: bytes) -> None:
    """Changing the method, path, query or body after signing breaks the signature."""
    with pytest.raises(BadSignature, match="does not match"):
        _signed().check(KEY, method, path, body, NOW, WINDOW)


def test_method_case_is_not_significant() -> None:
    """The method is upper-cased before signing: ``post`` and ``POST`` are the same request."""
    _signed(method="post").check(KEY, "POST", PATH, BODY, NOW, WINDOW)


def test_wrong_key_is_refused() -> None:
    """A request signed with another key does not pass as this key's."""
    with pytest.raises(BadSignature, match="does not match"):
        _signed(key=OTHER_KEY).check(KEY, "POST", PATH, BODY, NOW, WINDOW)


def test_changed_nonce_or_timestamp_is_refused() -> None:
    """The nonce and the timestamp are signed: swapping either in the headers breaks the signature."""
    signed = _signed()
    for forged in (
        SignedRequest(signed.key_id, signed.timestamp, "another-nonce-0123456", signed.signature),
        SignedRequest(signed.key_id, signed.timestamp + 1, signed.nonce, signed.signature),
    ):
        with pytest.raises(BadSignature, match="does not match"):
            forged.check(KEY, "POST", PATH, BODY, NOW, WINDOW)


def test_parse_keeps_the_header_values() -> None:
    """Well-formed headers parse to their values, the timestamp as an integer."""
    signature = "ab" * 32
    assert SignedRequest.parse("key-1", str(NOW), NONCE, signature) == SignedRequest(
        "key-1", NOW, NONCE, signature
    )


@pytest.mark.parametrize(
    ("timestamp", "nonce", "signature", "header"),
    [
        pytest.param("", NONCE, "ab" * 32, TIMESTAMP_HEADER, id="timestamp-missing"),
        pytest.param("-5", NONCE, "ab" * 32, TIMESTAMP_HEADER, id="timestamp-negative"),
        pytest.param("1795000000.5", NONCE, "ab" * 32, TIMESTAMP_HEADER, id="timestamp-fraction"),
        pytest.param("2026-11-21T02:00:00Z", NONCE, "ab" * 32, TIMESTAMP_HEADER, id="timestamp-iso"),
        pytest.param(" 1795000000", NONCE, "ab" * 32, TIMESTAMP_HEADER, id="timestamp-space"),
        pytest.param(str(NOW), "", "ab" * 32, NONCE_HEADER, id="nonce-missing"),
        pytest.param(str(NOW), "a" * 15, "ab" * 32, NONCE_HEADER, id="nonce-too-short"),
        pytest.param(str(NOW), "a" * 65, "ab" * 32, NONCE_HEADER, id="nonce-too-long"),
        pytest.param(str(NOW), "nonce with spaces!", "ab" * 32, NONCE_HEADER, id="nonce-bad-characters"),
        pytest.param(str(NOW), NONCE, "", SIGNATURE_HEADER, id="signature-missing"),
        pytest.param(str(NOW), NONCE, "AB" * 32, SIGNATURE_HEADER, id="signature-upper-case"),
        pytest.param(str(NOW), NONCE, "ab" * 31, SIGNATURE_HEADER, id="signature-short"),
        pytest.param(str(NOW), NONCE, "ab" * 33, SIGNATURE_HEADER, id="signature-long"),
        pytest.param(str(NOW), NONCE, "zz" * 32, SIGNATURE_HEADER, id="signature-not-hex"),
        pytest.param(str(NOW), NONCE, "ab" * 32 + "\n", SIGNATURE_HEADER, id="signature-newline"),
    ],
)
def test_bad_header_formats_are_refused(timestamp: str, nonce: str, signature: str, header: str) -> None:
    """Each malformed header is refused with BadSignature naming that header."""
    with pytest.raises(BadSignature, match=header):
        SignedRequest.parse("key-1", timestamp, nonce, signature)


@pytest.mark.parametrize(
    "timestamp", ["²", "1795000000²", "9" * 5000], ids=["superscript", "trailing", "huge"]
)
def test_odd_digit_timestamps_are_refused_as_bad_signature(timestamp: str) -> None:
    """A timestamp that only looks like digits is a malformed header: BadSignature, not a crash."""
    with pytest.raises(BadSignature, match=TIMESTAMP_HEADER):
        SignedRequest.parse("key-1", timestamp, NONCE, "ab" * 32)


def test_nonce_with_trailing_newline_is_refused() -> None:
    """A nonce is 16–64 characters of A–Z, a–z, 0–9, '_' or '-', and nothing after them."""
    with pytest.raises(BadSignature, match=NONCE_HEADER):
        SignedRequest.parse("key-1", str(NOW), "0123456789abcdef\n", "ab" * 32)


# --- properties -------------------------------------------------------------------------------

_METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"])
_PATHS = st.text(min_size=1, max_size=40).map(lambda p: "/" + p)
_NONCES = st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True)
_TIMESTAMPS = st.integers(min_value=NOW - WINDOW, max_value=NOW + WINDOW)
_BODIES = st.binary(max_size=200)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=64), _METHODS, _PATHS, _TIMESTAMPS, _NONCES, _BODIES)
def test_the_request_as_signed_passes(
    key: bytes, method: str, path: str, timestamp: int, nonce: str, body: bytes
) -> None:
    """Any request, signed with any key and checked as sent inside the window, passes."""
    headers = signed_headers("k", key, method, path, timestamp, nonce, body)
    signed = SignedRequest.parse(
        "k", headers[TIMESTAMP_HEADER], headers[NONCE_HEADER], headers[SIGNATURE_HEADER]
    )
    signed.check(key, method, path, body, NOW, WINDOW)


@settings(max_examples=300, deadline=None)
@given(
    _METHODS,
    _PATHS,
    _TIMESTAMPS,
    _NONCES,
    _BODIES,
    st.data(),
)
def test_any_change_breaks_the_signature(
    method: str, path: str, timestamp: int, nonce: str, body: bytes, data: st.DataObject
) -> None:
    """Changing any one of method, path, body, nonce or timestamp after signing makes the check
    fail, however small the change (a changed timestamp stays inside the window, so it is the
    signature, not freshness, that refuses it)."""
    signature = sign(KEY, method, path, timestamp, nonce, body)
    field = data.draw(st.sampled_from(["method", "path", "body", "nonce", "timestamp"]), label="field")
    m, p, b, n, t = method, path, body, nonce, timestamp
    if field == "method":
        m = data.draw(_METHODS.filter(lambda x: x != method), label="method")
    elif field == "path":
        p = data.draw(_PATHS.filter(lambda x: x != path), label="path")
    elif field == "body":
        b = data.draw(_BODIES.filter(lambda x: x != body), label="body")
    elif field == "nonce":
        n = data.draw(_NONCES.filter(lambda x: x != nonce), label="nonce")
    else:
        t = data.draw(_TIMESTAMPS.filter(lambda x: x != timestamp), label="timestamp")
    assume((m, p, b, n, t) != (method, path, body, nonce, timestamp))
    forged = SignedRequest("k", t, n, signature)
    with pytest.raises(BadSignature, match="does not match"):
        forged.check(KEY, m, p, b, NOW, WINDOW)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.binary(min_size=1, max_size=64))
def test_another_key_never_passes(key: bytes, other: bytes) -> None:
    """A signature made with one key is refused under any other key."""
    assume(hmac.new(key, b"", hashlib.sha256).digest() != hmac.new(other, b"", hashlib.sha256).digest())
    signed = _signed(key=key)
    with pytest.raises(BadSignature, match="does not match"):
        signed.check(other, "POST", PATH, BODY, NOW, WINDOW)
