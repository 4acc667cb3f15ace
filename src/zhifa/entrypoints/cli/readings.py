"""``zhifa import``, ``zhifa worker`` and ``zhifa lake``: the data plane from the command line."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from zhifa.domain.readings import ReadingKind, RejectedRecord
from zhifa.entrypoints.cli.platform import DataDir, open_app, settings_with
from zhifa.services import ingest, weighings
from zhifa.services.lake import LakeWriter
from zhifa.services.ports import BusUnavailable, UnreadableFile

lake_app = typer.Typer(help="遥测数据湖: the Parquet telemetry lake.", no_args_is_help=True)

ErrorsOut = Annotated[
    Path | None, typer.Option("--errors", help="Write every rejected record, one JSON object per line, here")
]
SHOWN_ERRORS = 20


def _report_rejections(rejected: list[RejectedRecord], errors_out: Path | None) -> None:
    for r in rejected[:SHOWN_ERRORS]:
        reasons = "; ".join(f"{e.field}: {e.reason}" for e in r.errors)
        typer.echo(f"  row {r.index + 1}{f' ({r.record_id})' if r.record_id else ''}: {reasons}", err=True)
    if len(rejected) > SHOWN_ERRORS and errors_out is None:
        typer.echo(f"  … {len(rejected) - SHOWN_ERRORS} more; --errors FILE writes them all", err=True)
    if errors_out is not None:
        with errors_out.open("w", encoding="utf-8") as out:
            for r in rejected:
                line = {
                    "row": r.index + 1,
                    "record_id": r.record_id,
                    "errors": [{"field": e.field, "reason": e.reason} for e in r.errors],
                }
                out.write(json.dumps(line, ensure_ascii=False) + "\n")


def import_readings(
    kind: Annotated[ReadingKind, typer.Argument(help="position, passage or weighing")],
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A .csv (UTF-8, header row) or .parquet file")
    ],
    data_dir: DataDir = None,
    errors_out: ErrorsOut = None,
) -> None:
    """Import readings from a file; rows are validated one by one and the valid ones sent to the bus.

    Exit status: 0 all accepted, 1 some rows rejected (listed), 2 the file could not be read or the
    bus refused it (nothing more was sent; importing again is safe).
    """
    app = open_app(settings_with(data_dir))
    try:
        if kind is ReadingKind.WEIGHING:
            result = weighings.import_weighings_file(app.weighing_deps, file)
            rejected = [
                RejectedRecord(r.index, r.record_id, r.errors)
                for r in result.results
                if r.status is weighings.RecordStatus.REJECTED
            ]
            typer.echo(
                f"{file.name}: {len(result.results)} weighings, "
                f"{result.count(weighings.RecordStatus.ACCEPTED)} accepted and assessed, "
                f"{result.count(weighings.RecordStatus.DUPLICATE)} already stored, {len(rejected)} rejected"
            )
        else:
            report = ingest.import_file(app.ingest_deps, kind, file)
            rejected = list(report.rejected)
            typer.echo(
                f"{file.name}: {report.received} {kind.value} rows, {report.accepted} accepted"
                + (f" ({report.defective} outside the valid ranges, kept)" if report.defective else "")
                + f", {len(rejected)} rejected"
            )
    except (UnreadableFile, BusUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        app.close()
    _report_rejections(rejected, errors_out)
    if rejected:
        raise typer.Exit(1)


def worker(
    data_dir: DataDir = None,
    kind: Annotated[
        list[ReadingKind] | None, typer.Option("--kind", help="Kinds to consume (repeat); default all")
    ] = None,
) -> None:
    """Move readings from the bus into the lake until SIGTERM or Ctrl+C (the lake's one writer)."""
    app = open_app(settings_with(data_dir))
    kinds = tuple(kind) if kind else tuple(ReadingKind)
    writer = LakeWriter(app.lake_deps, kinds)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    typer.echo(f"lake writer: {', '.join(k.value for k in kinds)} from the {app.settings.bus} bus", err=True)
    try:
        writer.run(stop)
    finally:
        writer.close()
        s = writer.stats
        typer.echo(f"lake writer stopped: {s.messages} messages, {s.rows_written} rows written", err=True)
        app.close()


@lake_app.command("maintain")
def lake_maintain(data_dir: DataDir = None) -> None:
    """Compact closed hours and delete partitions past retention (the worker does this hourly)."""
    app = open_app(settings_with(data_dir))
    try:
        compaction = app.lake.compact(app.clock.now())
        removed = app.lake.retain(app.clock.now().date())
    finally:
        app.close()
    typer.echo(
        f"compacted {compaction.partitions} partitions ({compaction.files_before} → "
        f"{compaction.files_after} files); removed {len(removed)} partitions past retention"
    )


@lake_app.command("stats")
def lake_stats(data_dir: DataDir = None) -> None:
    """Rows per kind in the lake (from Parquet footers); safe while the writer runs."""
    app = open_app(settings_with(data_dir))
    try:
        lake = app.lake_reader()
        for kind in ReadingKind:
            typer.echo(f"{kind.value:<9} {lake.count(kind):>14,}")
    finally:
        app.close()
