"""The OSM bridge pieces an expressway graph is built from: their route numbers, and one piece per
bridge where OSM maps both carriageways (see graph.py for the whole method)."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString

from zhifa.simulator.province.geo import FloatArray, LocalPlane, osm_id_key

# Expressway route numbers: G or S with 1-2 digits (trunk lines) or 4 digits (parallel, ring and
# connecting lines), as in GB/T 917-2017. Three digits are ordinary national or provincial roads
# (G330, S103) that share a bridge with an expressway: not part of the expressway graph.
EXPRESSWAY_REF = re.compile(r"[GS](?:\d{1,2}|\d{4})")

# 道路交通安全法实施条例 第七十八条第一款: 高速公路……最高车速不得超过每小时120公里. Used where OSM
# has no maxspeed: the highest limit the law allows, which is what most Anhui expressways post.
# It is the road's limit; the class limits of 第二款 (other motor vehicles 100 km/h ...) apply on
# top of it, per vehicle, and are not the graph's business.
LEGAL_MAX_SPEED_KMH = 120

# The two carriageways of one expressway: from the middle of a bridge piece to the nearest other
# piece is 12 m at the median in this extract, 28 m at the 95th percentile, 60 m at the 99th. Two
# different expressways are not that close for long outside a concurrency, which carries both
# numbers anyway. A piece is a twin when at least half of it (sampled every 20 m) lies that close
# to kept pieces running the same way: a bridge crossing over another road is not a twin.
TWIN_DISTANCE_M = 60.0
TWIN_MAX_ANGLE_DEG = 30.0
TWIN_COVERED_SHARE = 0.5
TWIN_SAMPLE_SPACING_M = 20.0


@dataclass(frozen=True)
class Piece:
    """One OSM bridge way with the expressway numbers it carries, most significant first."""

    way: str
    refs: tuple[str, ...]
    name: str | None
    maxspeed: int | None
    lonlat: FloatArray


def ref_rank(ref: str) -> tuple[bool, bool, int]:
    """Sort key putting the most significant route number first: national before provincial,
    trunk lines (1-2 digits) before parallel and connecting lines (4 digits), then by number."""
    return (ref[0] != "G", len(ref) > 3, int(ref[1:]))


def _parse_maxspeed(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) <= LEGAL_MAX_SPEED_KMH else None


def read_pieces(bridges: Mapping[str, Any]) -> list[Piece]:
    """The bridge ways that carry an expressway number, ordered by OSM id.

    A way without a usable ``ref`` takes the route numbers that at least two thirds of the ways
    with its ``name`` carry (京台高速 -> G3); unnamed ways without a number are dropped. The
    junction nodes the extract also holds are ignored: the junctions file has all of them.
    """
    features = [f for f in bridges["features"] if (f.get("geometry") or {}).get("type") == "LineString"]
    features.sort(key=lambda f: osm_id_key(str(f["properties"]["@id"])))

    def refs_of(props: Mapping[str, Any]) -> tuple[str, ...]:
        found = {part.strip() for part in str(props.get("ref") or "").split(";")}
        return tuple(sorted((r for r in found if EXPRESSWAY_REF.fullmatch(r)), key=ref_rank))

    by_name: defaultdict[str, Counter[tuple[str, ...]]] = defaultdict(Counter)
    for feature in features:
        props = feature["properties"]
        if props.get("name") and refs_of(props):
            by_name[str(props["name"])][refs_of(props)] += 1

    pieces = []
    for feature in features:
        props = feature["properties"]
        refs = refs_of(props)
        name = str(props["name"]) if props.get("name") else None
        if not refs and name is not None and name in by_name:
            (common, count), total = by_name[name].most_common(1)[0], by_name[name].total()
            refs = common if 3 * count >= 2 * total else ()
        lonlat = np.asarray(feature["geometry"]["coordinates"], dtype=np.float64)[:, :2]
        if not refs or len(lonlat) < 2:
            continue
        pieces.append(Piece(str(props["@id"]), refs, name, _parse_maxspeed(props.get("maxspeed")), lonlat))
    return pieces


def _direction(line: LineString, at_m: float, half_window_m: float = 20.0) -> FloatArray:
    a = line.interpolate(max(at_m - half_window_m, 0.0))
    b = line.interpolate(min(at_m + half_window_m, line.length))
    return np.array([b.x - a.x, b.y - a.y])


def _parallel(piece: LineString, other: LineString) -> bool:
    """Whether ``other`` runs along ``piece`` (either way) where it passes its middle."""
    start, end = np.asarray(piece.coords[0]), np.asarray(piece.coords[-1])
    own = end - start
    theirs = _direction(other, other.project(piece.interpolate(0.5, normalized=True)))
    norms = np.linalg.norm(own) * np.linalg.norm(theirs)
    if norms == 0:
        return False
    cosine = abs(float(own @ theirs)) / float(norms)
    return cosine >= math.cos(math.radians(TWIN_MAX_ANGLE_DEG))


def collapse_carriageways(pieces: Sequence[Piece], plane: LocalPlane) -> list[Piece]:
    """One piece per bridge: drop the twin carriageway of each, keeping the union of numbers.

    Longer pieces are kept first, so a bridge mapped as one long way on one side and several
    short ways on the other keeps the long one.
    """
    lines = [LineString(plane.to_xy(piece.lonlat)) for piece in pieces]
    tree = shapely.STRtree(lines)
    order = sorted(range(len(pieces)), key=lambda i: (-lines[i].length, i))
    kept: dict[int, list[str]] = {}
    for i in order:
        line = lines[i]
        near = tree.query(line, predicate="dwithin", distance=TWIN_DISTANCE_M)
        twins = sorted(int(k) for k in near if int(k) in kept and _parallel(line, lines[int(k)]))
        if twins:
            steps = max(math.ceil(line.length / TWIN_SAMPLE_SPACING_M), 4)
            samples = shapely.line_interpolate_point(line, np.linspace(0.0, 1.0, steps + 1), normalized=True)
            distances = shapely.distance(samples[:, None], np.array([lines[k] for k in twins])[None, :])
            if float(np.mean(distances.min(axis=1) <= TWIN_DISTANCE_M)) >= TWIN_COVERED_SHARE:
                middle = line.interpolate(0.5, normalized=True)
                owner = min(twins, key=lambda k: (lines[k].distance(middle), k))
                kept[owner] = sorted(set(kept[owner]) | set(pieces[i].refs), key=ref_rank)
                continue
        kept[i] = list(pieces[i].refs)
    return [
        Piece(pieces[i].way, tuple(kept[i]), pieces[i].name, pieces[i].maxspeed, pieces[i].lonlat)
        for i in sorted(kept)
    ]
