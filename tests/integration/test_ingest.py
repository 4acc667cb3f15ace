"""Sensor readings through the API and the import command, over the bus, into the lake.

Each test says what it proves; the lake is read back with DuckDB, as an analyst would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.factories import KeySigner, add_site, add_user, bearer, unit_at, weighing
from tests.fakes import FakeClock
from zhifa.adapters.lake import ParquetLake
from zhifa.bootstrap import App
from zhifa.domain.accounts import Role
from zhifa.domain.readings import ReadingKind
from zhifa.entrypoints.api import create_api
from zhifa.entrypoints.cli import app as cli
from zhifa.services.ingest import ingest_records
from zhifa.services.lake import LakeWriter
from zhifa.services.ports import BusUnavailable, Outgoing


def position(
    clock: FakeClock, terminal: str = "13800000001", seconds: int = 0, **extra: Any
) -> dict[str, Any]:
    at = clock.now().astimezone().replace(microsecond=0) - timedelta(minutes=10) + timedelta(seconds=seconds)
    record = {
        "terminal": terminal,
        "plate": "皖A12345",
        "plate_colour": 2,
        "time": at.isoformat(),
        "lon": 117.2272,
        "lat": 31.8206,
        "speed_kmh": 62.5,
        "heading": 90,
        "altitude_m": 30,
    }
    return record | extra


def passage(clock: FakeClock, record_id: str, **extra: Any) -> dict[str, Any]:
    record = {
        "record_id": record_id,
        "site_id": "G3-K1010",
        "time": (clock.now() - timedelta(minutes=3)).isoformat(),
        "plate": "皖A12345",
        "plate_colour": 2,
        "lane": 2,
        "direction": "up",
        "vehicle_class": 16,
        "axles": 6,
    }
    return record | extra


Machine = tuple[TestClient, KeySigner]


def query(app: App, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
    lake = app.lake
    assert isinstance(lake, ParquetLake)
    rows: list[tuple[Any, ...]] = lake.connect().execute(sql, parameters).fetchall()
    return rows


@pytest.fixture
def machine(app: App) -> Iterator[Machine]:
    with TestClient(create_api(app), base_url="https://testserver") as client:
        yield client, KeySigner(app, unit_at(app, "340000").id)


def post(machine: Machine, path: str, records: list[dict[str, Any]]) -> Any:
    client, signer = machine
    body = json.dumps({"records": records}, ensure_ascii=False).encode()
    headers = signer.headers("POST", path, body) | {"content-type": "application/json"}
    return client.post(path, content=body, headers=headers)


def drain(app: App, *kinds: ReadingKind) -> LakeWriter:
    writer = LakeWriter(app.lake_deps, kinds or tuple(ReadingKind))
    writer.drain(timeout=0.05)
    writer.close()
    return writer


def test_positions_reach_the_lake_with_their_values_and_defects(
    app: App, clock: FakeClock, machine: Machine
) -> None:
    """A signed batch is answered with per-record results; valid rows and out-of-range fixes land
    in the lake (the latter flagged), malformed ones are refused with their reasons."""
    records = [
        position(clock),
        position(clock, seconds=30, speed_kmh=171.0),  # over RULES.md's 160 km/h: kept, defective
        position(clock, terminal="13800000002", lon=0, lat=0),  # no fix: kept, defective
        position(clock, terminal="ABC"),  # malformed terminal: refused
        {"plate": "皖A12345"},  # almost nothing: refused with every missing field
    ]
    response = post(machine, "/api/v1/positions", records)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["received"], body["accepted"], body["rejected"], body["defective"]) == (5, 3, 2, 2)
    assert [e["index"] for e in body["errors"]] == [3, 4]
    assert {e["field"] for e in body["errors"][1]["errors"]} >= {"terminal", "time", "lon", "lat"}

    drain(app, ReadingKind.POSITION)
    rows = query(app, "SELECT terminal, speed_kmh, valid, defects FROM positions ORDER BY terminal, time")
    assert rows == [
        ("13800000001", 62.5, True, None),
        ("13800000001", 171.0, False, "speed"),
        ("13800000002", 62.5, False, "lon,lat"),
    ]
    # The track query of docs/data-plane.md, on a local (Asia/Shanghai) day.
    day = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    local_midnight = datetime.combine(day, datetime.min.time(), ZoneInfo("Asia/Shanghai"))
    track = query(
        app,
        """SELECT time, lon, lat FROM positions
           WHERE date BETWEEN ? AND ? AND plate = '皖A12345' AND plate_colour = 2
             AND time >= ? AND time < ?
           ORDER BY time""",
        [day - timedelta(days=1), day, local_midnight, local_midnight + timedelta(days=1)],
    )
    assert [t for t, _, _ in track] == sorted(datetime.fromisoformat(r["time"]) for r in records[:3])


def test_resending_a_batch_never_doubles_a_row(app: App, clock: FakeClock, machine: Machine) -> None:
    """The sender retries after a lost answer: the lake still holds each reading once."""
    records = [passage(clock, f"G3-K1010-{i:06d}") for i in range(50)]
    for _ in range(3):
        assert post(machine, "/api/v1/passages", records).json()["accepted"] == 50
    drain(app, ReadingKind.PASSAGE)
    assert app.lake.count(ReadingKind.PASSAGE) == 50
    distinct = query(app, "SELECT count(DISTINCT record_id) FROM passages")[0]
    assert distinct == (50,)


def test_a_passage_in_the_future_and_an_unknown_class_are_refused(
    app: App, clock: FakeClock, machine: Machine
) -> None:
    """Gantry clocks are synchronised: a plate read tomorrow, or a class outside JT/T 489, is an error."""
    records = [
        passage(clock, "P1", time=(clock.now() + timedelta(days=1)).isoformat()),
        passage(clock, "P2", vehicle_class=17),
        passage(clock, "P3"),
    ]
    body = post(machine, "/api/v1/passages", records).json()
    assert body["accepted"] == 1
    assert [(e["index"], e["errors"][0]["field"]) for e in body["errors"]] == [
        (0, "time"),
        (1, "vehicle_class"),
    ]


def test_nothing_is_acknowledged_when_the_bus_refuses(app: App, clock: FakeClock, machine: Machine) -> None:
    """A bus that cannot confirm makes the request fail with 503: the sender keeps its batch."""

    class RefusingBus:
        partitions = 8

        def publish(self, kind: str, messages: list[Outgoing]) -> None:
            raise BusUnavailable("JetStream did not confirm within 10 s")

        def close(self) -> None:
            pass

    app._bus = RefusingBus()  # type: ignore[assignment]
    response = post(machine, "/api/v1/positions", [position(clock)])
    assert response.status_code == 503
    assert response.json()["type"].endswith("bus-unavailable")


def test_a_batch_over_the_limit_is_refused_whole(app: App, clock: FakeClock) -> None:
    """More records than one request may carry: refused before anything is sent."""
    from zhifa.services.ingest import MAX_JSON_RECORDS, BatchTooLarge

    with pytest.raises(BatchTooLarge):
        ingest_records(app.ingest_deps, ReadingKind.POSITION, [position(clock)] * (MAX_JSON_RECORDS + 1))


def test_people_cannot_post_machine_readings(app: App, clock: FakeClock) -> None:
    """Positions come from terminals' gateways only: a signed-in duty officer is refused."""
    add_user(app, "duty", {Role.DUTY_OFFICER}, division="340000")
    with TestClient(create_api(app), base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/positions", json={"records": [position(clock)]}, headers=bearer(app, "duty")
        )
    assert response.status_code == 403


def test_weighings_go_to_the_lake_as_well_as_to_assessment(
    app: App, clock: FakeClock, machine: Machine
) -> None:
    """A weighing is assessed in the request (alerts, cases) and also kept in the lake."""
    site_id = add_site(app)
    response = post(
        machine,
        "/api/v1/weighings",
        [weighing("W-0001", site_id=site_id, at=clock.now() - timedelta(minutes=5), gross_kg=55_000)],
    )
    assert response.json()["accepted"] == 1
    drain(app, ReadingKind.WEIGHING)
    assert query(app, "SELECT record_id, gross_kg FROM weighings") == [("W-0001", 55_000)]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    names = list(dict.fromkeys(name for row in rows for name in row))
    lines = [",".join(names)] + [",".join(str(row.get(n, "")) for n in names) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_csv_reports_each_bad_row_and_sends_the_rest(
    app: App, clock: FakeClock, tmp_path: Path
) -> None:
    """`zhifa import position FILE`: good rows reach the lake, bad rows are listed by line."""
    rows = [position(clock, seconds=i) for i in range(200)]
    rows[17]["lat"] = "north"
    rows[42]["plate"] = "ABC123"
    path = write_csv(tmp_path / "positions.csv", rows)
    errors = tmp_path / "errors.jsonl"
    result = CliRunner().invoke(
        cli,
        ["import", "position", str(path), "--data-dir", str(app.settings.data_dir), "--errors", str(errors)],
        env={
            "ZHIFA_DATABASE_URL": app.settings.database_url,
            "ZHIFA_SECRET_KEY": app.settings.secret_key.get_secret_value(),
        },
    )
    assert result.exit_code == 1, result.output
    assert "200 position rows, 198 accepted, 2 rejected" in result.output
    reported = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert [(r["row"], r["errors"][0]["field"]) for r in reported] == [(18, "lat"), (43, "plate")]
    drain(app, ReadingKind.POSITION)
    assert app.lake.count(ReadingKind.POSITION) == 198


def test_import_parquet_and_refuse_unknown_columns(app: App, clock: FakeClock, tmp_path: Path) -> None:
    """A typed Parquet file imports whole; a file with a misspelt column is refused and sends nothing."""
    rows = [passage(clock, f"P-{i:05d}") for i in range(1000)]
    good = tmp_path / "passages.parquet"
    pq.write_table(pa.Table.from_pylist(rows), good)
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist([{**rows[0], "speed": 3}]), bad)
    env = {
        "ZHIFA_DATABASE_URL": app.settings.database_url,
        "ZHIFA_SECRET_KEY": app.settings.secret_key.get_secret_value(),
    }
    runner = CliRunner()
    refused = runner.invoke(
        cli, ["import", "passage", str(bad), "--data-dir", str(app.settings.data_dir)], env=env
    )
    assert refused.exit_code == 2
    assert "unknown columns: speed" in refused.output
    done = runner.invoke(
        cli, ["import", "passage", str(good), "--data-dir", str(app.settings.data_dir)], env=env
    )
    assert done.exit_code == 0, done.output
    drain(app, ReadingKind.PASSAGE)
    assert app.lake.count(ReadingKind.PASSAGE) == 1000


def test_an_unreadable_bus_message_is_quarantined_not_lost_or_retried(app: App, clock: FakeClock) -> None:
    """A message no reader can decode (corrupt, or from an incompatible producer) is kept aside with
    its reason and acknowledged; the readings around it still reach the lake."""
    ingest_records(app.ingest_deps, ReadingKind.POSITION, [position(clock)])
    app.bus.publish(ReadingKind.POSITION.value, [Outgoing(0, b"not an arrow stream")])
    ingest_records(app.ingest_deps, ReadingKind.POSITION, [position(clock, seconds=30)])
    writer = drain(app, ReadingKind.POSITION)
    assert writer.stats.quarantined == 1
    assert app.lake.count(ReadingKind.POSITION) == 2
    kept = list((app.settings.resolved_lake_dir / "_quarantine" / "position").glob("*.bin"))
    assert [p.read_bytes() for p in kept] == [b"not an arrow stream"]
    again = drain(app, ReadingKind.POSITION)  # acknowledged: not delivered again
    assert again.stats.messages == 0


def test_the_writer_appends_what_comes_while_it_lingers_together(app: App, clock: FakeClock) -> None:
    """A gateway publishes every 50 ms: the writer, caught up, waits ``linger`` for what follows and
    writes it with the first message as one file, acknowledging both only then."""
    ingest_records(app.ingest_deps, ReadingKind.POSITION, [position(clock)])
    writer = LakeWriter(app.lake_deps, (ReadingKind.POSITION,), linger=1.0)
    second = position(clock, terminal="13800000002")
    later = threading.Timer(0.2, lambda: ingest_records(app.ingest_deps, ReadingKind.POSITION, [second]))
    later.start()
    try:
        assert writer.step(timeout=0.5) == 2
    finally:
        later.join()
        writer.close()
    assert writer.stats.messages == 2
    lake = app.lake
    assert isinstance(lake, ParquetLake)
    assert len(lake.files(ReadingKind.POSITION)) == 1
    assert drain(app, ReadingKind.POSITION).stats.messages == 0  # both acknowledged


def test_stopping_the_writer_cuts_its_linger_short(app: App, clock: FakeClock) -> None:
    """Told to stop while it lingers, the writer stores what it holds and returns at once."""
    ingest_records(app.ingest_deps, ReadingKind.POSITION, [position(clock)])
    writer = LakeWriter(app.lake_deps, (ReadingKind.POSITION,), linger=60.0)
    stop = threading.Event()
    runner = threading.Thread(target=writer.run, args=(stop,), kwargs={"timeout": 0.2})
    runner.start()
    time.sleep(0.5)
    stop.set()
    runner.join(timeout=10)
    writer.close()
    assert not runner.is_alive()
    assert app.lake.count(ReadingKind.POSITION) == 1


def cli_env(app: App) -> dict[str, str]:
    return {
        "ZHIFA_DATABASE_URL": app.settings.database_url,
        "ZHIFA_SECRET_KEY": app.settings.secret_key.get_secret_value(),
    }


def test_import_weighings_assesses_them_like_the_api(app: App, clock: FakeClock, tmp_path: Path) -> None:
    """`zhifa import weighing FILE`: rows are assessed (an over-limit one opens a case) and reach
    the lake; list fields come as JSON text in the CSV."""
    site_id = add_site(app)
    at = clock.now() - timedelta(hours=1)
    rows = [weighing(f"W-{i:04d}", site_id=site_id, at=at, gross_kg=40_000 + 5_000 * i) for i in range(4)]
    for row in rows:
        row["images"] = json.dumps(row["images"]).replace('"', '""')
        row["images"] = f'"{row["images"]}"'
    path = write_csv(tmp_path / "weighings.csv", rows)
    result = CliRunner().invoke(
        cli, ["import", "weighing", str(path), "--data-dir", str(app.settings.data_dir)], env=cli_env(app)
    )
    assert result.exit_code == 0, result.output
    assert "4 weighings, 4 accepted and assessed" in result.output
    with app.uow() as uow:
        stored = uow.weighings.get("W-0003")
    assert stored is not None and stored.disposition.value == "overlimit"  # 55 t on six axles
    drain(app, ReadingKind.WEIGHING)
    assert app.lake.count(ReadingKind.WEIGHING) == 4


def test_lake_commands_report_and_maintain(app: App, clock: FakeClock) -> None:
    """`zhifa lake stats` counts rows per kind; `zhifa lake maintain` merges a closed hour's files."""
    hour_start = (clock.now() - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    for batch in range(3):  # three deliveries, three small files in one hour three hours ago
        records = [
            position(clock) | {"time": (hour_start + timedelta(seconds=100 * batch + i)).isoformat()}
            for i in range(10)
        ]
        ingest_records(app.ingest_deps, ReadingKind.POSITION, records)
        drain(app, ReadingKind.POSITION)
    assert len(list((app.settings.resolved_lake_dir / "kind=position").glob("*/*/*.parquet"))) == 3
    runner = CliRunner()
    stats = runner.invoke(cli, ["lake", "stats", "--data-dir", str(app.settings.data_dir)], env=cli_env(app))
    assert stats.exit_code == 0, stats.output
    assert "position" in stats.output and " 30" in stats.output
    done = runner.invoke(
        cli, ["lake", "maintain", "--data-dir", str(app.settings.data_dir)], env=cli_env(app)
    )
    assert done.exit_code == 0, done.output
    assert "compacted 1 partitions (3 → 1 files); removed 0 partitions past retention" in done.output
    assert app.lake_reader().count(ReadingKind.POSITION) == 30


def test_retention_below_the_legal_minimum_stops_start_up() -> None:
    """第二十五条 keeps monitoring data six months: a shorter lake retention is a configuration error."""
    from pydantic import ValidationError

    from zhifa.config import Settings

    with pytest.raises(ValidationError, match="第二十五条"):
        Settings(lake_retention_months_position=5)
    with pytest.raises(ValidationError):
        Settings(bus="kafka")
