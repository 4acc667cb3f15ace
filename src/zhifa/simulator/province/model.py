"""The reference province as the simulator drives it: a routable expressway graph and its places.

Nodes are OSM junctions or the ends of the joined OSM bridge pieces; segments run between nodes
along one route ``ref``. Everything derived from OpenStreetMap or the Tianditu boundaries is real;
places the open data lacks (schools, drinking-water protection zones, government compounds,
overload stations) are generated inside real counties and carry ``synthetic=True``. Gantries and
weighing sites are placed by rule on the real graph and are synthetic too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

LonLat = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Node:
    id: int
    lon: float
    lat: float
    name: str | None  # the OSM junction's name (合肥西枢纽), None for a piece end
    junction: bool  # an OSM junction (exit or interchange), where a trip may enter or leave


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of one expressway between two nodes, usable in both directions."""

    id: int
    ref: str  # route number as signed: G3, S12 ...
    name: str | None  # OSM name, e.g. 芜合高速
    start: int  # node id
    end: int  # node id
    coords: tuple[LonLat, ...]  # WGS-84, from start to end, at least two points
    length_m: float
    speed_limit_kmh: int
    # "osm" (the piece's maxspeed), "osm adjacent" (a join between two pieces that agree on
    # their maxspeed) or "legal default"
    speed_limit_source: str
    county: str  # GB/T 2260 code of the county holding the segment's midpoint
    joined: bool  # True when this segment bridges a gap between OSM pieces (a straight join)
    # Other route numbers signed on the same stretch (共线, e.g. G4212 along G3); ``ref`` is the
    # most significant one. Added after the first draft, hence the default.
    concurrent_refs: tuple[str, ...] = ()
    osm_way: str | None = None  # the OSM way this piece was cut from ("way/23220611"); None for a join

    @property
    def refs(self) -> tuple[str, ...]:
        """Every route number signed on this stretch, the most significant first."""
        return (self.ref, *self.concurrent_refs)


class PlaceKind(StrEnum):
    SERVICE_AREA = "service_area"  # real OSM polygon
    SCHOOL = "school"  # synthetic
    WATER_SOURCE = "water_source"  # synthetic 饮用水水源保护区
    GOVERNMENT = "government"  # synthetic 党政机关驻地
    OVERLOAD_STATION = "overload_station"  # synthetic 超限检测站
    GANTRY = "gantry"  # synthetic, every 10-20 km of a route
    WEIGHING_SITE = "weighing_site"  # synthetic, at junctions


@dataclass(frozen=True, slots=True)
class Place:
    id: str  # stable across runs of one seed: "SA-way-161679435", "GT-G3-0001", "SCH-340104-01" ...
    kind: PlaceKind
    name: str
    lon: float
    lat: float
    county: str  # GB/T 2260 county code
    synthetic: bool
    radius_m: float  # geofence radius around (lon, lat); 0 for a point on the road
    polygon: tuple[LonLat, ...] | None  # exterior ring, for real service-area polygons
    segment: int | None  # the segment it lies on or is reached from (gantries, sites, service areas)
    offset_m: float | None  # distance from that segment's start node along its coords


@dataclass(frozen=True, slots=True)
class Leg:
    segment: int
    forward: bool  # True: start -> end along coords; False: end -> start


@dataclass(frozen=True, slots=True)
class Route:
    start: int  # node id
    end: int  # node id
    legs: tuple[Leg, ...]
    length_m: float


@dataclass(frozen=True)
class Province:
    code: str  # GB/T 2260 province code, "340000"
    nodes: Mapping[int, Node]
    segments: Mapping[int, Segment]
    places: tuple[Place, ...]
    # Each route number's chains: its pieces and joins in order along the road, one Route per
    # stretch the source data does not connect (see docs/simulator.md). Added after the first
    # draft, hence the default.
    chains: Mapping[str, tuple[Route, ...]] = field(default_factory=dict)
