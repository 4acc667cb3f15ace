"""The telemetry lake (adapters/lake): Parquet files on disk, read back through DuckDB.

Covers issue #4's lake: Hive layout by UTC hour of min(time, received_at); exact dedup by record
id within a call, across calls, across restarts and across compaction, even when every hash
collides; atomic publication and crash recovery of appends and compactions; retention per kind
(道路运输车辆动态监督管理办法 第二十五条); the DuckDB views, empty or with files of older schema
versions; footer counts. A property test checks that whatever is appended, and however the
appends and compactions interleave, each distinct record id is in the lake exactly once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import weighing
from zhifa.adapters.lake import CompactionReport, LakeCorrupt, ParquetLake, durable, index
from zhifa.adapters.lake.parquet import months_before
from zhifa.adapters.readings.schema import SCHEMAS, passages_table, positions_table, weighings_table
from zhifa.domain.readings import Defect, Passage, Position, ReadingKind
from zhifa.domain.vehicles import PlateColour, VehicleKey
from zhifa.domain.weighings import parse_weighing

POSITION = ReadingKind.POSITION
PASSAGE = ReadingKind.PASSAGE
WEIGHING = ReadingKind.WEIGHING
T0 = datetime(2026, 11, 21, 2, 10, tzinfo=UTC)  # 10:10 in Hefei
RECEIVED = T0 + timedelta(seconds=3)
TRUCK = VehicleKey("皖A12345", PlateColour.YELLOW)
BUS = VehicleKey("皖AD12345", PlateColour.GREEN)
CHINA_TZ = timezone(timedelta(hours=8))


def fix(
    terminal: str = "13800138000", at: datetime = T0, vehicle: VehicleKey = TRUCK, **extra: Any
) -> Position:
    values: dict[str, Any] = {"lon": 117.283, "lat": 31.861, "speed_kmh": 62.5, "heading": 90}
    return Position(terminal=terminal, vehicle=vehicle, time=at, **(values | extra))


def track(n: int, *, terminal: str = "13800138000", start: datetime = T0, step: int = 30) -> list[Position]:
    """``n`` fixes of one vehicle, ``step`` seconds apart."""
    return [fix(terminal, start + timedelta(seconds=i * step), lon=117.0 + i / 1000) for i in range(n)]


def positions(fixes: list[Position], received: datetime = RECEIVED) -> pa.Table:
    return positions_table(fixes, received)


@pytest.fixture
def lake(tmp_path: Path) -> ParquetLake:
    return ParquetLake(tmp_path / "lake")


def records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """Rows as dicts, through Arrow (DuckDB's own fetchall of TIMESTAMPTZ would need pytz)."""
    rows: list[dict[str, Any]] = con.sql(sql).to_arrow_table().to_pylist()
    return rows


def ids(lake: ParquetLake, view: str = "positions") -> list[str]:
    with lake.connect() as con:
        return [r[0] for r in con.sql(f"SELECT record_id FROM {view} ORDER BY record_id").fetchall()]  # noqa: S608


def partition_dirs(lake: ParquetLake, kind: ReadingKind = POSITION) -> list[str]:
    return sorted({p.parent.relative_to(lake.root).as_posix() for p in lake.files(kind)})


# --- round trip and layout -----------------------------------------------------------------


def test_positions_round_trip_with_exact_values(lake: ParquetLake) -> None:
    """Every field of a position comes back from the DuckDB view exactly as it went in."""
    odd = fix(
        "13800138001",
        T0 + timedelta(seconds=5),
        vehicle=BUS,
        lon=135.5,
        lat=31.25,
        speed_kmh=171.3,
        heading=359,
        altitude_m=-250,
        alarm=2**32 - 1,
        status=0b11,
        extras='{"0x01": 1234, "油量": 56.5}',
        backfill=True,
        defects=(Defect.LON, Defect.SPEED, Defect.ALTITUDE),
    )
    plain = fix()
    assert lake.append(POSITION, [positions([plain, odd])]) == 2
    with lake.connect() as con:
        got = records(con, "SELECT * FROM positions ORDER BY record_id")
    assert got[0] == {
        "record_id": plain.record_id,
        "terminal": "13800138000",
        "plate": "皖A12345",
        "plate_colour": 2,
        "time": T0,
        "lon": 117.283,
        "lat": 31.861,
        "speed_kmh": 62.5,
        "heading": 90,
        "altitude_m": 0,
        "alarm": 0,
        "status": 0,
        "extras": None,
        "backfill": False,
        "valid": True,
        "defects": None,
        "received_at": RECEIVED,
        "date": date(2026, 11, 21),
        "hour": 2,
    }
    assert got[1]["record_id"] == odd.record_id
    assert (got[1]["plate"], got[1]["plate_colour"], got[1]["lon"]) == ("皖AD12345", 5, 135.5)
    assert (got[1]["speed_kmh"], got[1]["heading"], got[1]["altitude_m"]) == (171.3, 359, -250)
    assert (got[1]["alarm"], got[1]["status"]) == (2**32 - 1, 3)
    assert got[1]["extras"] == '{"0x01": 1234, "油量": 56.5}'
    assert got[1]["backfill"] is True
    assert (got[1]["valid"], got[1]["defects"]) == (False, "lon,speed,altitude")


def test_passages_and_weighings_round_trip(lake: ParquetLake) -> None:
    """Passages and weighings (with their axle-load lists and image structs) read back unchanged."""
    passage = Passage(
        record_id="G40-340102-01:20261121101000:2",
        site_id="G40-340102-01",
        time=T0,
        vehicle=TRUCK,
        lane=2,
        direction="E",
        vehicle_class=16,
        axles=6,
        image_sha256="ab" * 32,
    )
    bare = Passage(record_id="G40-340102-01:20261121101001:1", site_id="G40-340102-01", time=T0, vehicle=BUS)
    reading = parse_weighing(
        weighing(
            "WIM-20261121-0001", at=T0, gross_kg=52_340, axle_loads_kg=[7000, 9000, 9000, 9000, 9000, 9340]
        ),
        T0 + timedelta(minutes=1),
    )
    assert lake.append(PASSAGE, [passages_table([passage, bare], RECEIVED)]) == 2
    assert lake.append(WEIGHING, [weighings_table([reading], RECEIVED)]) == 1
    with lake.connect() as con:
        passages = con.sql("SELECT * EXCLUDE (date, hour) FROM passages ORDER BY record_id").to_arrow_table()
        weighings = con.sql("SELECT * EXCLUDE (date, hour) FROM weighings").to_arrow_table()
    assert passages.to_pylist() == passages_table([passage, bare], RECEIVED).to_pylist()
    assert weighings.to_pylist() == weighings_table([reading], RECEIVED).to_pylist()
    row = weighings.to_pylist()[0]
    assert row["axle_loads_kg"] == [7000, 9000, 9000, 9000, 9000, 9340]
    assert row["speed_kmh"] == float(Decimal("62.5"))
    assert [i["kind"] for i in row["images"]] == ["front", "side", "rear", "panorama", "plate"]


def test_layout_is_hive_by_utc_hour_with_zstd_and_schema(lake: ParquetLake) -> None:
    """Files land in kind=/date=/hour= of the UTC hour (not Beijing time), named part-<UTC>-<uuid>,
    zstd-compressed, carrying the kind's schema and its metadata."""
    late_evening = datetime(2026, 11, 21, 23, 59, 59, tzinfo=CHINA_TZ)  # 15:59:59 UTC
    lake.append(POSITION, [positions([fix(at=late_evening)], late_evening + timedelta(seconds=2))])
    [path] = lake.files(POSITION)
    assert path.parent.relative_to(lake.root).as_posix() == "kind=position/date=2026-11-21/hour=15"
    assert path.name.startswith("part-") and path.name.endswith(".parquet")
    stamp = path.name.split("-")[1]
    assert datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC) <= datetime.now(UTC)
    meta = pq.read_metadata(path)
    assert meta.row_group(0).column(0).compression == "ZSTD"
    schema = pq.read_schema(path)
    assert schema.equals(SCHEMAS[POSITION], check_metadata=False)
    assert schema.metadata[b"zhifa.kind"] == b"position"
    assert schema.metadata[b"zhifa.schema_version"] == b"1.1"
    with lake.connect() as con:
        types = dict(con.sql("SELECT column_name, column_type FROM (DESCRIBE positions)").fetchall())
    assert (types["date"], types["hour"], types["time"]) == ("DATE", "INTEGER", "TIMESTAMP WITH TIME ZONE")


def test_partition_is_the_hour_of_min_time_received_at(lake: ParquetLake) -> None:
    """A terminal whose clock runs 3 h ahead files under the hour it was received, never in the
    future; a fix sent two days late files under the hour it happened."""
    received = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
    ahead = fix("13800138001", received + timedelta(hours=3))
    late = fix("13800138002", received - timedelta(days=2, minutes=45))
    on_time = fix("13800138003", received - timedelta(seconds=2))
    assert lake.append(POSITION, [positions([ahead, late, on_time], received)]) == 3
    assert partition_dirs(lake) == [
        "kind=position/date=2026-11-19/hour=01",
        "kind=position/date=2026-11-21/hour=02",
    ]
    with lake.connect() as con:
        got = records(con, "SELECT terminal, date, hour, time FROM positions ORDER BY terminal")
    assert [tuple(r.values()) for r in got] == [
        ("13800138001", date(2026, 11, 21), 2, ahead.time),  # its own time is kept as sent
        ("13800138002", date(2026, 11, 19), 1, late.time),
        ("13800138003", date(2026, 11, 21), 2, on_time.time),
    ]


# --- dedup ---------------------------------------------------------------------------------


def test_dedup_within_a_call_keeps_the_first(lake: ParquetLake) -> None:
    """The same record id twice in one call (in one table or across tables): the first row wins."""
    first, resent = fix(lon=117.1), fix(lon=118.9)  # same terminal and second: same record id
    other = fix("13800138009")
    written = lake.append(POSITION, [positions([first, other, first]), positions([resent])])
    assert written == 2
    with lake.connect() as con:
        assert con.sql("SELECT record_id, lon FROM positions ORDER BY record_id").fetchall() == [
            (first.record_id, 117.1),
            (other.record_id, 117.283),
        ]


def test_dedup_across_calls_and_after_reopening(lake: ParquetLake) -> None:
    """A re-sent batch writes nothing, now or after a restart (a new instance rebuilds its index
    from the files); only the new rows of a partly re-sent batch are written."""
    batch = track(100)
    assert lake.append(POSITION, [positions(batch)]) == 100
    assert lake.append(POSITION, [positions(batch)]) == 0
    reopened = ParquetLake(lake.root)
    assert reopened.append(POSITION, [positions(batch[50:] + track(20, terminal="13800138001"))]) == 20
    assert reopened.append(POSITION, [positions(batch[:10], RECEIVED + timedelta(minutes=20))]) == 0
    assert len(reopened.files(POSITION)) == 2
    assert reopened.count(POSITION) == 120
    assert len(set(ids(reopened))) == len(ids(reopened)) == 120


def test_dedup_across_compaction(lake: ParquetLake) -> None:
    """After compaction (which also rebuilds the index) a re-sent record is still refused."""
    for k in range(4):
        lake.append(POSITION, [positions(track(10, terminal=f"1380013800{k}"))])
    report = lake.compact(T0 + timedelta(hours=3))
    assert report == CompactionReport(partitions=1, files_before=4, files_after=1, rows=40, rows_before=40)
    assert lake.append(POSITION, [positions([*track(10, terminal="13800138002"), fix("13900000000")])]) == 1
    assert ParquetLake(lake.root).append(POSITION, [positions(track(10, terminal="13800138003"))]) == 0
    assert lake.count(POSITION) == 41


@pytest.mark.parametrize("collide", ["constant", "mod4"])
def test_hash_collisions_never_drop_a_distinct_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collide: str
) -> None:
    """With a hash that collides for every id (or for every fourth), distinct ids are all kept and
    duplicates still dropped: the index only proposes candidates, the stored ids decide."""
    real = index.hash_record_ids

    def colliding(values: pa.Array | pa.ChunkedArray) -> index.Hashes:
        if collide == "constant":
            return np.full(len(values), 42, dtype=np.uint64)
        return real(values) % np.uint64(4)

    monkeypatch.setattr(index, "hash_record_ids", colliding)
    lake = ParquetLake(tmp_path / "lake")
    batches = [track(30, terminal=f"1380013800{k}") for k in range(3)]
    assert lake.append(POSITION, [positions(batches[0])]) == 30
    assert lake.append(POSITION, [positions(batches[1] + batches[0][:5])]) == 30
    assert lake.append(POSITION, [positions(batches[2] + batches[2][:7])]) == 30  # repeats within the call
    assert lake.append(POSITION, [positions(batches[1][10:])]) == 0
    reopened = ParquetLake(lake.root)  # the index is rebuilt with the colliding hash too
    assert reopened.append(POSITION, [positions(batches[0] + track(5, terminal="13900000000"))]) == 5
    expected = sorted(
        {p.record_id for b in batches for p in b} | {p.record_id for p in track(5, terminal="13900000000")}
    )
    assert ids(reopened) == expected


def test_file_ordinals_beyond_the_index_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files past the index's ordinal limit share one ordinal; their duplicates are still found
    (the confirmation reads every file from that ordinal on)."""
    monkeypatch.setattr(index, "MAX_ORDINAL", 2)
    lake = ParquetLake(tmp_path / "lake")
    batches = [track(5, terminal=f"1380013800{k}") for k in range(6)]
    for b in batches:
        assert lake.append(POSITION, [positions(b)]) == 5
    for b in reversed(batches):
        assert lake.append(POSITION, [positions(b)]) == 0
    assert lake.append(POSITION, [positions(batches[4] + track(1, terminal="13900000000"))]) == 1
    assert lake.count(POSITION) == 31


def test_small_index_evicts_and_reloads_exactly(tmp_path: Path) -> None:
    """An index holding one partition at a time reloads evicted partitions from their files."""
    lake = ParquetLake(tmp_path / "lake", index_partitions=1)
    hours = [track(3, terminal="13800138000", start=T0 + timedelta(hours=h)) for h in range(3)]
    for h in hours:
        lake.append(POSITION, [positions(h, h[0].time)])
    for h in hours:
        assert lake.append(POSITION, [positions(h, h[0].time)]) == 0
    assert len(partition_dirs(lake)) == 3 and lake.count(POSITION) == 9


def test_append_refuses_a_table_of_another_kind_or_shape(lake: ParquetLake) -> None:
    """A passage table is not appended as positions; an unknown column or a null id is refused."""
    passage = Passage(record_id="P-1", site_id="G40-01", time=T0, vehicle=TRUCK)
    with pytest.raises(ValueError, match="passage"):
        lake.append(POSITION, [passages_table([passage], RECEIVED)])
    table = positions([fix()])
    with pytest.raises(ValueError, match="colour_name"):
        lake.append(POSITION, [table.append_column("colour_name", pa.array(["黄色"]))])
    nulls = table.set_column(0, "record_id", pa.array([None], pa.string()))
    with pytest.raises(ValueError, match="record_id"):
        lake.append(POSITION, [nulls])
    assert lake.append(POSITION, []) == 0 and lake.files(POSITION) == []


# --- staging and crash recovery --------------------------------------------------------------


def test_staging_leftovers_are_invisible_and_removed_on_open(lake: ParquetLake) -> None:
    """A file cut short by a crash before its publication is never read, and goes on the next open."""
    lake.append(POSITION, [positions(track(3))])
    whole = lake.root / "_staging" / "whole.parquet"
    pq.write_table(positions(track(4, terminal="13900000000")), whole)
    (lake.root / "_staging" / "cut.parquet").write_bytes(whole.read_bytes()[:100])
    assert len(ids(lake)) == 3 and lake.count(POSITION) == 3
    ParquetLake(lake.root, read_only=True)  # a reader leaves everything alone
    assert len(list((lake.root / "_staging").iterdir())) == 2
    reopened = ParquetLake(lake.root)
    assert list((reopened.root / "_staging").iterdir()) == []
    assert reopened.append(POSITION, [positions(track(4, terminal="13900000000"))]) == 4


def test_read_only_lake_refuses_to_write(lake: ParquetLake) -> None:
    """A read-only instance counts and connects but never appends, compacts or deletes."""
    lake.append(POSITION, [positions(track(2))])
    reader = ParquetLake(lake.root, read_only=True)
    assert reader.count(POSITION) == 2 and len(ids(reader)) == 2
    with pytest.raises(PermissionError):
        reader.append(POSITION, [positions(track(1, terminal="13900000000"))])
    with pytest.raises(PermissionError):
        reader.compact(T0 + timedelta(days=1))
    with pytest.raises(PermissionError):
        reader.retain(date(2030, 1, 1))


class Crash(BaseException):
    """The process dying at this point: no handler runs (an ordinary error would be cleaned up)."""


def _crash_when(monkeypatch: pytest.MonkeyPatch, name: str, condition: Any) -> None:
    real = getattr(durable, name)
    calls = {"n": 0}

    def step(*args: Any) -> Any:
        calls["n"] += 1
        if condition(calls["n"], *args):
            raise Crash(name)
        return real(*args)

    monkeypatch.setattr(durable, name, step)


CRASH_POINTS = {
    # after the staged file is written, before the journal
    "staged": ("write_json", lambda n, *a: True),
    # after the journal, before the target is published
    "journaled": ("publish", lambda n, staged, target: target.suffix == ".parquet"),
    # after publication, before any source is deleted
    "published": ("remove", lambda n, path: n == 1),
    # after two of the four sources are deleted
    "half_removed": ("remove", lambda n, path: n == 3),
    # after every source is deleted, before the journal is
    "sources_removed": ("remove", lambda n, path: path.suffix == ".json"),
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_interrupted_compaction_recovers_with_exact_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    """A compaction killed at any step leaves a state that the next open turns into exactly the
    rows appended: no row lost, none doubled, no journal or staged file left."""
    lake = ParquetLake(tmp_path / "lake")
    expected = []
    for k in range(4):
        batch = track(25, terminal=f"1380013800{k}")
        expected += [p.record_id for p in batch]
        lake.append(POSITION, [positions(batch)])
    sources = set(lake.files(POSITION))
    name, condition = CRASH_POINTS[point]
    with monkeypatch.context() as patch:
        _crash_when(patch, name, condition)
        with pytest.raises(Crash):
            lake.compact(T0 + timedelta(hours=3))

    journals = list((lake.root / "_journal").iterdir())
    staged = list((lake.root / "_staging").iterdir())
    left = set(lake.files(POSITION))
    if point == "staged":
        assert (len(journals), len(staged), left) == (0, 1, sources)
    elif point == "journaled":
        assert (len(journals), len(staged), left) == (1, 1, sources)
    else:
        assert len(journals) == 1 and staged == []
        assert len(left - sources) == 1  # the target is published
        assert len(left & sources) == {"published": 4, "half_removed": 2, "sources_removed": 0}[point]

    reopened = ParquetLake(lake.root)
    assert list((lake.root / "_journal").iterdir()) == [] and list((lake.root / "_staging").iterdir()) == []
    assert ids(reopened) == sorted(expected)
    assert reopened.count(POSITION) == 100
    compacted = point not in ("staged", "journaled")
    assert len(reopened.files(POSITION)) == (1 if compacted else 4)
    assert reopened.append(POSITION, [positions(track(25, terminal="13800138001"))]) == 0
    assert reopened.compact(T0 + timedelta(hours=3)).files_after == (0 if compacted else 1)
    assert ids(reopened) == sorted(expected)


def test_recovery_of_a_hand_written_journal(lake: ParquetLake) -> None:
    """A journal naming a published target deletes the remaining sources; one whose target was
    never published deletes the staged file and keeps the sources; a journal pointing outside
    the lake's layout stops the open instead of deleting anything."""
    for k in range(2):
        lake.append(POSITION, [positions(track(5, terminal=f"1380013800{k}"))])
    a, b = lake.files(POSITION)
    partition = a.parent.relative_to(lake.root).as_posix()
    target = a.parent / "part-20261121T031000-0123456789abcdef0123456789abcdef.parquet"
    pq.write_table(pa.concat_tables([pq.read_table(a), pq.read_table(b)]), target)  # as the rewrite would
    journal = {
        "partition": partition,
        "sources": [a.name, b.name],
        "target": target.name,
        "staged": "x.parquet",
    }
    durable.write_json(lake.root / "_staging", lake.root / "_journal" / "done.json", journal)
    staged = lake.root / "_staging" / "0123.parquet"
    staged.write_bytes(b"PAR1")
    unpublished = journal | {"target": "part-20261121T031500-ffff.parquet", "staged": staged.name}
    durable.write_json(lake.root / "_staging", lake.root / "_journal" / "undone.json", unpublished)

    reopened = ParquetLake(lake.root)
    assert reopened.files(POSITION) == [target] and reopened.count(POSITION) == 10
    assert not staged.exists() and list((lake.root / "_journal").iterdir()) == []

    bad = {"partition": "../../etc", "sources": ["passwd"], "target": "t.parquet", "staged": "s.parquet"}
    durable.write_json(lake.root / "_staging", lake.root / "_journal" / "bad.json", bad)
    with pytest.raises(LakeCorrupt, match="layout"):
        ParquetLake(lake.root)


def test_compaction_error_is_settled_at_once(lake: ParquetLake, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ordinary error (not a crash) during the swap is settled in place: the partition is left
    either compacted or untouched, never with both the new file and its sources."""
    for k in range(4):
        lake.append(POSITION, [positions(track(5, terminal=f"1380013800{k}"))])
    real = durable.remove

    def failing(path: Path) -> None:
        if path.suffix == ".parquet" and not getattr(failing, "done", False):
            failing.done = True  # type: ignore[attr-defined]
            raise OSError("disk hiccup")
        real(path)

    monkeypatch.setattr(durable, "remove", failing)
    with pytest.raises(OSError, match="hiccup"):
        lake.compact(T0 + timedelta(hours=3))
    assert len(lake.files(POSITION)) == 1 and lake.count(POSITION) == 20
    assert list((lake.root / "_journal").iterdir()) == []


# --- compaction ----------------------------------------------------------------------------


def test_compaction_sorts_by_vehicle_and_respects_grace_and_thresholds(lake: ParquetLake) -> None:
    """Only closed hours (ended more than ``grace`` ago) with enough files are rewritten; the new
    file holds each vehicle's track contiguous and in time order."""
    vehicles = [VehicleKey(f"皖A1234{k}", PlateColour.YELLOW) for k in range(3)]
    for minute in range(4):
        fixes = [
            fix(f"1380013800{k}", T0 + timedelta(minutes=minute), v) for k, v in enumerate(reversed(vehicles))
        ]
        lake.append(POSITION, [positions(fixes, T0 + timedelta(minutes=5))])
    hour_end = datetime(2026, 11, 21, 3, tzinfo=UTC)
    assert lake.compact(hour_end + timedelta(minutes=59)) == CompactionReport.nothing()  # within the grace
    assert (
        lake.compact(hour_end + timedelta(hours=2), min_files=5, small_file_bytes=0)
        == CompactionReport.nothing()
    )
    report = lake.compact(hour_end + timedelta(hours=2), min_files=5)  # but four small files
    assert (report.partitions, report.files_before, report.files_after, report.rows) == (1, 4, 1, 12)
    [path] = lake.files(POSITION)
    table = pq.read_table(path)
    assert table.schema.metadata[b"zhifa.kind"] == b"position"
    order = [(r["plate"], r["time"]) for r in table.select(["plate", "time"]).to_pylist()]
    assert order == sorted(order)
    assert [p for p, _ in order] == ["皖A12340"] * 4 + ["皖A12341"] * 4 + ["皖A12342"] * 4


def test_compaction_drops_duplicates_written_behind_the_lakes_back(lake: ParquetLake) -> None:
    """Files copied in by hand with repeated ids are merged keeping the first in publication order."""
    lake.append(POSITION, [positions([fix(lon=117.1)])])
    [first] = lake.files(POSITION)
    pq.write_table(
        positions([fix(lon=118.8), fix("13900000000")]), first.parent / "part-99991231T235959-z.parquet"
    )
    report = lake.compact(T0 + timedelta(hours=3), min_files=2)
    assert (report.rows_before, report.rows, report.duplicates) == (3, 2, 1)
    with lake.connect() as con:
        assert con.sql("SELECT lon FROM positions WHERE terminal = '13800138000'").fetchall() == [(117.1,)]


# --- retention -----------------------------------------------------------------------------


def test_retention_deletes_whole_days_per_kind(lake: ParquetLake) -> None:
    """Positions and passages are kept 6 calendar months, weighings 36 (第二十五条): on 2026-11-21
    position day 2026-05-20 goes and 2026-05-21 stays; a weighing of that same old day stays;
    staging and journals are untouched."""
    today = date(2026, 11, 21)

    def at(day: date, hour: int = 12) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)

    for day in (date(2026, 5, 20), date(2026, 5, 21), date(2026, 11, 20)):
        lake.append(POSITION, [positions([fix(at=at(day, 0)), fix(at=at(day, 23))], at(day, 23))])
        passage = Passage(record_id=f"P-{day}", site_id="G40-01", time=at(day), vehicle=TRUCK)
        lake.append(PASSAGE, [passages_table([passage], at(day))])
    for day in (date(2023, 11, 20), date(2023, 11, 21), date(2026, 5, 20)):
        reading = parse_weighing(weighing(f"W-{day}", at=at(day)), at(day) + timedelta(minutes=1))
        lake.append(WEIGHING, [weighings_table([reading], at(day))])
    keep = lake.root / "_staging" / "in-flight.parquet"
    keep.write_bytes(b"PAR1")

    removed = lake.retain(today)
    assert removed == [
        "kind=position/date=2026-05-20",
        "kind=passage/date=2026-05-20",
        "kind=weighing/date=2023-11-20",
    ]
    with lake.connect() as con:
        days = {
            view: [r[0] for r in con.sql(f"SELECT DISTINCT date FROM {view} ORDER BY 1").fetchall()]  # noqa: S608
            for view in ("positions", "passages", "weighings")
        }
    assert days == {
        "positions": [date(2026, 5, 21), date(2026, 11, 20)],
        "passages": [date(2026, 5, 21), date(2026, 11, 20)],
        "weighings": [date(2023, 11, 21), date(2026, 5, 20)],
    }
    assert keep.exists() and lake.count(POSITION) == 4
    assert lake.retain(today) == []
    assert lake.append(POSITION, [positions([fix(at=at(date(2026, 5, 21), 0))], at(date(2026, 5, 21)))]) == 0


def test_retention_counts_calendar_months() -> None:
    """Six months before the 31st of August is the last day of February; longer retention is kept."""
    assert months_before(date(2026, 11, 21), 6) == date(2026, 5, 21)
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_before(date(2028, 8, 31), 6) == date(2028, 2, 29)
    assert months_before(date(2026, 11, 21), 36) == date(2023, 11, 21)
    assert months_before(date(2026, 1, 15), 13) == date(2024, 12, 15)


@pytest.mark.parametrize("kind", list(ReadingKind))
@pytest.mark.parametrize("months", [0, 5, -6])
def test_retention_below_six_months_is_refused(tmp_path: Path, kind: ReadingKind, months: int) -> None:
    """道路运输车辆动态监督管理办法 第二十五条: monitoring data is kept at least 6 months."""
    with pytest.raises(ValueError, match=r"Art\. 25"):
        ParquetLake(tmp_path / "lake", retention_months={kind: months})
    assert not (tmp_path / "lake").exists()


def test_longer_retention_is_honoured(tmp_path: Path) -> None:
    """A province keeping positions 12 months keeps the day that 6 months would have deleted."""
    lake = ParquetLake(tmp_path / "lake", retention_months={POSITION: 12})
    old = datetime(2026, 5, 20, 8, tzinfo=UTC)
    lake.append(POSITION, [positions([fix(at=old)], old)])
    assert lake.retain(date(2026, 11, 21)) == []
    assert lake.retain(date(2027, 5, 21)) == ["kind=position/date=2026-05-20"]


# --- views and counts ----------------------------------------------------------------------


def test_empty_lake_views_have_the_schema_and_see_later_files(lake: ParquetLake) -> None:
    """Before any file, each view exists with the kind's columns plus date and hour, and no rows;
    files published afterwards are seen by the same connection."""
    with lake.connect() as con:
        for kind, view in (("position", "positions"), ("passage", "passages"), ("weighing", "weighings")):
            described = con.sql(f"DESCRIBE {view}").fetchall()
            assert [c[0] for c in described] == [*SCHEMAS[ReadingKind(kind)].names, "date", "hour"]
            assert con.sql(f"SELECT count(*) FROM {view}").fetchall() == [(0,)]  # noqa: S608
        types = dict(con.sql("SELECT column_name, column_type FROM (DESCRIBE weighings)").fetchall())
        assert types["images"] == "STRUCT(kind VARCHAR, uri VARCHAR, sha256 VARCHAR)[]"
        assert types["gross_kg"] == "INTEGER"
        lake.append(POSITION, [positions(track(3))])
        assert con.sql("SELECT count(*), min(hour) FROM positions").fetchall() == [(3, 2)]
    assert [lake.count(k) for k in ReadingKind] == [3, 0, 0]


def test_count_reads_footers_only(lake: ParquetLake, monkeypatch: pytest.MonkeyPatch) -> None:
    """count() sums the files' footers (no data page is read) and follows compactions."""
    for k in range(3):
        lake.append(POSITION, [positions(track(7, terminal=f"1380013800{k}"))])

    def no_scan(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("count() must not read the data")

    with monkeypatch.context() as patch:
        patch.setattr(pq, "read_table", no_scan)
        assert lake.count(POSITION) == 21
    lake.compact(T0 + timedelta(hours=3), min_files=2)
    assert lake.count(POSITION) == 21 and len(lake.files(POSITION)) == 1
    assert lake.count(PASSAGE) == 0


def test_union_by_name_reads_a_missing_column_as_null(lake: ParquetLake) -> None:
    """A file of an older schema minor version (1.0 had no ``backfill``; here also without ``extras``
    and ``defects``) reads with those columns NULL, next to newer files of the same partition, and
    survives compaction."""
    lake.append(POSITION, [positions([fix(extras='{"a": 1}', defects=(Defect.SPEED,))])])
    old = positions([fix("13900000000")]).drop_columns(["extras", "defects", "backfill"])
    [new] = lake.files(POSITION)
    pq.write_table(old, new.parent / "part-20260101T000000-0000.parquet")
    assert pq.read_schema(new.parent / "part-20260101T000000-0000.parquet").names == old.column_names
    query = "SELECT terminal, extras, defects, backfill FROM positions ORDER BY terminal"
    expected = [("13800138000", '{"a": 1}', "speed", False), ("13900000000", None, None, None)]
    with lake.connect() as con:
        assert con.sql(query).fetchall() == expected
    assert ParquetLake(lake.root).append(POSITION, [positions([fix("13900000000")])]) == 0
    lake.compact(T0 + timedelta(hours=3), min_files=2)
    [merged] = lake.files(POSITION)
    assert pq.read_schema(merged).names == SCHEMAS[POSITION].names
    with lake.connect() as con:
        assert con.sql(query).fetchall() == expected


def test_connect_to_a_database_file(lake: ParquetLake, tmp_path: Path) -> None:
    """The views are TEMP: a database file can be opened for analytics without storing the views."""
    lake.append(POSITION, [positions(track(2))])
    database = str(tmp_path / "analytics.duckdb")
    with lake.connect(database) as con:
        con.execute("CREATE TABLE tracks AS SELECT plate, count(*) AS n FROM positions GROUP BY plate")
    with lake.connect(database) as con:
        assert con.sql("SELECT * FROM tracks").fetchall() == [("皖A12345", 2)]


def test_quarantine_keeps_an_unreadable_message_aside(lake: ParquetLake) -> None:
    """An unreadable bus message is kept byte for byte with its reason, outside the views, and
    survives a restart and retention."""
    payload = b"\xff\x00not an Arrow stream"
    path = lake.quarantine(POSITION, 4711, payload, "not an Arrow IPC stream")
    assert path.parent == lake.root / "_quarantine" / "position" and path.read_bytes() == payload
    note = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert datetime.fromisoformat(note.pop("quarantined_at")) <= datetime.now(UTC)
    assert note == {
        "kind": "position",
        "seq": 4711,
        "reason": "not an Arrow IPC stream",
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    ParquetLake(lake.root).retain(date(2099, 1, 1))
    assert path.read_bytes() == payload
    assert lake.count(POSITION) == 0 and ids(lake) == []
    with pytest.raises(PermissionError):
        ParquetLake(lake.root, read_only=True).quarantine(POSITION, 1, b"", "x")


# --- property ------------------------------------------------------------------------------

POOL = [
    fix(
        f"1380013800{i % 5}",
        T0 + timedelta(minutes=37 * i),
        VehicleKey(f"皖A1234{i % 5}", PlateColour.YELLOW),
    )
    for i in range(24)
]  # 24 distinct records over about 15 hours


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, Any]]:
    ops: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["append", "append", "append", "compact", "reopen"]))
        if op == "append":
            picks = draw(st.lists(st.integers(0, len(POOL) - 1), min_size=0, max_size=20))
            cut = draw(st.integers(0, len(picks)))
            delay = draw(st.integers(0, 600))  # minutes between the table's last fix and its receipt
            ops.append((op, (picks[:cut], picks[cut:], delay)))
        elif op == "compact":
            ops.append((op, draw(st.integers(1, 4))))
        else:
            ops.append((op, None))
    return ops


@given(ops=operations(), index_partitions=st.sampled_from([1, 72]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_sequence_of_appends_keeps_each_id_exactly_once(
    ops: list[tuple[str, Any]], index_partitions: int
) -> None:
    """Whatever subsets and repeats are appended, whenever compactions and restarts happen, the
    lake holds each distinct appended record id exactly once."""
    with _temporary_lake(index_partitions) as (root, lake):
        appended: set[str] = set()
        for op, arg in ops:
            if op == "append":
                first, second, delay = arg
                # Received after its fixes: a record's partition hour is its own (a record re-sent
                # with a clock running ahead may change hour, the documented limit of the dedup).
                tables = [
                    positions(
                        [POOL[i] for i in part], max(POOL[i].time for i in part) + timedelta(minutes=delay)
                    )
                    for part in (first, second)
                    if part
                ]
                before = lake.count(POSITION)
                written = lake.append(POSITION, tables)
                new = {POOL[i].record_id for part in (first, second) for i in part} - appended
                assert written == len(new) and lake.count(POSITION) == before + len(new)
                appended |= new
            elif op == "compact":
                lake.compact(T0 + timedelta(days=2), min_files=arg)
            else:
                lake = ParquetLake(root, index_partitions=index_partitions)
            stored = ids(lake)
            assert len(stored) == len(set(stored)) and set(stored) == appended


@contextlib.contextmanager
def _temporary_lake(index_partitions: int) -> Iterator[tuple[Path, ParquetLake]]:
    """A lake in a fresh directory per example (pytest's tmp_path is shared by all examples)."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "lake"
        yield root, ParquetLake(root, index_partitions=index_partitions)
