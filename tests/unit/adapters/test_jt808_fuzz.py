"""Fuzzing the JT/T 808 codec: whatever bytes arrive, the only exception is FrameError with a known
reason — never IndexError, struct.error, UnicodeDecodeError, OverflowError or the like."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.adapters.test_jt808_codec import CORRUPT, FRAMES
from zhifa.adapters.protocol.jt808 import (
    MESSAGE_TYPES,
    REASONS,
    Deframer,
    FrameError,
    Reassembler,
    build_frame,
    decode_body,
    decode_frame,
    frame_to_json,
    parse_frame,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WIRES = [c.wire for c in FRAMES]
GOOD = [parse_frame(c.wire) for c in FRAMES if CORRUPT not in c.note]
MODELLED = sorted(MESSAGE_TYPES)


def _check(exc: FrameError) -> None:
    assert exc.reason in REASONS, exc.reason
    assert str(exc).startswith(f"{exc.reason}: ")


def pipeline(chunks: list[bytes]) -> int:
    """Stream → Deframer → parse_frame → Reassembler → decode_frame → JSON, as the gateway and the CLI
    do; returns how many messages decoded. FrameErrors are checked and swallowed, nothing else is."""
    deframer, reassembler = Deframer(max_frame=2048), Reassembler()
    decoded = 0
    for chunk in chunks:
        for item in deframer.feed(chunk):
            if isinstance(item, FrameError):
                _check(item)
                continue
            try:
                whole = reassembler.add(parse_frame(item), 0.0)
                if whole is None:
                    continue
                header, message = decode_frame(whole)
            except FrameError as exc:
                _check(exc)
                continue
            json.dumps(frame_to_json(header, message), ensure_ascii=False)
            decoded += 1
    return decoded


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


pieces = st.one_of(
    st.binary(max_size=64), st.sampled_from([b"\x7e", b"\x7d", b"\x7e\x7e", b"\x7d\x01", b"\x7d\x02"])
)


@FUZZ
@given(parts=st.lists(pieces, max_size=40), cuts=st.lists(st.integers(0, 5000), max_size=10))
def test_random_streams_raise_only_frame_errors(parts: list[bytes], cuts: list[int]) -> None:
    """Random bytes sprinkled with flags and escape bytes, in random chunks: no crash, only FrameError."""
    pipeline(_split(b"".join(parts), cuts))


@st.composite
def mutated_wire(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(WIRES)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "flags", "escape"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 4))]
        elif kind == "flags":
            data[at:at] = b"\x7e" * draw(st.integers(1, 3))
        else:
            data[at:at] = b"\x7d"
    return bytes(data)


@FUZZ
@given(
    wires=st.lists(mutated_wire(), min_size=1, max_size=4), cuts=st.lists(st.integers(0, 2000), max_size=6)
)
def test_mutated_real_frames_raise_only_frame_errors(wires: list[bytes], cuts: list[int]) -> None:
    """Real captures with bit flips, truncations, insertions, deletions, extra flags and stray 0x7d,
    streamed together: only FrameError."""
    pipeline(_split(b"".join(wires), cuts))
    for wire in wires:  # and one at a time, as the CLI takes them
        try:
            decode_frame(parse_frame(wire))
        except FrameError as exc:
            _check(exc)


@st.composite
def mutated_body_frame(draw: st.DrawFn) -> bytes:
    """A real frame whose body is mutated and then re-framed validly (checksum and length right), so
    the mutation reaches the body decoders instead of stopping at the checksum."""
    frame = draw(st.sampled_from(GOOD))
    body = bytearray(frame.body)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "byte"]))
        if kind == "flip" and body:
            body[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del body[at:]
        elif kind == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif kind == "delete":
            del body[at : at + draw(st.integers(1, 3))]
        elif body:
            body[at] = draw(st.sampled_from([0x00, 0xFF, 0x7E, 0x7D, 0x9A, 0x80]))
    h = frame.header
    return build_frame(
        h.msg_id,
        h.phone,
        h.serial,
        bytes(body[:1023]),
        version=h.version,
        protocol_version=h.protocol_version or 1,
    )


@FUZZ
@given(wire=mutated_body_frame())
def test_mutated_bodies_raise_only_body_errors(wire: bytes) -> None:
    """With framing intact, a damaged body is either decoded or refused as "body" (or "unsupported" for
    ids the codec does not model) — and anything decoded can be rendered as JSON."""
    try:
        header, message = decode_frame(parse_frame(wire))
    except FrameError as exc:
        assert exc.reason in {"body", "unsupported"}, exc
        return
    json.dumps(frame_to_json(header, message), ensure_ascii=False)


@FUZZ
@given(
    msg_id=st.sampled_from(MODELLED),
    body=st.binary(max_size=300),
    version=st.sampled_from([2011, 2013, 2019]),
)
def test_random_bodies_for_every_message_raise_only_body_errors(
    msg_id: int, body: bytes, version: int
) -> None:
    """Random bodies for every modelled message id and version: decoded or FrameError("body")."""
    try:
        decode_body(msg_id, body, version)
    except FrameError as exc:
        assert exc.reason == "body", exc


@FUZZ
@given(
    prefix=st.sampled_from([f.body[:28] for f in GOOD if f.header.msg_id == 0x0200]),
    tail=st.binary(max_size=120),
)
def test_random_location_extras_never_fail(prefix: bytes, tail: bytes) -> None:
    """After a valid 28-byte basic part, any bytes at all decode: extras are never fatal."""
    loc = decode_body(0x0200, prefix + tail, 2013)
    assert loc is not None
