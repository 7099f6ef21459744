"""Demo boundaries for the demo org tree of `core.demo`: real districts, made-up streets inside.

Districts are the real outlines of Nanjing's districts (`core/data/nanjing-districts.geojson`,
see `core.demo.nanjing`); 江北新区, a functional zone, takes the cells of its streets out of
浦口区, where they lie. Inside a district the demo has only a few of its streets, so each street
gets the part of the district nearer to its centre (a real place, below) than to any other demo
street's: a Voronoi cell clipped to the district. Each street is cut west to east into its
communities and each community north to south into its grids, at equal areas. So a point on
宁海路 lands in 鼓楼区 宁海路街道, but a street's demo outline is not its legal one: a deployment
supplies its own file through `Settings.boundaries_file`.

The grids are computed first and snapped together (noded and rounded to 1e-6 degrees, so
neighbours share their edges exactly); every parent is the union of its children, so siblings
tile their parent and the districts tile the city.

    python -m core.demo.geo [path]    # writes the file, by default to Settings.boundaries_file
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPoint, Point, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from core.config import get_settings
from core.demo.nanjing import DISTRICTS_FILE, dumps, rounded
from core.demo.seed import demo_units
from core.models import Unit

GRID_SIZE = 1e-6  # degrees; about 0.1 m
# Demo district -> the adcode of the real district it lies in.
DISTRICT_ADCODES: dict[str, str] = {
    "xw": "320102",
    "qh": "320104",
    "jy": "320105",
    "gl": "320106",
    "pk": "320111",
    "jb": "320111",  # 江北新区's 泰山 and 沿江 streets are in 浦口区
    "qx": "320113",
    "yht": "320114",
    "jn": "320115",
    "lh": "320116",
    "ls": "320117",
    "gc": "320118",
}
# A real point near the middle of each demo street (WGS-84 lat, lon; about ±500 m).
STREET_CENTRES: dict[str, tuple[float, float]] = {
    "xw-xwm": (32.075, 118.785),  # 玄武门
    "xw-myxc": (32.047, 118.792),  # 梅园新村, 长江路
    "qh-fzm": (32.023, 118.784),  # 夫子庙
    "qh-wlc": (32.035, 118.782),  # 五老村, 中山南路
    "jy-ny": (32.018, 118.743),  # 南苑
    "jy-sz": (31.997, 118.728),  # 沙洲
    "gl-nhl": (32.060, 118.765),  # 宁海路, 南京师范大学
    "gl-hq": (32.046, 118.769),  # 华侨路
    "gl-hnl": (32.072, 118.775),  # 湖南路, 山西路
    "gl-zym": (32.094, 118.778),  # 中央门
    "pk-jp": (32.059, 118.618),  # 江浦
    "pk-ql": (31.942, 118.567),  # 桥林
    "jb-ts": (32.096, 118.717),  # 泰山新村
    "jb-yj": (32.132, 118.695),  # 沿江
    "qx-yh": (32.125, 118.853),  # 尧化门
    "qx-xl": (32.107, 118.915),  # 仙林
    "yht-yh": (31.997, 118.773),  # 雨花
    "yht-shq": (32.007, 118.758),  # 赛虹桥
    "jn-ds": (31.952, 118.835),  # 东山
    "jn-ml": (31.862, 118.815),  # 秣陵
    "lh-xz": (32.342, 118.831),  # 雄州
    "lh-lc": (32.322, 118.855),  # 龙池
    "ls-yy": (31.655, 119.023),  # 永阳
    "ls-zt": (31.722, 118.945),  # 柘塘
    "gc-cx": (31.329, 118.870),  # 淳溪
    "gc-gb": (31.352, 118.925),  # 古柏
}


def demo_feature_collection(districts_file: Path = DISTRICTS_FILE) -> dict[str, Any]:
    """Returns the boundaries of every area unit of `demo_units()` as GeoJSON, coarse first."""
    units = [unit for unit in demo_units() if unit.level != "dept"]
    children: dict[str | None, list[Unit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit)
    grids = _snap(_grid_cells(_real_districts(districts_file), children))
    shapes = _unions(units, children, grids)
    features = [_feature(unit, shapes[unit.id]) for unit in units]
    return {"type": "FeatureCollection", "features": features}


def _real_districts(path: Path) -> dict[str, BaseGeometry]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {f["properties"]["adcode"]: shape(f["geometry"]) for f in data["features"]}


def _grid_cells(
    real: Mapping[str, BaseGeometry], children: Mapping[str | None, list[Unit]]
) -> dict[str, BaseGeometry]:
    """Each grid's cell before snapping: streets by nearest centre, then equal-area slices."""
    streets_in: dict[str, list[str]] = defaultdict(list)
    for district, adcode in DISTRICT_ADCODES.items():
        streets_in[adcode] += [street.id for street in children[district]]
    cells: dict[str, BaseGeometry] = {}
    for adcode, street_ids in streets_in.items():
        centres = [Point(STREET_CENTRES[s][1], STREET_CENTRES[s][0]) for s in street_ids]
        streets = _nearest_cells(real[adcode], centres)
        for street_id, street in zip(street_ids, streets, strict=True):
            cells |= _street_grids(street, children[street_id], children)
    return cells


def _street_grids(
    street: BaseGeometry, communities: list[Unit], children: Mapping[str | None, list[Unit]]
) -> dict[str, BaseGeometry]:
    """A street's grid cells: communities west to east, each community's grids north to south."""
    cells: dict[str, BaseGeometry] = {}
    for community, part in zip(communities, _slices(street, len(communities), 0), strict=True):
        grids = children[community.id]
        # Slices run south to north; the first grid is the northern one, as on a map.
        for grid, cell in zip(grids, _slices(part, len(grids), 1)[::-1], strict=True):
            cells[grid.id] = cell
    return cells


def _nearest_cells(area: BaseGeometry, centres: Sequence[Point]) -> list[BaseGeometry]:
    """The parts of `area` nearer to each centre than to the others (Voronoi cells), in order."""
    if len(centres) == 1:
        return [area]
    cells = shapely.voronoi_polygons(MultiPoint(centres), extend_to=area, ordered=True)
    return [cell.intersection(area) for cell in cells.geoms]


def _slices(area: BaseGeometry, n: int, axis: int) -> list[BaseGeometry]:
    """`area` cut across `axis` (0: x, west to east; 1: y, south to north) into n equal areas."""
    west, south, east, north = area.bounds
    low, high = (west, east) if axis == 0 else (south, north)
    cuts = [low, *(_area_cut(area, k / n, axis) for k in range(1, n)), high]
    return [area.intersection(_band(area.bounds, cuts[i], cuts[i + 1], axis)) for i in range(n)]


def _area_cut(area: BaseGeometry, share: float, axis: int) -> float:
    """The coordinate along `axis` below which `share` of the area lies (bisection)."""
    low, high = area.bounds[axis], area.bounds[axis + 2]
    for _ in range(40):
        middle = (low + high) / 2
        below = area.intersection(_band(area.bounds, area.bounds[axis], middle, axis)).area
        low, high = (middle, high) if below < share * area.area else (low, middle)
    return (low + high) / 2


def _band(bounds: tuple[float, ...], start: float, end: float, axis: int) -> BaseGeometry:
    west, south, east, north = bounds
    return box(start, south, end, north) if axis == 0 else box(west, start, east, end)


def _snap(cells: Mapping[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """The cells rebuilt from one noded, rounded set of edges, so neighbours share them exactly.

    Each face of the noded edges goes to the cell that overlaps it most; computed separately,
    two neighbours' edges may differ in the last bits, which the rounding merges.
    """
    ids, shapes = list(cells), list(cells.values())
    edges = shapely.union_all([s.boundary for s in shapes], grid_size=GRID_SIZE)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))
    tree = STRtree(shapes)
    owned: dict[str, list[BaseGeometry]] = defaultdict(list)
    for face in faces:
        overlaps = [(shapes[i].intersection(face).area, ids[i]) for i in tree.query(face)]
        area, owner = max(overlaps, default=(0.0, ""))
        if area > 0.5 * face.area:  # else a hole in the coverage, owned by nobody
            owned[owner].append(face)
    return {i: shapely.union_all(owned[i], grid_size=GRID_SIZE) for i in ids}


def _unions(
    units: Sequence[Unit],
    children: Mapping[str | None, list[Unit]],
    grids: Mapping[str, BaseGeometry],
) -> dict[str, BaseGeometry]:
    """Every unit's shape: a grid its own, a parent the union of its children's."""
    shapes = dict(grids)
    for unit in reversed(units):  # children come after their parents in demo_units()
        if unit.id not in shapes:
            kids = [shapes[kid.id] for kid in children[unit.id]]
            shapes[unit.id] = shapely.union_all(kids, grid_size=GRID_SIZE)
    return shapes


def _feature(unit: Unit, geometry: BaseGeometry) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"unit_id": unit.id, "level": unit.level, "name": unit.name},
        "geometry": rounded(geometry),
    }


def main(argv: list[str]) -> None:
    """Writes the demo boundaries to argv[0], or to the configured boundaries file."""
    path = Path(argv[0]) if argv else get_settings().boundaries_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(demo_feature_collection()), encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
