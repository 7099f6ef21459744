"""Synthetic boundaries for the demo org tree of `core.demo`.

These are NOT real borders: the city is a rectangle roughly over Nanjing, cut into a 4 x 3
array of district rectangles (in the order of `DISTRICTS`, north-west first), each district into
horizontal strips, one per street, each street into two columns (its communities) and each
community into two rows (its grids). They exist so that intake, duplicate detection and the
tests can resolve points to units without a real survey; a real deployment supplies its own file
through `Settings.boundaries_file`.

The layout is deterministic, and every coordinate is a split point rounded to 6 decimals once and
then shared, so neighbours' edges are the same numbers and siblings tile their parent exactly.

    python -m core.demo.geo [path]    # writes the file, by default to Settings.boundaries_file
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import get_settings
from core.demo.seed import demo_units
from core.models import Unit

# The city's box in degrees; about 83 km x 155 km, close to Nanjing's extent.
CITY_LON = (118.36, 119.24)
CITY_LAT = (31.23, 32.62)
DISTRICT_COLUMNS = 4
DECIMALS = 6


@dataclass(frozen=True)
class Rect:
    """An axis-aligned box in degrees, its edges already rounded."""

    west: float
    south: float
    east: float
    north: float

    def ring(self) -> list[list[float]]:
        """The GeoJSON exterior ring: [lon, lat] positions, counter-clockwise (RFC 7946)."""
        w, s, e, n = self.west, self.south, self.east, self.north
        return [[w, s], [e, s], [e, n], [w, n], [w, s]]


def demo_feature_collection() -> dict[str, Any]:
    """Returns the synthetic boundaries of every area unit of `demo_units()` as GeoJSON."""
    units = [unit for unit in demo_units() if unit.level != "dept"]
    children: dict[str | None, list[Unit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit)
    (city,) = children[None]
    city_rect = Rect(CITY_LON[0], CITY_LAT[0], CITY_LON[1], CITY_LAT[1])
    features = [_feature(unit, rect) for unit, rect in _layout(city, city_rect, children)]
    return {"type": "FeatureCollection", "features": features}


def dumps(collection: dict[str, Any]) -> str:
    """Serialises a FeatureCollection compactly with one feature per line, for readable diffs."""
    lines = [
        json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in collection["features"]
    ]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def _layout(
    unit: Unit, rect: Rect, children: dict[str | None, list[Unit]]
) -> Iterator[tuple[Unit, Rect]]:
    yield unit, rect
    kids = children.get(unit.id, [])
    for kid, kid_rect in zip(kids, _split(unit.level, rect, len(kids)), strict=True):
        yield from _layout(kid, kid_rect, children)


def _split(level: str, rect: Rect, n: int) -> list[Rect]:
    """Cuts a parent's box into `n` boxes for its children, by the parent's level."""
    if n == 0:
        return []
    if level == "city":
        return _array(rect, n, DISTRICT_COLUMNS)
    if level == "street":  # communities side by side
        return _array(rect, n, n)
    return _array(rect, n, 1)  # district → street strips, community → grid rows


def _array(rect: Rect, n: int, columns: int) -> list[Rect]:
    """`n` cells in rows of `columns`, north-west first; a short last row leaves city-only area."""
    rows = -(-n // columns)
    xs = _cuts(rect.west, rect.east, columns)
    # North first, so the first child sits at the top left as on a map.
    ys = _cuts(rect.south, rect.north, rows)[::-1]
    return [
        Rect(xs[i % columns], ys[i // columns + 1], xs[i % columns + 1], ys[i // columns])
        for i in range(n)
    ]


def _cuts(low: float, high: float, parts: int) -> list[float]:
    # The ends are the parent's own (already rounded) edges, never recomputed, so a child's
    # outer edge is exactly its parent's; inner cuts are rounded once and shared by both sides.
    inner = [round(low + (high - low) * k / parts, DECIMALS) for k in range(1, parts)]
    return [low, *inner, high]


def _feature(unit: Unit, rect: Rect) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"unit_id": unit.id, "level": unit.level, "name": unit.name},
        "geometry": {"type": "Polygon", "coordinates": [rect.ring()]},
    }


def main(argv: list[str]) -> None:
    """Writes the demo boundaries to argv[0], or to the configured boundaries file."""
    path = Path(argv[0]) if argv else get_settings().boundaries_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(demo_feature_collection()), encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
