"""``zhifa audit verify | anchor | export``: the audit log (审计日志) from the command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from zhifa.config import Settings
from zhifa.domain.audit import Anchor
from zhifa.entrypoints.cli.platform import DataDir, open_app, settings_with
from zhifa.services import audit
from zhifa.services.audit import VerifyReport

app = typer.Typer(help="审计日志: the tamper-evident audit log.", no_args_is_help=True)

EXIT_BROKEN = 1
# Unusable input (an unreadable anchors or export file) exits like a Click usage error.
EXIT_BAD_INPUT = 2

AnchorsFile = Annotated[
    Path | None,
    typer.Option("--anchors", help="Anchors file, JSON lines (default DATA_DIR/audit/anchors.jsonl)"),
]


def default_anchors(settings: Settings) -> Path:
    return Path(settings.data_dir) / "audit" / "anchors.jsonl"


def read_anchors(path: Path) -> list[Anchor]:
    """The anchors in ``path``, one JSON object a line; ValueError naming the line if one is bad."""
    anchors = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                anchors.append(Anchor.from_json(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not an anchor: {exc}") from None
    return anchors


def append_anchor(path: Path, anchor: Anchor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(anchor.to_json() + "\n")
        out.flush()
        # An anchor is only worth keeping if it survives a crash right after it was taken.
        os.fsync(out.fileno())


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _summary(report: VerifyReport) -> str:
    if report.broken is not None:
        b = report.broken
        return f"audit chain BROKEN at entry #{b.seq}: {b.kind} — {b.message} (审计日志遭篡改)"
    head = f"head #{report.head.seq} {report.head.hash}" if report.head else "no head (empty log)"
    anchors = f", {report.anchors_checked} anchors checked" if report.anchors_checked else ""
    return f"audit chain intact: {report.entries} entries, {head}{anchors} (审计日志完整)"


@app.command("verify")
def verify_command(
    data_dir: DataDir = None,
    anchors: AnchorsFile = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Verify this export file offline; no database is opened")
    ] = None,
) -> None:
    """Recompute the hash chain and check it against the head and every anchor; exit 1 when broken."""
    settings = settings_with(data_dir)
    anchors_path = anchors if anchors is not None else default_anchors(settings)
    known: list[Anchor] = []
    if anchors is not None or anchors_path.exists():
        try:
            known = read_anchors(anchors_path)
        except (OSError, ValueError) as exc:
            _fail(str(exc))
    if export is not None:
        try:
            with export.open(encoding="utf-8") as lines:
                report = audit.verify_export(lines, known)
        except OSError as exc:
            _fail(str(exc))
    else:
        platform = open_app(settings)
        try:
            report = audit.verify(platform.uow, known)
        finally:
            platform.close()
    typer.echo(_summary(report))
    if report.broken is not None:
        raise typer.Exit(EXIT_BROKEN)


@app.command("anchor")
def anchor_command(data_dir: DataDir = None, anchors: AnchorsFile = None) -> None:
    """Append the chain's current head to the anchors file (keep a copy off this machine)."""
    settings = settings_with(data_dir)
    platform = open_app(settings)
    try:
        head = audit.anchor(platform.uow)
    finally:
        platform.close()
    if head is None:
        typer.echo("audit log is empty: nothing to anchor (审计日志为空)")
        return
    append_anchor(anchors if anchors is not None else default_anchors(settings), head)
    typer.echo(head.to_json())


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="File to write, one JSON entry a line")],
    data_dir: DataDir = None,
) -> None:
    """Write every entry as JSON lines, for `zhifa audit verify --export` anywhere else."""
    platform = open_app(settings_with(data_dir))
    count = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as lines:
            for line in audit.export_lines(platform.uow):
                lines.write(line + "\n")
                count += 1
    finally:
        platform.close()
    typer.echo(f"exported {count} audit entries to {out} (审计日志已导出)")
