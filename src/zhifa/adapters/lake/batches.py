"""Tables handed to the lake: checked against the kind's schema, and their repeated ids found."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from zhifa.adapters.readings.schema import SCHEMAS
from zhifa.domain.readings import ReadingKind


def conform(kind: ReadingKind, tables: Sequence[pa.Table]) -> pa.Table:
    """One table of the kind's schema: columns in order, types cast, a missing nullable column null."""
    schema = SCHEMAS[kind]
    parts = []
    for table in tables:
        declared = (table.schema.metadata or {}).get(b"zhifa.kind")
        if declared is not None and declared != kind.value.encode():
            raise ValueError(f"a table of {declared.decode()} readings cannot be appended as {kind.value}")
        if table.schema.equals(schema):  # as decoded from the bus: nothing to do (a cast costs ~0.3 ms)
            parts.append(table)
            continue
        extra = [n for n in table.column_names if n not in schema.names]
        if extra:
            raise ValueError(f"columns not in the {kind.value} schema: {', '.join(extra)}")
        for f in schema:
            if f.name not in table.column_names:
                if not f.nullable:
                    raise ValueError(f"the {kind.value} table lacks the required column {f.name}")
                table = table.append_column(f.name, pa.nulls(table.num_rows, f.type))
        parts.append(table.select(schema.names).cast(schema))
    if not parts:
        return schema.empty_table()
    table = (pa.concat_tables(parts) if len(parts) > 1 else parts[0]).replace_schema_metadata(schema.metadata)
    for f in schema:
        if not f.nullable and table.column(f.name).null_count:
            raise ValueError(f"{f.name} may not be null in {kind.value} readings")
    return table


def first_occurrences(ids: pa.ChunkedArray) -> npt.NDArray[np.intp] | None:
    """Positions of the first row of each record id, in order; None when no id repeats."""
    encoded = pc.dictionary_encode(ids.combine_chunks())
    if len(encoded.dictionary) == len(ids):
        return None
    _, first = np.unique(encoded.indices.to_numpy(), return_index=True)
    return np.sort(first)
