"""Durable file steps of the lake: write to staging and fsync, publish by rename, fsync directories.

A file becomes visible to readers only through :func:`publish` (``os.replace`` within one file
system is atomic), after its bytes were flushed to disk, so no reader ever sees a partial file;
the directory is fsynced after each rename so the name survives a power cut too.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"
# Record ids (and content digests) are all distinct: a dictionary would only cost time.
_NO_DICTIONARY = frozenset({"record_id", "content_sha256", "image_sha256"})


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    return {
        "compression": COMPRESSION,
        "use_dictionary": [n for n in schema.names if n not in _NO_DICTIONARY],
        "write_statistics": True,
    }


def staged_name() -> str:
    return f"{uuid.uuid4().hex}.parquet"


def part_name() -> str:
    """``part-<UTC yyyymmddThhmmss>-<uuid>.parquet``: sorts by publication second, never collides."""
    return f"part-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex}.parquet"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """``mkdir -p`` that fsyncs the parent of every directory it creates."""
    missing: list[Path] = []
    p = path
    while not p.is_dir():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        fsync_dir(d.parent)


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` (its schema and metadata kept in the file) and fsync it."""
    with open(path, "xb") as f:
        pq.write_table(table, f, **parquet_options(table.schema))
        f.flush()
        os.fsync(f.fileno())


def write_parquet_batches(schema: pa.Schema, batches: Iterable[pa.RecordBatch], path: Path) -> int:
    """Stream ``batches`` into one Parquet file (one row group per batch), fsync it; the row count."""
    rows = 0
    with open(path, "xb") as f:
        with pq.ParquetWriter(f, schema, **parquet_options(schema)) as writer:
            for batch in batches:
                if batch.num_rows:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        f.flush()
        os.fsync(f.fileno())
    return rows


def publish(staged: Path, target: Path) -> None:
    """Make ``staged`` visible as ``target`` in one step, durably."""
    os.replace(staged, target)
    fsync_dir(target.parent)


def write_bytes(staging: Path, target: Path, data: bytes) -> None:
    """Write a small file atomically: staged, fsynced, renamed into place, directory fsynced."""
    staged = staging / f"{uuid.uuid4().hex}.tmp"
    with open(staged, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    publish(staged, target)


def write_json(staging: Path, target: Path, data: dict[str, Any]) -> None:
    write_bytes(staging, target, json.dumps(data, ensure_ascii=False).encode())


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
