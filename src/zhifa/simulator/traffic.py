"""Traffic with ground truth: a province's fleet driving its expressways for some hours.

Each vehicle follows a day plan by kind (``KIND_PLANS``) that repeats every day, trips run along
cached shortest routes between junctions, and compliant drivers keep the rules of RULES.md §2.
Violations are injected on purpose (``Violations``) and written to a labels table that matches
the readings exactly. Everything is computed as arrays: a trip is a list of *spans*, each moving
at a constant share ``f`` of the piece-wise speed limit (a rest is a span with ``f = 0``), so the
route is indexed by "seconds at the limit" (tau) and a position at time t is one interpolation
of ``tau0 + f (t - t0)`` over all routes' concatenated tau arrays.

Times are seconds from the injected start (UTC); no wall clock is read. Local time is
Asia/Shanghai, UTC+8 without daylight saving (RULES.md §2: night is 22:00-06:00 local).
See docs/simulator.md ("Simulated traffic with ground truth").
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zhifa.domain.overlimit import VehicleConfiguration, gross_mass_limit
from zhifa.domain.readings import SCHEMA_VERSION
from zhifa.domain.vehicles import PlateColour, VehicleKey, VehicleKind
from zhifa.domain.weighings import WeighingReading
from zhifa.simulator.fleet import HAZARDOUS_GOODS, Fleet, FleetKind, FleetVehicle
from zhifa.simulator.province.geo import piece_lengths_m
from zhifa.simulator.province.model import Leg, PlaceKind, Province, Route
from zhifa.simulator.province.routing import Router, route_polyline

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

LOCAL_OFFSET_S = 8 * 3600  # Asia/Shanghai is UTC+8 all year
DAY_S = 86_400
HOUR_S = 3_600
# 道路运输车辆动态监督管理办法 第二十四条 (RULES.md §2): night is 22:00-06:00 [U].
NIGHT_FROM_S, NIGHT_UNTIL_S = 22 * HOUR_S, 6 * HOUR_S
# 办法 第二十四条: continuous driving ≤ 4 h by day, ≤ 2 h at night, rests ≥ 20 min, ≤ 8 h per 24 h.
MAX_CONTINUOUS_DAY_S = 4 * HOUR_S
MAX_CONTINUOUS_NIGHT_S = 2 * HOUR_S
MIN_REST_S = 20 * 60
MAX_DRIVING_PER_DAY_S = 8 * HOUR_S
# 办法 第二十四条: passenger vehicles at night ≤ 80 % of the daytime limit.
NIGHT_PASSENGER_SHARE = 0.8
# RULES.md §2 [S]: long-distance buses do not run 02:00-05:00 local.
BUS_BAN_FROM_S, BUS_BAN_UNTIL_S = 2 * HOUR_S, 5 * HOUR_S
# RULES.md §2 [S]: a speeding event is over the limit continuously for more than 30 s.
SPEEDING_MIN_S = 30

# Caps on the posted limit by kind: 道路交通安全法实施条例 第七十八条 (small passenger cars 120,
# other motor vehicles 100 km/h on expressways); 危险货物道路运输安全管理办法 第四十六条 (hazardous
# goods 80 km/h on expressways); 校车安全管理条例 第三十五条 (school buses 80 km/h on expressways).
CAPS_KMH = (120.0, 100.0, 80.0)
_CAP_OF_KIND = {
    FleetKind.PRIVATE_CAR: 0,
    FleetKind.LONG_DISTANCE_BUS: 1,
    FleetKind.TOUR_COACH: 1,
    FleetKind.HEAVY_TRUCK: 1,
    FleetKind.HAZARDOUS_GOODS: 2,
    FleetKind.SCHOOL_BUS: 2,
}
_KINDS = tuple(FleetKind)
_TRUCK_KINDS = (FleetKind.HEAVY_TRUCK, FleetKind.HAZARDOUS_GOODS)

# What a span is: driving, resting (办法 第二十四条), parked at a place, driving over the limit,
# and a passenger vehicle driving at night over 80 % of the limit but under the day limit.
DRIVE, REST, DWELL, SPEEDING_SPAN, NIGHT_SPEEDING_SPAN = 0, 1, 2, 3, 4


# --- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindPlan:
    """A kind's day plan: ``departures`` are windows (local seconds of day) of the day's trips,
    the n-th trip runs the vehicle's route forward when n + day + vehicle is even (so buses and
    trucks alternate directions day by day, tour coaches and school buses go out and back)."""

    route_km: tuple[float, float]  # length band of the vehicle's route
    departures: tuple[tuple[float, float], ...]  # one window per trip of the day
    speed_share: tuple[float, float]  # cruise speed as a share of the applicable limit
    evening: tuple[float, float] | None = None  # alternative single departure window
    evening_share: float = 0.0  # of vehicles that use it
    return_after: tuple[float, float] | None = None  # a return trip this long after the first
    max_drive_s: float | None = None  # longest trip; None: Compliance.max_trip_drive_s


def _h(hours: float) -> float:
    return hours * HOUR_S


KIND_PLANS: dict[FleetKind, KindPlan] = {
    # 班线客车: one run a day, alternating directions; a share on evening (夜班) departures.
    FleetKind.LONG_DISTANCE_BUS: KindPlan(
        (60, 250), ((_h(6.5), _h(13)),), (0.82, 0.95), evening=(_h(18), _h(19.5)), evening_share=0.15
    ),
    FleetKind.TOUR_COACH: KindPlan((60, 200), ((_h(7.5), _h(9)), (_h(15), _h(16.5))), (0.82, 0.95)),
    FleetKind.SCHOOL_BUS: KindPlan((8, 45), ((_h(6.8), _h(7.3)), (_h(16.3), _h(16.8))), (0.8, 0.95)),
    # Long hauls around the clock, one a day (≤ 8 h of driving, 办法 第二十四条).
    # Out and back (≤ 8 h of driving a day, 办法 第二十四条): out at any hour, back 9-10 h later.
    FleetKind.HAZARDOUS_GOODS: KindPlan((60, 240), ((0, DAY_S),), (0.82, 0.97), return_after=(_h(9), _h(10))),
    FleetKind.HEAVY_TRUCK: KindPlan((80, 300), ((0, DAY_S),), (0.82, 0.96), return_after=(_h(9), _h(10))),
    FleetKind.PRIVATE_CAR: KindPlan((20, 300), ((_h(7), _h(20)),), (0.8, 0.98)),
}
# The trucks chosen for Fatigue: one long haul a day (still < 8 h of driving), driven without a rest.
FATIGUE_PLAN = KindPlan((320, 600), ((0, DAY_S),), (0.85, 0.97), max_drive_s=7.3 * HOUR_S)
# 办法 第二十四条 ≤ 8 h per 24 h: four trips a day, each with compliant stints and rests and parked
# ≥ 40 min between them, so no run is too long but the day's driving (≥ 8.8 h) is.
DAILY_FATIGUE_PLAN = KindPlan(
    (240, 300),
    ((_h(4), _h(4.2)), (_h(9.2), _h(9.4)), (_h(14.4), _h(14.6)), (_h(19.6), _h(19.8))),
    (0.85, 0.96),
)
# 大件运输 (超限规定 第十八-十九条): oversize trucks run slowly, under the permit's speed.
OVERSIZE_PLAN = KindPlan((60, 180), ((0, DAY_S),), (0.55, 0.65), return_after=(_h(9), _h(10)))
# 非法营运: an illegally operating private car shuttles between two cities four times a day.
SHUTTLE_PLAN = KindPlan(
    (50, 130),
    ((_h(7), _h(7.3)), (_h(10.5), _h(10.8)), (_h(14), _h(14.3)), (_h(17.5), _h(17.8))),
    (0.85, 0.98),
)


@dataclass(frozen=True)
class Compliance:
    """How compliant drivers keep 办法 第二十四条: stints below the limits, rests above 20 min."""

    day_stint_s: float = 3.5 * HOUR_S  # < 4 h by day
    night_stint_s: float = 1.75 * HOUR_S  # < 2 h at night: used for a whole trip that touches night
    rest_s: tuple[float, float] = (22 * 60, 40 * 60)  # ≥ 20 min, at a service area when one is near
    max_trip_drive_s: float = 3.6 * HOUR_S  # two trips a day at most: < 8 h per 24 h


@dataclass(frozen=True)
class Speeding:
    """超速 (办法 第二十四条, 条例 第七十八条, 危险货物办法 第四十六条): a stretch of a trip driven
    above the applicable limit (for passenger vehicles at night, 80 % of it)."""

    rate: float = 0.03  # share of key-vehicle trips
    factor: tuple[float, float] = (1.1, 1.3)  # speed as a multiple of the day limit of the kind
    duration_s: tuple[float, float] = (120, 600)  # well over the 30 s of an event
    # The night-only variant: passenger vehicles at night above 80 % of the limit, under 100 %.
    night_rate: float = 0.05  # share of passenger night trips
    night_factor: tuple[float, float] = (0.85, 0.95)  # speed as a multiple of the day limit


@dataclass(frozen=True)
class Fatigue:
    """疲劳驾驶 (办法 第二十四条): a truck's daily long haul (more than 4 h 15 min) driven without a rest."""

    rate: float = 0.01  # share of key trucks and hazardous-goods vehicles, on a long haul every day
    daily_rate: float = 0.01  # share of key heavy trucks on DAILY_FATIGUE_PLAN: > 8 h per 24 h


@dataclass(frozen=True)
class NightBus:
    """Long-distance bus running 02:00-05:00 (RULES.md §2 [S]): a night departure."""

    rate: float = 0.02  # share of buses
    departure: tuple[float, float] = (_h(1), _h(3.5))


@dataclass(frozen=True)
class Dwell:
    """Stop within a water source's (危险货物办法 第四十九条, RULES.md §6) or a school's [S] geofence:
    a hazardous-goods vehicle parks there at the end of a trip. The access road from the junction
    is not modelled: the track steps from the junction to the place."""

    rate: float = 0.05  # share of hazardous-goods trips ending at a junction near such a place
    minutes: tuple[float, float] = (10, 30)
    reach_m: float = 3_500  # places this close to the trip's end junction qualify


@dataclass(frozen=True)
class Offline:
    """Terminal offline while the vehicle drives on (RULES.md §2: 上线率, 轨迹完整率)."""

    rate: float = 0.01  # share of key vehicles with positions in the window
    minutes: tuple[float, float] = (15, 45)


@dataclass(frozen=True)
class Jumps:
    """定位漂移: a burst of 1-3 consecutive positions displaced by kilometres."""

    rate: float = 0.005  # share of key vehicles
    km: tuple[float, float] = (2, 15)
    burst: tuple[int, int] = (1, 3)


@dataclass(frozen=True)
class Overlimit:
    """超限 (超限规定 第三条): weighings of trucks around their gross-mass limit."""

    share: float = 0.12  # over the limit
    excess: tuple[float, float] = (1.06, 1.6)  # clear of any device tolerance (RULES.md §1)
    compliant: tuple[float, float] = (0.35, 0.97)


@dataclass(frozen=True)
class Waybills:
    """Hazardous-goods trips and their e-waybills (危险货物办法 第二十四条, RULES.md §6): a share
    runs without one (第六十条) and a share off the route it declares."""

    missing: float = 0.03  # share of hazardous-goods trips without a waybill
    off_route: float = 0.03  # share whose waybill declares another route


@dataclass(frozen=True)
class Oversize:
    """大件运输 (超限规定 第十八-十九条, 第四十七条; RULES.md §6): every trip of an oversize-capable
    heavy truck with a terminal carries a permit (route, time window, speed); a share runs without
    one, off the permitted route, or past the end of the permit's window."""

    missing: float = 0.04  # share of oversize trips without a permit
    off_route: float = 0.04  # whose permit names a route sharing no segment with the one driven
    out_of_time: float = 0.04  # whose permit ends while the trip is still on the road
    max_speed_kmh: int = 70  # the permit's speed; OVERSIZE_PLAN keeps below it
    margin_s: float = HOUR_S  # a compliant window: from this before departure to this after arrival


@dataclass(frozen=True)
class Violations:
    speeding: Speeding = field(default_factory=Speeding)
    fatigue: Fatigue = field(default_factory=Fatigue)
    night_bus: NightBus = field(default_factory=NightBus)
    dwell: Dwell = field(default_factory=Dwell)
    offline: Offline = field(default_factory=Offline)
    jumps: Jumps = field(default_factory=Jumps)
    overlimit: Overlimit = field(default_factory=Overlimit)
    waybills: Waybills = field(default_factory=Waybills)
    oversize: Oversize = field(default_factory=Oversize)


@dataclass(frozen=True)
class TrafficConfig:
    start: datetime  # aware; the first instant simulated
    hours: float
    seed: int
    interval_s: int = 30  # JT/T 808 reporting interval (RULES.md §2 reporting)
    compliance: Compliance = field(default_factory=Compliance)
    violations: Violations = field(default_factory=Violations)
    od_sources: int = 64  # junctions trips start from: routes are cached per origin-destination pair
    od_per_source: int = 12


class Rule:
    """Label rule ids; the article each tests is in the parameter class that injects it."""

    SPEEDING = "speeding"
    SPEEDING_NIGHT = "speeding_night_passenger"
    FATIGUE_CONTINUOUS = "fatigue_continuous"
    FATIGUE_DAILY = "fatigue_daily"
    BUS_NIGHT_BAN = "bus_night_ban"
    DWELL_SCHOOL = "dwell_school"
    DWELL_WATER_SOURCE = "dwell_water_source"
    TERMINAL_OFFLINE = "terminal_offline"
    POSITION_JUMP = "position_jump"
    CLONED_PLATE = "cloned_plate"
    OVERLIMIT = "overlimit"
    ILLEGAL_OPERATION = "illegal_passenger_operation"
    NO_WAYBILL = "hazardous_no_waybill"
    OFF_ROUTE = "hazardous_off_route"
    OVERSIZE_NO_PERMIT = "oversize_no_permit"
    OVERSIZE_OFF_ROUTE = "oversize_off_route"
    OVERSIZE_OUT_OF_TIME = "oversize_out_of_time"


def _rng(seed: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, purpose])


# --- routes -------------------------------------------------------------------------------------


@dataclass
class RouteSet:
    """Cached routes laid end to end in global arrays (per cap class: the tau axis differs)."""

    routes: list[Route]
    reverse: I64
    length_m: F64
    first: I64  # index of each route's first point
    count: I64  # points per route
    lon: F64
    lat: F64
    limit: F64  # posted limit of the piece starting at each point (0 after a route's last)
    heading: F64  # degrees of that piece
    tau: F64  # (3, P): seconds at the capped limit from the route's start, plus the route's base
    base: F64  # (3, R)
    total: F64  # (3, R)
    end_node: I64
    tau_flat: F64 = field(default_factory=lambda: np.zeros(0))  # the three axes end to end
    axis_offset: F64 = field(default_factory=lambda: np.zeros(3))  # of each axis in tau_flat
    # places on routes, sorted by (route, distance): gantries, weighing sites, service areas
    sites: dict[PlaceKind, tuple[I64, F64, list[str], BOOL]] = field(default_factory=dict)

    def eligible(self, km: tuple[float, float], cap: int, max_drive_s: float, min_share: float) -> I64:
        ok = (self.length_m >= km[0] * 1000) & (self.length_m <= km[1] * 1000)
        ok &= self.total[cap] / min_share <= max_drive_s
        found = np.flatnonzero(ok)
        if len(found):
            return found
        # Too few junction pairs in the band (small graphs): the routes closest to it.
        gap = np.abs(self.length_m - np.clip(self.length_m, km[0] * 1000, km[1] * 1000))
        gap[self.total[cap] / min_share > max_drive_s] = np.inf
        return np.argsort(gap, kind="stable")[:8]


def _reverse(route: Route) -> Route:
    legs = tuple(Leg(leg.segment, not leg.forward) for leg in reversed(route.legs))
    return Route(route.end, route.start, legs, route.length_m)


def build_routes(province: Province, router: Router, *, seed: int, sources: int, per_source: int) -> RouteSet:
    rng = _rng(seed, 1)
    junctions = np.array(router.junction_nodes(), dtype=np.int64)
    lonlat = np.array([[province.nodes[n].lon, province.nodes[n].lat] for n in junctions])
    picked = rng.choice(len(junctions), size=min(sources, len(junctions)), replace=False)
    routes: list[Route] = []
    seen: set[tuple[int, int]] = set()
    for s in sorted(picked.tolist()):
        dx = (lonlat[:, 0] - lonlat[s, 0]) * 94_000  # metres per degree at Anhui's latitude
        dy = (lonlat[:, 1] - lonlat[s, 1]) * 111_000
        crow = np.hypot(dx, dy)
        near = np.flatnonzero((crow > 6_000) & (crow < 35_000))
        near_pick = rng.choice(near, size=min(3, len(near)), replace=False) if len(near) else near
        far = rng.choice(len(junctions), size=per_source, replace=False)
        for d in sorted({*near_pick.tolist(), *far.tolist()}):
            a, b = int(junctions[s]), int(junctions[d])
            if a == b or (a, b) in seen or (b, a) in seen:
                continue
            route = router.route(a, b)
            if route.length_m < 5_000:
                continue
            seen.add((a, b))
            routes.extend((route, _reverse(route)))
    return _lay_out(province, routes)


def _lay_out(province: Province, routes: list[Route]) -> RouteSet:
    n_routes = len(routes)
    lons, lats, limits, headings, counts, lengths = [], [], [], [], [], []
    taus: list[list[F64]] = [[], [], []]
    base = np.zeros((3, n_routes))
    total = np.zeros((3, n_routes))
    offsets = np.zeros(3)
    cums: list[F64] = []
    placed: dict[PlaceKind, list[tuple[int, float, str, bool]]] = {
        PlaceKind.GANTRY: [],
        PlaceKind.WEIGHING_SITE: [],
        PlaceKind.SERVICE_AREA: [],
    }
    by_segment: dict[int, list[tuple[PlaceKind, float, str]]] = {}
    for place in province.places:
        if place.kind in placed and place.segment is not None and place.offset_m is not None:
            by_segment.setdefault(place.segment, []).append((place.kind, place.offset_m, place.id))
    for r, route in enumerate(routes):
        coords, cum, limit, _ = route_polyline(province, route)
        lengths.append(cum[-1])
        cums.append(cum)
        pieces = piece_lengths_m(coords)
        lons.append(coords[:, 0])
        lats.append(coords[:, 1])
        limits.append(np.append(limit, 0.0))
        dlon = np.diff(coords[:, 0]) * np.cos(np.radians(coords[:-1, 1]))
        heading = (np.degrees(np.arctan2(dlon, np.diff(coords[:, 1]))) + 360.0) % 360.0
        headings.append(np.append(heading, 0.0))
        counts.append(len(coords))
        route_taus = []
        for c, cap in enumerate(CAPS_KMH):
            seconds = np.concatenate(([0.0], np.cumsum(pieces / (np.minimum(limit, cap) / 3.6))))
            base[c, r] = offsets[c]
            total[c, r] = seconds[-1]
            taus[c].append(seconds + offsets[c])
            route_taus.append(seconds)
            # A second's gap keeps consecutive routes apart on the global axis.
            offsets[c] += seconds[-1] + 1.0
        # Where the route passes each place: along the leg, in the leg's own direction.
        start_of_leg = 0
        for leg in route.legs:
            segment = province.segments[leg.segment]
            n = len(segment.coords) - 1
            leg_from, leg_len = cum[start_of_leg], cum[start_of_leg + n] - cum[start_of_leg]
            for kind, offset, place_id in by_segment.get(leg.segment, ()):
                along = min(offset / segment.length_m, 1.0) if segment.length_m > 0 else 0.0
                if not leg.forward:
                    along = 1.0 - along
                placed[kind].append((r, float(leg_from + along * leg_len), place_id, leg.forward))
            start_of_leg += n
    first = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    rs = RouteSet(
        routes=routes,
        reverse=np.arange(n_routes, dtype=np.int64) ^ 1,
        length_m=np.array(lengths),
        first=first,
        count=np.array(counts, dtype=np.int64),
        lon=np.concatenate(lons),
        lat=np.concatenate(lats),
        limit=np.concatenate(limits),
        heading=np.concatenate(headings),
        tau=np.vstack([np.concatenate(t) for t in taus]),
        base=base,
        total=total,
        end_node=np.array([route.end for route in routes], dtype=np.int64),
    )
    step = float(rs.tau.max()) + 10.0
    rs.axis_offset = np.arange(3, dtype=np.float64) * step
    rs.tau_flat = (rs.tau + rs.axis_offset[:, None]).ravel()
    for kind, rows in placed.items():
        rows.sort(key=lambda row: (row[0], row[1], row[2]))
        route_of = np.array([row[0] for row in rows], dtype=np.int64)
        # tau of the place on each cap axis, through the route's own metres-to-seconds table
        tau = np.zeros((3, len(rows)))
        for i, (r, d, _, _) in enumerate(rows):
            a, n = rs.first[r], rs.count[r]
            for c in range(3):
                tau[c, i] = np.interp(d, cums[r], rs.tau[c, a : a + n])
        rs.sites[kind] = (route_of, tau, [row[2] for row in rows], np.array([row[3] for row in rows]))
    return rs


# --- results ------------------------------------------------------------------------------------


@dataclass
class TrafficResult:
    """Readings as Arrow tables in the lake's columns, the labels, and truths the tests use."""

    start: datetime
    hours: float
    positions: pa.Table
    passages: pa.Table
    weighings: pa.Table
    labels: pa.Table
    # per position, not written: the vehicle index, the applicable limit, the span kind, whether
    # it was displaced on purpose, and the undisplaced coordinates
    position_vehicle: I64
    position_limit_kmh: F64
    position_span_kind: I64
    position_jumped: BOOL
    passage_vehicle: I64
    waybills: pa.Table
    permits: pa.Table
    vehicles: tuple[FleetVehicle, ...]
    routes: RouteSet


# --- the engine ---------------------------------------------------------------------------------


def _night_seconds(epoch: F64) -> F64:
    """Cumulative seconds of night (22:00-06:00 local) up to each epoch second."""
    local = epoch + LOCAL_OFFSET_S
    day, tod = np.divmod(local, DAY_S)
    seconds: F64 = day * 8 * HOUR_S + np.minimum(tod, NIGHT_UNTIL_S) + np.clip(tod - NIGHT_FROM_S, 0, None)
    return seconds


def _ban_seconds(epoch: F64) -> F64:
    """Cumulative seconds of the bus ban (02:00-05:00 local) up to each epoch second."""
    day, tod = np.divmod(epoch + LOCAL_OFFSET_S, DAY_S)
    seconds: F64 = day * 3 * HOUR_S + np.clip(tod - BUS_BAN_FROM_S, 0, BUS_BAN_UNTIL_S - BUS_BAN_FROM_S)
    return seconds


def night_overlap(t0: F64, t1: F64) -> tuple[F64, F64]:
    """The longest stretch of night (22:00-06:00 local) inside each ``[t0, t1]`` (< 16 h long);
    ``hi <= lo`` where there is none."""
    day = np.floor((t0 + LOCAL_OFFSET_S) / DAY_S) * DAY_S - LOCAL_OFFSET_S
    lo1, hi1 = np.maximum(t0, day - (DAY_S - NIGHT_FROM_S)), np.minimum(t1, day + NIGHT_UNTIL_S)
    lo2, hi2 = np.maximum(t0, day + NIGHT_FROM_S), np.minimum(t1, day + DAY_S + NIGHT_UNTIL_S)
    first = (hi1 - lo1) >= (hi2 - lo2)
    return np.where(first, lo1, lo2), np.where(first, hi1, hi2)


def is_night(epoch: F64) -> BOOL:
    tod = np.mod(epoch + LOCAL_OFFSET_S, DAY_S)
    return (tod >= NIGHT_FROM_S) | (tod < NIGHT_UNTIL_S)


@dataclass
class _Trips:
    vehicle: I64
    route: I64
    cap: I64
    depart: F64  # epoch seconds
    share: F64
    no_rest: BOOL
    speeding: BOOL
    dwell_place: I64  # -1: none
    dwell_s: F64


@dataclass
class _Spans:
    trip: I64
    kind: I64
    tau0: F64  # on the global axis of the trip's cap
    tau1: F64
    share: F64
    t0: F64
    t1: F64


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> F64:
    return rng.uniform(bounds[0], bounds[1], n)


class _Engine:
    def __init__(self, province: Province, fleet: Fleet, routes: RouteSet, config: TrafficConfig) -> None:
        self.province = province
        self.fleet = fleet
        self.routes = routes
        self.config = config
        self.vehicles = fleet.all_vehicles
        self.start = config.start.timestamp()
        self.end = self.start + config.hours * HOUR_S
        # The fleet's columns, one comprehension each (cheaper than one pass building tuples).
        number = {kind: k for k, kind in enumerate(_KINDS)}
        vs = self.vehicles
        self.kind_index = np.array([number[v.kind] for v in vs], dtype=np.int64)
        self.phones: list[str] = [v.terminal.phone if v.terminal else "" for v in vs]
        self.plates: list[str] = [v.plate for v in vs]
        self.colours = np.array([v.colour for v in vs], dtype=np.int8)
        self.vehicle_ids: list[str] = [v.vehicle_id for v in vs]
        self.road_axles = np.array([v.road_axles or 2 for v in vs], dtype=np.int8)
        self.seats = np.array([v.seats or 5 for v in vs], dtype=np.int64)
        self.illegal = np.array([v.illegal_operation for v in vs], dtype=bool)
        self.oversize_capable = np.array([v.oversize_capable for v in vs], dtype=bool)
        self.has_terminal = np.array([p != "" for p in self.phones], dtype=bool)
        self.passenger = np.isin(self.kind_index, [number[k] for k in _KINDS if k.passenger])
        self.fatigued = np.zeros(len(self.vehicles), dtype=bool)
        self.daily_fatigued = np.zeros(len(self.vehicles), dtype=bool)
        self.oversize = np.zeros(len(self.vehicles), dtype=bool)

    def toll_class(self) -> npt.NDArray[np.int8]:
        """JT/T 489-2019 class per vehicle: 客1-4 by seats, 货11-16 by axles ."""
        truck = np.isin(self.kind_index, [_KINDS.index(k) for k in _TRUCK_KINDS])
        goods = 10 + np.clip(self.road_axles.astype(np.int64) - 1, 1, 6)
        seats = self.seats
        passenger = np.where(seats <= 9, 1, np.where(seats <= 19, 2, np.where(seats <= 39, 3, 4)))
        return np.where(truck, goods, passenger).astype(np.int8)

    # - plans -
    def plan(self) -> _Trips:
        seed = self.config.seed
        rng = _rng(seed, 2)
        comp = self.config.compliance
        first_day = math.floor((self.start + LOCAL_OFFSET_S) / DAY_S) - 1
        last_day = math.floor((self.end + LOCAL_OFFSET_S) / DAY_S)
        days = np.arange(first_day, last_day + 1)
        vs, rs, caps, deps, shares = [], [], [], [], []
        n_vehicles = len(self.vehicles)
        illegal = self.illegal
        night_bus = np.zeros(n_vehicles, dtype=bool)
        for k, kind in enumerate(_KINDS):
            members = np.flatnonzero(self.kind_index == k)
            groups = [(members[~illegal[members]], KIND_PLANS[kind])]
            if kind is FleetKind.PRIVATE_CAR:
                groups.append((members[illegal[members]], SHUTTLE_PLAN))
            if kind in _TRUCK_KINDS:
                fat = self.config.violations.fatigue
                draw = rng.random(len(members))
                key = self.has_terminal[members]
                capable = self.oversize_capable[members]
                oversize = key & capable & (kind is FleetKind.HEAVY_TRUCK)
                tired = key & ~oversize & (draw < fat.rate)
                daily = key & ~oversize & (draw >= fat.rate) & (draw < fat.rate + fat.daily_rate)
                daily &= kind is FleetKind.HEAVY_TRUCK
                regular = ~(tired | daily | oversize)
                groups = [
                    (members[regular], KIND_PLANS[kind]),
                    (members[tired], FATIGUE_PLAN),
                    (members[daily], DAILY_FATIGUE_PLAN),
                    (members[oversize], OVERSIZE_PLAN),
                ]
                self.fatigued[members[tired]] = True
                self.daily_fatigued[members[daily]] = True
                self.oversize[members[oversize]] = True
            for group, plan in groups:
                if not len(group):
                    continue
                cap = _CAP_OF_KIND[kind]
                max_drive = plan.max_drive_s or comp.max_trip_drive_s
                pool = self.routes.eligible(plan.route_km, cap, max_drive, plan.speed_share[0])
                route = pool[rng.integers(0, len(pool), len(group))]
                share = _uniform(rng, plan.speed_share, len(group))
                windows = [_uniform(rng, w, len(group)) for w in plan.departures]
                if plan.evening is not None:
                    evening = rng.random(len(group)) < plan.evening_share
                    windows[0] = np.where(evening, _uniform(rng, plan.evening, len(group)), windows[0])
                if plan.return_after is not None:
                    windows.append(windows[0] + _uniform(rng, plan.return_after, len(group)))
                if kind is FleetKind.LONG_DISTANCE_BUS:
                    ban = rng.random(len(group)) < self.config.violations.night_bus.rate
                    night_bus[group[ban]] = True
                    windows[0] = np.where(
                        ban, _uniform(rng, self.config.violations.night_bus.departure, len(group)), windows[0]
                    )
                for n, window in enumerate(windows):
                    for day in days:
                        # Out-and-back plans start from home each day; single trips alternate.
                        forward = (
                            (n + day + group) % 2 == 0
                            if len(windows) % 2
                            else np.full(len(group), n % 2 == 0)
                        )
                        vs.append(group)
                        rs.append(np.where(forward, route, self.routes.reverse[route]))
                        caps.append(np.full(len(group), cap))
                        deps.append(day * DAY_S - LOCAL_OFFSET_S + window)
                        shares.append(share)
        self.night_bus = night_bus
        trips = _Trips(
            vehicle=np.concatenate(vs),
            route=np.concatenate(rs),
            cap=np.concatenate(caps),
            depart=np.concatenate(deps).astype(np.float64),
            share=np.concatenate(shares),
            no_rest=np.zeros(0, dtype=bool),
            speeding=np.zeros(0, dtype=bool),
            dwell_place=np.zeros(0, dtype=np.int64),
            dwell_s=np.zeros(0),
        )
        order = np.lexsort((trips.depart, trips.vehicle))
        for name in ("vehicle", "route", "cap", "depart", "share"):
            setattr(trips, name, getattr(trips, name)[order])
        self._clones(trips)
        return trips

    def _clones(self, trips: _Trips) -> None:
        """A clone (套牌) drives another route at the same times as the vehicle it copies."""
        # Clones follow the register in ``all_vehicles``.
        clones = range(len(self.fleet.vehicles), len(self.vehicles))
        wanted = {self.vehicles[i].clone_of for i in clones}
        index = {vid: i for i, vid in enumerate(self.vehicle_ids) if vid in wanted}
        self.clone_pairs: list[tuple[int, int]] = []
        for i in clones:
            vehicle = self.vehicles[i]
            if vehicle.clone_of is None or vehicle.clone_of not in index:
                continue
            original = index[vehicle.clone_of]
            mine, theirs = trips.vehicle == i, trips.vehicle == original
            if mine.sum() != theirs.sum():
                continue
            ends = self.routes.end_node[trips.route[theirs]]
            elsewhere = (np.flatnonzero(theirs) * 7 + i) % len(self.routes.routes)
            # Another route than the original's, and not one ending at the same junction.
            elsewhere = np.where(
                self.routes.end_node[elsewhere] == ends, (elsewhere + 1) % len(self.routes.routes), elsewhere
            )
            trips.route[mine] = elsewhere
            trips.depart[mine] = trips.depart[theirs]
            trips.cap[mine] = _CAP_OF_KIND[vehicle.kind]
            self.clone_pairs.append((original, i))

    def inject(self, trips: _Trips) -> None:
        viol = self.config.violations
        rng = _rng(self.config.seed, 3)
        n = len(trips.vehicle)
        key = self.has_terminal[trips.vehicle]
        kinds = self.kind_index[trips.vehicle]
        truck = np.isin(kinds, [_KINDS.index(k) for k in _TRUCK_KINDS])
        drive = self.routes.total[trips.cap, trips.route] / trips.share
        trips.no_rest = truck & key & self.fatigued[trips.vehicle] & (drive > 4.25 * HOUR_S)
        # Oversize trucks keep under their permit's speed: no speeding stretch for them.
        trips.speeding = key & (rng.random(n) < viol.speeding.rate) & ~self.oversize[trips.vehicle]
        trips.dwell_place = np.full(n, -1, dtype=np.int64)
        trips.dwell_s = np.zeros(n)
        places = [p for p in self.province.places if p.kind in (PlaceKind.SCHOOL, PlaceKind.WATER_SOURCE)]
        self.dwell_places = places
        if places:
            plon = np.array([p.lon for p in places])
            plat = np.array([p.lat for p in places])
            hazardous = key & (kinds == _KINDS.index(FleetKind.HAZARDOUS_GOODS))
            chosen = np.flatnonzero(hazardous & (rng.random(n) < viol.dwell.rate))
            for t in chosen:
                node = self.province.nodes[int(self.routes.end_node[trips.route[t]])]
                dist = np.hypot((plon - node.lon) * 94_000, (plat - node.lat) * 111_000)
                best = int(np.argmin(dist))
                if dist[best] <= viol.dwell.reach_m:
                    trips.dwell_place[t] = best
                    trips.dwell_s[t] = rng.uniform(*viol.dwell.minutes) * 60

    # - spans -
    def latest_end(self, trips: _Trips) -> F64:
        """When each trip ends at the latest: at the night share and stint, every rest the longest."""
        comp = self.config.compliance
        passenger = self.passenger[trips.vehicle]
        slowest = np.where(passenger, trips.share * NIGHT_PASSENGER_SHARE, trips.share)
        drive = self.routes.total[trips.cap, trips.route] / slowest
        rests = np.ceil(drive / comp.night_stint_s) * comp.rest_s[1]
        ends: F64 = trips.depart + drive + rests + trips.dwell_s
        return ends

    def spans(self, trips: _Trips) -> _Spans:
        """Each trip as spans. A trip that may touch night is planned for night as a whole: the
        night stint and, for passenger vehicles, 80 % of the limit (办法 第二十四条)."""
        comp = self.config.compliance
        passenger = self.passenger[trips.vehicle]
        latest = self.latest_end(trips)
        night_trip = (_night_seconds(latest) - _night_seconds(trips.depart)) > 0
        share = np.where(passenger & night_trip, trips.share * NIGHT_PASSENGER_SHARE, trips.share)
        stint = np.where(night_trip, comp.night_stint_s, comp.day_stint_s)
        spans = self._trip_spans(trips, share, stint, _rng(self.config.seed, 5))
        self.trip_share = share
        self.night_trip = night_trip
        return self._split_night_speeding(trips, spans, passenger & night_trip)

    def _split_night_speeding(self, trips: _Trips, spans: _Spans, night_passenger: BOOL) -> _Spans:
        """The night-only variant: a stretch of a passenger night trip's driving, wholly at night,
        above 80 % of the limit and under the day limit (办法 第二十四条)."""
        sp = self.config.violations.speeding
        rng = _rng(self.config.seed, 12)
        key = self.has_terminal[trips.vehicle]
        chosen = key & night_passenger & ~trips.speeding & (rng.random(len(trips.vehicle)) < sp.night_rate)
        lo, hi = night_overlap(spans.t0, spans.t1)
        wanted = _uniform(rng, sp.duration_s, len(spans.trip))
        fits = (spans.kind == DRIVE) & chosen[spans.trip] & (hi - lo >= wanted + 240)
        # The first fitting drive span of each chosen trip.
        idx = np.flatnonzero(fits)
        idx = idx[np.r_[True, spans.trip[idx][1:] != spans.trip[idx][:-1]]] if len(idx) else idx
        factor = _uniform(rng, sp.night_factor, len(idx))
        at_time = lo[idx] + 120 + rng.random(len(idx)) * (hi[idx] - lo[idx] - wanted[idx] - 240)
        at = spans.tau0[idx] + spans.share[idx] * (at_time - spans.t0[idx])
        length = wanted[idx] * factor
        if not len(idx):
            return spans
        duration = spans.t1 - spans.t0
        return self._split(trips, spans, duration, idx, at, length, factor, NIGHT_SPEEDING_SPAN)

    def _trip_spans(self, trips: _Trips, share: F64, stint: F64, rng: np.random.Generator) -> _Spans:
        comp = self.config.compliance
        routes = self.routes
        cap, route = trips.cap, trips.route
        total = routes.total[cap, route]
        base = routes.base[cap, route]
        n = len(route)
        # Rest points: the last service area before the stint runs out, else where it runs out.
        sa_route, sa_tau, _, _ = routes.sites[PlaceKind.SERVICE_AREA]
        rests: list[F64] = []
        pos = np.zeros(n)
        active = ~trips.no_rest
        step = stint * share
        while True:
            target = pos + step
            active &= target < total
            if not active.any():
                break
            rest = target.copy()
            if len(sa_tau[0]):
                glob = base + target
                idx = np.empty(n, dtype=np.int64)
                for c in range(3):
                    m = cap == c
                    idx[m] = np.searchsorted(sa_tau[c], glob[m], side="right") - 1
                ok = idx >= 0
                cand = np.where(ok, sa_tau[cap, np.maximum(idx, 0)] - base, -1.0)
                ok &= (np.where(ok, sa_route[np.maximum(idx, 0)], -1) == route) & (cand > pos + 0.5 * step)
                rest = np.where(ok, cand, target)
            rest = np.where(active, rest, np.nan)
            rests.append(rest)
            pos = np.where(active, rest, pos)
        r = np.vstack(rests).T if rests else np.zeros((n, 0))
        n_rests = (~np.isnan(r)).sum(axis=1)
        bounds = np.hstack([np.zeros((n, 1)), np.nan_to_num(r, nan=np.inf), np.full((n, 1), np.inf)])
        bounds = np.minimum(bounds, total[:, None])
        has_dwell = trips.dwell_place >= 0
        per_trip = 2 * n_rests + 1 + has_dwell
        trip = np.repeat(np.arange(n), per_trip)
        j = np.arange(len(trip)) - np.repeat(np.cumsum(per_trip) - per_trip, per_trip)
        last = per_trip[trip] - 1
        dwell = has_dwell[trip] & (j == last)
        kind = np.where(dwell, DWELL, np.where(j % 2 == 0, DRIVE, REST))
        k = j // 2
        tau0 = np.where(kind == DRIVE, bounds[trip, k], bounds[trip, np.minimum(k + 1, bounds.shape[1] - 1)])
        tau1 = np.where(kind == DRIVE, bounds[trip, np.minimum(k + 1, bounds.shape[1] - 1)], tau0)
        tau0 = np.where(dwell, total[trip], tau0)
        tau1 = np.where(dwell, total[trip], tau1)
        f = np.where(kind == DRIVE, share[trip], 0.0)
        duration = np.where(kind == DRIVE, (tau1 - tau0) / np.maximum(f, 1e-9), 0.0)
        rest_s = _uniform(rng, comp.rest_s, len(trip))
        duration = np.where(kind == REST, rest_s, duration)
        duration = np.where(dwell, trips.dwell_s[trip], duration)
        spans = _Spans(trip, kind, tau0 + base[trip], tau1 + base[trip], f, np.zeros(0), np.zeros(0))
        spans = self._split_speeding(trips, spans, duration)
        return spans

    def _split_speeding(self, trips: _Trips, spans: _Spans, duration: F64) -> _Spans:
        """Cut a speeding stretch out of the first drive span of each selected trip."""
        sp = self.config.violations.speeding
        rng = _rng(self.config.seed, 6)
        first_drive = np.r_[True, spans.trip[1:] != spans.trip[:-1]]
        pick = first_drive & trips.speeding[spans.trip] & (duration > 20 * 60)
        idx = np.flatnonzero(pick)
        factor = _uniform(rng, sp.factor, len(idx))
        length = _uniform(rng, sp.duration_s, len(idx)) * factor
        span_len = spans.tau1[idx] - spans.tau0[idx]
        length = np.minimum(length, 0.5 * span_len)
        at = spans.tau0[idx] + rng.uniform(0.1, 0.4, len(idx)) * span_len
        return self._split(trips, spans, duration, idx, at, length, factor, SPEEDING_SPAN)

    @staticmethod
    def _split(
        trips: _Trips, spans: _Spans, duration: F64, idx: I64, at: F64, length: F64, factor: F64, code: int
    ) -> _Spans:
        """Cut ``[at, at + length)`` (tau) out of the spans ``idx``, driven at ``factor``, as a
        span of kind ``code``; the spans' times follow from the durations."""
        order = np.arange(len(spans.trip), dtype=np.float64)
        keep = np.ones(len(spans.trip), dtype=bool)
        keep[idx] = False
        parts = [
            (spans.tau0[idx], at, spans.share[idx], 0.1),
            (at, at + length, factor, 0.2),
            (at + length, spans.tau1[idx], spans.share[idx], 0.3),
        ]
        trip = np.concatenate([spans.trip[keep], *[spans.trip[idx]] * 3])
        kind = np.concatenate(
            [
                spans.kind[keep],
                np.full(len(idx), DRIVE),
                np.full(len(idx), code),
                np.full(len(idx), DRIVE),
            ]
        )
        tau0 = np.concatenate([spans.tau0[keep], *[p[0] for p in parts]])
        tau1 = np.concatenate([spans.tau1[keep], *[p[1] for p in parts]])
        f = np.concatenate([spans.share[keep], *[p[2] for p in parts]])
        dur = np.concatenate([duration[keep], *[(p[1] - p[0]) / p[2] for p in parts]])
        key = np.concatenate([order[keep], *[order[idx] + p[3] for p in parts]])
        o = np.argsort(key, kind="stable")
        trip, kind, tau0, tau1, f, dur = trip[o], kind[o], tau0[o], tau1[o], f[o], dur[o]
        end = np.cumsum(dur)
        first = np.r_[True, trip[1:] != trip[:-1]]
        start_of_trip = np.maximum.accumulate(np.where(first, end - dur, 0.0))
        t0 = trips.depart[trip] + (end - dur - start_of_trip)
        return _Spans(trip, kind, tau0, tau1, f, t0, t0 + dur)


def _labels_table(rows: list[tuple[str, str, str, int, int, int, str]]) -> pa.Table:
    rows.sort(key=lambda r: (r[0], r[4], r[1], r[5]))
    schema = LABELS_SCHEMA
    cols: list[tuple[object, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in range(7)]
    return pa.table(
        [
            pa.array(cols[0], pa.string()),
            pa.array(cols[1], pa.string()),
            pa.array(cols[2], pa.string()),
            pa.array(cols[3], pa.int8()),
            pa.array(cols[4], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            pa.array(cols[5], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            pa.array(cols[6], pa.string()),
        ],
        schema=schema,
    )


WAYBILL_SCHEMA = pa.schema(
    [
        pa.field("waybill_no", pa.string(), False),
        pa.field("vehicle_id", pa.string(), False),
        pa.field("plate", pa.string(), False),
        pa.field("plate_colour", pa.int8(), False),
        pa.field("transport_certificate", pa.string()),
        pa.field("driver_id", pa.string()),
        pa.field("escort_id", pa.string()),
        pa.field("un_number", pa.string(), False),
        pa.field("goods_name", pa.string(), False),
        pa.field("hazard_class", pa.string(), False),
        pa.field("origin_node", pa.int64(), False),
        pa.field("destination_node", pa.int64(), False),
        pa.field("route_nodes", pa.list_(pa.int64()), False),
        pa.field("route_segments", pa.list_(pa.int64()), False),
        pa.field("departure", pa.timestamp("us", tz="UTC"), False),
        pa.field("departure_date", pa.string(), False),  # local (Asia/Shanghai) date
    ]
)

# 大件运输通行证 (超限规定 第十八-十九条): the vehicle, the permitted route, window and speed.
PERMIT_SCHEMA = pa.schema(
    [
        pa.field("permit_no", pa.string(), False),
        pa.field("vehicle_id", pa.string(), False),
        pa.field("plate", pa.string(), False),
        pa.field("plate_colour", pa.int8(), False),
        pa.field("trailer_plate", pa.string()),
        pa.field("origin_node", pa.int64(), False),
        pa.field("destination_node", pa.int64(), False),
        pa.field("route_nodes", pa.list_(pa.int64()), False),
        pa.field("route_segments", pa.list_(pa.int64()), False),
        pa.field("valid_from", pa.timestamp("us", tz="UTC"), False),
        pa.field("valid_until", pa.timestamp("us", tz="UTC"), False),
        pa.field("max_speed_kmh", pa.int16(), False),
    ]
)

LABELS_SCHEMA = pa.schema(
    [
        pa.field("rule_id", pa.string(), False),
        pa.field("vehicle_id", pa.string(), False),
        pa.field("plate", pa.string(), False),
        pa.field("plate_colour", pa.int8(), False),
        pa.field("start", pa.timestamp("us", tz="UTC"), False),
        pa.field("end", pa.timestamp("us", tz="UTC"), False),
        pa.field("details", pa.string(), False),
    ]
)


def _positions_along(routes: RouteSet, cap: I64, route: I64, g: F64) -> tuple[F64, F64, F64, F64]:
    """lon, lat, posted limit and heading at global tau ``g`` on each (cap, route).

    Per fix arrays are large (1.6 M for a 100 000-vehicle hour): the arithmetic runs in place to
    keep fresh allocations, and the page faults they cost, few."""
    points = routes.tau.shape[1]
    # The three cap axes laid end to end: one search for every sample, whatever its cap.
    flat = routes.tau_flat
    shifted = routes.axis_offset[cap]
    shifted += g
    at = np.searchsorted(flat, shifted, side="right")
    at -= 1
    axis_start = cap * points
    lo = routes.first[route]
    lo += axis_start
    hi = routes.count[route]
    hi += lo
    hi -= 2
    np.clip(at, lo, hi, out=at)
    del lo, hi
    a = flat[at]
    at += 1
    width = flat[at]
    at -= 1
    width -= a
    shifted -= a
    del a
    flat_piece = width > 0
    np.divide(shifted, width, out=shifted, where=flat_piece)
    shifted[~flat_piece] = 0.0
    frac = np.clip(shifted, 0.0, 1.0, out=shifted)
    piece = at
    piece -= axis_start
    after = piece + 1
    lon = routes.lon[after]
    lon0 = routes.lon[piece]
    lon -= lon0
    lon *= frac
    lon += lon0
    lat = routes.lat[after]
    lat0 = routes.lat[piece]
    lat -= lat0
    lat *= frac
    lat += lat0
    return lon, lat, routes.limit[piece], routes.heading[piece]


class Traffic:
    """Generates one run; ``simulate`` is the entry point."""

    def __init__(self, province: Province, fleet: Fleet, routes: RouteSet, config: TrafficConfig) -> None:
        self.engine = _Engine(province, fleet, routes, config)
        self.config = config
        self.fleet = fleet
        self._nodes: dict[int, list[int]] = {}

    def run(self) -> TrafficResult:
        eng, cfg = self.engine, self.config
        trips = eng.plan()
        eng.inject(trips)
        # Plans start a day early; only trips that can reach the window are driven.
        reach = np.flatnonzero((eng.latest_end(trips) > eng.start) & (trips.depart < eng.end))
        trips = _Trips(*(getattr(trips, name)[reach] for name in _Trips.__dataclass_fields__))
        spans = eng.spans(trips)
        # Only what overlaps the window matters from here on (plans start a day early).
        inside = np.flatnonzero((spans.t1 > eng.start) & (spans.t0 < eng.end))
        spans = _Spans(
            *(getattr(spans, name)[inside] for name in ("trip", "kind", "tau0", "tau1", "share", "t0", "t1"))
        )
        self.trips, self.spans = trips, spans
        vehicle_of_span = trips.vehicle[spans.trip]
        labels: list[tuple[str, int, float, float, dict[str, object]]] = []
        positions = self._positions(trips, spans, labels)
        passages, passage_vehicle = self._passages(trips, spans, PlaceKind.GANTRY)
        weighings = self._weighings(trips, spans, labels)
        self._trip_labels(trips, spans, vehicle_of_span, labels)
        waybills = self._waybills(trips, spans, labels)
        permits = self._permits(trips, spans, labels)
        rows = []
        vehicles = eng.vehicles
        for rule, v, t0, t1, details in labels:
            vehicle = vehicles[v]
            rows.append(
                (
                    rule,
                    vehicle.vehicle_id,
                    vehicle.plate,
                    int(vehicle.colour),
                    _us(t0),
                    _us(t1),
                    json.dumps(details, ensure_ascii=False, sort_keys=True),
                )
            )
        pos_table, pos_vehicle, pos_limit, pos_kind, pos_jumped = positions
        return TrafficResult(
            start=cfg.start,
            hours=cfg.hours,
            positions=pos_table,
            passages=passages,
            weighings=weighings,
            labels=_labels_table(rows),
            position_vehicle=pos_vehicle,
            position_limit_kmh=pos_limit,
            position_span_kind=pos_kind,
            position_jumped=pos_jumped,
            passage_vehicle=passage_vehicle,
            waybills=waybills,
            permits=permits,
            vehicles=vehicles,
            routes=eng.routes,
        )

    # - positions -
    def _positions(
        self, trips: _Trips, spans: _Spans, labels: list[tuple[str, int, float, float, dict[str, object]]]
    ) -> tuple[pa.Table, I64, F64, I64, BOOL]:
        eng, cfg = self.engine, self.config
        interval = cfg.interval_s
        rng = _rng(cfg.seed, 7)
        vehicle = trips.vehicle[spans.trip]
        reporting = eng.has_terminal[vehicle]
        phase = _rng(cfg.seed, 8).integers(0, interval, len(eng.vehicles))
        t0 = np.maximum(spans.t0, eng.start)
        t1 = np.minimum(spans.t1, eng.end)
        origin = eng.start + phase[vehicle]
        k0 = np.ceil((t0 - origin) / interval).astype(np.int64)
        k1 = np.ceil((t1 - origin) / interval).astype(np.int64)
        count = np.where(reporting & (t1 > t0), np.maximum(k1 - k0, 0), 0)
        span = np.repeat(np.arange(len(count)), count)
        k = np.arange(len(span)) - np.repeat(np.cumsum(count) - count, count) + k0[span]
        t = origin[span] + k * interval
        # Offline windows: the terminal stops reporting for a while, the vehicle drives on.
        off = cfg.violations.offline
        v_of = vehicle[span]
        has = np.zeros(len(eng.vehicles), dtype=bool)
        has[v_of] = True
        candidates = np.flatnonzero(has & (rng.random(len(eng.vehicles)) < off.rate))
        drop = np.zeros(len(t), dtype=bool)
        # Spans come by vehicle, then time (trips are sorted so): no sort needed here.
        bounds = np.searchsorted(v_of, candidates), np.searchsorted(v_of, candidates, side="right")
        for v, lo, hi in zip(candidates, *bounds, strict=True):
            times = t[lo:hi]
            length = rng.uniform(*off.minutes) * 60
            a = float(times[0] + rng.uniform(0, max(times[-1] - times[0] - length, 0)))
            window = (times >= a) & (times <= a + length)
            if not window.any():
                continue
            drop[lo:hi] |= window
            gone = times[window]
            labels.append(
                (
                    Rule.TERMINAL_OFFLINE,
                    int(v),
                    float(gone[0]),
                    float(gone[-1]),
                    {"missing_positions": int(window.sum()), "interval_s": interval},
                )
            )
        t, span, v_of = t[~drop], span[~drop], v_of[~drop]
        # Per span first, then one gather per fix: g = tau0 + f (t - t0) = (tau0 - f t0) + f t.
        cap = trips.cap[spans.trip][span]
        route = trips.route[spans.trip][span]
        f = spans.share[span]
        g = (spans.tau0 - spans.share * spans.t0)[span] + f * t
        lon, lat, posted, heading = _positions_along(eng.routes, cap, route, g)
        capped = np.minimum(posted, np.array(CAPS_KMH)[cap])
        night = is_night(t)
        limit = np.where(eng.passenger[v_of] & night, capped * NIGHT_PASSENGER_SHARE, capped)
        speed = f * capped
        kind = spans.kind[span]
        # Reported speed wobbles like a real GNSS speed, never crossing the limit by itself.
        noisy = speed * (1 + 0.01 * rng.standard_normal(len(speed)))
        speed = np.where(kind == SPEEDING_SPAN, noisy, np.minimum(noisy, limit * 0.995))
        # The night-only variant: over 80 % of the limit, under the day limit.
        speed = np.where(kind == NIGHT_SPEEDING_SPAN, np.clip(noisy, capped * 0.81, capped * 0.995), speed)
        speed = np.where(f > 0, np.round(np.maximum(speed, 0.1), 1), 0.0)
        dwell = kind == DWELL
        if dwell.any():
            place = trips.dwell_place[spans.trip[span[dwell]]]
            lon[dwell] = np.array([eng.dwell_places[p].lon for p in place])
            lat[dwell] = np.array([eng.dwell_places[p].lat for p in place])
        # Jumps: a burst of positions displaced by kilometres (定位漂移).
        jp = cfg.violations.jumps
        jumped = np.zeros(len(t), dtype=bool)
        moving = np.flatnonzero(kind == DRIVE)
        moving_v = v_of[moving]
        # v_of runs by vehicle here: the vehicles with a moving fix, in order, without a sort.
        starts_v = moving_v[np.r_[True, moving_v[1:] != moving_v[:-1]]] if len(moving_v) else moving_v
        chosen = starts_v[rng.random(len(starts_v)) < jp.rate]
        for v in chosen:
            idx = moving[np.searchsorted(moving_v, v) : np.searchsorted(moving_v, v, side="right")]
            at = int(idx[rng.integers(0, len(idx))])
            n = int(rng.integers(jp.burst[0], jp.burst[1] + 1))
            burst = np.arange(at, min(at + n, len(t)))
            burst = burst[(v_of[burst] == v) & (kind[burst] == DRIVE)]
            km = rng.uniform(*jp.km)
            bearing = rng.uniform(0, 2 * np.pi)
            lon[burst] += km * 1000 * np.sin(bearing) / 94_000
            lat[burst] += km * 1000 * np.cos(bearing) / 111_000
            jumped[burst] = True
            labels.append(
                (
                    Rule.POSITION_JUMP,
                    int(v),
                    float(t[burst[0]]),
                    float(t[burst[-1]]),
                    {"positions": len(burst), "displacement_km": round(km, 3)},
                )
            )
        # Lake order: by UTC hour (the partition), then vehicle, then time. Fixes come by vehicle
        # and time already, so a stable sort on the hour alone (a radix sort on int16) does it,
        # and a one-hour run needs none.
        hour = ((t - eng.start) // HOUR_S).astype(np.int16)
        if len(hour) and (hour != hour[0]).any():
            order = np.argsort(hour, kind="stable")
            t, v_of, lon, lat, speed, heading = (
                t[order],
                v_of[order],
                lon[order],
                lat[order],
                speed[order],
                heading[order],
            )
            limit, kind, jumped = limit[order], kind[order], jumped[order]
        table = self._position_table(t, v_of, lon, lat, speed, heading)
        return table, v_of, limit, kind, jumped

    def _position_table(self, t: F64, v: I64, lon: F64, lat: F64, speed: F64, heading: F64) -> pa.Table:
        eng = self.engine
        terminals = pa.array(eng.phones, pa.string())
        plates = pa.array(eng.plates, pa.string())
        colours = eng.colours
        vi = pa.array(v)
        seconds = t.astype(np.int64)
        fast = _record_ids(eng.phones, v, seconds)
        if fast is None:
            terminal = terminals.take(vi)
            record_id = pc.binary_join_element_wise(terminal, pc.cast(pa.array(seconds), pa.string()), "@")
        else:
            terminal, record_id = fast
        time = pa.array(seconds * 1_000_000, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
        n = len(t)
        # A gentle synthetic relief: the plains of the north low, the hills of the south higher.
        altitude = (20 + np.clip(32.5 - lat, 0, None) * 60).astype(np.int32)
        columns = {
            "record_id": record_id,
            "terminal": terminal,
            "plate": plates.take(vi),
            "plate_colour": pa.array(colours[v], pa.int8()),
            "time": time,
            "lon": pa.array(np.round(lon, 6)),
            "lat": pa.array(np.round(lat, 6)),
            "speed_kmh": pa.array(speed),
            "heading": pa.array(np.round(heading).astype(np.int16) % 360),
            "altitude_m": pa.array(altitude),
            # JT/T 808 表 25 status: bit 0 ACC on, bit 1 positioned.
            "alarm": pa.array(np.zeros(n, dtype=np.uint32)),
            "status": pa.array(np.full(n, 3, dtype=np.uint32)),
            "extras": pa.nulls(n, pa.string()),
            "backfill": pa.array(np.zeros(n, dtype=bool)),
            "valid": pa.array(np.ones(n, dtype=bool)),
            "defects": pa.nulls(n, pa.string()),
            "received_at": time,
        }
        return pa.Table.from_pydict(columns, schema=POSITION_COLUMNS)

    # - passages -
    def _crossings(
        self, trips: _Trips, spans: _Spans, kind: PlaceKind, only: BOOL | None = None
    ) -> tuple[I64, I64, F64]:
        """(span, site row, time) of every place of ``kind`` a moving span passes in the window."""
        routes = self.engine.routes
        site_route, site_tau, _, _ = routes.sites[kind]
        moving = spans.share > 0
        if only is not None:
            moving &= only
        sp = np.flatnonzero(moving)
        cap = trips.cap[spans.trip[sp]]
        lo = np.empty(len(sp), dtype=np.int64)
        hi = np.empty(len(sp), dtype=np.int64)
        for c in range(3):
            m = cap == c
            lo[m] = np.searchsorted(site_tau[c], spans.tau0[sp[m]], side="left")
            hi[m] = np.searchsorted(site_tau[c], spans.tau1[sp[m]], side="left")
        count = hi - lo
        span = np.repeat(sp, count)
        row = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count) + np.repeat(lo, count)
        ok = site_route[row] == trips.route[spans.trip[span]]
        span, row = span[ok], row[ok]
        cap = trips.cap[spans.trip[span]]
        t = spans.t0[span] + (site_tau[cap, row] - spans.tau0[span]) / spans.share[span]
        inside = (t >= self.engine.start) & (t < self.engine.end)
        return span[inside], row[inside], t[inside]

    def _passages(self, trips: _Trips, spans: _Spans, kind: PlaceKind) -> tuple[pa.Table, I64]:
        eng = self.engine
        span, row, t = self._crossings(trips, spans, kind)
        _, _, ids, forward = eng.routes.sites[kind]
        v = trips.vehicle[spans.trip[span]]
        t_us = np.round(t * 1e6).astype(np.int64)
        order = np.lexsort((v, t_us))
        v, row, t_us = v[order], row[order], t_us[order]
        site = pa.array(ids, pa.string()).take(pa.array(row))
        vid = pa.array(eng.vehicle_ids, pa.string()).take(pa.array(v))
        time = pa.array(t_us).cast(pa.timestamp("us", tz="UTC"))
        record_id = pc.binary_join_element_wise(
            site, pc.cast(pa.array(t_us // 1_000_000), pa.string()), vid, ":"
        )
        plates = pa.array(eng.plates, pa.string())
        colours = eng.colours
        axles = eng.road_axles
        vclass = eng.toll_class()
        n = len(v)
        columns = {
            "record_id": record_id,
            "site_id": site,
            "time": time,
            "plate": plates.take(pa.array(v)),
            "plate_colour": pa.array(colours[v], pa.int8()),
            "lane": pa.array(((v + row) % 3 + 1).astype(np.int8)),
            # Travel along the segment's own coordinates counts as 上行.
            "direction": pa.array(np.where(forward[row], "上行", "下行").tolist(), pa.string()),
            "vehicle_class": pa.array(vclass[v], pa.int8()),
            "axles": pa.array(axles[v], pa.int8()),
            "image_sha256": pa.nulls(n, pa.string()),
            "received_at": time,
        }
        return pa.Table.from_pydict(columns, schema=PASSAGE_COLUMNS), v

    # - weighings -
    def _weighings(
        self, trips: _Trips, spans: _Spans, labels: list[tuple[str, int, float, float, dict[str, object]]]
    ) -> pa.Table:
        eng, cfg = self.engine, self.config
        ol = cfg.violations.overlimit
        truck = np.isin(eng.kind_index, [_KINDS.index(k) for k in _TRUCK_KINDS])
        span, row, t = self._crossings(
            trips, spans, PlaceKind.WEIGHING_SITE, truck[trips.vehicle[spans.trip]]
        )
        _, _, ids, forward = eng.routes.sites[PlaceKind.WEIGHING_SITE]
        v = trips.vehicle[spans.trip[span]]
        order = np.lexsort((v, t))
        v, row, t, span = v[order], row[order], t[order], span[order]
        rng = _rng(cfg.seed, 9)
        over = rng.random(len(v)) < ol.share
        ratio = np.where(over, _uniform(rng, ol.excess, len(v)), _uniform(rng, ol.compliant, len(v)))
        readings: list[WeighingReading] = []
        # Per vehicle once: its key and gross-mass limit (超限规定 第三条).
        known: dict[int, tuple[VehicleKey, int, int]] = {}
        for i in range(len(v)):
            if int(v[i]) not in known:
                vehicle = eng.vehicles[int(v[i])]
                axles = vehicle.road_axles or 2
                combination = axles > (vehicle.axles or axles) or vehicle.vehicle_kind is VehicleKind.TRACTOR
                limit = gross_mass_limit(VehicleConfiguration(axles=axles, combination=combination)).kg
                known[int(v[i])] = (VehicleKey.parse(vehicle.plate, int(vehicle.colour)), axles, limit)
            key, axles, limit = known[int(v[i])]
            gross = int(limit * ratio[i])
            at = datetime.fromtimestamp(round(float(t[i]), 3), UTC)
            record_id = f"{ids[row[i]]}-{at:%Y%m%d%H%M%S}-{i:06d}"
            speed = Decimal(str(round(float(spans.share[span[i]]) * 80, 1)))
            readings.append(
                WeighingReading(
                    record_id=record_id,
                    site_id=ids[row[i]],
                    measured_at=at,
                    vehicle=key,
                    axles=axles,
                    gross_kg=gross,
                    speed_kmh=speed,
                    lane=int(v[i] % 3 + 1),
                    direction="上行" if forward[row[i]] else "下行",
                )
            )
            if over[i]:
                labels.append(
                    (
                        Rule.OVERLIMIT,
                        int(v[i]),
                        float(t[i]),
                        float(t[i]),
                        {
                            "record_id": record_id,
                            "gross_kg": gross,
                            "limit_kg": limit,
                            "site_id": ids[row[i]],
                        },
                    )
                )
        time = pa.array([r.measured_at for r in readings], pa.timestamp("us", tz="UTC"))
        columns = {
            "record_id": pa.array([r.record_id for r in readings], pa.string()),
            "site_id": pa.array([r.site_id for r in readings], pa.string()),
            "time": time,
            "plate": pa.array([r.vehicle.plate for r in readings], pa.string()),
            "plate_colour": pa.array([int(r.vehicle.colour) for r in readings], pa.int8()),
            "axles": pa.array([r.axles for r in readings], pa.int8()),
            "gross_kg": pa.array([r.gross_kg for r in readings], pa.int32()),
            "axle_loads_kg": pa.nulls(len(readings), pa.list_(pa.int32())),
            "height_mm": pa.nulls(len(readings), pa.int32()),
            "width_mm": pa.nulls(len(readings), pa.int32()),
            "length_mm": pa.nulls(len(readings), pa.int32()),
            "speed_kmh": pa.array([float(r.speed_kmh or 0) for r in readings], pa.float64()),
            "lane": pa.array([r.lane for r in readings], pa.int16()),
            "direction": pa.array([r.direction for r in readings], pa.string()),
            "vehicle_kind": pa.nulls(len(readings), pa.string()),
            "images": pa.array([[] for _ in readings], pa.list_(IMAGE_COLUMNS)),
            "content_sha256": pa.array([r.content_digest() for r in readings], pa.string()),
            "received_at": time,
        }
        return pa.Table.from_pydict(columns, schema=WEIGHING_COLUMNS)

    # - labels computed from the spans -
    def _trip_labels(
        self,
        trips: _Trips,
        spans: _Spans,
        vehicle_of_span: I64,
        labels: list[tuple[str, int, float, float, dict[str, object]]],
    ) -> None:
        eng, cfg = self.engine, self.config
        start, end, interval = eng.start, eng.end, cfg.interval_s
        key = eng.has_terminal[vehicle_of_span]
        clip0, clip1 = np.maximum(spans.t0, start), np.minimum(spans.t1, end)
        moving_all = spans.share > 0
        self.first_moving = np.full(len(eng.vehicles), math.inf)
        self.last_moving = np.full(len(eng.vehicles), -math.inf)
        np.minimum.at(self.first_moving, vehicle_of_span[moving_all], clip0[moving_all])
        np.maximum.at(self.last_moving, vehicle_of_span[moving_all], clip1[moving_all])
        for s in np.flatnonzero(
            (spans.kind == SPEEDING_SPAN) & key & (clip1 - clip0 > SPEEDING_MIN_S + interval)
        ):
            v = int(vehicle_of_span[s])
            labels.append(
                (
                    Rule.SPEEDING,
                    v,
                    float(clip0[s]),
                    float(clip1[s]),
                    {
                        "limit_share": round(float(spans.share[s]), 4),
                        "cap_kmh": CAPS_KMH[trips.cap[spans.trip[s]]],
                        "night_passenger": bool(eng.passenger[v] and is_night(np.array([clip0[s]]))[0]),
                    },
                )
            )
        night_lo, night_hi = night_overlap(clip0, clip1)
        for s in np.flatnonzero(
            (spans.kind == NIGHT_SPEEDING_SPAN) & key & (night_hi - night_lo > SPEEDING_MIN_S + interval)
        ):
            labels.append(
                (
                    Rule.SPEEDING_NIGHT,
                    int(vehicle_of_span[s]),
                    float(night_lo[s]),
                    float(night_hi[s]),
                    {
                        "limit_share": round(float(spans.share[s]), 4),
                        "cap_kmh": CAPS_KMH[trips.cap[spans.trip[s]]],
                        "night_share": NIGHT_PASSENGER_SHARE,
                    },
                )
            )
        self._daily_labels(vehicle_of_span, spans, clip0, clip1, labels)
        # Fatigue: a trip driven without rests, visible for more than 4 h in the window.
        for tr in np.flatnonzero(trips.no_rest):
            lo, hi = np.searchsorted(spans.trip, tr), np.searchsorted(spans.trip, tr, side="right")
            m = spans.share[lo:hi] > 0
            if not m.any():
                continue
            a, b = max(spans.t0[lo:hi][m].min(), start), min(spans.t1[lo:hi][m].max(), end)
            # Driving that touches night is held to the night limit (办法 第二十四条).
            night = bool((_night_seconds(np.array([b])) - _night_seconds(np.array([a])))[0] > 0)
            limit = MAX_CONTINUOUS_NIGHT_S if night else MAX_CONTINUOUS_DAY_S
            if b - a > limit + 2 * interval:
                labels.append(
                    (
                        Rule.FATIGUE_CONTINUOUS,
                        int(trips.vehicle[tr]),
                        float(a),
                        float(b),
                        {"continuous_s": round(b - a), "limit_s": limit, "night": night},
                    )
                )
        # Buses moving during 02:00-05:00.
        bus = eng.kind_index[vehicle_of_span] == _KINDS.index(FleetKind.LONG_DISTANCE_BUS)
        moving = bus & key & (spans.share > 0) & (clip1 > clip0)
        banned = (_ban_seconds(clip1) - _ban_seconds(clip0)) > 0
        for tr in np.unique(spans.trip[moving & banned]):
            # Spans run by trip: the trip's are one slice.
            lo, hi = np.searchsorted(spans.trip, tr), np.searchsorted(spans.trip, tr, side="right")
            m = moving[lo:hi]
            a, b = self._ban_overlap(clip0[lo:hi][m], clip1[lo:hi][m])
            if b - a > interval:
                labels.append(
                    (Rule.BUS_NIGHT_BAN, int(trips.vehicle[tr]), a, b, {"ban_local": "02:00-05:00"})
                )
        for s in np.flatnonzero((spans.kind == DWELL) & key & (clip1 - clip0 > interval)):
            place = eng.dwell_places[int(trips.dwell_place[spans.trip[s]])]
            rule = Rule.DWELL_SCHOOL if place.kind is PlaceKind.SCHOOL else Rule.DWELL_WATER_SOURCE
            labels.append(
                (
                    rule,
                    int(vehicle_of_span[s]),
                    float(clip0[s]),
                    float(clip1[s]),
                    {"place_id": place.id, "radius_m": place.radius_m},
                )
            )
        # Clones: both vehicles, over the time both are on the road in the window.
        for original, clone in eng.clone_pairs:
            ia = self._on_road(trips, spans, original, clip0, clip1)
            ib = self._on_road(trips, spans, clone, clip0, clip1)
            a, b = max(ia[0], ib[0]), min(ia[1], ib[1])
            if b > a:
                for v, other in ((original, clone), (clone, original)):
                    labels.append(
                        (Rule.CLONED_PLATE, v, a, b, {"other_vehicle_id": eng.vehicles[other].vehicle_id})
                    )
        # Illegal operation: the shuttle car's trips seen in the window.
        for shuttle in np.flatnonzero(eng.illegal):
            v = int(shuttle)
            a, b = self._on_road(trips, spans, v, clip0, clip1)
            if b > a:
                labels.append(
                    (Rule.ILLEGAL_OPERATION, v, a, b, {"trips_per_day": len(SHUTTLE_PLAN.departures)})
                )

    def _waybills(
        self, trips: _Trips, spans: _Spans, labels: list[tuple[str, int, float, float, dict[str, object]]]
    ) -> pa.Table:
        """An e-waybill per hazardous-goods trip on the road in the window, except the injected ones."""
        eng, cfg = self.engine, self.config
        rng = _rng(cfg.seed, 10)
        hazardous = eng.kind_index[trips.vehicle] == _KINDS.index(FleetKind.HAZARDOUS_GOODS)
        first, last = self._trip_windows(trips, spans)
        chosen = np.flatnonzero(hazardous & (last > first))
        draw = rng.random(len(chosen))
        missing = draw < cfg.violations.waybills.missing
        off = (draw >= cfg.violations.waybills.missing) & (
            draw < cfg.violations.waybills.missing + cfg.violations.waybills.off_route
        )
        rows: dict[str, list[object]] = {name: [] for name in WAYBILL_SCHEMA.names}
        for i, tr in enumerate(chosen):
            v = int(trips.vehicle[tr])
            vehicle = eng.vehicles[v]
            route_index = int(trips.route[tr])
            depart = datetime.fromtimestamp(float(trips.depart[tr]), UTC)
            local_day = datetime.fromtimestamp(float(trips.depart[tr]) + LOCAL_OFFSET_S, UTC)
            number = f"WB{local_day:%Y%m%d}{vehicle.vehicle_id}{int(tr) % 1000:03d}"
            window = (float(first[tr]), float(last[tr]))
            if missing[i]:
                labels.append((Rule.NO_WAYBILL, v, *window, {"departure": depart.isoformat()}))
                continue
            declared = self._disjoint_route(route_index) if off[i] else route_index
            if declared != route_index:
                labels.append((Rule.OFF_ROUTE, v, *window, {"waybill_no": number}))
            route = eng.routes.routes[declared]
            crew = self.fleet.assignments.get(vehicle.vehicle_id, ())
            goods = HAZARDOUS_GOODS[(v * 31 + int(tr)) % len(HAZARDOUS_GOODS)]
            values: dict[str, object] = {
                "waybill_no": number,
                "vehicle_id": vehicle.vehicle_id,
                "plate": vehicle.plate,
                "plate_colour": int(vehicle.colour),
                "transport_certificate": vehicle.transport_certificate,
                "driver_id": crew[0] if crew else None,
                "escort_id": crew[-1] if len(crew) > 1 else None,
                "un_number": goods.un_number,
                "goods_name": goods.name,
                "hazard_class": goods.hazard_class,
                "origin_node": route.start,
                "destination_node": route.end,
                "route_nodes": self._route_nodes(route),
                "route_segments": [leg.segment for leg in route.legs],
                "departure": depart,
                "departure_date": f"{local_day:%Y-%m-%d}",
            }
            for name, value in values.items():
                rows[name].append(value)
        return pa.Table.from_pydict(rows, schema=WAYBILL_SCHEMA)

    def _trip_windows(self, trips: _Trips, spans: _Spans) -> tuple[F64, F64]:
        """Each trip's first and last moving moment in the window (inf, -inf: none)."""
        eng = self.engine
        moving = (spans.share > 0) & (spans.t1 > eng.start) & (spans.t0 < eng.end)
        first = np.full(len(trips.vehicle), math.inf)
        last = np.full(len(trips.vehicle), -math.inf)
        np.minimum.at(first, spans.trip[moving], np.maximum(spans.t0[moving], eng.start))
        np.maximum.at(last, spans.trip[moving], np.minimum(spans.t1[moving], eng.end))
        return first, last

    def _disjoint_route(self, route_index: int) -> int:
        """A cached route sharing no segment with ``route_index`` (itself if there is none)."""
        routes = self.engine.routes.routes
        driven = {leg.segment for leg in routes[route_index].legs}
        for step in range(1, len(routes)):
            other = (route_index + step * 7919) % len(routes)
            if not driven & {leg.segment for leg in routes[other].legs}:
                return other
        return route_index

    def _route_nodes(self, route: Route) -> list[int]:
        cached = self._nodes.get(id(route))
        if cached is not None:
            return cached
        nodes = [route.start]
        for leg in route.legs:
            segment = self.engine.province.segments[leg.segment]
            nodes.append(segment.end if leg.forward else segment.start)
        self._nodes[id(route)] = nodes
        return nodes

    def _permits(
        self, trips: _Trips, spans: _Spans, labels: list[tuple[str, int, float, float, dict[str, object]]]
    ) -> pa.Table:
        """A 大件运输通行证 per oversize trip on the road in the window, except the injected ones:
        none, a route sharing no segment with the one driven, or a window ending mid-trip."""
        eng, cfg = self.engine, self.config
        ov = cfg.violations.oversize
        rng = _rng(cfg.seed, 11)
        first, last = self._trip_windows(trips, spans)
        latest = eng.latest_end(trips)
        chosen = np.flatnonzero(eng.oversize[trips.vehicle] & (last > first))
        draw = rng.random(len(chosen))
        cut_at = rng.uniform(0.3, 0.7, len(chosen))
        rows: dict[str, list[object]] = {name: [] for name in PERMIT_SCHEMA.names}
        for i, tr in enumerate(chosen):
            v = int(trips.vehicle[tr])
            vehicle = eng.vehicles[v]
            route_index = int(trips.route[tr])
            depart = float(trips.depart[tr])
            local_day = datetime.fromtimestamp(depart + LOCAL_OFFSET_S, UTC)
            number = f"DJ{local_day:%Y%m%d}{vehicle.vehicle_id}{int(tr) % 1000:03d}"
            window = (float(first[tr]), float(last[tr]))
            departure = datetime.fromtimestamp(depart, UTC).isoformat()
            if draw[i] < ov.missing:
                labels.append((Rule.OVERSIZE_NO_PERMIT, v, *window, {"departure": departure}))
                continue
            declared = route_index
            valid_until = float(latest[tr]) + ov.margin_s
            if draw[i] < ov.missing + ov.off_route:
                declared = self._disjoint_route(route_index)
                if declared != route_index:
                    labels.append((Rule.OVERSIZE_OFF_ROUTE, v, *window, {"permit_no": number}))
            elif draw[i] < ov.missing + ov.off_route + ov.out_of_time:
                cut = float(math.floor(window[0] + cut_at[i] * (window[1] - window[0])))
                if window[1] - cut > 3 * cfg.interval_s:
                    valid_until = cut
                    labels.append(
                        (
                            Rule.OVERSIZE_OUT_OF_TIME,
                            v,
                            cut,
                            window[1],
                            {
                                "permit_no": number,
                                "valid_until": datetime.fromtimestamp(cut, UTC).isoformat(),
                            },
                        )
                    )
            route = eng.routes.routes[declared]
            values: dict[str, object] = {
                "permit_no": number,
                "vehicle_id": vehicle.vehicle_id,
                "plate": vehicle.plate,
                "plate_colour": int(vehicle.colour),
                "trailer_plate": vehicle.trailer_plate,
                "origin_node": route.start,
                "destination_node": route.end,
                "route_nodes": self._route_nodes(route),
                "route_segments": [leg.segment for leg in route.legs],
                "valid_from": datetime.fromtimestamp(math.floor(depart - ov.margin_s), UTC),
                "valid_until": datetime.fromtimestamp(math.ceil(valid_until), UTC),
                "max_speed_kmh": ov.max_speed_kmh,
            }
            for name, value in values.items():
                rows[name].append(value)
        return pa.Table.from_pydict(rows, schema=PERMIT_SCHEMA)

    def _daily_labels(
        self,
        vehicle_of_span: I64,
        spans: _Spans,
        clip0: F64,
        clip1: F64,
        labels: list[tuple[str, int, float, float, dict[str, object]]],
    ) -> None:
        """8 h per 24 h (办法 第二十四条): from the first moving moment of a DAILY_FATIGUE_PLAN truck
        in the window, its driving within 24 h, labelled when visibly over (by half an hour)."""
        eng = self.engine
        moving = (spans.share > 0) & (clip1 > clip0) & eng.daily_fatigued[vehicle_of_span]
        moving &= eng.has_terminal[vehicle_of_span]
        sel = np.flatnonzero(moving)
        for v in np.unique(vehicle_of_span[sel]):
            mine = sel[vehicle_of_span[sel] == v]
            a0, a1 = clip0[mine], clip1[mine]
            for a in a0:
                inside = np.clip(np.minimum(a1, a + DAY_S) - np.maximum(a0, a), 0, None)
                driving = float(inside.sum())
                if driving > MAX_DRIVING_PER_DAY_S + 1_800:
                    b = float(np.minimum(a1, a + DAY_S)[inside > 0].max())
                    labels.append(
                        (
                            Rule.FATIGUE_DAILY,
                            int(v),
                            float(a),
                            b,
                            {"driving_s": round(driving), "limit_s": MAX_DRIVING_PER_DAY_S},
                        )
                    )
                    break

    def _on_road(self, trips: _Trips, spans: _Spans, v: int, clip0: F64, clip1: F64) -> tuple[float, float]:
        return float(self.first_moving[v]), float(self.last_moving[v])

    @staticmethod
    def _ban_overlap(t0: F64, t1: F64) -> tuple[float, float]:
        a, b = math.inf, -math.inf
        for x0, x1 in zip(t0, t1, strict=True):
            day = math.floor((x0 + LOCAL_OFFSET_S) / DAY_S) * DAY_S - LOCAL_OFFSET_S
            for d in (day - DAY_S, day, day + DAY_S):
                lo, hi = max(x0, d + BUS_BAN_FROM_S), min(x1, d + BUS_BAN_UNTIL_S)
                if hi > lo:
                    a, b = min(a, lo), max(b, hi)
        return a, b


def _fixed_width(rows: npt.NDArray[np.uint8]) -> pa.Array:
    """A string array over the bytes of equally long rows, without a copy per value."""
    n, width = rows.shape
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(rows)))


def _record_ids(phones: Sequence[str], v: I64, seconds: I64) -> tuple[pa.Array, pa.Array] | None:
    """The terminal column and ``terminal@epoch`` (domain.readings.position_record_id) built as
    fixed-width bytes when every phone in use has one length and every epoch ten digits, the usual
    case, several times faster than joining strings; None otherwise."""
    present = np.zeros(len(phones), dtype=bool)
    present[v] = True
    lengths = np.fromiter((len(p) for p in phones), dtype=np.int64, count=len(phones))
    widths = {int(w) for w in np.unique(lengths[present])}
    if len(widths) != 1 or not len(v) or seconds.min() < 10**9 or seconds.max() >= 10**10:
        return None
    width = widths.pop()
    if width == 0 or (width + 11) * len(v) >= 2**31:
        return None
    table = np.frombuffer("".join(p.ljust(width, "0") for p in phones).encode("ascii"), dtype=np.uint8)
    terminal = table.reshape(len(phones), width)[v]
    # The digits of each second of the window once, then one gather per fix.
    low = int(seconds.min())
    span = np.arange(low, int(seconds.max()) + 1, dtype=np.int64)
    digits = np.empty((len(span), 11), dtype=np.uint8)
    digits[:, 0] = ord("@")
    for place in range(10):
        digits[:, 10 - place] = 48 + (span // 10**place) % 10
    ids = np.hstack([terminal, digits[seconds - low]])
    return _fixed_width(terminal), _fixed_width(ids)


def _us(t: float) -> int:
    return round(t * 1_000_000)


_UTC_TS = pa.timestamp("us", tz="UTC")


def _lake_schema(kind: str, fields: list[pa.Field]) -> pa.Schema:
    """The lake's schemas (adapters.readings.schema), restated: the simulator may not import
    adapters; tests hold the two equal."""
    return pa.schema(
        [pa.field("record_id", pa.string(), False), *fields, pa.field("received_at", _UTC_TS, False)],
        metadata={b"zhifa.kind": kind.encode(), b"zhifa.schema_version": SCHEMA_VERSION.encode()},
    )


POSITION_COLUMNS = _lake_schema(
    "position",
    [
        pa.field("terminal", pa.string(), False),
        pa.field("plate", pa.string(), False),
        pa.field("plate_colour", pa.int8(), False),
        pa.field("time", _UTC_TS, False),
        pa.field("lon", pa.float64(), False),
        pa.field("lat", pa.float64(), False),
        pa.field("speed_kmh", pa.float64(), False),
        pa.field("heading", pa.int16(), False),
        pa.field("altitude_m", pa.int32(), False),
        pa.field("alarm", pa.uint32(), False),
        pa.field("status", pa.uint32(), False),
        pa.field("extras", pa.string()),
        pa.field("backfill", pa.bool_()),
        pa.field("valid", pa.bool_(), False),
        pa.field("defects", pa.string()),
    ],
)
PASSAGE_COLUMNS = _lake_schema(
    "passage",
    [
        pa.field("site_id", pa.string(), False),
        pa.field("time", _UTC_TS, False),
        pa.field("plate", pa.string(), False),
        pa.field("plate_colour", pa.int8(), False),
        pa.field("lane", pa.int8()),
        pa.field("direction", pa.string()),
        pa.field("vehicle_class", pa.int8()),
        pa.field("axles", pa.int8()),
        pa.field("image_sha256", pa.string()),
    ],
)
IMAGE_COLUMNS = pa.struct([("kind", pa.string()), ("uri", pa.string()), ("sha256", pa.string())])
WEIGHING_COLUMNS = _lake_schema(
    "weighing",
    [
        pa.field("site_id", pa.string(), False),
        pa.field("time", _UTC_TS, False),
        pa.field("plate", pa.string(), False),
        pa.field("plate_colour", pa.int8(), False),
        pa.field("axles", pa.int8(), False),
        pa.field("gross_kg", pa.int32(), False),
        pa.field("axle_loads_kg", pa.list_(pa.int32())),
        pa.field("height_mm", pa.int32()),
        pa.field("width_mm", pa.int32()),
        pa.field("length_mm", pa.int32()),
        pa.field("speed_kmh", pa.float64()),
        pa.field("lane", pa.int16()),
        pa.field("direction", pa.string()),
        pa.field("vehicle_kind", pa.string()),
        pa.field("images", pa.list_(IMAGE_COLUMNS)),
        pa.field("content_sha256", pa.string(), False),
    ],
)


def simulate(
    province: Province,
    fleet: Fleet,
    config: TrafficConfig,
    *,
    router: Router | None = None,
    routes: RouteSet | None = None,
) -> TrafficResult:
    """One deterministic run: the same province, fleet and config give the same tables."""
    if config.start.tzinfo is None:
        raise ValueError("the start time must be timezone-aware")
    if config.interval_s < 1 or config.hours <= 0:
        raise ValueError("interval must be ≥ 1 s and hours positive")
    if routes is None:
        routes = build_routes(
            province,
            router or Router(province),
            seed=config.seed,
            sources=config.od_sources,
            per_source=config.od_per_source,
        )
    # Transparent huge pages for NumPy's large arrays cost more than they save here: on the
    # development machine the first run spent ~1 s in the kernel zeroing and compacting them.
    previous = _madvise_hugepage(False)
    try:
        return Traffic(province, fleet, routes, config).run()
    finally:
        _madvise_hugepage(previous)


def _madvise_hugepage(enabled: bool) -> bool:
    """NumPy's switch for madvise(MADV_HUGEPAGE) on new arrays (NUMPY_MADVISE_HUGEPAGE); returns
    the previous setting, or ``enabled`` where this NumPy has no such switch."""
    switch = getattr(getattr(np, "_core", None), "multiarray", None)
    setter = getattr(switch, "_set_madvise_hugepage", None)
    return bool(setter(enabled)) if setter is not None else enabled


# --- writing ------------------------------------------------------------------------------------


def _hour_slices(table: pa.Table) -> list[tuple[datetime, pa.Table]]:
    if table.num_rows == 0:
        return []
    us = table.column("time").cast(pa.int64()).to_numpy()
    hours = us // (HOUR_S * 1_000_000)
    order = np.argsort(hours, kind="stable")
    if not np.all(order == np.arange(len(order))):
        table = table.take(pa.array(order))
        hours = hours[order]
    cuts = np.flatnonzero(np.diff(hours)) + 1
    bounds = np.concatenate(([0], cuts, [len(hours)]))
    return [
        (datetime.fromtimestamp(int(hours[a]) * HOUR_S, UTC), table.slice(a, b - a))
        for a, b in itertools.pairwise(bounds)
    ]


# Row-group statistics where a query prunes on them: time, and the vehicle (files are ordered by
# it). Dictionaries save nothing measurable at zstd's fastest level and cost time; coordinates
# compress better split into byte streams.
_STATISTICS = frozenset({"time", "received_at", "plate", "terminal", "start", "end", "rule_id", "vehicle_id"})
_BYTE_STREAM_SPLIT = frozenset({"lon", "lat"})


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = table.column_names
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=-1,
        use_dictionary=False,
        write_statistics=[n for n in names if n in _STATISTICS],
        column_encoding={n: "BYTE_STREAM_SPLIT" for n in names if n in _BYTE_STREAM_SPLIT},
    )


def write_lake(out_dir: Path, result: TrafficResult) -> dict[str, int]:
    """Readings in the lake layout (``kind=<kind>/date=YYYY-MM-DD/hour=HH/part-….parquet``, UTC)
    and ``labels.parquet``; file names depend on the data only, so a seed gives identical bytes.
    Returns the row count of each table."""
    counts: dict[str, int] = {}
    for kind, table in (
        ("position", result.positions),
        ("passage", result.passages),
        ("weighing", result.weighings),
    ):
        counts[kind] = table.num_rows
        for hour, part in _hour_slices(table):
            name = (
                f"kind={kind}/date={hour:%Y-%m-%d}/hour={hour:%H}/part-{hour:%Y%m%dT%H%M%S}-simulated.parquet"
            )
            _write(part, out_dir / name)
    _write(result.labels, out_dir / "labels.parquet")
    counts["labels"] = result.labels.num_rows
    _write(result.waybills, out_dir / "registers" / "waybills.parquet")
    counts["waybills"] = result.waybills.num_rows
    _write(result.permits, out_dir / "registers" / "permits.parquet")
    counts["permits"] = result.permits.num_rows
    return counts


def write_registers(out_dir: Path, fleet: Fleet, province: Province) -> None:
    """``registers/{vehicles,drivers,enterprises,places}.parquet``: what the labels refer to."""
    for name, table in registers(fleet, province).items():
        _write(table, out_dir / "registers" / f"{name}.parquet")


def registers(fleet: Fleet, province: Province) -> dict[str, pa.Table]:
    def column(values: list[object]) -> list[object]:
        sample = next((x for x in values if x is not None), None)
        if isinstance(sample, PlateColour):
            return [None if x is None else int(x) for x in values]  # type: ignore[call-overload]
        if isinstance(sample, FleetKind | PlaceKind | VehicleKind) or hasattr(sample, "value"):
            return [None if x is None else x.value for x in values]  # type: ignore[attr-defined]
        if sample is not None and not isinstance(sample, str | int | float | bool):
            return [None if x is None else str(x) for x in values]
        return values

    def rows(items: Sequence[object], fields: Sequence[str]) -> pa.Table:
        return pa.table({f: column([getattr(item, f) for item in items]) for f in fields})

    vehicles = rows(
        fleet.all_vehicles,
        (
            "vehicle_id",
            "kind",
            "plate",
            "colour",
            "vehicle_kind",
            "axles",
            "road_axles",
            "seats",
            "home_city",
            "home_division",
            "enterprise_uscc",
            "transport_certificate",
            "trailer_plate",
            "new_energy",
            "oversize_capable",
            "illegal_operation",
            "clone_of",
        ),
    )
    phones = [v.terminal.phone if v.terminal else None for v in fleet.all_vehicles]
    vehicles = vehicles.append_column("terminal", pa.array(phones, pa.string()))
    drivers = rows(
        fleet.drivers,
        (
            "driver_id",
            "name",
            "male",
            "id_number",
            "birth_date",
            "home_division",
            "qualification",
            "qualification_number",
            "licence_class",
            "enterprise_uscc",
        ),
    )
    enterprises = rows(fleet.enterprises, ("uscc", "name", "division", "city", "scope", "business_licence"))
    places = rows(
        province.places,
        ("id", "kind", "name", "lon", "lat", "county", "synthetic", "radius_m", "segment", "offset_m"),
    )
    return {"vehicles": vehicles, "drivers": drivers, "enterprises": enterprises, "places": places}


def default_start() -> datetime:
    """A fixed Monday, 10:00 in Anhui (a busy hour): simulated time never reads the wall clock."""
    return datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


__all__ = [
    "DAILY_FATIGUE_PLAN",
    "KIND_PLANS",
    "LABELS_SCHEMA",
    "OVERSIZE_PLAN",
    "PERMIT_SCHEMA",
    "WAYBILL_SCHEMA",
    "Compliance",
    "Dwell",
    "Fatigue",
    "Jumps",
    "NightBus",
    "Offline",
    "Overlimit",
    "Oversize",
    "RouteSet",
    "Rule",
    "Speeding",
    "TrafficConfig",
    "TrafficResult",
    "Violations",
    "Waybills",
    "build_routes",
    "default_start",
    "registers",
    "simulate",
    "write_lake",
    "write_registers",
]
