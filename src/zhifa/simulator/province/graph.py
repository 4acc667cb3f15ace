"""Build the reference province's routable expressway graph from OpenStreetMap bridge pieces.

The open data has no continuous road network: only the bridge ways of each expressway (88 m
long at the median, mapped once per carriageway, about a kilometre apart at the median and up to
27 km apart) and the junction nodes. The builder:

1. reads the pieces and their route numbers (``pieces.read_pieces``): a way signed ``G3;G4212``
   belongs to both routes (a concurrency, 共线), a number of an ordinary road sharing the bridge
   (``G330``) is dropped;
2. collapses the two carriageways of each road to one two-way line
   (``pieces.collapse_carriageways``): a piece lying, for at least half its length, within
   ``TWIN_DISTANCE_M`` of an already kept parallel piece (longest kept first) is that piece's
   twin and is dropped, its route numbers added to the twin's;
3. chains each route's pieces along the road by greedy endpoint matching: the closest pair of
   free piece ends of one route is joined by a straight segment, then the next closest, each end
   at most once and never closing a loop, up to ``MAX_JOIN_GAP_M`` (the result is a set of
   paths: an ordering along the road that needs no guess of its direction, and that a greedy
   walk from one end would get wrong at every piece it skipped); what stays apart is a separate
   chain of that route;
4. connects routes where they meet: a chain end within ``INTERCHANGE_REACH_M`` of another road
   is joined to it, lines of different routes that cross share a node at the crossing, and
   pieces shared by concurrent routes connect them anyway;
5. snaps each OSM junction within ``JUNCTION_SNAP_M`` of a line onto it as a named node, so trips
   enter and leave the network where real exits and interchanges are;
6. numbers nodes and segments along the chains and gives each segment its speed limit and county.

The parameters and the figures they give are in docs/simulator.md. Lengths are haversine metres.
Everything is computed in a fixed order (ways by OSM id, routes by number, candidates by distance
then id), so the graph depends on the data only.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from zhifa.simulator.province.geo import (
    Counties,
    FloatArray,
    LocalPlane,
    osm_id_key,
    point_along,
    polyline_length_m,
)
from zhifa.simulator.province.model import Leg, Node, Province, Route, Segment
from zhifa.simulator.province.pieces import (
    LEGAL_MAX_SPEED_KMH,
    collapse_carriageways,
    read_pieces,
    ref_rank,
)
from zhifa.simulator.province.places import HUB_MARKER, lay_out_places

# Where a segment's speed limit comes from (Segment.speed_limit_source).
SPEED_FROM_OSM = "osm"
SPEED_FROM_ADJACENT_PIECES = "osm adjacent"
SPEED_LEGAL_DEFAULT = "legal default"

# Measured on this extract: the joins matching makes are 1.0 km at the median, 4.7 km at the 90th
# percentile and 13.6 km at the 99th; twelve exceed 15 km (the plains north of the Huai and the
# approaches to the Yangtze crossings have few bridges), the longest 27.1 km. The stretches still
# apart after that are 34 km or more from each other and are not known to be one road (G36,
# G0321, G1516, G4221, S09; docs/simulator.md), so the limit sits in the empty band between.
MAX_JOIN_GAP_M = 30_000.0
# A route that ends near another expressway ends at an interchange with it: the main line of a
# hub interchange lies within a few hundred metres, and the last bridge before it within 3 km.
INTERCHANGE_REACH_M = 3_000.0
# OSM puts a junction node where the exit ramp leaves its carriageway; the collapsed line is the
# other carriageway or a straight join, which over a gap of several km cuts a curve by some
# hundreds of metres.
JUNCTION_SNAP_M = 1_000.0
# The two carriageways' junction nodes of one exit lie where each exit ramp leaves the main line,
# up to about a kilometre apart along the road.
EXIT_SPAN_M = 1_500.0
# Cuts closer than this to a node reuse the node, so no segment is shorter than a ramp's nose.
NODE_MERGE_M = 50.0

Cut = tuple[float, int]  # distance along an edge's plane polyline, vertex


@dataclass
class _Edge:
    start: int
    end: int
    lonlat: FloatArray  # (n, 2), from start to end
    refs: tuple[str, ...]
    name: str | None
    maxspeed: int | None
    way: str | None  # None for a straight join

    @property
    def joined(self) -> bool:
        return self.way is None


ChainLegs = list[tuple[int, bool]]  # (edge, forward)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        root = item
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while item != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, item: int, into: int) -> None:
        a, b = self.find(item), self.find(into)
        if a != b:
            self.parent[a] = b


@dataclass
class _Network:
    """The graph while it is built: raw vertices (merged through a union-find) and edges."""

    plane: LocalPlane
    positions: list[FloatArray] = field(default_factory=list)  # lon/lat of each raw vertex
    merged: _UnionFind = field(default_factory=_UnionFind)
    junctions: defaultdict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    edges: dict[int, _Edge] = field(default_factory=dict)
    chains: dict[str, list[ChainLegs]] = field(default_factory=dict)
    _vertex_at: dict[tuple[float, float], int] = field(default_factory=dict)
    _joins: dict[tuple[int, int], int] = field(default_factory=dict)
    _next_edge: int = 0

    def vertex(self, lonlat: FloatArray) -> int:
        """The vertex at exactly this position (OSM ways that meet share the node), or a new one."""
        key = (float(lonlat[0]), float(lonlat[1]))
        if key not in self._vertex_at:
            self._vertex_at[key] = self.new_vertex(lonlat)
        return self._vertex_at[key]

    def new_vertex(self, lonlat: FloatArray) -> int:
        self.positions.append(np.asarray(lonlat, dtype=np.float64))
        return len(self.positions) - 1

    def position(self, vertex: int) -> FloatArray:
        return self.positions[self.merged.find(vertex)]

    def add_edge(self, edge: _Edge) -> int:
        edge_id = self._next_edge
        self._next_edge += 1
        self.edges[edge_id] = edge
        return edge_id

    def add_join(self, a: int, b: int, ref: str) -> int:
        """A straight join from a to b, shared with any other route that joined the same two ends."""
        key = (min(a, b), max(a, b))
        if key in self._joins:
            edge = self.edges[self._joins[key]]
            edge.refs = tuple(sorted({*edge.refs, ref}, key=ref_rank))
            return self._joins[key]
        lonlat = np.array([self.position(a), self.position(b)])
        self._joins[key] = self.add_edge(_Edge(a, b, lonlat, (ref,), None, None, None))
        return self._joins[key]

    def edge_ids(self) -> list[int]:
        return sorted(self.edges)

    def lines(self, edge_ids: Sequence[int]) -> list[LineString]:
        return [LineString(self.plane.to_xy(self.edges[e].lonlat)) for e in edge_ids]

    def split(self, cuts: Mapping[int, list[Cut]]) -> None:
        """Cut edges at the given plane distances, inserting the given vertices, and keep every
        chain's legs in order. A cut within NODE_MERGE_M of a node merges into that node."""
        replaced: dict[int, list[int]] = {}
        for edge_id in sorted(cuts):
            edge = self.edges[edge_id]
            xy = self.plane.to_xy(edge.lonlat)
            along = np.concatenate(([0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))))
            total = float(along[-1])
            stops: list[tuple[float, int]] = [(0.0, edge.start)]
            for distance, vertex in sorted(cuts[edge_id]):
                if distance <= NODE_MERGE_M:
                    self.merged.union(vertex, edge.start)
                elif total - distance <= NODE_MERGE_M:
                    self.merged.union(vertex, edge.end)
                elif distance - stops[-1][0] <= NODE_MERGE_M:
                    self.merged.union(vertex, stops[-1][1])
                else:
                    stops.append((distance, vertex))
            if len(stops) == 1:
                continue
            stops.append((total, edge.end))
            parts = []
            for (lo, a), (hi, b) in itertools.pairwise(stops):
                inside = edge.lonlat[(along > lo) & (along < hi)]
                first = edge.lonlat[:1] if lo == 0.0 else self.position(a)[None, :]
                last = edge.lonlat[-1:] if hi == total else self.position(b)[None, :]
                lonlat = np.concatenate([first, inside, last])
                parts.append(
                    self.add_edge(_Edge(a, b, lonlat, edge.refs, edge.name, edge.maxspeed, edge.way))
                )
            del self.edges[edge_id]
            replaced[edge_id] = parts
        if replaced:
            for chains in self.chains.values():
                for index, legs in enumerate(chains):
                    chains[index] = _expand(legs, replaced)


def _expand(legs: ChainLegs, replaced: Mapping[int, list[int]]) -> ChainLegs:
    expanded: ChainLegs = []
    for edge_id, forward in legs:
        parts = replaced.get(edge_id, [edge_id])
        expanded += [(part, forward) for part in (parts if forward else reversed(parts))]
    return expanded


def _incidence(net: _Network, edge_ids: Iterable[int]) -> dict[int, list[int]]:
    """Vertex -> its edges among ``edge_ids``, in edge order; vertices in order of first use."""
    incident: dict[int, list[int]] = {}
    for edge_id in edge_ids:
        edge = net.edges[edge_id]
        for vertex in (net.merged.find(edge.start), net.merged.find(edge.end)):
            incident.setdefault(vertex, []).append(edge_id)
    return incident


def _route_edges(net: _Network, ref: str) -> list[int]:
    return [edge_id for edge_id in net.edge_ids() if ref in net.edges[edge_id].refs]


def _chain_route(net: _Network, ref: str) -> None:
    """Join one route's pieces by greedy endpoint matching and record its chains."""
    edge_ids = _route_edges(net, ref)
    incident = _incidence(net, edge_ids)
    together = _UnionFind()
    for edge_id in edge_ids:
        together.union(net.edges[edge_id].start, net.edges[edge_id].end)
    # A vertex where one piece of the route ends and no other continues it: where a join may go.
    free = sorted(vertex for vertex, edges in incident.items() if len(edges) == 1)
    if len(free) >= 2:
        xy = net.plane.to_xy(np.array([net.position(vertex) for vertex in free]))
        distance = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        first, second = np.nonzero(np.triu(distance <= MAX_JOIN_GAP_M, k=1))
        open_ends = set(free)
        for k in np.lexsort((second, first, distance[first, second])):
            a, b = free[first[k]], free[second[k]]
            if a in open_ends and b in open_ends and together.find(a) != together.find(b):
                net.add_join(a, b, ref)
                open_ends -= {a, b}
                together.union(a, b)
    net.chains[ref] = _walk_chains(net, _route_edges(net, ref))


def _walk_chains(net: _Network, edge_ids: list[int]) -> list[ChainLegs]:
    """Cover the edges with paths, each walked from its northern end (a fork starts a new path)."""
    incident = _incidence(net, edge_ids)
    remaining = {vertex: len(edges) for vertex, edges in incident.items()}
    unused = set(edge_ids)
    chains: list[ChainLegs] = []
    while unused:
        ends = [vertex for vertex, count in remaining.items() if count == 1]
        candidates = ends or [vertex for vertex, count in remaining.items() if count > 0]
        vertex = max(candidates, key=lambda v: (float(net.position(v)[1]), -v))
        legs: ChainLegs = []
        while options := [edge_id for edge_id in incident[vertex] if edge_id in unused]:
            edge = net.edges[options[0]]
            forward = net.merged.find(edge.start) == vertex
            legs.append((options[0], forward))
            unused.discard(options[0])
            remaining[net.merged.find(edge.start)] -= 1
            remaining[net.merged.find(edge.end)] -= 1
            vertex = net.merged.find(edge.end if forward else edge.start)
        chains.append(legs)
    return chains


def _chain_ends(net: _Network, legs: ChainLegs) -> tuple[int, int]:
    first, first_forward = net.edges[legs[0][0]], legs[0][1]
    last, last_forward = net.edges[legs[-1][0]], legs[-1][1]
    start = first.start if first_forward else first.end
    end = last.end if last_forward else last.start
    return net.merged.find(start), net.merged.find(end)


def _connect_chain_ends(net: _Network) -> None:
    """Join each chain end that meets no other route to the nearest other road within reach."""
    edge_ids = net.edge_ids()
    lines = net.lines(edge_ids)
    tree = shapely.STRtree(lines)
    incident = _incidence(net, edge_ids)
    cuts: defaultdict[int, list[Cut]] = defaultdict(list)
    pending: list[tuple[str, int, bool, int, int]] = []
    for ref in sorted(net.chains, key=ref_rank):
        own = _route_edges(net, ref)
        own_degree = {vertex: len(edges) for vertex, edges in _incidence(net, own).items()}
        together = _UnionFind()
        for edge_id in own:
            together.union(net.merged.find(net.edges[edge_id].start), net.merged.find(net.edges[edge_id].end))
        for index, legs in enumerate(net.chains[ref]):
            for at_start, vertex in zip((True, False), _chain_ends(net, legs), strict=True):
                if own_degree[vertex] != 1:
                    continue
                if any(ref not in net.edges[edge_id].refs for edge_id in incident[vertex]):
                    continue  # a concurrency ends here: the route already meets another one
                point = Point(net.plane.to_xy(net.position(vertex)))
                own_stretch = together.find(vertex)
                best: tuple[float, int] | None = None
                for k in sorted(int(k) for k in tree.query(point, "dwithin", INTERCHANGE_REACH_M)):
                    edge = net.edges[edge_ids[k]]
                    if ref in edge.refs and together.find(net.merged.find(edge.start)) == own_stretch:
                        continue
                    candidate = (lines[k].distance(point), k)
                    best = candidate if best is None or candidate < best else best
                if best is None:
                    continue
                line = lines[best[1]]
                along = line.project(point)
                meeting = line.interpolate(along)
                target = net.new_vertex(net.plane.to_lonlat(np.array([meeting.x, meeting.y])))
                cuts[edge_ids[best[1]]].append((along, target))
                pending.append((ref, index, at_start, vertex, target))
    net.split(cuts)
    for ref, index, at_start, vertex, target in pending:
        legs = net.chains[ref][index]
        if at_start:
            join = net.add_join(target, vertex, ref)
            legs.insert(0, (join, net.edges[join].start == target))
        else:
            join = net.add_join(vertex, target, ref)
            legs.append((join, net.edges[join].start == vertex))


def _crossing_points(geometry: Any) -> list[tuple[float, float]]:
    if geometry.is_empty:
        return []
    if geometry.geom_type == "Point":
        return [(geometry.x, geometry.y)]
    if geometry.geom_type in ("MultiPoint", "GeometryCollection", "MultiLineString"):
        return [point for part in geometry.geoms for point in _crossing_points(part)]
    # Two routes overlapping along a line are a concurrency the tags missed: meet at its start.
    return [tuple(geometry.coords[0])]


def _connect_crossings(net: _Network) -> None:
    """Give two routes a common node wherever their lines cross (a hub interchange, 枢纽)."""
    edge_ids = net.edge_ids()
    lines = net.lines(edge_ids)
    first, second = shapely.STRtree(lines).query(lines, predicate="intersects")
    cuts: defaultdict[int, list[Cut]] = defaultdict(list)
    for i, j in sorted(zip(first.tolist(), second.tolist(), strict=True)):
        if i >= j:
            continue
        a, b = net.edges[edge_ids[i]], net.edges[edge_ids[j]]
        if set(a.refs) & set(b.refs):
            continue  # one road (a concurrency or a fork): already connected where it matters
        ends_a = {net.merged.find(a.start), net.merged.find(a.end)}
        if ends_a & {net.merged.find(b.start), net.merged.find(b.end)}:
            continue
        for x, y in _crossing_points(lines[i].intersection(lines[j])):
            vertex = net.new_vertex(net.plane.to_lonlat(np.array([x, y])))
            cuts[edge_ids[i]].append((lines[i].project(Point(x, y)), vertex))
            cuts[edge_ids[j]].append((lines[j].project(Point(x, y)), vertex))
    net.split(cuts)


def _snap_junctions(net: _Network, junctions: Mapping[str, Any]) -> None:
    """Make each OSM junction near a line a node on it, carrying the junction's id and name.

    OSM maps an exit once per carriageway, where each ramp leaves it; on the collapsed line the
    two become one node (the first by OSM id), as do all same-named junctions of one route within
    EXIT_SPAN_M. Interchange nodes on different routes stay apart: each route has its own.
    """
    edge_ids = net.edge_ids()
    lines = net.lines(edge_ids)
    tree = shapely.STRtree(lines)
    points = [f for f in junctions["features"] if (f.get("geometry") or {}).get("type") == "Point"]
    placed: defaultdict[str, list[tuple[int, FloatArray, tuple[str, ...]]]] = defaultdict(list)
    cuts: defaultdict[int, list[Cut]] = defaultdict(list)
    for feature in sorted(points, key=lambda f: osm_id_key(str(f["properties"]["@id"]))):
        props = feature["properties"]
        name = str(props.get("name") or "")
        point = Point(net.plane.to_xy(np.asarray(feature["geometry"]["coordinates"], dtype=np.float64)[:2]))
        nearest = tree.query_nearest(point, max_distance=JUNCTION_SNAP_M, all_matches=True)
        if len(nearest) == 0:
            continue
        k = int(np.min(nearest))
        along = lines[k].project(point)
        on_line = lines[k].interpolate(along)
        xy = np.array([on_line.x, on_line.y])
        refs = net.edges[edge_ids[k]].refs
        same_exit = [
            vertex
            for vertex, where, their_refs in placed[name]
            if float(np.hypot(*(where - xy))) <= EXIT_SPAN_M and set(refs) & set(their_refs)
        ]
        if name and same_exit:
            net.junctions[same_exit[0]].append((str(props["@id"]), name))
            continue
        vertex = net.new_vertex(net.plane.to_lonlat(xy))
        net.junctions[vertex].append((str(props["@id"]), name))
        placed[name].append((vertex, xy, refs))
        cuts[edge_ids[k]].append((along, vertex))
    net.split(cuts)


def _drop_loops(net: _Network) -> None:
    """Edges whose two ends merged into one node (a piece shorter than the merge distance)."""
    loops = {e for e, edge in net.edges.items() if net.merged.find(edge.start) == net.merged.find(edge.end)}
    for edge_id in sorted(loops):
        del net.edges[edge_id]
    for chains in net.chains.values():
        chains[:] = [kept for legs in chains if (kept := [leg for leg in legs if leg[0] not in loops])]


def _from_adjacent_pieces(net: _Network) -> dict[int, tuple[int | None, str | None]]:
    """For each join, the maxspeed and name of the pieces on both sides of its gap, where the two
    agree (looked up along the chains of the join's own, most significant, route)."""
    inherited: dict[int, tuple[int | None, str | None]] = {}
    for ref in sorted(net.chains, key=ref_rank):
        for legs in net.chains[ref]:
            edges = [net.edges[edge_id] for edge_id, _ in legs]
            index = 0
            while index < len(legs):
                if not edges[index].joined:
                    index += 1
                    continue
                stop = index
                while stop < len(legs) and edges[stop].joined:
                    stop += 1
                before = edges[index - 1] if index > 0 else None
                after = edges[stop] if stop < len(legs) else None
                if before is not None and after is not None:
                    speed = before.maxspeed if before.maxspeed == after.maxspeed else None
                    name = before.name if before.name == after.name else None
                    for edge_id, _ in legs[index:stop]:
                        if net.edges[edge_id].refs[0] == ref:
                            inherited[edge_id] = (speed, name)
                index = stop
    return inherited


def _freeze(net: _Network, counties: Counties, code: str) -> Province:
    """Number nodes and segments in route order (routes by significance, chains from their
    northern end) and turn the edges into immutable segments."""
    _drop_loops(net)
    find = net.merged.find
    node_of: dict[int, int] = {}
    segment_of: dict[int, int] = {}
    ordered = [leg for ref in sorted(net.chains, key=ref_rank) for legs in net.chains[ref] for leg in legs]
    if {edge_id for edge_id, _ in ordered} != set(net.edges):
        raise RuntimeError("an edge is on no chain of its routes: a build step lost track of it")
    for edge_id, forward in ordered:
        edge = net.edges[edge_id]
        for vertex in (edge.start, edge.end) if forward else (edge.end, edge.start):
            node_of.setdefault(find(vertex), len(node_of))
        segment_of.setdefault(edge_id, len(segment_of))

    junctions_at: defaultdict[int, list[tuple[str, str]]] = defaultdict(list)
    for vertex, found in net.junctions.items():
        junctions_at[find(vertex)] += found
    nodes: dict[int, Node] = {}
    for vertex, node_id in node_of.items():
        found = sorted(junctions_at.get(vertex, []), key=lambda item: osm_id_key(item[0]))
        names = [name for _, name in found if name]
        # Several junctions merged into one node: an interchange's name (枢纽) says most.
        hubs = [name for name in names if HUB_MARKER in name]
        lon, lat = (float(value) for value in net.positions[vertex])
        nodes[node_id] = Node(node_id, lon, lat, next(iter(hubs or names), None), bool(found))

    inherited = _from_adjacent_pieces(net)
    segments: dict[int, Segment] = {}
    for edge_id, segment_id in sorted(segment_of.items(), key=lambda item: item[1]):
        edge = net.edges[edge_id]
        start, end = node_of[find(edge.start)], node_of[find(edge.end)]
        lonlat = edge.lonlat.copy()
        lonlat[0] = (nodes[start].lon, nodes[start].lat)
        lonlat[-1] = (nodes[end].lon, nodes[end].lat)
        keep = np.concatenate(([True], np.any(np.diff(lonlat, axis=0) != 0, axis=1)))
        keep[-1] = True
        lonlat = lonlat[keep]
        length = polyline_length_m(lonlat)
        name, speed, source = edge.name, edge.maxspeed, SPEED_FROM_OSM
        if edge.joined:
            speed, name = inherited.get(edge_id, (None, None))
            source = SPEED_FROM_ADJACENT_PIECES
        if speed is None:
            speed, source = LEGAL_MAX_SPEED_KMH, SPEED_LEGAL_DEFAULT
        middle = point_along(lonlat, length / 2)
        segments[segment_id] = Segment(
            id=segment_id,
            ref=edge.refs[0],
            name=name,
            start=start,
            end=end,
            coords=tuple((float(lon), float(lat)) for lon, lat in lonlat.tolist()),
            length_m=length,
            speed_limit_kmh=speed,
            speed_limit_source=source,
            county=counties.nearest(*middle),
            joined=edge.joined,
            concurrent_refs=edge.refs[1:],
            osm_way=edge.way,
        )

    chains: dict[str, tuple[Route, ...]] = {}
    for ref in sorted(net.chains, key=ref_rank):
        routes = []
        for legs in net.chains[ref]:
            chain_legs = tuple(Leg(segment_of[edge_id], forward) for edge_id, forward in legs)
            start, end = (node_of[vertex] for vertex in _chain_ends(net, legs))
            length = sum(segments[leg.segment].length_m for leg in chain_legs)
            routes.append(Route(start, end, chain_legs, length))
        chains[ref] = tuple(routes)
    return Province(code, nodes, segments, (), chains)


def build_road_graph(sources: Mapping[str, Mapping[str, Any]], counties: Counties, code: str) -> Province:
    """The expressway graph of the ``bridges`` and ``junctions`` sources (see the module doc),
    as a Province without places."""
    net = _Network(LocalPlane(counties.middle_lat))
    for piece in collapse_carriageways(read_pieces(sources["bridges"]), net.plane):
        start, end = net.vertex(piece.lonlat[0]), net.vertex(piece.lonlat[-1])
        net.add_edge(_Edge(start, end, piece.lonlat, piece.refs, piece.name, piece.maxspeed, piece.way))
    refs = sorted({ref for edge in net.edges.values() for ref in edge.refs}, key=ref_rank)
    for ref in refs:
        _chain_route(net, ref)
    _connect_chain_ends(net)
    _connect_crossings(net)
    _snap_junctions(net, sources["junctions"])
    return _freeze(net, counties, code)


def build_province(sources: Mapping[str, Mapping[str, Any]], *, seed: int, code: str = "340000") -> Province:
    """The routable expressway graph of a province and its places.

    ``sources`` holds GeoJSON FeatureCollections keyed ``bridges``, ``junctions``,
    ``service_areas`` and ``counties`` (``zhifa.bootstrap.reference_road_sources`` gives the
    packaged ones). The graph depends on the data only; ``seed`` moves the synthetic places and
    the gantry spacing, and the same seed gives an equal Province.
    """
    counties = Counties(sources["counties"])
    graph = build_road_graph(sources, counties, code)
    return replace(graph, places=lay_out_places(graph, sources["service_areas"], counties, seed=seed))
