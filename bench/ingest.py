"""Benchmark: positions through ingest → bus → lake, beside the raw Parquet write rate.

    uv run --frozen python bench/ingest.py [--rows 2000000] [--batch 50000] [--bus local,nats]

Generates ROWS positions of VEHICLES terminals reporting every 30 s (typed columns, as the JT/T 808
gateway hands them over), then in one process:

1. **limit** — writes the same rows, already in the lake's schema, straight to Parquet (zstd),
   the way the lake does, with nothing before it: the rate no pipeline that ends in Parquet on
   this machine can beat;
2. **pipeline** on each bus — a producer thread calls ``services.ingest.ingest_batch`` (the
   vectorized checks of every field, partitioning, encoding, a durable publish) while the lake
   writer (``services.lake.LakeWriter``) consumes, deduplicates and publishes Parquet files; timed
   from the first publish until the lake holds every row, so the figure is sustained end-to-end
   throughput, not the producer's burst.

Prints rows/s for each and the ratio to the limit. Goal (issue #4): ≥ 200 000 positions/s on
LocalBus on a 2-core machine. Results are written up in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from zhifa.adapters.clock import SystemClock
from zhifa.adapters.readings.columns import check_positions
from zhifa.bootstrap import bootstrap
from zhifa.config import Settings
from zhifa.domain.readings import ReadingKind
from zhifa.services.ingest import MAX_JSON_RECORDS, ingest_batch, ingest_records
from zhifa.services.lake import LakeWriter

VEHICLES = 20_000
GOAL_ROWS_PER_S = 200_000


def positions(start: int, rows: int, base: datetime, rng: np.random.Generator) -> pa.Table:
    index = np.arange(start, start + rows)
    vehicle = index % VEHICLES
    return pa.table(
        {
            "terminal": pa.array(np.char.add("1380", np.char.zfill(vehicle.astype(str), 7))),
            "plate": pa.array(np.char.add("皖A", np.char.zfill(vehicle.astype(str), 5))),
            "plate_colour": pa.array(np.full(rows, 2, dtype=np.int8)),
            "time": pa.array(
                np.datetime64(base.replace(tzinfo=None), "us")
                + (index // VEHICLES) * np.timedelta64(30, "s"),
                pa.timestamp("us", tz="UTC"),
            ),
            "lon": rng.uniform(115.0, 119.5, rows),
            "lat": rng.uniform(29.5, 34.5, rows),
            "speed_kmh": rng.uniform(0, 110, rows).round(1),
            "heading": rng.integers(0, 360, rows),
            "altitude_m": rng.integers(0, 300, rows),
            "alarm": np.zeros(rows, dtype=np.int64),
            "status": np.full(rows, 3, dtype=np.int64),
        }
    )


def raw_parquet(batches: list[pa.Table], now: datetime, where: Path) -> float:
    """The limit: the lake's own schema and compression, written with nothing in front."""
    tables = [check_positions(b, now, received_at=now)[0] for b in batches]
    rows = sum(t.num_rows for t in tables)
    start = time.perf_counter()
    for i, table in enumerate(tables):
        pq.write_table(table, where / f"raw-{i}.parquet", compression="zstd")
    return float(rows / (time.perf_counter() - start))


def pipeline(bus: str, batches: list[pa.Table], work: Path, nats_url: str) -> tuple[float, float]:
    settings = Settings(
        data_dir=work,
        database_url=f"sqlite:///{work / 'zhifa.db'}",
        bus=bus,
        nats_url=nats_url,
        nats_prefix=f"bench{uuid.uuid4().hex[:8]}",
        secret_key="bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
    )
    app = bootstrap(settings, clock=SystemClock())
    app.upgrade_database()
    rows = sum(b.num_rows for b in batches)
    writer = LakeWriter(app.lake_deps, (ReadingKind.POSITION,), max_messages=256)
    done = threading.Event()
    produced: list[float] = []

    def produce() -> None:
        started = time.perf_counter()
        for batch in batches:
            report = ingest_batch(app.ingest_deps, ReadingKind.POSITION, batch)
            assert report.accepted == batch.num_rows, report.rejected[:3]
        produced.append(time.perf_counter() - started)

    def consume() -> None:
        while writer.stats.rows_written < rows:
            writer.step(timeout=0.2)
        done.set()

    consumer = threading.Thread(target=consume)
    producer = threading.Thread(target=produce)
    start = time.perf_counter()
    consumer.start()
    producer.start()
    producer.join()
    done.wait(timeout=600)
    elapsed = time.perf_counter() - start
    consumer.join(timeout=5)
    assert app.lake.count(ReadingKind.POSITION) == rows, "the lake must hold every row exactly once"
    writer.close()
    if bus == "nats":
        app.bus.delete_streams()  # type: ignore[attr-defined]
    app.close()
    return rows / elapsed, rows / produced[0]


def json_records(batches: list[pa.Table], work: Path, rows: int) -> float:
    """The API's path: JSON-like records parsed one by one by the reference parser, then published."""
    app = bootstrap(
        Settings(
            data_dir=work,
            database_url=f"sqlite:///{work / 'zhifa.db'}",
            secret_key="bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
        ),
        clock=SystemClock(),
    )
    app.upgrade_database()
    records = pa.concat_tables(batches).slice(0, rows).to_pylist()
    for record in records:
        record["time"] = record["time"].isoformat()
    start = time.perf_counter()
    for i in range(0, len(records), MAX_JSON_RECORDS):
        report = ingest_records(app.ingest_deps, ReadingKind.POSITION, records[i : i + MAX_JSON_RECORDS])
        assert report.accepted == len(records[i : i + MAX_JSON_RECORDS])
    elapsed = time.perf_counter() - start
    app.close()
    return len(records) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--bus", default="local,nats", help="comma-separated: local, nats")
    parser.add_argument("--nats-url", default=os.environ.get("ZHIFA_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    now = datetime.now(UTC)
    base = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    batches = [
        positions(s, min(args.batch, args.rows - s), base, rng) for s in range(0, args.rows, args.batch)
    ]
    print(f"# {platform.platform()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"# {args.rows:,} positions of {VEHICLES:,} vehicles in batches of {args.batch:,}")

    scratch = Path(tempfile.mkdtemp(prefix="zhifa-bench-"))
    try:
        (scratch / "raw").mkdir()
        limit = raw_parquet(batches, now, scratch / "raw")
        print(f"limit   raw Parquet write (zstd, lake schema)   {limit:>12,.0f} rows/s")
        for bus in args.bus.split(","):
            work = scratch / bus
            work.mkdir()
            sustained, producer = pipeline(bus, batches, work, args.nats_url)
            verdict = "meets" if sustained >= GOAL_ROWS_PER_S else "MISSES"
            print(
                f"{bus:<7} ingest → bus → lake (sustained)       {sustained:>12,.0f} rows/s"
                f"   {sustained / limit:.2f} of the limit; {verdict} the {GOAL_ROWS_PER_S:,}/s goal"
            )
            print(f"{bus:<7}   ingest + publish alone (producer)     {producer:>12,.0f} rows/s")
        (scratch / "json").mkdir()
        rate = json_records(batches, scratch / "json", min(args.rows, 200_000))
        print(f"json    records parsed one by one + publish   {rate:>12,.0f} rows/s  (LocalBus; API path)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
