"""ArrowReadings: the ColumnarReadings port on Apache Arrow (services/ports.py)."""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from zhifa.adapters.readings import codec
from zhifa.adapters.readings.columns import CHECKS, UnknownColumns, jsonable
from zhifa.adapters.readings.schema import UTC_TS, readings_table
from zhifa.domain.readings import PASSAGE_FIELDS, POSITION_FIELDS, ReadingKind, RejectedRecord
from zhifa.services.ports import Outgoing, UnreadableFile, UnreadableMessage

# Fields of a weighing that are lists; a CSV carries them as JSON text.
_JSON_FIELDS = ("axle_loads_kg", "images")
# The Arrow type pyarrow infers for a list holding only these Python types (and None).
_EVIDENT_TYPES: dict[type, pa.DataType] = {
    str: pa.string(),
    float: pa.float64(),
    int: pa.int64(),
    bool: pa.bool_(),
}


def column_array(values: Sequence[object] | npt.NDArray[Any]) -> pa.Array:
    """One raw column as Arrow: what ``pa.array(list(values))`` gives, at a fraction of the cost.

    pyarrow's type inference costs ~45 µs a call (it tries to import dateutil every time), as much
    as converting a few hundred values; a gateway hands over a dozen columns of a few hundred rows
    many times a second. So a list of one evident type is converted with that type given, and
    numpy arrays are taken as they are. numpy datetimes have no zone; they are UTC, as numpy's
    own conversions assume.
    """
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "M":
            return pa.array(values.astype("datetime64[us]"), UTC_TS)
        if values.dtype.kind in "biuf":
            return pa.array(values)
        values = values.tolist()
    elif not isinstance(values, list):
        values = list(values)
    present = set(map(type, values))
    present.discard(type(None))
    if len(present) == 1:
        evident = _EVIDENT_TYPES.get(present.pop())
        if evident is not None:
            with contextlib.suppress(pa.ArrowException, OverflowError):
                return pa.array(values, evident)  # an int beyond int64: inferred below, as before
    return pa.array(values)


class ArrowReadings:
    def from_records(self, kind: ReadingKind, records: Sequence[object], received_at: datetime) -> pa.Table:
        return readings_table(kind, records, received_at)

    def check(
        self,
        kind: ReadingKind,
        raw: pa.Table,
        now: datetime,
        *,
        received_at: datetime,
        clock_skew: timedelta,
        nev_marks: str,
        first_index: int = 0,
    ) -> tuple[pa.Table, list[RejectedRecord]]:
        if kind not in CHECKS:
            raise ValueError(f"{kind.value} batches are checked record by record (services.weighings)")
        try:
            return CHECKS[kind](
                raw,
                now,
                received_at=received_at,
                clock_skew=clock_skew,
                nev_marks=nev_marks,
                first_index=first_index,
            )
        except UnknownColumns as exc:
            raise UnreadableFile(str(exc)) from exc

    def from_columns(self, kind: ReadingKind, columns: Mapping[str, Sequence[object]]) -> pa.Table:
        fields = {ReadingKind.POSITION: POSITION_FIELDS, ReadingKind.PASSAGE: PASSAGE_FIELDS}.get(kind, ())
        unknown = sorted(set(columns) - set(fields))
        if unknown:
            raise UnreadableFile(f"unknown {kind.value} columns: {', '.join(unknown)}")
        return pa.table({name: column_array(values) for name, values in columns.items()})

    def read_file(self, kind: ReadingKind, path: Path, rows_per_batch: int) -> Iterator[pa.Table]:
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            return self._parquet(path, rows_per_batch)
        if suffix == ".csv":
            return self._csv(path, rows_per_batch)
        raise UnreadableFile(f"{path.name}: only .csv and .parquet files can be imported")

    def _parquet(self, path: Path, rows: int) -> Iterator[pa.Table]:
        try:
            reader = pq.ParquetFile(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise UnreadableFile(f"{path.name} is not a readable Parquet file: {exc}") from exc
        for batch in reader.iter_batches(batch_size=rows):
            yield pa.Table.from_batches([batch])

    def _csv(self, path: Path, rows: int) -> Iterator[pa.Table]:
        # Every column is read as text: the checks parse it exactly as the domain parser would a
        # JSON string, instead of trusting a type guessed from the first rows.
        try:
            with path.open(encoding="utf-8-sig", newline="") as stream:
                header = next(csv.reader(stream), None)
        except (OSError, UnicodeDecodeError) as exc:
            raise UnreadableFile(f"{path.name} is not a readable UTF-8 CSV file: {exc}") from exc
        if not header:
            raise UnreadableFile(f"{path.name} is empty: a CSV file needs a header row")
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header}, strings_can_be_null=True
        )
        try:
            reader = pacsv.open_csv(path, convert_options=convert)
            pending: list[pa.RecordBatch] = []
            held = 0
            for batch in reader:
                pending.append(batch)
                held += batch.num_rows
                if held >= rows:
                    table = pa.Table.from_batches(pending)
                    for start in range(0, table.num_rows - table.num_rows % rows, rows):
                        yield table.slice(start, rows)
                    rest = table.slice(table.num_rows - table.num_rows % rows)
                    pending, held = rest.to_batches(), rest.num_rows
            if held:
                yield pa.Table.from_batches(pending)
        except pa.ArrowInvalid as exc:
            raise UnreadableFile(f"{path.name}: {exc}") from exc

    def to_records(self, batch: pa.Table) -> list[dict[str, Any]]:
        records = batch.to_pylist()
        for record in records:
            for name in _JSON_FIELDS:
                value = record.get(name)
                if isinstance(value, str):
                    # Undecodable text is left as it is: the parser names the field and why.
                    with contextlib.suppress(ValueError):
                        record[name] = json.loads(value)
        return [{k: jsonable(v) for k, v in r.items() if v is not None} for r in records]

    def defective(self, batch: pa.Table) -> int:
        if "valid" not in batch.column_names:
            return 0
        return int(pc.sum(pc.invert(batch["valid"])).as_py() or 0)

    def to_messages(self, kind: ReadingKind, batch: pa.Table, partitions: int) -> list[Outgoing]:
        return codec.messages(kind, batch, partitions)

    def from_message(self, kind: ReadingKind, payload: bytes) -> pa.Table:
        try:
            return codec.decode(kind, payload)
        except (pa.ArrowInvalid, OSError, codec.IncompatibleBatch) as exc:
            raise UnreadableMessage(str(exc)) from exc
