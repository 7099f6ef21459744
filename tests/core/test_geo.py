"""Point-in-polygon resolution against the synthetic demo boundaries, and file validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.config import ROOT
from core.demo.geo import CITY_LAT, CITY_LON, demo_feature_collection, dumps
from core.demo.seed import demo_units
from core.intake.geo import Boundaries, boundaries, parse_feature_collection

DEMO_FILE = ROOT / "core" / "data" / "demo-boundaries.geojson"
AREA_UNITS = {unit.id: unit for unit in demo_units() if unit.level != "dept"}


@pytest.fixture(scope="module")
def demo() -> Boundaries:
    return Boundaries.load(DEMO_FILE)


def rect(unit_id: str) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a demo unit, read from the generated GeoJSON."""
    for feature in demo_feature_collection()["features"]:
        if feature["properties"]["unit_id"] == unit_id:
            ring = feature["geometry"]["coordinates"][0]
            lons, lats = [p[0] for p in ring], [p[1] for p in ring]
            return min(lons), min(lats), max(lons), max(lats)
    raise KeyError(unit_id)


def covering_grids(b: Boundaries, lat: float, lon: float) -> list[str]:
    return sorted(
        u for u, unit in AREA_UNITS.items() if unit.level == "grid" and b.contains(u, lat, lon)
    )


def test_committed_file_matches_the_generator() -> None:
    assert json.loads(DEMO_FILE.read_text(encoding="utf-8")) == demo_feature_collection()
    assert DEMO_FILE.read_text(encoding="utf-8") == dumps(demo_feature_collection())


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


def test_edge_between_two_grids_goes_to_the_smaller_id(demo: Boundaries) -> None:
    north, south = rect("gl-hq-c2-g1"), rect("gl-hq-c2-g2")
    assert north[1] == south[3]  # stacked rows share the edge exactly
    lat, lon = north[1], (north[0] + north[2]) / 2
    assert covering_grids(demo, lat, lon) == ["gl-hq-c2-g1", "gl-hq-c2-g2"]
    assert demo.resolve(lat, lon) == "gl-hq-c2-g1"


def test_edge_between_two_districts_goes_to_the_smaller_id(demo: Boundaries) -> None:
    west, east = rect("xw"), rect("qh")
    assert west[2] == east[0]
    grid = rect("xw-xwm-c2-g1")  # on xw's east edge
    lat, lon = (grid[1] + grid[3]) / 2, west[2]
    grids = covering_grids(demo, lat, lon)
    assert [AREA_UNITS[g].path.split("/")[2] for g in grids] == ["qh", "xw"]
    assert demo.resolve(lat, lon) == grids[0]


def test_tie_does_not_depend_on_file_order() -> None:
    areas = parse_feature_collection(demo_feature_collection())
    forward, backward = Boundaries(areas), Boundaries(areas[::-1])
    north = rect("gl-hq-c2-g1")
    edges = [(north[1], (north[0] + north[2]) / 2), (north[1], north[2]), (32.62, 118.58)]
    for lat, lon in edges:
        assert forward.resolve(lat, lon) == backward.resolve(lat, lon)


def test_city_edge_is_inside_and_just_beyond_is_outside(demo: Boundaries) -> None:
    mid_lat, mid_lon = sum(CITY_LAT) / 2, sum(CITY_LON) / 2
    assert demo.resolve(CITY_LAT[0], mid_lon) is not None
    assert demo.resolve(mid_lat, CITY_LON[1]) is not None
    assert demo.resolve(CITY_LAT[1], CITY_LON[0]) is not None  # the north-west corner
    assert demo.resolve(CITY_LAT[0] - 0.0001, mid_lon) is None
    assert demo.resolve(mid_lat, CITY_LON[1] + 0.0001) is None
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
