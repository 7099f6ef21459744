"""Point-in-polygon resolution against the demo boundaries (real districts), and file validation."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from core.config import ROOT
from core.demo.geo import DISTRICT_ADCODES, STREET_CENTRES, demo_feature_collection
from core.demo.nanjing import DISTRICTS_FILE
from core.demo.seed import demo_units
from core.intake.geo import Boundaries, boundaries, parse_feature_collection

DEMO_FILE = ROOT / "core" / "data" / "demo-boundaries.geojson"
AREA_UNITS = {unit.id: unit for unit in demo_units() if unit.level != "dept"}


@pytest.fixture(scope="module")
def demo() -> Boundaries:
    return Boundaries.load(DEMO_FILE)


@cache
def shapes() -> dict[str, BaseGeometry]:
    """Every demo unit's shape, read from the committed GeoJSON."""
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    return {f["properties"]["unit_id"]: shape(f["geometry"]) for f in data["features"]}


def covering_grids(b: Boundaries, lat: float, lon: float) -> list[str]:
    return sorted(
        u for u, unit in AREA_UNITS.items() if unit.level == "grid" and b.contains(u, lat, lon)
    )


def vertices(unit_id: str) -> list[tuple[float, float]]:
    """The (lon, lat) vertices of a unit's outline, as GeoJSON orders them."""
    return [(x, y) for x, y in shapely.get_coordinates(shapes()[unit_id].boundary).tolist()]


def shared_vertex(first: str, second: str) -> tuple[float, float]:
    """A (lat, lon) vertex of both units' outlines: on their common edge, exactly."""
    common = sorted(set(vertices(first)) & set(vertices(second)))
    assert common, (first, second)
    lon, lat = common[len(common) // 2]
    return lat, lon


def test_committed_file_matches_the_generator() -> None:
    # Same units in the same order, each outline equal to well under the 1e-6 degree rounding:
    # a shapely (GEOS) upgrade may order vertices differently without moving a border.
    generated = demo_feature_collection()["features"]
    assert [f["properties"] for f in generated] == [
        {"unit_id": u, "level": AREA_UNITS[u].level, "name": AREA_UNITS[u].name} for u in shapes()
    ]
    for feature in generated:
        committed = shapes()[feature["properties"]["unit_id"]]
        difference = committed.symmetric_difference(shape(feature["geometry"])).area
        assert difference < 1e-9 * committed.area, feature["properties"]["unit_id"]


def test_districts_are_the_real_outlines_and_children_tile_their_parents() -> None:
    real = json.loads(DISTRICTS_FILE.read_text(encoding="utf-8"))["features"]
    by_adcode = {f["properties"]["adcode"]: shape(f["geometry"]) for f in real}
    for adcode, outline in by_adcode.items():
        demo_districts = [d for d, code in DISTRICT_ADCODES.items() if code == adcode]
        union = shapely.union_all([shapes()[d] for d in demo_districts])
        # The grids' edges are rounded to 1e-6 degrees: the outlines agree to that band.
        assert union.symmetric_difference(outline).area < outline.length * 1e-6, adcode
    for unit_id in AREA_UNITS:
        kids = [shapes()[k] for k, kid in AREA_UNITS.items() if kid.parent_id == unit_id]
        if kids:
            assert shapely.coverage_is_valid(kids), unit_id  # no overlaps, edges shared
            gap = shapes()[unit_id].symmetric_difference(shapely.union_all(kids)).area
            assert gap < 1e-9 * shapes()[unit_id].area, unit_id


def test_the_vendored_districts_agree_with_geotool_cn() -> None:
    geotool = pytest.importorskip("GeoToolCN")
    tool = geotool.GeoTool()
    for feature in json.loads(DISTRICTS_FILE.read_text(encoding="utf-8"))["features"]:
        point = shape(feature["geometry"]).representative_point()
        found = tool.reverse(point.y, point.x).district
        assert found is not None and found.code == feature["properties"]["adcode"]


def test_every_area_unit_has_exactly_one_polygon(demo: Boundaries) -> None:
    assert sorted(demo.unit_ids) == sorted(AREA_UNITS)
    assert demo.representative_point("nj-dept-water") is None  # departments have no area
    assert not demo.contains("nj-dept-water", 32.06, 118.78)


def test_representative_points_resolve_to_the_unit_or_a_grid_under_it(demo: Boundaries) -> None:
    for unit_id, unit in AREA_UNITS.items():
        point = demo.representative_point(unit_id)
        assert point is not None and demo.contains(unit_id, *point)
        resolved = demo.resolve(*point)
        assert resolved is not None, unit_id
        if unit.level == "grid":
            assert resolved == unit_id
        else:  # a parent's inner point may sit on its children's edges, but never leaves it
            assert AREA_UNITS[resolved].level == "grid"
            assert AREA_UNITS[resolved].path.startswith(unit.path), (unit_id, resolved)


def test_every_street_centre_lies_in_its_street(demo: Boundaries) -> None:
    for street_id, (lat, lon) in STREET_CENTRES.items():
        resolved = demo.resolve(lat, lon)
        assert resolved is not None and f"/{street_id}/" in AREA_UNITS[resolved].path


README_SAMPLE = re.compile(
    r"^\| (?P<place>[^|]+?) \| (?P<lat>\d+\.\d+), (?P<lon>\d+\.\d+) \| "
    r"`(?P<unit>[a-z0-9-]+)`"
)


def test_every_readme_sample_routes_to_the_unit_it_names(demo: Boundaries) -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    samples = [m for m in map(README_SAMPLE.match, lines) if m]
    assert len(samples) >= 5
    for sample in samples:
        resolved = demo.resolve(float(sample["lat"]), float(sample["lon"]))
        assert resolved is not None, sample["place"]
        assert f"/{sample['unit']}/" in AREA_UNITS[resolved].path, (sample["place"], resolved)


def test_edge_between_two_grids_goes_to_the_smaller_id(demo: Boundaries) -> None:
    lat, lon = shared_vertex("gl-hq-c2-g1", "gl-hq-c2-g2")
    grids = covering_grids(demo, lat, lon)
    assert {"gl-hq-c2-g1", "gl-hq-c2-g2"} <= set(grids)
    assert demo.resolve(lat, lon) == grids[0]


def test_edge_between_two_districts_goes_to_the_smaller_id(demo: Boundaries) -> None:
    lat, lon = shared_vertex("xw", "qh")
    grids = covering_grids(demo, lat, lon)
    assert {AREA_UNITS[g].path.split("/")[2] for g in grids} == {"qh", "xw"}
    assert demo.resolve(lat, lon) == grids[0]


def test_tie_does_not_depend_on_file_order() -> None:
    areas = parse_feature_collection(json.loads(DEMO_FILE.read_text(encoding="utf-8")))
    forward, backward = Boundaries(areas), Boundaries(areas[::-1])
    edges = [shared_vertex("gl-hq-c2-g1", "gl-hq-c2-g2"), shared_vertex("xw", "qh")]
    edges.append(shared_vertex("pk", "jb"))
    for lat, lon in edges:
        assert forward.resolve(lat, lon) == backward.resolve(lat, lon)


def test_city_edge_is_inside_and_just_beyond_is_outside(demo: Boundaries) -> None:
    west = min(vertices("nj"))  # the westernmost vertex: nothing of the city lies beyond it
    east = max(vertices("nj"))
    assert demo.resolve(west[1], west[0]) is not None
    assert demo.resolve(west[1], west[0] - 0.0001) is None
    assert demo.resolve(east[1], east[0]) is not None
    assert demo.resolve(east[1], east[0] + 0.0001) is None
    assert demo.resolve(39.9, 116.4) is None  # Beijing


def test_point_in_the_city_but_in_no_district_resolves_to_the_city() -> None:
    city = {"unit_id": "c", "level": "city", "name": "C"}
    district = {"unit_id": "d", "level": "district", "name": "D"}
    b = Boundaries(
        parse_feature_collection(
            collection(feature(city, box(0, 0, 2, 1)), feature(district, box(0, 0, 1, 1)))
        )
    )
    assert b.resolve(0.5, 0.5) == "d"
    assert b.resolve(0.5, 1.5) == "c"


def test_boundaries_are_cached_per_path() -> None:
    assert boundaries(DEMO_FILE) is boundaries(str(DEMO_FILE))


def box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(properties: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


GOOD = feature({"unit_id": "nj", "level": "city", "name": "南京市"}, box(118.4, 31.3, 119.2, 32.6))
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[118.5, 32.0], [118.6, 32.1], [118.6, 32.0], [118.5, 32.1], [118.5, 32.0]]],
}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (feature({"level": "grid", "name": "x"}, box(118.5, 32.0, 118.6, 32.1)), "missing unit_id"),
        (feature({"unit_id": "g", "level": "grid"}, BOWTIE), "invalid polygon: Self-intersection"),
        (feature({"unit_id": "g", "level": "grid"}, box(32.0, 118.5, 32.1, 118.6)), "[lon, lat]"),
        (feature({"unit_id": "g", "level": "block"}, box(118.5, 32.0, 118.6, 32.1)), "level"),
        (
            feature(
                {"unit_id": "g", "level": "grid"}, {"type": "Point", "coordinates": [118.5, 32]}
            ),
            "Polygon",
        ),
        (
            feature(
                {"unit_id": "g", "level": "grid"}, {"type": "Polygon", "coordinates": [[[1, 2]]]}
            ),
            "bad geometry",
        ),
        (
            feature({"unit_id": "nj", "level": "grid"}, box(118.5, 32.0, 118.6, 32.1)),
            "repeats feature 0",
        ),
    ],
)
def test_a_malformed_file_fails_naming_the_feature(
    tmp_path: Path, bad: dict[str, Any], message: str
) -> None:
    path = tmp_path / "boundaries.geojson"
    path.write_text(json.dumps(collection(GOOD, bad)), encoding="utf-8")
    with pytest.raises(ValueError, match="feature 1") as raised:
        Boundaries.load(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_a_file_that_is_not_a_feature_collection_fails(tmp_path: Path) -> None:
    path = tmp_path / "boundaries.geojson"
    path.write_text('{"type": "Feature"}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a GeoJSON FeatureCollection"):
        Boundaries.load(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        Boundaries.load(path)
