"""The reference province's expressway graph, built from the packaged OSM extract of Anhui.

The Province is built once for the module (about 1.5 s) and only read. Figures the tests pin
(components, split routes) are the ones docs/simulator.md reports: a changed extract or method
shows up here first.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from importlib.resources import files
from typing import Any

import numpy as np
import pytest
from shapely.geometry import Point, shape

from zhifa.adapters.geodata.reference import load_road_sources
from zhifa.bootstrap import reference_road_sources
from zhifa.simulator.province.geo import haversine_m, polyline_length_m
from zhifa.simulator.province.graph import (
    SPEED_FROM_ADJACENT_PIECES,
    SPEED_FROM_OSM,
    SPEED_LEGAL_DEFAULT,
    build_province,
)
from zhifa.simulator.province.model import PlaceKind, Province, Route, Segment
from zhifa.simulator.province.pieces import LEGAL_MAX_SPEED_KMH
from zhifa.simulator.province.routing import Router, connected_components, route_polyline

EXPRESSWAY_REF = re.compile(r"[GS](?:\d{1,2}|\d{4})")
# Routes whose bridges leave a gap of more than 30 km (MAX_JOIN_GAP_M) in the extract, with the
# number of separate stretches each keeps; docs/simulator.md lists them. All other routes are one
# chain from end to end.
SPLIT_IN_SOURCE = {"G36": 2, "G0321": 2, "G1516": 2, "G4221": 2, "S09": 3}
MAJOR_ROUTES = ("G3", "G35", "G40", "G42", "G50", "G56", "G4211", "G4212", "G5011", "G4001", "S12")
SYNTHETIC_OFF_ROAD = (
    PlaceKind.SCHOOL,
    PlaceKind.WATER_SOURCE,
    PlaceKind.GOVERNMENT,
    PlaceKind.OVERLOAD_STATION,
)


@pytest.fixture(scope="module")
def sources() -> dict[str, dict[str, Any]]:
    return reference_road_sources("340000")


@pytest.fixture(scope="module")
def province(sources: dict[str, dict[str, Any]]) -> Province:
    return build_province(sources, seed=7)


@pytest.fixture(scope="module")
def router(province: Province) -> Router:
    return Router(province)


@pytest.fixture(scope="module")
def source_ways(sources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f["properties"]["@id"]: f
        for f in sources["bridges"]["features"]
        if f["geometry"]["type"] == "LineString"
    }


@pytest.fixture(scope="module")
def county_shapes(sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        str(f["properties"]["district_adcode"]): shape(f["geometry"]) for f in sources["counties"]["features"]
    }


def _route_segments(province: Province, ref: str) -> list[Segment]:
    return [segment for segment in province.segments.values() if ref in segment.refs]


def _pieces_of_route(province: Province, ref: str) -> int:
    """How many connected pieces the segments signed with ``ref`` form."""
    parent: dict[int, int] = {}

    def find(node: int) -> int:
        while parent.get(node, node) != node:
            node = parent[node]
        return node

    segments = _route_segments(province, ref)
    for segment in segments:
        parent[find(segment.start)] = find(segment.end)
    return len({find(segment.start) for segment in segments})


def _named_junction(province: Province, router: Router, name: str) -> int:
    return min(node for node in router.junction_nodes() if province.nodes[node].name == name)


def test_loader_gives_the_four_packaged_collections(sources):
    """load_road_sources reads the vendored copies (not /work/shared) and bootstrap hands the same
    data to entrypoints; the counts are the source's."""
    assert set(sources) == {"bridges", "junctions", "service_areas", "counties"}
    assert sources == load_road_sources()
    counts = {key: len(collection["features"]) for key, collection in sources.items()}
    assert counts == {"bridges": 4958 + 96, "junctions": 670, "service_areas": 215, "counties": 104}


@pytest.mark.parametrize(
    ("filename", "sha256"),
    [
        (
            "osm_anhui_motorway_bridges.geojson",
            "0176ada2e585836f825df7361731103cc852706db2961041916cb715fa5fa8e4",
        ),
        (
            "osm_anhui_expressway_service_areas.geojson",
            "043d9e9c60d59d9d9d84e02bfcf3929d862e285d8d6eaa852ad55abf2a11c5a5",
        ),
    ],
)
def test_vendored_osm_files_are_the_attributed_copies(filename, sha256):
    """The packaged files are byte for byte the upstream extracts whose hash ATTRIBUTION.md gives."""
    data = files("zhifa.adapters.geodata") / "data"
    assert hashlib.sha256((data / "anhui" / filename).read_bytes()).hexdigest() == sha256
    assert sha256 in (data / "ATTRIBUTION.md").read_text(encoding="utf-8")


def test_every_expressway_number_of_the_source_has_its_graph(province, source_ways):
    """Each expressway number on any bridge (concurrencies split into their numbers, ordinary
    roads such as G330 left out) has chains and segments, and nothing else does."""
    refs = {
        part
        for feature in source_ways.values()
        for part in str(feature["properties"].get("ref") or "").split(";")
        if EXPRESSWAY_REF.fullmatch(part)
    }
    assert set(province.chains) == refs
    assert {ref for segment in province.segments.values() for ref in segment.refs} == refs
    for ref in refs:
        assert province.chains[ref] and all(chain.legs for chain in province.chains[ref])


def test_chains_are_continuous_paths(province):
    """Each chain walks from node to node without a jump: a leg starts where the previous ended,
    and its length is the sum of its segments."""
    for chains in province.chains.values():
        for chain in chains:
            at = chain.start
            for leg in chain.legs:
                segment = province.segments[leg.segment]
                assert at == (segment.start if leg.forward else segment.end)
                at = segment.end if leg.forward else segment.start
            assert at == chain.end
            assert chain.length_m == pytest.approx(
                sum(province.segments[leg.segment].length_m for leg in chain.legs)
            )


def test_major_routes_are_connected_end_to_end(province):
    """G3, G35, G40 ... are each one chain and one connected piece across the province; the only
    routes left in several stretches are those the source splits by more than 30 km."""
    for ref in MAJOR_ROUTES:
        assert len(province.chains[ref]) == 1, ref
        assert _pieces_of_route(province, ref) == 1, ref
    split = {ref: len(chains) for ref, chains in province.chains.items() if len(chains) > 1}
    assert split == SPLIT_IN_SOURCE
    for ref, count in SPLIT_IN_SOURCE.items():
        assert _pieces_of_route(province, ref) == count


def test_network_is_one_component_but_for_stretches_that_leave_the_province(province, router):
    """Routes are connected to each other: four components, the largest holding over 98 % of the
    length. The others (S01 near Tianchang, G0321 at Dangshan, a 2 km stub of S33) connect to the
    rest only through Jiangsu or Henan, outside the extract."""
    components = connected_components(province)
    assert components == router.components
    assert len(components) == 4
    total = sum(segment.length_m for segment in province.segments.values())
    largest = set(components[0])
    in_largest = sum(s.length_m for s in province.segments.values() if s.start in largest)
    assert in_largest / total > 0.98
    assert len(router.junction_nodes()) > 400


def test_carriageways_are_collapsed_to_one_line(province, source_ways):
    """Of the two carriageways mapped for each bridge only one is kept: the kept pieces hold about
    half the length of the source ways, and no kept way appears twice."""
    source_m = sum(polyline_length_m(np.asarray(f["geometry"]["coordinates"])) for f in source_ways.values())
    kept_ways = {segment.osm_way for segment in province.segments.values() if not segment.joined}
    kept_m = sum(
        polyline_length_m(np.asarray(source_ways[way]["geometry"]["coordinates"])) for way in kept_ways
    )
    assert 0.45 < kept_m / source_m < 0.55


def test_route_length_is_its_pieces_plus_its_joins(province, source_ways):
    """For every route, the graph's length is within 5 % of the haversine length of the source ways
    kept for it (measured from the source file) plus the straight length of its joins: cutting at
    junctions and crossings and merging nearby nodes neither loses nor adds road."""
    for ref in province.chains:
        segments = _route_segments(province, ref)
        ways = {s.osm_way for s in segments if not s.joined}
        pieces_m = sum(
            polyline_length_m(np.asarray(source_ways[way]["geometry"]["coordinates"])) for way in ways
        )
        joins_m = sum(haversine_m(*s.coords[0], *s.coords[-1]) for s in segments if s.joined)
        graph_m = sum(s.length_m for s in segments)
        assert graph_m == pytest.approx(pieces_m + joins_m, rel=0.05), ref
    for segment in province.segments.values():
        if segment.joined:
            assert len(segment.coords) == 2  # joins are straight
        assert segment.length_m == pytest.approx(polyline_length_m(np.asarray(segment.coords)))


def test_speed_limits_come_from_maxspeed_where_osm_has_it(province, source_ways):
    """A piece keeps its way's OSM maxspeed; without one it gets the legal 120 km/h (道路交通安全法
    实施条例 第七十八条); a join takes the limit its two neighbouring pieces agree on, else 120."""
    assert LEGAL_MAX_SPEED_KMH == 120
    sources: Counter[str] = Counter()
    for segment in province.segments.values():
        sources[segment.speed_limit_source] += 1
        if segment.joined:
            assert segment.speed_limit_source in (SPEED_FROM_ADJACENT_PIECES, SPEED_LEGAL_DEFAULT)
            if segment.speed_limit_source == SPEED_LEGAL_DEFAULT:
                assert segment.speed_limit_kmh == 120
            continue
        maxspeed = source_ways[segment.osm_way]["properties"].get("maxspeed")
        if maxspeed is None:
            assert (segment.speed_limit_kmh, segment.speed_limit_source) == (120, SPEED_LEGAL_DEFAULT)
        else:
            assert (segment.speed_limit_kmh, segment.speed_limit_source) == (int(maxspeed), SPEED_FROM_OSM)
    assert sources[SPEED_FROM_OSM] > 500
    assert {s.speed_limit_kmh for s in province.segments.values()} >= {60, 80, 100, 120}


def test_every_segment_has_a_county_of_the_boundary_file(province, county_shapes):
    """Each segment's county is a real code of the county file, and it is the county holding the
    segment's midpoint wherever the midpoint is inside Anhui (a few pieces on the border with
    Jiangsu take the nearest county)."""
    outside = 0
    for segment in province.segments.values():
        assert segment.county in county_shapes
        coords = np.asarray(segment.coords)
        lengths = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
        cumulative = np.concatenate(([0.0], np.cumsum(lengths)))
        half = cumulative[-1] / 2
        i = min(int(np.searchsorted(cumulative, half, side="right")) - 1, len(coords) - 2)
        share = (half - cumulative[i]) / lengths[i] if lengths[i] else 0.0
        middle = Point(*(coords[i] + share * (coords[i + 1] - coords[i])))
        if county_shapes[segment.county].covers(middle):
            continue
        assert not any(polygon.covers(middle) for polygon in county_shapes.values())
        outside += 1
    assert outside < 20


def test_service_areas_are_the_real_ones(province, sources):
    """Every OSM service area (``highway=services``: 213 of the 215 features, the other two being
    gates in their fences) is a place with its real polygon and id, not synthetic, attached to a
    segment at an offset along it, with a geofence radius that covers the polygon."""
    features = sources["service_areas"]["features"]
    services = [f for f in features if f["properties"].get("highway") == "services"]
    assert (len(features), len(services)) == (215, 213)
    areas = [place for place in province.places if place.kind is PlaceKind.SERVICE_AREA]
    assert len(areas) == len(services)
    assert {place.id for place in areas} == {
        "SA-" + f["properties"]["@id"].replace("/", "-") for f in services
    }
    polygons = {"SA-" + f["properties"]["@id"].replace("/", "-"): shape(f["geometry"]) for f in services}
    for place in areas:
        assert not place.synthetic and place.polygon is not None
        assert shape({"type": "Polygon", "coordinates": [place.polygon]}).equals(polygons[place.id])
        ring = np.asarray(place.polygon)
        assert place.radius_m == pytest.approx(max(haversine_m(place.lon, place.lat, ring[:, 0], ring[:, 1])))
        segment = province.segments[place.segment]
        assert 0 <= place.offset_m <= segment.length_m


def test_synthetic_places_lie_in_their_county_near_a_junction(province, county_shapes):
    """Schools, water-source zones, government compounds and overload stations are flagged
    synthetic, lie inside the county they name, 300-3000 m from a junction node, with a radius."""
    junctions = np.array([(n.lon, n.lat) for n in province.nodes.values() if n.junction])
    counts: Counter[PlaceKind] = Counter()
    for place in province.places:
        if place.kind not in SYNTHETIC_OFF_ROAD:
            continue
        counts[place.kind] += 1
        assert place.synthetic and place.radius_m > 0 and place.polygon is None
        assert county_shapes[place.county].covers(Point(place.lon, place.lat))
        assert place.id.split("-")[1] == place.county
        nearest = float(np.min(haversine_m(place.lon, place.lat, junctions[:, 0], junctions[:, 1])))
        assert nearest <= 3_000.0 + 1.0
    assert counts[PlaceKind.SCHOOL] == 2 * counts[PlaceKind.GOVERNMENT] > 100
    assert (
        counts[PlaceKind.WATER_SOURCE] == counts[PlaceKind.OVERLOAD_STATION] == counts[PlaceKind.GOVERNMENT]
    )


def _gantry_positions(province: Province, chain: Route, ref: str) -> list[tuple[float, bool]]:
    """(distance from the chain start, whether a stretch owned by another route came before it)."""
    gantries: defaultdict[int, list[float]] = defaultdict(list)
    for place in province.places:
        if place.kind is PlaceKind.GANTRY and place.id.startswith(f"GT-{ref}-"):
            assert place.segment is not None and place.offset_m is not None
            gantries[place.segment].append(place.offset_m)
    found: list[tuple[float, bool]] = []
    start, foreign = 0.0, False
    for leg in chain.legs:
        segment = province.segments[leg.segment]
        if segment.ref != ref:
            foreign = True
        for offset in sorted(gantries.get(leg.segment, []), reverse=not leg.forward):
            found.append((start + (offset if leg.forward else segment.length_m - offset), foreign))
            foreign = False
        start += segment.length_m
    return found


def test_gantries_stand_every_10_to_20_km_along_each_route(province):
    """Along every chain, consecutive gantries of a route are 10-20 km apart (unless a stretch
    signed first with another number, which has that number's gantries, lies between them)."""
    gaps = []
    for ref, chains in province.chains.items():
        for chain in chains:
            positions = _gantry_positions(province, chain, ref)
            for (before, _), (after, foreign_between) in itertools.pairwise(positions):
                if not foreign_between:
                    gaps.append(after - before)
    assert len(gaps) > 250
    assert min(gaps) >= 10_000.0 - 1e-6
    assert max(gaps) <= 20_000.0 + 1e-6
    gantries = [place for place in province.places if place.kind is PlaceKind.GANTRY]
    assert all(place.synthetic and place.radius_m == 0 for place in gantries)
    for place in gantries:
        segment = province.segments[place.segment]
        assert place.id.startswith(f"GT-{segment.ref}-") and 0 <= place.offset_m <= segment.length_m


def test_weighing_sites_stand_at_junction_nodes(province):
    """A weighing site at each interchange (枢纽) and at one exit in each city, every one at a
    junction node of the graph (on the road: no radius)."""
    sites = [place for place in province.places if place.kind is PlaceKind.WEIGHING_SITE]
    at_nodes = {(node.lon, node.lat): node for node in province.nodes.values() if node.junction}
    for site in sites:
        node = at_nodes[(site.lon, site.lat)]
        assert node.name and site.name.startswith(node.name) and site.synthetic and site.radius_m == 0
    hubs = {node.name for node in province.nodes.values() if node.junction and "枢纽" in (node.name or "")}
    assert hubs <= {site.name.removesuffix("治超检测点（模拟）") for site in sites}
    assert len({site.county[:4] for site in sites}) == 16


def test_place_ids_are_unique(province):
    """Every place has its own id: they name sites and zones across runs of one seed."""
    ids = [place.id for place in province.places]
    assert len(ids) == len(set(ids))


def test_same_seed_same_province_other_seed_other_synthetic_places(sources, province):
    """A second build with seed 7 is equal; seed 8 changes synthetic places (and gantries) only:
    the graph and the real service areas do not depend on the seed."""
    again = build_province(sources, seed=7)
    assert again == province
    other = build_province(sources, seed=8)
    assert (other.nodes, other.segments, other.chains) == (province.nodes, province.segments, province.chains)
    real = [place for place in province.places if not place.synthetic]
    assert [place for place in other.places if not place.synthetic] == real
    assert [p for p in other.places if p.synthetic] != [p for p in province.places if p.synthetic]


def _digest(province: Province) -> str:
    text = repr(
        (sorted(province.nodes.items()), sorted(province.segments.items()), province.places, province.chains)
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_build_does_not_depend_on_the_hash_seed(province):
    """Another interpreter with another string-hash seed builds the same province: no set or
    hash order leaks into the result."""
    script = (
        "import hashlib\n"
        "from zhifa.bootstrap import reference_road_sources\n"
        "from zhifa.simulator.province.graph import build_province\n"
        "p = build_province(reference_road_sources(), seed=7)\n"
        "text = repr((sorted(p.nodes.items()), sorted(p.segments.items()), p.places, p.chains))\n"
        "print(hashlib.sha256(text.encode()).hexdigest())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert result.stdout.strip() == _digest(province)


def test_router_finds_a_plausible_route_from_hefei_to_wuhu(province, router):
    """合肥西枢纽 to 芜湖北: the route is at least the straight-line distance and at most twice it,
    and it is a connected walk from start to end."""
    start, end = _named_junction(province, router, "合肥西枢纽"), _named_junction(province, router, "芜湖北")
    route = router.route(start, end)
    a, b = province.nodes[start], province.nodes[end]
    straight = haversine_m(a.lon, a.lat, b.lon, b.lat)
    assert straight > 100_000
    assert straight <= route.length_m <= 2 * straight
    at = start
    for leg in route.legs:
        segment = province.segments[leg.segment]
        assert at == (segment.start if leg.forward else segment.end)
        at = segment.end if leg.forward else segment.start
    assert at == end
    back = router.route(end, start)
    assert back.length_m == pytest.approx(route.length_m)


def test_route_polyline_is_the_route_as_arrays(province, router):
    """The polyline runs from the start node to the end node, its cumulative length ends at the
    route's length, and each piece carries its segment's speed limit."""
    junctions = router.junction_nodes()
    route = router.route(junctions[0], junctions[-1])
    coords, cum_m, limit_kmh, segment_of_piece = route_polyline(province, route)
    assert coords.shape == (len(cum_m), 2) and limit_kmh.shape == segment_of_piece.shape == (len(cum_m) - 1,)
    start, end = province.nodes[route.start], province.nodes[route.end]
    assert tuple(coords[0]) == (start.lon, start.lat) and tuple(coords[-1]) == (end.lon, end.lat)
    assert cum_m[0] == 0 and np.all(np.diff(cum_m) >= 0)
    assert cum_m[-1] == pytest.approx(route.length_m)
    assert [leg.segment for leg in route.legs] == list(dict.fromkeys(segment_of_piece.tolist()))
    for segment_id, limit in zip(segment_of_piece.tolist(), limit_kmh.tolist(), strict=True):
        assert province.segments[segment_id].speed_limit_kmh == limit
    empty = route_polyline(province, router.route(junctions[0], junctions[0]))
    assert empty[0].shape == (1, 2) and len(empty[2]) == 0


def test_router_refuses_unreachable_and_unknown_nodes(province, router):
    """A node of a small component cannot be reached from the largest one: a clear ValueError,
    as for a node that does not exist."""
    isolated = router.components[-1][0]
    with pytest.raises(ValueError, match="cannot be reached"):
        router.route(router.junction_nodes()[0], isolated)
    with pytest.raises(ValueError, match="not in province"):
        router.route(-1, router.junction_nodes()[0])


def test_junction_nodes_carry_the_osm_names(province, sources):
    """Junction nodes are named after their OSM junctions; most named OSM junctions are on the
    graph (the rest lie over 1 km from any road the bridges give)."""
    named = {f["properties"]["name"] for f in sources["junctions"]["features"] if f["properties"].get("name")}
    on_graph = {node.name for node in province.nodes.values() if node.junction and node.name}
    assert on_graph <= named
    assert len(on_graph) / len(named) > 0.9
