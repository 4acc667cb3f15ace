"""The packaged reference geography of Anhui (340000): boundaries, divisions and junctions."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from importlib.resources import files

import pytest
from shapely.geometry import Point, shape

from zhifa.adapters.geodata.reference import (
    HUB_MARKER,
    JurisdictionLocator,
    ReferenceDataError,
    ReferenceJurisdiction,
    check_boundaries_match_divisions,
    load_junctions,
    load_jurisdictions,
    pick_site_junctions,
    read_divisions,
)
from zhifa.domain.jurisdictions import DivisionCode, Level
from zhifa.domain.roads import Junction

ANHUI = DivisionCode("340000")


@pytest.fixture(scope="module")
def jurisdictions() -> list[ReferenceJurisdiction]:
    return load_jurisdictions()


@pytest.fixture(scope="module")
def locator(jurisdictions: list[ReferenceJurisdiction]) -> JurisdictionLocator:
    return JurisdictionLocator.from_reference(jurisdictions)


@pytest.fixture(scope="module")
def junctions() -> list[Junction]:
    return load_junctions()


def _by_level(jurisdictions: list[ReferenceJurisdiction], level: Level) -> list[ReferenceJurisdiction]:
    return [entry for entry in jurisdictions if entry.jurisdiction.level is level]


def test_anhui_has_one_province_16_cities_104_counties_in_order(jurisdictions):
    """The packaged boundaries hold the whole current division of Anhui, province first, then
    cities, then counties, each level ordered by code."""
    levels = [entry.jurisdiction.level for entry in jurisdictions]
    assert Counter(levels) == {Level.PROVINCE: 1, Level.CITY: 16, Level.COUNTY: 104}
    assert levels == sorted(levels, key=[Level.PROVINCE, Level.CITY, Level.COUNTY].index)
    for level in Level:
        codes = [entry.jurisdiction.code for entry in _by_level(jurisdictions, level)]
        assert codes == sorted(codes)
    assert jurisdictions[0].jurisdiction.code == ANHUI


def test_every_unit_hangs_under_a_loaded_parent(jurisdictions):
    """The hierarchy is closed: each county's parent is a loaded city, each city's the province."""
    cities = {entry.jurisdiction.code for entry in _by_level(jurisdictions, Level.CITY)}
    for entry in _by_level(jurisdictions, Level.COUNTY):
        assert entry.jurisdiction.parent in cities
    for entry in _by_level(jurisdictions, Level.CITY):
        assert entry.jurisdiction.parent == ANHUI


def test_names_are_the_full_names_of_divisions_csv(jurisdictions):
    """Every name comes out as divisions.csv's full name (read here independently of the loader),
    and the authority is named after it."""
    text = (files("zhifa.adapters.geodata") / "data" / "anhui" / "divisions.csv").read_text("utf-8")
    full_names = {row["code"]: row["full_name"] for row in csv.DictReader(io.StringIO(text))}
    assert {entry.jurisdiction.code.code: entry.jurisdiction.name for entry in jurisdictions} == full_names
    by_code = {entry.jurisdiction.code.code: entry.jurisdiction for entry in jurisdictions}
    assert by_code["340000"].name == "安徽省"
    assert by_code["340100"].authority == "合肥市交通运输综合行政执法支队"
    assert by_code["340102"].name == "瑶海区"
    assert by_code["340102"].authority == "瑶海区交通运输综合行政执法大队"


def test_authority_templates_are_applied():
    """A caller's authority templates replace the defaults."""
    templates = dict.fromkeys(Level, "{name}执法单位")
    loaded = load_jurisdictions(authority_templates=templates)
    assert loaded[0].jurisdiction.authority == "安徽省执法单位"


def test_boundaries_are_compact_geometry_objects(jurisdictions):
    """boundary_geojson holds only the geometry, as compact JSON a database column can store."""
    for entry in jurisdictions:
        geometry = json.loads(entry.boundary_geojson)
        assert geometry["type"] in {"Polygon", "MultiPolygon"}
        assert set(geometry) == {"type", "coordinates"}
        assert ", " not in entry.boundary_geojson


def test_cross_check_reports_every_disagreement():
    """The consistency check between boundaries and divisions.csv is live: a renamed unit, a
    missing boundary, an unknown boundary and a wrong parent are all named in the error."""
    divisions = dict(read_divisions())
    boundaries = dict(divisions)
    boundaries[DivisionCode("340102")] = ("瑶海", DivisionCode("340100"))
    boundaries[DivisionCode("340103")] = ("庐阳区", DivisionCode("340200"))
    del boundaries[DivisionCode("340104")]
    boundaries[DivisionCode("340199")] = ("虚构区", DivisionCode("340100"))
    with pytest.raises(ReferenceDataError) as raised:
        check_boundaries_match_divisions(divisions, boundaries)
    message = str(raised.value)
    for fragment in ("340102 is 瑶海区", "340103 lies under 340100", "340104 is in divisions.csv", "340199"):
        assert fragment in message
    check_boundaries_match_divisions(divisions, dict(divisions))  # and silent when they agree


def test_province_without_packaged_data_is_refused():
    """Henan's boundaries exist upstream but are not packaged: asking for them is a ValueError
    that says which provinces are."""
    with pytest.raises(ValueError, match=r"410000.*340000"):
        load_jurisdictions("410000")
    with pytest.raises(ValueError, match="410000"):
        load_junctions("410000")


def test_every_county_label_point_lies_in_its_own_county(jurisdictions, locator):
    """The label points shipped in the boundary file are inside their own county (all 104 are;
    none needed a computed replacement), and the locator finds that county for each."""
    for entry in _by_level(jurisdictions, Level.COUNTY):
        unit = entry.jurisdiction
        assert unit.label_lon is not None and unit.label_lat is not None
        assert locator.locate(unit.label_lon, unit.label_lat) == unit.code, unit.name


def test_province_label_point_is_inside_the_province(jurisdictions):
    """The province's label point (from the file, else a representative point) is inside it."""
    province = jurisdictions[0]
    label = Point(province.jurisdiction.label_lon, province.jurisdiction.label_lat)
    assert shape(json.loads(province.boundary_geojson)).contains(label)


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (117.34, 31.87, "340102"),  # 瑶海区, east of Hefei's centre
        (118.78, 32.06, None),  # Nanjing, Jiangsu: outside Anhui
        (122.5, 31.0, None),  # East China Sea, off Shanghai
    ],
)
def test_known_points(locator, lon, lat, expected):
    """Points with a known answer: a Hefei district, a neighbouring province, the sea."""
    found = locator.locate(lon, lat)
    assert (found.code if found else None) == expected


def test_point_on_a_shared_border_goes_to_the_lower_code(jurisdictions):
    """A vertex shared by two counties is covered by both; the locator answers the lower code,
    whatever order the boundaries were given in."""
    counties = {
        entry.jurisdiction.code: entry.boundary_geojson for entry in _by_level(jurisdictions, Level.COUNTY)
    }
    yaohai = shape(json.loads(counties[DivisionCode("340102")]))
    shapes = {code: shape(json.loads(text)) for code, text in counties.items()}
    shared = None
    for x, y in yaohai.exterior.coords:
        owners = sorted(code for code, geometry in shapes.items() if geometry.covers(Point(x, y)))
        if len(owners) == 2:
            shared = (x, y, owners)
            break
    assert shared is not None, "瑶海区 shares no vertex with a neighbour"
    x, y, owners = shared
    forward = JurisdictionLocator(counties)
    backward = JurisdictionLocator(dict(reversed(list(counties.items()))))
    assert forward.locate(x, y) == backward.locate(x, y) == owners[0]


def test_locator_falls_back_to_the_most_specific_level_it_has(jurisdictions):
    """Built from the province alone (as a database without county boundaries would be), the
    locator answers the province; given everything, it answers the county."""
    province = jurisdictions[0]
    assert JurisdictionLocator({"340000": province.boundary_geojson}).locate(117.34, 31.87) == ANHUI
    cities_only = {e.jurisdiction.code: e.boundary_geojson for e in _by_level(jurisdictions, Level.CITY)}
    assert JurisdictionLocator(cities_only).locate(117.34, 31.87) == DivisionCode("340100")


def test_locator_refuses_an_invalid_boundary():
    """A self-intersecting polygon is refused rather than silently repaired."""
    bow_tie = json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]})
    with pytest.raises(ValueError, match="invalid"):
        JurisdictionLocator({"340102": bow_tie})
    with pytest.raises(ValueError, match="not a GeoJSON geometry"):
        JurisdictionLocator({"340102": "{}"})


def test_junctions_are_all_loaded(junctions):
    """All 670 OSM motorway junctions load, 484 of them named, each with a unique OSM id."""
    assert len(junctions) == 670
    assert sum(1 for junction in junctions if junction.name) == 484
    assert len({junction.osm_id for junction in junctions}) == 670
    assert all(junction.osm_id.startswith("node/") for junction in junctions)


def test_one_site_junction_in_each_of_the_16_cities(jurisdictions, locator, junctions):
    """With per_city=1, every Anhui city gets one named junction, inside Anhui and inside the
    county returned with it; cities that have an interchange (枢纽) get one."""
    picks = pick_site_junctions(junctions, locator, per_city=1, seed=0)
    cities = [county.parent for _, county in picks]
    assert len(picks) == 16
    assert set(cities) == {entry.jurisdiction.code for entry in _by_level(jurisdictions, Level.CITY)}
    province = shape(json.loads(jurisdictions[0].boundary_geojson))
    for junction, county in picks:
        assert junction.name
        assert ANHUI.contains(county) and county.level is Level.COUNTY
        assert province.covers(Point(junction.lon, junction.lat))
        assert locator.locate(junction.lon, junction.lat) == county
    cities_with_hubs = set()
    for junction in junctions:
        found = locator.locate(junction.lon, junction.lat)
        if HUB_MARKER in junction.name and found is not None:
            cities_with_hubs.add(found.parent)
    assert cities_with_hubs  # Hefei, Huainan, Ma'anshan and Chuzhou have some
    for junction, county in picks:
        if county.parent in cities_with_hubs:
            assert HUB_MARKER in junction.name


def test_site_junctions_are_deterministic_for_a_seed(locator, junctions):
    """The same seed gives the same picks even when the junctions come in another order;
    other seeds give other picks."""
    first = pick_site_junctions(junctions, locator, seed=7)
    assert pick_site_junctions(list(reversed(junctions)), locator, seed=7) == first
    assert any(pick_site_junctions(junctions, locator, seed=seed) != first for seed in range(8))


def test_several_site_junctions_per_city_are_distinct_interchanges(locator, junctions):
    """per_city=2 never gives the same named interchange twice in a city, and at most two per city."""
    picks = pick_site_junctions(junctions, locator, per_city=2, seed=0)
    per_city = Counter(county.parent for _, county in picks)
    assert max(per_city.values()) == 2 and len(per_city) == 16
    names = [(county.parent, junction.name) for junction, county in picks]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError):
        pick_site_junctions(junctions, locator, per_city=0)
