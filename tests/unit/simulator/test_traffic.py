"""The traffic simulator: readings along the real graph, labels that match them, determinism, rate."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from zhifa.adapters.geodata.reference import load_road_sources
from zhifa.adapters.readings.schema import PASSAGE_SCHEMA, POSITION_SCHEMA, WEIGHING_SCHEMA
from zhifa.domain.overlimit import VehicleConfiguration, gross_mass_limit
from zhifa.domain.vehicles import VehicleKind
from zhifa.simulator.fleet import Fleet, FleetKind, FleetVehicle, make_fleet
from zhifa.simulator.province.geo import LocalPlane
from zhifa.simulator.province.graph import build_province
from zhifa.simulator.province.model import PlaceKind, Province
from zhifa.simulator.province.routing import Router
from zhifa.simulator.traffic import (
    BUS_BAN_FROM_S,
    BUS_BAN_UNTIL_S,
    DAY_S,
    LOCAL_OFFSET_S,
    MAX_CONTINUOUS_DAY_S,
    MAX_CONTINUOUS_NIGHT_S,
    MAX_DRIVING_PER_DAY_S,
    MIN_REST_S,
    NIGHT_PASSENGER_SHARE,
    Dwell,
    Fatigue,
    Jumps,
    NightBus,
    Offline,
    Oversize,
    Rule,
    Speeding,
    TrafficConfig,
    TrafficResult,
    Violations,
    Waybills,
    build_routes,
    is_night,
    simulate,
    write_lake,
    write_registers,
)

# Measured on the development container (2 cores): see docs/simulator.md, "Measured rates". The floor
# leaves room for a loaded CI machine.
RATE_FLOOR_POSITIONS_PER_S = 250_000
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # 16:00 in Anhui: day, evening, night and the bus ban
HOURS = 24.0
INTERVAL = 30
BUSY = Violations(
    speeding=Speeding(rate=0.05, night_rate=0.5),
    fatigue=Fatigue(rate=0.1, daily_rate=0.1),
    night_bus=NightBus(rate=0.3),
    dwell=Dwell(rate=0.6),
    offline=Offline(rate=0.05),
    jumps=Jumps(rate=0.03),
    waybills=Waybills(missing=0.1, off_route=0.1),
    oversize=Oversize(missing=0.15, off_route=0.15, out_of_time=0.15),
)


@pytest.fixture(scope="module")
def province() -> Province:
    return build_province(load_road_sources(), seed=7)


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return make_fleet(3000, seed=5)


@pytest.fixture(scope="module")
def result(province: Province, fleet: Fleet) -> TrafficResult:
    config = TrafficConfig(
        start=START, hours=HOURS, seed=5, interval_s=INTERVAL, violations=BUSY, od_sources=40
    )
    return simulate(province, fleet, config)


def _col(table: pa.Table, name: str) -> Any:
    column = table.column(name)
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.int64()).to_numpy() / 1e6
    return column.to_numpy(zero_copy_only=False)


def _labels(result: TrafficResult, rule: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = result.labels.filter(
        pa.compute.equal(result.labels.column("rule_id"), rule)
    ).to_pylist()
    for row in rows:
        row["start_s"] = row["start"].timestamp()
        row["end_s"] = row["end"].timestamp()
        row["details"] = json.loads(row["details"])
    return rows


def _vehicle_index(result: TrafficResult) -> dict[str, int]:
    return {v.vehicle_id: i for i, v in enumerate(result.vehicles)}


def _nearest_segment(province: Province, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest segment id of each point and the distance to it in metres."""
    plane = LocalPlane(31.8)
    ids = np.array(sorted(province.segments))
    lines = [shapely.LineString(plane.to_xy(np.asarray(province.segments[i].coords))) for i in ids]
    tree = shapely.STRtree(lines)
    points = shapely.points(plane.to_xy(np.c_[lon, lat]))
    (_, nearest), distance = tree.query_nearest(points, return_distance=True, all_matches=False)
    return ids[nearest], np.asarray(distance)


def _road_distance_m(province: Province, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return _nearest_segment(province, lon, lat)[1]


def test_written_schemas_equal_the_lakes(result: TrafficResult) -> None:
    """The simulator restates the lake's schemas (it may not import adapters): they are equal,
    metadata included, so the files read as if ingest had written them."""
    assert result.positions.schema.equals(POSITION_SCHEMA, check_metadata=True)
    assert result.passages.schema.equals(PASSAGE_SCHEMA, check_metadata=True)
    assert result.weighings.schema.equals(WEIGHING_SCHEMA, check_metadata=True)
    ids = result.positions.column("record_id").to_pylist()[:100]
    terminals = result.positions.column("terminal").to_pylist()[:100]
    times = result.positions.column("time").to_pylist()[:100]
    assert ids == [f"{t}@{int(at.timestamp())}" for t, at in zip(terminals, times, strict=True)]


def test_every_pattern_is_injected(result: TrafficResult) -> None:
    """A run with raised rates produces every implemented pattern at least once."""
    rules = set(result.labels.column("rule_id").to_pylist())
    assert {
        Rule.SPEEDING, Rule.FATIGUE_CONTINUOUS, Rule.BUS_NIGHT_BAN, Rule.TERMINAL_OFFLINE, Rule.POSITION_JUMP,
        Rule.CLONED_PLATE, Rule.OVERLIMIT, Rule.ILLEGAL_OPERATION, Rule.NO_WAYBILL, Rule.OFF_ROUTE,
        Rule.SPEEDING_NIGHT, Rule.FATIGUE_DAILY, Rule.OVERSIZE_NO_PERMIT, Rule.OVERSIZE_OFF_ROUTE,
        Rule.OVERSIZE_OUT_OF_TIME,
    } <= rules  # fmt: skip
    assert rules & {Rule.DWELL_SCHOOL, Rule.DWELL_WATER_SOURCE}
    assert result.positions.num_rows > 10_000 and result.passages.num_rows > 1_000


def test_positions_lie_on_the_roads_except_jumps_and_dwells(
    result: TrafficResult, province: Province
) -> None:
    """Every position is within a few metres of an expressway, except displaced ones (jumps) and
    stops at schools and water sources; displaced ones are mostly far from any road."""
    lon, lat = _col(result.positions, "lon"), _col(result.positions, "lat")
    on_road = ~result.position_jumped & (result.position_span_kind != 2)
    rng = np.random.default_rng(0)
    sample = rng.choice(np.flatnonzero(on_road), size=min(20_000, int(on_road.sum())), replace=False)
    assert _road_distance_m(province, lon[sample], lat[sample]).max() < 5.0
    jumped = np.flatnonzero(result.position_jumped)
    assert len(jumped)
    assert np.mean(_road_distance_m(province, lon[jumped], lat[jumped]) > 500) > 0.7


def test_speed_over_the_limit_only_inside_speeding_labels(result: TrafficResult) -> None:
    """Speeding labels ⇔ positions above the applicable limit (the kind's cap, 80 % of it for
    passenger vehicles at night): every position over it lies in a label of its vehicle, every
    position in a label is over it, and every label lasts more than 30 s."""
    speed = _col(result.positions, "speed_kmh")
    time_s = _col(result.positions, "time")
    over = speed > result.position_limit_kmh
    inside = np.zeros(len(speed), dtype=bool)
    index = _vehicle_index(result)
    labels = _labels(result, Rule.SPEEDING) + _labels(result, Rule.SPEEDING_NIGHT)
    assert labels
    for label in labels:
        assert label["end_s"] - label["start_s"] > 30
        m = (result.position_vehicle == index[label["vehicle_id"]]) & (time_s >= label["start_s"])
        m &= time_s <= label["end_s"]
        assert over[m].all()
        inside |= m
    assert not (over & ~inside).any()


def _runs(time_s: np.ndarray, speed: np.ndarray, interval: int) -> list[tuple[float, float]]:
    """Continuous driving from one vehicle's positions: moving fixes, broken by a stop or a gap of
    at least 20 minutes (办法 第二十四条)."""
    moving = np.flatnonzero(speed > 0)
    runs: list[tuple[float, float]] = []
    if not len(moving):
        return runs
    first = last = time_s[moving[0]]
    for i in moving[1:]:
        if time_s[i] - last >= MIN_REST_S:
            runs.append((first, last))
            first = time_s[i]
        last = time_s[i]
    runs.append((first, last))
    return runs


def test_fatigue_labels_match_continuous_driving(result: TrafficResult) -> None:
    """Each fatigue label is one run of driving without a 20-minute break, longer than 4 h (2 h when
    it touches night); no
    other key vehicle drives more than 4 h without a break, or more than 2 h in one touching night."""
    time_s, speed = _col(result.positions, "time"), _col(result.positions, "speed_kmh")
    index = _vehicle_index(result)
    labelled = {index[row["vehicle_id"]]: row for row in _labels(result, Rule.FATIGUE_CONTINUOUS)}
    offline = {index[row["vehicle_id"]] for row in _labels(result, Rule.TERMINAL_OFFLINE)}
    assert labelled
    order = np.argsort(result.position_vehicle, kind="stable")
    vehicles = result.position_vehicle[order]
    bounds = np.flatnonzero(np.diff(vehicles)) + 1
    for chunk in np.split(order, bounds):
        v = int(result.position_vehicle[chunk[0]])
        runs = _runs(time_s[chunk], speed[chunk], INTERVAL)
        if v in labelled:
            if v in offline:
                continue
            row = labelled[v]
            covering = [
                r for r in runs if r[0] <= row["start_s"] + INTERVAL and r[1] >= row["end_s"] - INTERVAL
            ]
            assert covering and covering[0][1] - covering[0][0] > row["details"]["limit_s"]
            continue
        for a, b in runs:
            assert b - a <= MAX_CONTINUOUS_DAY_S
            if is_night(np.arange(a, b + 1, 60.0)).any():
                assert b - a <= MAX_CONTINUOUS_NIGHT_S


def test_bus_ban_labels_match_positions(result: TrafficResult) -> None:
    """Long-distance buses move during 02:00-05:00 local only inside bus-ban labels, and each label
    has moving positions in that window."""
    time_s, speed = _col(result.positions, "time"), _col(result.positions, "speed_kmh")
    tod = np.mod(time_s + LOCAL_OFFSET_S, DAY_S)
    kind = np.array([v.kind is FleetKind.LONG_DISTANCE_BUS for v in result.vehicles])
    banned = kind[result.position_vehicle] & (speed > 0) & (tod >= BUS_BAN_FROM_S) & (tod < BUS_BAN_UNTIL_S)
    index = _vehicle_index(result)
    covered = np.zeros(len(time_s), dtype=bool)
    labels = _labels(result, Rule.BUS_NIGHT_BAN)
    assert labels
    for label in labels:
        m = (result.position_vehicle == index[label["vehicle_id"]]) & (time_s >= label["start_s"])
        m &= time_s <= label["end_s"]
        assert banned[m].any()
        covered |= m
    assert not (banned & ~covered).any()


def test_dwell_labels_match_positions(result: TrafficResult, province: Province) -> None:
    """During a dwell label the vehicle reports standing still inside the place's geofence."""
    places = {p.id: p for p in province.places}
    time_s, speed = _col(result.positions, "time"), _col(result.positions, "speed_kmh")
    lon, lat = _col(result.positions, "lon"), _col(result.positions, "lat")
    index = _vehicle_index(result)
    labels = _labels(result, Rule.DWELL_SCHOOL) + _labels(result, Rule.DWELL_WATER_SOURCE)
    assert labels
    for label in labels:
        place = places[label["details"]["place_id"]]
        assert place.kind in (PlaceKind.SCHOOL, PlaceKind.WATER_SOURCE)
        m = (result.position_vehicle == index[label["vehicle_id"]]) & (time_s >= label["start_s"])
        m &= time_s <= label["end_s"]
        assert m.sum() >= 2 and (speed[m] == 0).all()
        d = np.hypot((lon[m] - place.lon) * 94_000, (lat[m] - place.lat) * 111_000)
        assert (d <= place.radius_m).all()


def test_offline_windows_have_no_positions_but_passages_go_on(result: TrafficResult) -> None:
    """In an offline label the vehicle reports no position, yet overall it is still seen at gantries
    during such windows (the pattern the rule detects)."""
    time_s = _col(result.positions, "time")
    passage_time = _col(result.passages, "time")
    index = _vehicle_index(result)
    labels = _labels(result, Rule.TERMINAL_OFFLINE)
    assert labels
    seen = 0
    for label in labels:
        v = index[label["vehicle_id"]]
        m = (result.position_vehicle == v) & (time_s >= label["start_s"]) & (time_s <= label["end_s"])
        assert not m.any()
        p = (
            (result.passage_vehicle == v)
            & (passage_time >= label["start_s"])
            & (passage_time <= label["end_s"])
        )
        seen += int(p.sum())
    assert seen > 0


def test_jump_labels_cover_exactly_the_displaced_positions(result: TrafficResult) -> None:
    """Position-jump labels name exactly the displaced positions."""
    time_s = _col(result.positions, "time")
    index = _vehicle_index(result)
    marked = np.zeros(len(time_s), dtype=bool)
    for label in _labels(result, Rule.POSITION_JUMP):
        m = (result.position_vehicle == index[label["vehicle_id"]]) & (time_s >= label["start_s"])
        m &= time_s <= label["end_s"]
        assert m.sum() == label["details"]["positions"]
        marked |= m
    assert np.array_equal(marked, result.position_jumped)


def test_clone_labels_come_in_pairs_with_one_plate(result: TrafficResult, fleet: Fleet) -> None:
    """A cloned plate is labelled on both vehicles, over the same window, and both are seen at
    gantries under that plate."""
    labels = _labels(result, Rule.CLONED_PLATE)
    assert labels
    by_vehicle = {row["vehicle_id"]: row for row in labels}
    index = _vehicle_index(result)
    for row in labels:
        other = by_vehicle[row["details"]["other_vehicle_id"]]
        assert (row["plate"], row["plate_colour"]) == (other["plate"], other["plate_colour"])
        assert (row["start_s"], row["end_s"]) == (other["start_s"], other["end_s"])
    plates = result.passages.column("plate").to_pylist()
    for clone in fleet.clones:
        if clone.vehicle_id in by_vehicle:
            seen = {int(result.passage_vehicle[i]) for i, p in enumerate(plates) if p == clone.plate}
            assert index[clone.vehicle_id] in seen or index[clone.clone_of or ""] in seen


def test_overlimit_labels_are_exactly_the_weighings_over_the_limit(
    result: TrafficResult, fleet: Fleet
) -> None:
    """An over-limit label names a weighing over the gross-mass limit of 超限规定 第三条 for the
    vehicle's axles; every other weighing is within it."""
    labelled = {row["details"]["record_id"]: row for row in _labels(result, Rule.OVERLIMIT)}
    assert labelled
    by_plate: dict[tuple[str, int], list[FleetVehicle]] = {}
    for v in fleet.vehicles:
        by_plate.setdefault((v.plate, int(v.colour)), []).append(v)
    for row in result.weighings.to_pylist():
        vehicles = by_plate[(row["plate"], row["plate_colour"])]
        vehicle = vehicles[0]
        axles = vehicle.road_axles or 2
        combination = axles > (vehicle.axles or axles) or vehicle.vehicle_kind is VehicleKind.TRACTOR
        limit = gross_mass_limit(VehicleConfiguration(axles=axles, combination=combination)).kg
        if row["record_id"] in labelled:
            assert row["gross_kg"] > limit == labelled[row["record_id"]]["details"]["limit_kg"]
        elif len(vehicles) == 1:
            assert row["gross_kg"] <= limit


def test_passages_agree_with_positions(result: TrafficResult, province: Province) -> None:
    """At a passage the vehicle's track is at the gantry: the position nearest in time (within one
    interval) lies within the distance it could drive in that time, plus a little."""
    gantries = {p.id: p for p in province.places if p.kind is PlaceKind.GANTRY}
    pos_time = _col(result.positions, "time")
    lon, lat = _col(result.positions, "lon"), _col(result.positions, "lat")
    speed = _col(result.positions, "speed_kmh")
    key = result.position_vehicle * 10**11 + pos_time.astype(np.int64)
    order = np.argsort(key)
    key_sorted = key[order]
    passage_time = _col(result.passages, "time")
    sites = result.passages.column("site_id").to_pylist()
    checked = 0
    for i in range(0, len(sites), 7):
        v = int(result.passage_vehicle[i])
        k = v * 10**11 + int(passage_time[i])
        j = np.searchsorted(key_sorted, k)
        best = None
        for c in (j - 1, j):
            if not (0 <= c < len(order) and key_sorted[c] // 10**11 == v):
                continue
            idx = order[c]
            gap = abs(pos_time[idx] - passage_time[i])
            usable = gap <= INTERVAL and not result.position_jumped[idx]
            if usable and (best is None or gap < abs(pos_time[best] - passage_time[i])):
                best = idx
        if best is None:
            continue  # no terminal, offline, or the window's edge
        gantry = gantries[sites[i]]
        d = np.hypot((lon[best] - gantry.lon) * 94_000, (lat[best] - gantry.lat) * 111_000)
        assert d <= abs(pos_time[best] - passage_time[i]) * max(speed[best], 130) / 3.6 + 300
        checked += 1
    assert checked > 100


def test_waybills_match_the_hazardous_trips(result: TrafficResult, province: Province) -> None:
    """A trip labelled without a waybill has none; a waybill labelled off-route declares segments
    the vehicle is not on during the label; every other waybill's route is where its vehicle drives."""
    waybills = result.waybills.to_pylist()
    assert waybills
    assert len({w["waybill_no"] for w in waybills}) == len(waybills)
    by_number = {w["waybill_no"]: w for w in waybills}
    departures = {(w["vehicle_id"], w["departure"].isoformat()) for w in waybills}
    for label in _labels(result, Rule.NO_WAYBILL):
        assert (label["vehicle_id"], label["details"]["departure"]) not in departures
    time_s, speed = _col(result.positions, "time"), _col(result.positions, "speed_kmh")
    lon, lat = _col(result.positions, "lon"), _col(result.positions, "lat")
    index = _vehicle_index(result)
    usable = (speed > 0) & ~result.position_jumped
    off_route = _labels(result, Rule.OFF_ROUTE)
    assert off_route
    for label in off_route:
        declared = set(by_number[label["details"]["waybill_no"]]["route_segments"])
        m = usable & (result.position_vehicle == index[label["vehicle_id"]])
        m &= (time_s >= label["start_s"]) & (time_s <= label["end_s"])
        if m.sum() < 5:
            continue  # offline for most of it
        nearest, _ = _nearest_segment(province, lon[m], lat[m])
        assert np.mean([n not in declared for n in nearest]) > 0.8
    labelled = {label["details"]["waybill_no"] for label in off_route}
    checked = 0
    for waybill in waybills:
        if waybill["waybill_no"] in labelled:
            continue
        t0 = waybill["departure"].timestamp()
        m = usable & (result.position_vehicle == index[waybill["vehicle_id"]])
        m &= (time_s >= t0) & (time_s <= t0 + 3 * 3600)
        if m.sum() < 5:
            continue
        nearest, _ = _nearest_segment(province, lon[m], lat[m])
        assert np.mean([n in set(waybill["route_segments"]) for n in nearest]) > 0.9
        checked += 1
    assert checked > 10


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_same_seed_writes_identical_bytes(province: Province, tmp_path: Path) -> None:
    """Two runs with one seed write byte-identical files (names included); another seed differs."""
    fleet = make_fleet(300, seed=2)
    outputs = []
    for seed, name in ((2, "a"), (2, "b"), (3, "c")):
        config = TrafficConfig(start=START, hours=2, seed=seed, od_sources=16)
        write_lake(tmp_path / name, simulate(province, fleet, config))
        write_registers(tmp_path / name, fleet, province)
        outputs.append(_files(tmp_path / name))
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]
    assert any(k.startswith("kind=position/date=2026-01-05/hour=08/") for k in outputs[0])
    table = pq.read_table(tmp_path / "a" / "labels.parquet")
    assert table.column_names == ["rule_id", "vehicle_id", "plate", "plate_colour", "start", "end", "details"]


@pytest.mark.slow
def test_a_100000_vehicle_hour_generates_within_the_stated_rate(province: Province, tmp_path: Path) -> None:
    """100 000 vehicles × 1 h, generated and written (readings and labels), at no less than the
    documented floor in positions per second; routes, province and fleet are built beforehand."""
    fleet = make_fleet(100_000, seed=1)
    config = TrafficConfig(start=datetime(2026, 1, 5, 2, 0, tzinfo=UTC), hours=1, seed=1)
    routes = build_routes(province, Router(province), seed=1, sources=config.od_sources,
                          per_source=config.od_per_source)  # fmt: skip
    began = time.perf_counter()
    result = simulate(province, fleet, config, routes=routes)
    counts = write_lake(tmp_path, result)
    seconds = time.perf_counter() - began
    assert counts["position"] > 1_000_000
    assert counts["position"] / seconds >= RATE_FLOOR_POSITIONS_PER_S


def test_night_speeding_labels_are_over_80_percent_and_under_the_day_limit(result: TrafficResult) -> None:
    """A night-only speeding label is a passenger vehicle at night, every fix in it above 80 % of the
    limit (the applicable night limit) and below the day limit: only the night rule catches it."""
    speed = _col(result.positions, "speed_kmh")
    time_s = _col(result.positions, "time")
    index = _vehicle_index(result)
    labels = _labels(result, Rule.SPEEDING_NIGHT)
    assert labels
    for label in labels:
        v = index[label["vehicle_id"]]
        assert result.vehicles[v].kind.passenger
        m = (result.position_vehicle == v) & (time_s >= label["start_s"]) & (time_s <= label["end_s"])
        assert m.any() and is_night(time_s[m]).all()
        night_limit = result.position_limit_kmh[m]
        day_limit = night_limit / NIGHT_PASSENGER_SHARE
        assert (speed[m] > night_limit).all() and (speed[m] < day_limit).all()


def _driving_in_24h(time_s: np.ndarray, speed: np.ndarray, interval: int) -> tuple[float, float, float]:
    """The most driving (moving fixes × interval) in any 24 h starting at a moving fix, and where."""
    moving = np.sort(time_s[speed > 0])
    if not len(moving):
        return 0.0, 0.0, 0.0
    ends = np.searchsorted(moving, moving + DAY_S, side="right")
    counts = ends - np.arange(len(moving))
    best = int(np.argmax(counts))
    return float(counts[best] * interval), float(moving[best]), float(moving[ends[best] - 1])


def test_daily_fatigue_labels_match_the_driving_in_24_h(result: TrafficResult) -> None:
    """A daily-fatigue label covers more than 8 h of driving within 24 h, recomputed from the fixes,
    with every run in it shorter than the continuous limit (the rests were kept); no unlabelled key
    vehicle drives more than 8 h (plus the labels' half-hour margin) in any 24 h."""
    time_s, speed = _col(result.positions, "time"), _col(result.positions, "speed_kmh")
    index = _vehicle_index(result)
    labelled = {index[row["vehicle_id"]]: row for row in _labels(result, Rule.FATIGUE_DAILY)}
    offline = {index[row["vehicle_id"]] for row in _labels(result, Rule.TERMINAL_OFFLINE)}
    assert labelled
    order = np.argsort(result.position_vehicle, kind="stable")
    bounds = np.flatnonzero(np.diff(result.position_vehicle[order])) + 1
    for chunk in np.split(order, bounds):
        v = int(result.position_vehicle[chunk[0]])
        t, sp = time_s[chunk], speed[chunk]
        if v in labelled:
            row = labelled[v]
            assert row["end_s"] - row["start_s"] <= DAY_S
            if v in offline:
                continue
            m = (t >= row["start_s"]) & (t <= row["end_s"])
            assert np.count_nonzero(sp[m] > 0) * INTERVAL > MAX_DRIVING_PER_DAY_S
            assert all(b - a <= MAX_CONTINUOUS_DAY_S for a, b in _runs(t[m], sp[m], INTERVAL))
        else:
            assert _driving_in_24h(t, sp, INTERVAL)[0] <= MAX_DRIVING_PER_DAY_S + 1_800


def _intervals(rows: list[dict[str, Any]], start: str, end: str) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        out.setdefault(row["vehicle_id"], []).append((row[start].timestamp(), row[end].timestamp()))
    return out


def test_oversize_labels_are_recomputable_from_positions_and_permits(
    result: TrafficResult, province: Province
) -> None:
    """Every moving fix of an oversize truck lies in one of its permits' windows or in a no-permit or
    out-of-time label; a no-permit label overlaps no permit; an out-of-time label's fixes are after
    its permit's end; an off-route label's fixes are off its permit's segments; permitted oversize
    trucks keep under the permit's speed."""
    permits = result.permits.to_pylist()
    assert permits and len({p["permit_no"] for p in permits}) == len(permits)
    by_number = {p["permit_no"]: p for p in permits}
    windows = _intervals(permits, "valid_from", "valid_until")
    time_s, speed = _col(result.positions, "time"), _col(result.positions, "speed_kmh")
    lon, lat = _col(result.positions, "lon"), _col(result.positions, "lat")
    index = _vehicle_index(result)
    moving = (speed > 0) & ~result.position_jumped
    no_permit = _labels(result, Rule.OVERSIZE_NO_PERMIT)
    late = _labels(result, Rule.OVERSIZE_OUT_OF_TIME)
    off = _labels(result, Rule.OVERSIZE_OFF_ROUTE)
    assert no_permit and late and off
    for label in no_permit:
        for a, b in windows.get(label["vehicle_id"], []):
            assert b < label["start_s"] or a > label["end_s"]
    for label in late:
        permit = by_number[label["details"]["permit_no"]]
        until = permit["valid_until"].timestamp()
        assert until == label["start_s"]
        m = moving & (result.position_vehicle == index[label["vehicle_id"]])
        m &= (time_s > until) & (time_s <= label["end_s"])
        assert m.any()
    for label in off:
        declared = set(by_number[label["details"]["permit_no"]]["route_segments"])
        m = moving & (result.position_vehicle == index[label["vehicle_id"]])
        m &= (time_s >= label["start_s"]) & (time_s <= label["end_s"])
        if m.sum() < 5:
            continue  # offline for most of it
        nearest, _ = _nearest_segment(province, lon[m], lat[m])
        assert np.mean([n not in declared for n in nearest]) > 0.8
    covered = _intervals(permits, "valid_from", "valid_until")
    for label in no_permit + late:
        covered.setdefault(label["vehicle_id"], []).append((label["start_s"], label["end_s"]))
    oversize = {v.vehicle_id for v in result.vehicles if v.oversize_capable and v.terminal is not None}
    checked = 0
    for vehicle_id in oversize:
        m = moving & (result.position_vehicle == index[vehicle_id])
        if not m.any():
            continue
        inside = np.zeros(int(m.sum()), dtype=bool)
        for a, b in covered.get(vehicle_id, []):
            inside |= (time_s[m] >= a) & (time_s[m] <= b)
        assert inside.all()
        assert (speed[m] <= Oversize().max_speed_kmh).all()
        checked += 1
    assert checked > 5
