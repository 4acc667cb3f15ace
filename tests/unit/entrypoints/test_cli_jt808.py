"""``zhifa jt808 decode | encode``: the JSON contract, exit codes and a round trip through the CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from zhifa.adapters.protocol.jt808 import parse_frame
from zhifa.entrypoints.cli import app as cli

runner = CliRunner()

# Capture [L26] of real_captures.txt (a Shenzhen terminal's 0x0200, 2013), already wire form.
L26 = (
    "7e02000048051160004464000d00000000000c00020159885e06cbf34400000000000020080718072201040000000130011c"
    "310109e4020063e50100e60100e7080000000000000000ee0a01cc01262c009a6743001e7e"
)
# [L328]: the corrupt capture (checksum 0xd0 where 0xf0 is due).
CORRUPT = (
    "7E02000032013511221122000700000000000C000301578CC006CA3A5C00470000000014072317201501040000000030011631"
    "010BD07E"
)
# [wvp#2082]: a 2019 logout.
LOGOUT_2019 = "7e00034000010000000004127346943404b2777e"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(cli, ["jt808", *args], input=stdin)
    return result.exit_code, result.stdout


def test_decode_prints_the_contract_for_a_real_location() -> None:
    """One JSON object: header fields, then a location body with raw words, flag names, signed degrees,
    an ISO time with +08:00 and the decoded extras."""
    code, out = run("decode", L26)
    assert code == 0
    obj = json.loads(out)
    assert list(obj) == ["msg_id", "version", "phone", "serial", "body"]
    assert (obj["msg_id"], obj["version"], obj["phone"], obj["serial"]) == (0x0200, 2013, "051160004464", 13)
    body = obj["body"]
    assert body["alarm"] == 0 and body["status"] == 0x000C0002
    assert body["alarm_flags"] == [] and body["status_flags"] == ["positioned", "gps", "beidou"]
    assert (body["lat"], body["lon"], body["altitude_m"], body["speed_kmh"], body["heading_deg"]) == (
        22.64483, 114.02938, 0, 0.0, 0
    )  # fmt: skip
    assert body["time"] == "2020-08-07T18:07:22+08:00"
    assert body["extras"]["mileage_km"] == 0.1
    assert body["extras"]["rssi"] == 28 and body["extras"]["gnss_satellites"] == 9
    assert body["extras"]["0xEE"] == "01cc01262c009a674300"


def test_decode_accepts_spaces_and_upper_case() -> None:
    """Hex may be spaced and upper-case, as pasted from a log."""
    spaced = " ".join(L26[i : i + 2] for i in range(0, len(L26), 2)).upper()
    assert json.loads(run("decode", spaced)[1]) == json.loads(run("decode", L26)[1])


def test_decode_2019_shows_the_protocol_version() -> None:
    """A 2019 header adds protocol_version; the 20-digit phone is kept as sent."""
    code, out = run("decode", LOGOUT_2019)
    assert code == 0
    assert json.loads(out) == {
        "msg_id": 3,
        "version": 2019,
        "phone": "00000000041273469434",
        "serial": 1202,
        "protocol_version": 1,
        "body": {},
    }


def test_decode_refuses_a_bad_checksum() -> None:
    """The corrupt capture exits non-zero with error "checksum" and a readable detail."""
    code, out = run("decode", CORRUPT)
    assert code == 1
    assert json.loads(out) == {"error": "checksum", "detail": "checksum: computed 0xf0, frame says 0xd0"}


def test_decode_refuses_non_hex() -> None:
    """Input that is not hex is an "input" error."""
    code, out = run("decode", "7e02zz7e")
    assert code == 1
    assert json.loads(out)["error"] == "input"


def test_decode_shows_unmodelled_and_subpackaged_bodies_as_hex() -> None:
    """A message the codec does not model (0x8105 terminal control) and one packet of a split message
    decode their headers and show the body as hex; the packet carries [total, index]."""
    code, out = run("decode", "7e81050001024530313349000004bd7e")
    assert code == 0
    assert json.loads(out)["body"] == "04"
    code, out = run("encode", json.dumps({"msg_id": 0x0801, "phone": "1", "body": "00" * 30, "max_body": 10}))
    assert code == 0
    frames = out.split()
    assert len(frames) == 3
    obj = json.loads(run("decode", frames[1])[1])
    assert obj["packet"] == [3, 2] and obj["serial"] == 1 and obj["body"] == "00" * 10


def test_encode_decode_round_trip_through_the_cli() -> None:
    """decode's output fed to encode gives the same wire bytes back (flag names in it are ignored)."""
    decoded = run("decode", L26)[1]
    code, out = run("encode", decoded)
    assert code == 0
    assert out.split() == [L26]
    code, out = run("encode", "-", stdin=decoded)
    assert (code, out.split()) == (0, [L26])


def test_encode_from_scratch_and_decode() -> None:
    """A hand-written 2019 platform response encodes to one lowercase-hex frame that decodes to it."""
    message = {
        "msg_id": 0x8001,
        "version": 2019,
        "phone": "13800138000",
        "serial": 7,
        "body": {"ack_serial": 0x7E, "ack_id": 0x0200, "result": 0},
    }
    code, out = run("encode", json.dumps(message))
    assert code == 0
    (wire,) = out.split()
    assert wire == wire.lower() and parse_frame(bytes.fromhex(wire)).header.version == 2019
    back = json.loads(run("decode", wire)[1])
    assert back == {**message, "phone": "00000000013800138000", "protocol_version": 1}


def test_encode_refuses_bad_input() -> None:
    """Malformed JSON, missing fields and out-of-range values are "input" errors with exit 1."""
    for bad in (
        "{not json",
        json.dumps({"msg_id": 2, "phone": "1", "body": 5}),
        json.dumps({"msg_id": 0x8001, "phone": "1", "body": {"ack_serial": 70000, "ack_id": 1, "result": 0}}),
        json.dumps({"msg_id": 0x0200, "phone": "1", "body": {"alarm": 0}}),
        json.dumps({"msg_id": 2, "phone": "12345678901234", "body": {}}),
        json.dumps({"msg_id": 2, "phone": "1", "version": 2015, "body": {}}),
    ):
        code, out = run("encode", bad)
        assert code == 1, bad
        obj = json.loads(out)
        assert obj["error"] == "input" and obj["detail"], bad
