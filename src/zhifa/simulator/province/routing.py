"""Shortest routes on the province's expressway graph, and routes as arrays to drive along.

Dijkstra on a binary heap: the graph has a few thousand nodes, so a search takes milliseconds in
plain Python, and trips start at a few hundred junctions, so each search tree is kept (LRU) and
answers every trip from the same start. networkx would add a dependency (and a stub package for
mypy) for the same twenty lines.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict

import numpy as np
import numpy.typing as npt

from zhifa.simulator.province.geo import piece_lengths_m
from zhifa.simulator.province.model import Leg, Province, Route

# (neighbour, segment, forward, length in metres)
_Arc = tuple[int, int, bool, float]
# node -> (previous node, segment, forward) on the shortest path from the tree's source
_Tree = tuple[dict[int, float], dict[int, tuple[int, int, bool]]]


def _adjacency(province: Province) -> dict[int, list[_Arc]]:
    adjacency: dict[int, list[_Arc]] = {node: [] for node in sorted(province.nodes)}
    for segment_id in sorted(province.segments):
        segment = province.segments[segment_id]
        adjacency[segment.start].append((segment.end, segment_id, True, segment.length_m))
        adjacency[segment.end].append((segment.start, segment_id, False, segment.length_m))
    return adjacency


def connected_components(province: Province) -> list[tuple[int, ...]]:
    """Node ids of each connected component, sorted; the component with the most kilometres of
    road first (ties: more nodes, then lower first node)."""
    adjacency = _adjacency(province)
    seen: set[int] = set()
    components: list[tuple[int, ...]] = []
    for root in adjacency:
        if root in seen:
            continue
        seen.add(root)
        stack, members = [root], [root]
        while stack:
            for neighbour, _, _, _ in adjacency[stack.pop()]:
                if neighbour not in seen:
                    seen.add(neighbour)
                    stack.append(neighbour)
                    members.append(neighbour)
        components.append(tuple(sorted(members)))
    index_of = {node: index for index, component in enumerate(components) for node in component}
    length = [0.0] * len(components)
    for segment in province.segments.values():
        length[index_of[segment.start]] += segment.length_m
    order = sorted(range(len(components)), key=lambda i: (-length[i], -len(components[i]), components[i][0]))
    return [components[i] for i in order]


class Router:
    """Shortest routes by length between nodes of one Province (which it never changes)."""

    def __init__(self, province: Province, cached_sources: int = 512) -> None:
        self._province = province
        self._adjacency = _adjacency(province)
        self._components = connected_components(province)
        self._cached_sources = cached_sources
        self._trees: OrderedDict[int, _Tree] = OrderedDict()

    @property
    def components(self) -> list[tuple[int, ...]]:
        """Node ids of each connected component, the largest (in km of road) first."""
        return list(self._components)

    def junction_nodes(self) -> list[int]:
        """The junction nodes (real OSM exits and interchanges) of the largest component, by id:
        where trips can start and end and always find a route."""
        largest = self._components[0] if self._components else ()
        return [node for node in largest if self._province.nodes[node].junction]

    def route(self, start_node: int, end_node: int) -> Route:
        """The shortest route by length; ValueError when either node is unknown or unreachable."""
        for node in (start_node, end_node):
            if node not in self._adjacency:
                raise ValueError(f"node {node} is not in province {self._province.code}")
        if start_node == end_node:
            return Route(start_node, end_node, (), 0.0)
        distance, via = self._tree(start_node)
        if end_node not in distance:
            raise ValueError(
                f"node {end_node} cannot be reached from node {start_node}: they lie in different "
                "components of the expressway graph (Router.junction_nodes() are all connected)"
            )
        legs: list[Leg] = []
        node = end_node
        while node != start_node:
            previous, segment, forward = via[node]
            legs.append(Leg(segment, forward))
            node = previous
        legs.reverse()
        length = sum(self._province.segments[leg.segment].length_m for leg in legs)
        return Route(start_node, end_node, tuple(legs), length)

    def _tree(self, source: int) -> _Tree:
        if source in self._trees:
            self._trees.move_to_end(source)
            return self._trees[source]
        distance: dict[int, float] = {source: 0.0}
        via: dict[int, tuple[int, int, bool]] = {}
        done: set[int] = set()
        heap = [(0.0, source)]
        while heap:
            reached, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            for neighbour, segment, forward, length in self._adjacency[node]:
                candidate = reached + length
                if candidate < distance.get(neighbour, math.inf):
                    distance[neighbour] = candidate
                    via[neighbour] = (node, segment, forward)
                    heapq.heappush(heap, (candidate, neighbour))
        self._trees[source] = (distance, via)
        if len(self._trees) > self._cached_sources:
            self._trees.popitem(last=False)
        return distance, via


def route_polyline(
    province: Province, route: Route
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """A route as arrays to interpolate positions along.

    Returns ``coords`` (n, 2) lon/lat from start to end, ``cum_m`` (n,) haversine metres from the
    start to each point, ``limit_kmh`` (n - 1,) the speed limit of each piece between consecutive
    points, and ``segment_of_piece`` (n - 1,) the segment each piece belongs to. A position at
    distance d lies on piece ``np.searchsorted(cum_m, d, side="right") - 1``.
    """
    if not route.legs:
        node = province.nodes[route.start]
        return (
            np.array([[node.lon, node.lat]], dtype=np.float64),
            np.zeros(1),
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
        )
    parts: list[npt.NDArray[np.float64]] = []
    limits: list[npt.NDArray[np.float64]] = []
    segments: list[npt.NDArray[np.int64]] = []
    for index, leg in enumerate(route.legs):
        segment = province.segments[leg.segment]
        coords = np.asarray(segment.coords, dtype=np.float64)
        if not leg.forward:
            coords = coords[::-1]
        # Consecutive legs share their node: its point is written once.
        parts.append(coords if index == 0 else coords[1:])
        pieces = len(coords) - 1
        limits.append(np.full(pieces, float(segment.speed_limit_kmh)))
        segments.append(np.full(pieces, segment.id, dtype=np.int64))
    points = np.concatenate(parts)
    cumulative = np.concatenate(([0.0], np.cumsum(piece_lengths_m(points))))
    return points, cumulative, np.concatenate(limits), np.concatenate(segments)
