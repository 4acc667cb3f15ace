"""DuckDB views over the lake: one per reading kind, always with the kind's full set of columns.

A view reads ``<root>/kind=<kind>/*/*/*.parquet`` with Hive partitioning and ``union_by_name``,
so a column added in a later minor version of the schema reads as NULL in older files. It is
united (by name) with a typed empty relation of the current schema, so the view has every column
of the schema even when no file has it yet, and exists, empty, before the first file is written
(``allow_empty``); since the file list is globbed at each query, files published later are seen
without reconnecting.

The Hive columns are ``date`` (DATE, the UTC day) and ``hour`` (INTEGER, 0–23, the UTC hour) of
the partition, i.e. of ``min(time, received_at)``; filters on them prune whole directories.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

from zhifa.adapters.readings.schema import SCHEMAS
from zhifa.domain.readings import ReadingKind

VIEW_NAMES: dict[ReadingKind, str] = {
    ReadingKind.POSITION: "positions",
    ReadingKind.PASSAGE: "passages",
    ReadingKind.WEIGHING: "weighings",
}
HIVE_COLUMNS = (("date", "DATE"), ("hour", "INTEGER"))
GLOB_CHARACTERS = frozenset("*?[]{}")


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@cache
def duckdb_types(kind: ReadingKind) -> tuple[tuple[str, str], ...]:
    """(column, DuckDB type) of the kind's schema, as DuckDB reads the Arrow schema."""
    con = duckdb.connect(":memory:")
    try:
        relation = con.from_arrow(SCHEMAS[kind].empty_table())
        return tuple(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    finally:
        con.close()


def kind_glob(root: Path, kind: ReadingKind) -> str:
    return str(root / f"kind={kind.value}" / "*" / "*" / "*.parquet")


def view_sql(root: Path, kind: ReadingKind) -> str:
    columns = (*duckdb_types(kind), *HIVE_COLUMNS)
    typed_empty = ", ".join(f"CAST(NULL AS {t}) AS {sql_name(c)}" for c, t in columns)
    hive_types = ", ".join(f"{sql_string(c)}: {t}" for c, t in HIVE_COLUMNS)
    files = (
        f"read_parquet({sql_string(kind_glob(root, kind))}, hive_partitioning = true, "
        f"union_by_name = true, allow_empty = true, hive_types = {{{hive_types}}})"
    )
    select = ", ".join(sql_name(c) for c, _ in columns)
    empty = f"SELECT {typed_empty} WHERE false"
    return f"SELECT {select} FROM (FROM {files} UNION ALL BY NAME ({empty}))"  # noqa: S608 - all quoted


def create_views(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    for kind, name in VIEW_NAMES.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {sql_name(name)} AS {view_sql(root, kind)}")
