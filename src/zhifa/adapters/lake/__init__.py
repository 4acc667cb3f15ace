"""The telemetry lake: readings as append-only Parquet files, deduplicated, queried with DuckDB.

- :mod:`.parquet`: :class:`ParquetLake` (layout, append, compaction, retention, DuckDB views);
- :mod:`.index`: the in-memory dedup index of record-id hashes per partition hour;
- :mod:`.compaction`: the rewrite of a partition and its crash-safe journal;
- :mod:`.durable`: staged writes, fsync and atomic publication;
- :mod:`.batches`: incoming tables checked against the kind's schema, repeated ids found;
- :mod:`.views`: the DuckDB views over the files.
"""

from zhifa.adapters.lake.compaction import CompactionReport, LakeCorrupt
from zhifa.adapters.lake.parquet import DEFAULT_RETENTION_MONTHS, MIN_RETENTION_MONTHS, ParquetLake
from zhifa.adapters.lake.views import VIEW_NAMES

__all__ = [
    "DEFAULT_RETENTION_MONTHS",
    "MIN_RETENTION_MONTHS",
    "VIEW_NAMES",
    "CompactionReport",
    "LakeCorrupt",
    "ParquetLake",
]
