"""Crash tests: a lake writer killed mid-stream loses nothing and doubles nothing, on both buses.

N readings are streamed through ingest onto the bus while ``zhifa worker`` (a separate process)
moves them into the lake; the worker is killed with SIGKILL several times while data flows, and
restarted. Afterwards the lake must hold exactly N rows with N distinct record ids.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.factories import TEST_SETTINGS, make_app
from zhifa.adapters.clock import SystemClock
from zhifa.adapters.lake import ParquetLake
from zhifa.bootstrap import App
from zhifa.domain.readings import ReadingKind
from zhifa.services.ingest import ingest_batch
from zhifa.services.lake import LakeWriter

N = 60_000
BATCH = 2_000
VEHICLES = 500


def raw_positions(start: int, rows: int, base: datetime) -> pa.Table:
    """Positions as a gateway hands them over: VEHICLES terminals reporting every 30 s."""
    index = np.arange(start, start + rows)
    vehicle = index % VEHICLES
    return pa.table(
        {
            "terminal": pa.array([f"1380{v:07d}" for v in vehicle]),
            "plate": pa.array([f"皖A{v:05d}" for v in vehicle]),
            "plate_colour": pa.array(np.full(rows, 2, dtype=np.int64)),
            "time": pa.array(
                np.datetime64(base.replace(tzinfo=None), "us")
                + (index // VEHICLES) * np.timedelta64(30, "s"),
                pa.timestamp("us", tz="UTC"),
            ),
            "lon": 117.0 + vehicle / 1000,
            "lat": 31.0 + (index % 977) / 10_000,
        }
    )


def lake_rows(root: Path) -> int:
    """Rows in the lake from Parquet footers, read from outside the writer (it may be compacting)."""
    total = 0
    for path in (root / "kind=position").glob("*/*/*.parquet"):
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except (FileNotFoundError, OSError):
            return -1  # replaced under our feet: ask again
    return total


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from zhifa.entrypoints.cli import main; main()",
            "worker",
            "--kind",
            "position",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_killed_worker_leaves_exactly_n_rows(tmp_path: Path, bus_settings: dict[str, Any]) -> None:
    """SIGKILL at three moments while readings flow: after restarts the lake holds exactly N rows."""
    data = tmp_path / "data"
    url = f"sqlite:///{tmp_path / 'zhifa.db'}"
    app = make_app(url, data, SystemClock(), **bus_settings)
    env = os.environ | {
        "ZHIFA_DATA_DIR": str(data),
        "ZHIFA_DATABASE_URL": url,
        "ZHIFA_SECRET_KEY": TEST_SETTINGS["secret_key"],
    }
    env |= {f"ZHIFA_{name.upper()}": str(value) for name, value in bus_settings.items()}
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # the current hour: no compaction

    published = threading.Event()

    def stream() -> None:
        for start in range(0, N, BATCH):
            report = ingest_batch(app.ingest_deps, ReadingKind.POSITION, raw_positions(start, BATCH, base))
            assert report.accepted == BATCH
            time.sleep(0.15)  # a steady stream rather than one burst, so kills land mid-stream
        published.set()

    worker = start_worker(env)
    streamer = threading.Thread(target=stream)
    streamer.start()
    root = data / "lake"
    kills = 0
    mid_stream: list[bool] = []
    try:
        for threshold in (N // 10, N // 4, N // 2):
            deadline = time.monotonic() + 60
            while lake_rows(root) < threshold and time.monotonic() < deadline:
                time.sleep(0.01)
            assert lake_rows(root) >= threshold, worker.stderr.read().decode() if worker.stderr else ""
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            mid_stream.append(not published.is_set())
            worker = start_worker(env)
        streamer.join(timeout=120)
        assert published.is_set()
        deadline = time.monotonic() + 60
        while lake_rows(root) < N and time.monotonic() < deadline:
            time.sleep(0.05)
        # Past the ack wait, every redelivery that could still come has come.
        time.sleep(2.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        streamer.join(timeout=5)
    assert kills == 3
    assert mid_stream[0], "the first kill must land while readings are still being published"
    assert lake_rows(root) == N
    lake = app.lake
    assert isinstance(lake, ParquetLake)
    ids = lake.connect().execute("SELECT count(*), count(DISTINCT record_id) FROM positions").fetchone()
    assert ids == (N, N)
    app.close()


def test_a_crash_between_append_and_ack_is_absorbed(app: App) -> None:
    """Deterministically: the lake published a batch but the writer died before acknowledging it.
    The batch is delivered again to the next writer, and the lake keeps its rows once."""
    base = datetime.now(UTC) - timedelta(hours=3)
    for start in range(0, 10_000, BATCH):
        ingest_batch(app.ingest_deps, ReadingKind.POSITION, raw_positions(start, BATCH, base))

    class Crash(Exception):
        pass

    lake = app.lake
    real_append = lake.append

    def append_then_die(kind: ReadingKind, tables: Any) -> int:
        real_append(kind, tables)
        raise Crash

    lake.append = append_then_die  # type: ignore[method-assign]
    first = LakeWriter(app.lake_deps, (ReadingKind.POSITION,))
    with pytest.raises(Crash):
        first.step(timeout=0.5)
    first.close()
    # Everything was fetched in one round, published to the lake, and never acknowledged.
    assert lake.count(ReadingKind.POSITION) == 10_000

    lake.append = real_append  # type: ignore[method-assign]
    second = LakeWriter(app.lake_deps, (ReadingKind.POSITION,))
    second.drain(timeout=0.1)
    second.close()
    assert second.stats.rows_in == 10_000  # all delivered again …
    assert second.stats.rows_written == 0  # … and none written twice
    assert lake.count(ReadingKind.POSITION) == 10_000
