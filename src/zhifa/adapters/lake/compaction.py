"""Compaction of a partition hour into one file, and its crash-safe journal.

The rewrite runs in DuckDB and streams into the new file, so a partition larger than memory is
sorted with spilling to disk instead of failing: rows are deduplicated by ``record_id`` (the first
in publication order wins, file by file, row by row; the window doing it runs only when a count
finds a repeated id, which the lake itself never writes) and sorted by (plate, plate_colour, time,
record_id), so one vehicle's track is contiguous and row-group statistics on ``plate`` let a query
for one vehicle skip most of the file.

Steps, each durable before the next: (1) write the new file under ``_staging/``; (2) write the
journal ``_journal/<uuid>.json`` naming the partition, the sources, the staged file and the
target name; (3) publish the target by rename; (4) delete the sources; (5) delete the journal.
:func:`recover` finishes or undoes an interrupted compaction: a published target means the new
file holds every row, so the remaining sources go; otherwise the staged file goes and the sources
stay. Either way no row is lost or doubled once recovery ran.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from zhifa.adapters.lake import durable
from zhifa.adapters.lake.views import sql_name, sql_string
from zhifa.adapters.readings.schema import SCHEMAS
from zhifa.domain.readings import ReadingKind
from zhifa.services.ports import Compaction

BATCH_ROWS = 131_072  # one row group per batch of the rewrite
_PARTITION = re.compile(r"kind=(position|passage|weighing)/date=\d{4}-\d{2}-\d{2}/hour=\d{2}")
_FILE_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.\-]*\.parquet")


class LakeCorrupt(RuntimeError):
    """A journal the lake cannot interpret: recovery stops rather than guess which files to delete."""


@dataclass(frozen=True)
class CompactionReport(Compaction):
    """What :meth:`ParquetLake.compact` did: partitions rewritten, their files before and after
    (one per partition), the rows they held before (from the footers) and the rows written."""

    rows_before: int

    @classmethod
    def nothing(cls) -> CompactionReport:
        return cls(partitions=0, files_before=0, files_after=0, rows=0, rows_before=0)

    @property
    def duplicates(self) -> int:
        return self.rows_before - self.rows

    def __add__(self, other: CompactionReport) -> CompactionReport:
        return CompactionReport(
            partitions=self.partitions + other.partitions,
            files_before=self.files_before + other.files_before,
            files_after=self.files_after + other.files_after,
            rows=self.rows + other.rows,
            rows_before=self.rows_before + other.rows_before,
        )


@dataclass(frozen=True)
class Journal:
    partition: str  # relative to the lake root, e.g. kind=position/date=2026-11-21/hour=05
    sources: tuple[str, ...]
    target: str
    staged: str

    def to_json(self) -> dict[str, object]:
        return {
            "partition": self.partition,
            "sources": list(self.sources),
            "target": self.target,
            "staged": self.staged,
        }

    @classmethod
    def read(cls, path: Path) -> Journal:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            journal = cls(data["partition"], tuple(data["sources"]), data["target"], data["staged"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LakeCorrupt(f"unreadable compaction journal {path}: {exc}") from exc
        names = (*journal.sources, journal.target, journal.staged)
        if not _PARTITION.fullmatch(journal.partition) or not all(
            isinstance(n, str) and _FILE_NAME.fullmatch(n) for n in names
        ):
            raise LakeCorrupt(f"compaction journal {path} names paths outside the lake's layout")
        return journal


def unified_schema(kind: ReadingKind, schemas: Sequence[pa.Schema]) -> pa.Schema:
    """The kind's current schema (with its metadata), then any column only an older file has."""
    current = SCHEMAS[kind]
    fields = list(current)
    for schema in schemas:
        for f in schema:
            if f.name not in {g.name for g in fields}:
                fields.append(f.with_nullable(True))
    return pa.schema(fields, metadata=current.metadata)


def rewrite(kind: ReadingKind, paths: Sequence[Path], staged: Path, spill: Path) -> int:
    """Write the deduplicated, sorted union of ``paths`` (in publication order) to ``staged``."""
    schema = unified_schema(kind, [pq.read_schema(p) for p in paths])
    files = "[" + ", ".join(sql_string(str(p)) for p in paths) + "]"
    columns = ", ".join(sql_name(n) for n in schema.names)
    source = (
        f"read_parquet({files}, union_by_name = true, hive_partitioning = false, "
        "filename = true, file_row_number = true)"
    )
    publication_order = f"list_position({files}, filename), file_row_number"
    first = f"row_number() OVER (PARTITION BY record_id ORDER BY {publication_order})"
    order = "plate, plate_colour, time, record_id"
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET temp_directory = {sql_string(str(spill))}")
        # The lake never writes a record twice into a partition, so the (costly) window that keeps
        # the first of each record id runs only when a cheap count says some id does repeat.
        unique = con.execute(f"SELECT count(*) = count(DISTINCT record_id) FROM {source}").fetchall()  # noqa: S608
        dedup = "" if unique[0][0] else f" QUALIFY {first} = 1"
        query = f"SELECT {columns} FROM {source}{dedup} ORDER BY {order}"  # noqa: S608 - all quoted
        reader = con.sql(query).to_arrow_reader(BATCH_ROWS)
        return durable.write_parquet_batches(schema, _cast(reader, schema), staged)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _cast(reader: pa.RecordBatchReader, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        yield batch.cast(schema)


def journal_name() -> str:
    return f"{uuid.uuid4().hex}.json"


def recover(root: Path, staging: Path, journals: Path) -> int:
    """Finish or undo every interrupted compaction; the number of journals handled."""
    handled = 0
    for path in sorted(journals.glob("*.json")):
        journal = Journal.read(path)
        partition = root / journal.partition
        if (partition / journal.target).is_file():
            for source in journal.sources:
                durable.remove(partition / source)
            if partition.is_dir():
                durable.fsync_dir(partition)
        else:
            durable.remove(staging / journal.staged)
        durable.remove(path)
        durable.fsync_dir(journals)
        handled += 1
    return handled
