"""The places of the reference province, laid out on its expressway graph.

Real: the service areas (OSM polygons). Synthetic, marked ``synthetic=True`` and drawn from the
seed: gantries along each route, weighing sites at junctions, and the places the open data lacks
(schools, drinking-water protection zones, government compounds, overload stations), placed
inside real counties a short drive from a real junction so that simulated vehicles leaving the
expressway there can dwell near them.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, shape

from zhifa.simulator.province.geo import (
    Counties,
    LocalPlane,
    haversine_m,
    osm_id_key,
    piece_lengths_m,
    point_along,
)
from zhifa.simulator.province.model import Place, PlaceKind, Province
from zhifa.simulator.province.routing import connected_components

# ETC gantries mark the boundaries of toll sections, which run from one exit to the next: 10-20 km
# apart is the simulator's assumption, not a surveyed figure.
GANTRY_SPACING_M = (10_000.0, 20_000.0)
# Off-road places sit a short drive from the junction a vehicle leaves the expressway at.
DISTANCE_FROM_JUNCTION_M = (300.0, 3_000.0)
PLACEMENT_ATTEMPTS = 200
# A service area mapped as a node rather than an area (none is, in the packaged extract) gets a
# geofence the size of a typical one.
SERVICE_AREA_POINT_RADIUS_M = 150.0
# Every interchange (枢纽) gets a weighing site, and in each city this many ordinary exits.
WEIGHING_EXITS_PER_CITY = 1
# 枢纽 (枢纽互通) names an interchange between expressways, where through freight of several
# corridors meets: the first choice for a weighing site.
HUB_MARKER = "枢纽"
SERVICE_AREA_MARKERS = ("服务区", "停车区")


@dataclass(frozen=True)
class SyntheticKind:
    kind: PlaceKind
    prefix: str  # of the place id: <prefix>-<county>-<nn>
    per_county: int
    radius_m: tuple[float, float]  # geofence radius, drawn uniformly
    name: str  # {county} is the county's name, {n} the place's number in it


SYNTHETIC_KINDS = (
    SyntheticKind(PlaceKind.SCHOOL, "SCH", 2, (150.0, 400.0), "{county}第{n}中学（模拟）"),
    SyntheticKind(PlaceKind.WATER_SOURCE, "WSP", 1, (800.0, 2_500.0), "{county}饮用水水源保护区（模拟）"),
    SyntheticKind(PlaceKind.GOVERNMENT, "GOV", 1, (150.0, 300.0), "{county}党政机关驻地（模拟）"),
    SyntheticKind(PlaceKind.OVERLOAD_STATION, "OLS", 1, (100.0, 200.0), "{county}公路超限检测站（模拟）"),
)


class _SegmentIndex:
    """Nearest segment to a point, and the point's offset along it in haversine metres."""

    def __init__(self, province: Province, plane: LocalPlane) -> None:
        self._province = province
        self._plane = plane
        self._ids = sorted(province.segments)
        self._lines = [LineString(plane.to_xy(np.asarray(province.segments[i].coords))) for i in self._ids]
        self._tree = shapely.STRtree(self._lines)

    def nearest(self, lon: float, lat: float) -> tuple[int, float]:
        point = Point(self._plane.to_xy(np.array([lon, lat])))
        k = int(np.min(self._tree.query_nearest(point, all_matches=True)))
        segment = self._province.segments[self._ids[k]]
        xy = np.asarray(self._lines[k].coords)
        along_xy = np.concatenate(([0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))))
        projected = self._lines[k].project(point)
        # Measured again in haversine metres, so that the offset agrees with the segment length.
        index = min(int(np.searchsorted(along_xy, projected, side="right")) - 1, len(xy) - 2)
        span = along_xy[index + 1] - along_xy[index]
        share = 0.0 if span == 0 else (projected - along_xy[index]) / span
        lengths = piece_lengths_m(np.asarray(segment.coords))
        offset = float(lengths[:index].sum() + share * lengths[index])
        return segment.id, min(offset, segment.length_m)


def _service_areas(collection: Mapping[str, Any], counties: Counties, index: _SegmentIndex) -> list[Place]:
    """Every ``highway=services`` feature; the extract also holds two gates (``barrier=gate``) of
    service-area fences, which are not service areas."""
    features = [f for f in collection["features"] if f["properties"].get("highway") == "services"]
    places = []
    for feature in sorted(features, key=lambda f: osm_id_key(str(f["properties"]["@id"]))):
        props, geometry = feature["properties"], shape(feature["geometry"])
        if geometry.geom_type == "MultiPolygon":
            geometry = max(geometry.geoms, key=lambda part: part.area)
        ring: tuple[tuple[float, float], ...] | None = None
        if geometry.geom_type == "Polygon":
            centre = (
                geometry.centroid if geometry.contains(geometry.centroid) else geometry.representative_point()
            )
            ring = tuple((float(x), float(y)) for x, y in geometry.exterior.coords)
            vertices = np.asarray(ring)
            radius = float(np.max(haversine_m(centre.x, centre.y, vertices[:, 0], vertices[:, 1])))
        else:
            centre, radius = geometry.centroid, SERVICE_AREA_POINT_RADIUS_M
        osm_id = str(props["@id"])
        segment, offset = index.nearest(centre.x, centre.y)
        places.append(
            Place(
                id="SA-" + osm_id.replace("/", "-"),
                kind=PlaceKind.SERVICE_AREA,
                name=str(props.get("name") or f"服务区 {osm_id}"),
                lon=float(centre.x),
                lat=float(centre.y),
                county=counties.nearest(centre.x, centre.y),
                synthetic=False,
                radius_m=radius,
                polygon=ring,
                segment=segment,
                offset_m=offset,
            )
        )
    return places


def _gantries(province: Province, counties: Counties, seed: int) -> list[Place]:
    """Gantries every 10-20 km along each chain of each route.

    A concurrency's gantries belong to its most significant route (``Segment.ref``): the other
    route's marks that fall on it are skipped, so one stretch never gets two sets of gantries.
    """
    places = []
    for ref, chains in province.chains.items():
        rng = random.Random(f"{seed}:gantry:{ref}")
        number = 0
        for chain in chains:
            # A random phase, so that chain starts (often a province border) are not all gantries.
            mark = rng.random() * rng.uniform(*GANTRY_SPACING_M)
            start_of_leg = 0.0
            for leg in chain.legs:
                segment = province.segments[leg.segment]
                while mark < start_of_leg + segment.length_m:
                    if segment.ref == ref:
                        along = mark - start_of_leg
                        offset = along if leg.forward else segment.length_m - along
                        lon, lat = point_along(np.asarray(segment.coords), offset)
                        number += 1
                        places.append(
                            Place(
                                id=f"GT-{ref}-{number:04d}",
                                kind=PlaceKind.GANTRY,
                                name=f"{ref} ETC门架 {number:04d}（模拟）",
                                lon=lon,
                                lat=lat,
                                county=counties.nearest(lon, lat),
                                synthetic=True,
                                radius_m=0.0,
                                polygon=None,
                                segment=segment.id,
                                offset_m=offset,
                            )
                        )
                    mark += rng.uniform(*GANTRY_SPACING_M)
                start_of_leg += segment.length_m
    return places


def _entry_segments(province: Province) -> dict[int, tuple[int, float]]:
    """For each node, the lowest-numbered segment at it and the node's offset along that segment:
    where a place reached from that node hangs on the road."""
    entries: dict[int, tuple[int, float]] = {}
    for segment_id in sorted(province.segments, reverse=True):
        segment = province.segments[segment_id]
        entries[segment.end] = (segment_id, segment.length_m)
        entries[segment.start] = (segment_id, 0.0)
    return entries


def _weighing_sites(
    province: Province,
    junctions: Mapping[str, list[int]],
    counties: Counties,
    entries: Mapping[int, tuple[int, float]],
    seed: int,
) -> list[Place]:
    """One site at every interchange (枢纽) and ``WEIGHING_EXITS_PER_CITY`` ordinary exits per city.

    OSM maps one interchange as several nodes sharing a name: names are drawn, not nodes.
    """
    by_name: defaultdict[str, list[int]] = defaultdict(list)
    for county in sorted(junctions):
        for node in junctions[county]:
            name = province.nodes[node].name
            if name:
                by_name[name].append(node)
    city_of = {name: _county_of(province, nodes[0], counties)[:4] + "00" for name, nodes in by_name.items()}
    chosen = sorted(name for name in by_name if HUB_MARKER in name)
    exits: defaultdict[str, list[str]] = defaultdict(list)
    for name in sorted(by_name):
        if HUB_MARKER not in name and not any(marker in name for marker in SERVICE_AREA_MARKERS):
            exits[city_of[name]].append(name)
    for city in sorted(exits):
        rng = random.Random(f"{seed}:weighing:{city}")
        chosen += rng.sample(exits[city], min(WEIGHING_EXITS_PER_CITY, len(exits[city])))

    sites = []
    numbers: defaultdict[str, int] = defaultdict(int)
    for name in chosen:
        node = min(by_name[name])
        county = _county_of(province, node, counties)
        numbers[county] += 1
        segment, offset = entries[node]
        where = province.nodes[node]
        sites.append(
            Place(
                id=f"WGH-{county}-{numbers[county]:02d}",
                kind=PlaceKind.WEIGHING_SITE,
                name=f"{name}治超检测点（模拟）",
                lon=where.lon,
                lat=where.lat,
                county=county,
                synthetic=True,
                radius_m=0.0,
                polygon=None,
                segment=segment,
                offset_m=offset,
            )
        )
    return sorted(sites, key=lambda place: place.id)


def _county_of(province: Province, node: int, counties: Counties) -> str:
    return counties.nearest(province.nodes[node].lon, province.nodes[node].lat)


def _synthetic_places(
    province: Province,
    junctions: Mapping[str, list[int]],
    counties: Counties,
    entries: Mapping[int, tuple[int, float]],
    seed: int,
) -> list[Place]:
    """Each SYNTHETIC_KINDS entry in every county the connected network has a junction in."""
    places = []
    for spec in SYNTHETIC_KINDS:
        for county in sorted(junctions):
            rng = random.Random(f"{seed}:{spec.prefix}:{county}")
            for n in range(1, spec.per_county + 1):
                spot = _spot_near(province, junctions[county], county, counties, rng)
                if spot is None:
                    continue  # no junction of the county has room around it inside the county
                lon, lat, anchor = spot
                segment, offset = entries[anchor]
                places.append(
                    Place(
                        id=f"{spec.prefix}-{county}-{n:02d}",
                        kind=spec.kind,
                        name=spec.name.format(county=counties.names[county], n=n),
                        lon=lon,
                        lat=lat,
                        county=county,
                        synthetic=True,
                        radius_m=round(rng.uniform(*spec.radius_m), 1),
                        polygon=None,
                        segment=segment,
                        offset_m=offset,
                    )
                )
    return places


def _spot_near(
    province: Province, anchors: list[int], county: str, counties: Counties, rng: random.Random
) -> tuple[float, float, int] | None:
    """A point inside the county, 300-3000 m from one of its junctions (which is returned too)."""
    for _ in range(PLACEMENT_ATTEMPTS):
        anchor = rng.choice(anchors)
        bearing = rng.uniform(0.0, 2 * math.pi)
        distance = rng.uniform(*DISTANCE_FROM_JUNCTION_M)
        node = province.nodes[anchor]
        # A plane true at the junction's own latitude, so that the distance holds in haversine metres.
        local = LocalPlane(node.lat)
        xy = local.to_xy(np.array([node.lon, node.lat])) + distance * np.array(
            [math.sin(bearing), math.cos(bearing)]
        )
        lon, lat = (float(value) for value in local.to_lonlat(xy))
        if counties.covers(county, lon, lat):
            return lon, lat, anchor
    return None


def lay_out_places(
    province: Province, service_areas: Mapping[str, Any], counties: Counties, *, seed: int
) -> tuple[Place, ...]:
    """Service areas, gantries, weighing sites, then the synthetic off-road places, each group in
    id order. Off-road places and weighing sites hang on the largest connected component, so that
    every one of them can be reached from every other."""
    plane = LocalPlane(counties.middle_lat)
    largest = connected_components(province)[0]
    entries = _entry_segments(province)
    junctions: defaultdict[str, list[int]] = defaultdict(list)
    for node in largest:
        if province.nodes[node].junction:
            junctions[_county_of(province, node, counties)].append(node)
    return (
        *_service_areas(service_areas, counties, _SegmentIndex(province, plane)),
        *_gantries(province, counties, seed),
        *_weighing_sites(province, junctions, counties, entries, seed),
        *_synthetic_places(province, junctions, counties, entries, seed),
    )
