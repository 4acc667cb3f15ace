"""Distances on WGS-84 coordinates (haversine lengths, a local metric plane) and the lookups the
graph and its places share: counties by point, OSM ids in numeric order.

Lengths that the simulator reports (segment lengths, route lengths, offsets) are haversine metres.
Geometric decisions (which pieces are twins, where a junction projects onto a line, where two
lines cross) are taken in a local equirectangular plane: over Anhui (29.4°–34.7° N) its east-west
scale is off by at most about 3 % at the edges, which is nothing against tolerances of tens or
hundreds of metres, and it keeps shapely in metres.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Point, shape

FloatArray = npt.NDArray[np.float64]

# IUGG mean Earth radius: the usual choice for haversine distances.
EARTH_RADIUS_M = 6_371_008.8


def osm_id_key(osm_id: str) -> tuple[str, int]:
    """Sort key for OSM ids such as ``way/23220611``: by type, then numerically."""
    kind, _, number = osm_id.partition("/")
    return kind, int(number) if number.isdigit() else -1


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in metres; works on floats and on numpy arrays alike."""
    lon1, lat1, lon2, lat2 = (np.radians(value) for value in (lon1, lat1, lon2, lat2))
    half = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(half, 1.0)))


def piece_lengths_m(lonlat: FloatArray) -> FloatArray:
    """Haversine length of each straight piece of a polyline given as an (n, 2) lon/lat array."""
    return np.asarray(
        haversine_m(lonlat[:-1, 0], lonlat[:-1, 1], lonlat[1:, 0], lonlat[1:, 1]), dtype=np.float64
    )


def polyline_length_m(lonlat: FloatArray) -> float:
    return float(piece_lengths_m(lonlat).sum())


def point_along(lonlat: FloatArray, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` haversine metres from the start of a polyline (clamped to it)."""
    cumulative = np.concatenate(([0.0], np.cumsum(piece_lengths_m(lonlat))))
    distance_m = min(max(distance_m, 0.0), float(cumulative[-1]))
    index = int(np.searchsorted(cumulative, distance_m, side="right")) - 1
    index = min(index, len(lonlat) - 2)
    span = cumulative[index + 1] - cumulative[index]
    share = 0.0 if span == 0 else (distance_m - cumulative[index]) / span
    lon, lat = lonlat[index] + share * (lonlat[index + 1] - lonlat[index])
    return float(lon), float(lat)


class LocalPlane:
    """Equirectangular projection around one latitude: x east, y north, in metres."""

    def __init__(self, reference_lat: float) -> None:
        self._x_scale = EARTH_RADIUS_M * math.cos(math.radians(reference_lat)) * math.pi / 180
        self._y_scale = EARTH_RADIUS_M * math.pi / 180

    def to_xy(self, lonlat: FloatArray) -> FloatArray:
        xy: FloatArray = np.asarray(lonlat, dtype=np.float64) * np.array([self._x_scale, self._y_scale])
        return xy

    def to_lonlat(self, xy: FloatArray) -> FloatArray:
        lonlat: FloatArray = np.asarray(xy, dtype=np.float64) / np.array([self._x_scale, self._y_scale])
        return lonlat


class Counties:
    """County polygons of one province by GB/T 2260 code (``district_adcode``), in code order."""

    def __init__(self, collection: Mapping[str, Any]) -> None:
        entries = sorted(
            (
                (
                    str(feature["properties"]["district_adcode"]),
                    feature["properties"].get("district_name"),
                    feature,
                )
                for feature in collection["features"]
            ),
            key=lambda entry: entry[0],
        )
        self.codes = [code for code, _, _ in entries]
        self.names = {code: str(name or code) for code, name, _ in entries}
        self._polygons = np.array([shape(feature["geometry"]) for _, _, feature in entries], dtype=object)
        shapely.prepare(self._polygons)
        self._index = {code: i for i, code in enumerate(self.codes)}
        self._tree = shapely.STRtree(self._polygons)
        _, south, _, north = shapely.total_bounds(self._polygons)
        self.middle_lat = float((south + north) / 2)

    def polygon(self, code: str) -> Any:
        return self._polygons[self._index[code]]

    def covers(self, code: str, lon: float, lat: float) -> bool:
        return bool(self.polygon(code).covers(Point(lon, lat)))

    def locate(self, lon: float, lat: float) -> str | None:
        """The county covering the point; on a shared border the lower code."""
        point = Point(lon, lat)
        candidates = self._tree.query(point)
        hits = (
            candidates[shapely.covers(self._polygons[candidates], point)] if len(candidates) else candidates
        )
        return self.codes[int(hits.min())] if len(hits) else None

    def nearest(self, lon: float, lat: float) -> str:
        """The covering county, or for a point just outside the province the closest one."""
        found = self.locate(lon, lat)
        if found is not None:
            return found
        nearest = self._tree.query_nearest(Point(lon, lat), all_matches=True)
        return self.codes[int(np.min(nearest))]
