"""``zhifa jt808 decode | encode``: the JT/T 808 codec from the command line, one frame as JSON."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer

from zhifa.adapters.protocol.jt808 import (
    FrameError,
    decode_frame,
    frame_from_json,
    frame_to_json,
    parse_frame,
)

app = typer.Typer(
    help="JT/T 808 车载终端协议 (2011/2013/2019): decode a wire frame to JSON, encode JSON to frames.",
    no_args_is_help=True,
)


def _print(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False))


def _fail(reason: str, detail: str) -> NoReturn:
    _print({"error": reason, "detail": detail})
    raise typer.Exit(1)


@app.command("decode")
def decode(
    frame: Annotated[
        str,
        typer.Argument(help="One wire frame in hex: escaped, with its 7e flags; spaces and case are free"),
    ],
) -> None:
    """Print one frame as a JSON object: msg_id, version, phone, serial, body (and protocol_version, packet).

    A message this codec does not model, or one packet of a subpackaged message, shows its body as
    hex. Exit status: 0 decoded; 1 refused, printing {"error": reason, "detail": message}, where reason
    is "input" (not hex) or the codec's (framing, escape, checksum, length, header, encrypted, body).
    """
    try:
        wire = bytes.fromhex("".join(frame.split()))
    except ValueError as exc:
        _fail("input", f"not hex: {exc}")
    try:
        parsed = parse_frame(wire)
        if parsed.header.packet is not None:
            _print(frame_to_json(parsed.header, parsed.body))
            return
        try:
            header, message = decode_frame(parsed)
        except FrameError as exc:
            if exc.reason != "unsupported":
                raise
            header, message = parsed.header, parsed.body
        _print(frame_to_json(header, message))
    except FrameError as exc:
        _fail(exc.reason, str(exc))


@app.command("encode")
def encode(
    message: Annotated[
        str, typer.Argument(help="A JSON object shaped like decode's output, or - to read it from stdin")
    ],
) -> None:
    """Print the wire frames for a JSON message, lowercase hex, one per line.

    Fields: msg_id, version (2011/2013/2019, default 2013), phone, serial (default 0), body (an object
    as decode prints it, or a hex string), protocol_version (2019, default 1), max_body (split into
    subpackages above it). Names beside integers (alarm_flags, status_flags) are ignored. Exit status:
    0 encoded; 1 bad input, printing {"error": "input", "detail": message}.
    """
    text = sys.stdin.read() if message == "-" else message
    try:
        obj = json.loads(text)
        frames = frame_from_json(obj)
    except ValueError as exc:  # json.JSONDecodeError and FrameError are ValueErrors too
        _fail("input", str(exc))
    for wire in frames:
        typer.echo(wire.hex())
