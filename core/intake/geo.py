"""Point-in-polygon resolution of WGS-84 points to the area units of the org tree.

A deployment describes its area units (city … grid) as a GeoJSON FeatureCollection: one feature
per unit, with properties `unit_id`, `level` and `name` and a Polygon or MultiPolygon geometry.
`Boundaries` answers "which unit is this point in?" with the most precise unit that covers it.

GeoJSON orders positions as [lon, lat]; this module's API takes and returns (lat, lon), the
order people read coordinates in, and converts at the boundary of the API only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.strtree import STRtree

# Coarse to fine: a deeper level is a more precise answer.
LEVELS: tuple[str, ...] = ("city", "district", "street", "community", "grid")
_DEPTH = {level: depth for depth, level in enumerate(LEVELS)}
_GEOMETRY_TYPES = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Area:
    """One area unit and its boundary (shapely geometry, x = lon, y = lat)."""

    unit_id: str
    level: str
    name: str
    geometry: Polygon | MultiPolygon


class Boundaries:
    """The boundaries of a set of area units, indexed for fast point lookups."""

    def __init__(self, areas: Sequence[Area]) -> None:
        self._areas = list(areas)
        self._by_id = {area.unit_id: area for area in self._areas}
        self._geometries = [area.geometry for area in self._areas]
        # Prepared geometries make each covers() test sublinear in the polygon's vertex count;
        # it matters for real boundary files, whose polygons have thousands of vertices.
        for geometry in self._geometries:
            shapely.prepare(geometry)
        self._tree = STRtree(self._geometries)
        # Ranking once at load keeps resolve() to a min() over a handful of candidates.
        self._rank = [(-_DEPTH[area.level], area.unit_id) for area in self._areas]

    @classmethod
    def load(cls, path: str | Path) -> Boundaries:
        """Reads and validates a GeoJSON FeatureCollection of area units.

        Raises:
            ValueError: the file is not JSON or not a FeatureCollection, or a feature lacks a
                `unit_id`, has an unknown `level`, or has a missing or invalid geometry. The
                message names the feature's index, so a deployment's own file fails at start-up
                with something to fix rather than at the first intake.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
        try:
            return cls(parse_feature_collection(data))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @property
    def unit_ids(self) -> list[str]:
        """The ids of every unit with a boundary, in file order."""
        return [area.unit_id for area in self._areas]

    def resolve(self, lat: float, lon: float) -> str | None:
        """Returns the id of the deepest unit covering the point, or None outside every unit.

        Points on an edge count as inside. On an edge shared by two units of the same level both
        cover the point, and the smaller unit id wins: the rule itself is arbitrary, but every
        process (web, worker, a replayed import) must give the same answer for the same point,
        so it must not depend on file order or on the tree's internal layout.
        """
        point = Point(lon, lat)
        candidates = self._tree.query(point).tolist()  # bounding boxes only; exact test below
        covering = [i for i in candidates if self._geometries[i].covers(point)]
        if not covering:
            return None
        return min(self._rank[i] for i in covering)[1]

    def area(self, unit_id: str) -> Area | None:
        """The unit's area (its boundary), or None for a unit without one."""
        return self._by_id.get(unit_id)

    def representative_point(self, unit_id: str) -> tuple[float, float] | None:
        """Returns a (lat, lon) inside the unit's polygon, or None for a unit without one.

        The point lies in the unit's interior, but it may lie on the edge between two of its
        children; resolve() then picks one of them by its tie rule.
        """
        area = self._by_id.get(unit_id)
        if area is None:
            return None
        point = area.geometry.representative_point()
        return (point.y, point.x)

    def contains(self, unit_id: str, lat: float, lon: float) -> bool:
        """Whether the unit's polygon covers the point (edges included); False without one."""
        area = self._by_id.get(unit_id)
        return area is not None and bool(area.geometry.covers(Point(lon, lat)))


def boundaries(path: str | Path) -> Boundaries:
    """Returns the boundaries in `path`, loaded once per process and path."""
    return _load_cached(Path(path))


@cache
def _load_cached(path: Path) -> Boundaries:
    return Boundaries.load(path)


def parse_feature_collection(data: Any) -> list[Area]:
    """Validates a decoded GeoJSON FeatureCollection and returns its areas.

    Raises:
        ValueError: naming the index of the first feature that is wrong and what is wrong.
    """
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise ValueError("not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise ValueError("the FeatureCollection has no features")
    areas = [_parse_feature(index, feature) for index, feature in enumerate(features)]
    _check_unique_ids(areas)
    return areas


def _parse_feature(index: int, feature: Any) -> Area:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise ValueError(f"feature {index}: not a GeoJSON Feature")
    properties = feature.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    unit_id = properties.get("unit_id")
    if not isinstance(unit_id, str) or not unit_id.strip():
        raise ValueError(f"feature {index}: missing unit_id property")
    where = f"feature {index} (unit_id {unit_id!r})"
    level = properties.get("level")
    if level not in _DEPTH:
        raise ValueError(f"{where}: level {level!r} is not one of {', '.join(LEVELS)}")
    name = properties.get("name")
    name = name if isinstance(name, str) else ""
    return Area(unit_id, level, name, _parse_geometry(where, feature.get("geometry")))


def _parse_geometry(where: str, geometry: Any) -> Polygon | MultiPolygon:
    if not isinstance(geometry, Mapping) or geometry.get("type") not in _GEOMETRY_TYPES:
        raise ValueError(f"{where}: geometry must be a Polygon or MultiPolygon")
    try:
        parsed = shape(geometry)
    except (ValueError, TypeError, IndexError, KeyError, ShapelyError) as exc:
        raise ValueError(f"{where}: bad geometry: {exc}") from exc
    if parsed.is_empty:
        raise ValueError(f"{where}: empty geometry")
    if not parsed.is_valid:
        raise ValueError(f"{where}: invalid polygon: {shapely.is_valid_reason(parsed)}")
    _check_range(where, parsed.bounds)
    return parsed


def _check_range(where: str, bounds: Iterable[float]) -> None:
    # Swapped [lat, lon] positions are the commonest mistake in hand-made files; for most of the
    # world they put a latitude out of range, so say which order GeoJSON wants.
    min_lon, min_lat, max_lon, max_lat = bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValueError(f"{where}: coordinates out of range (GeoJSON positions are [lon, lat])")


def _check_unique_ids(areas: Sequence[Area]) -> None:
    first: dict[str, int] = {}
    for index, area in enumerate(areas):
        if area.unit_id in first:
            raise ValueError(
                f"feature {index}: unit_id {area.unit_id!r} repeats feature {first[area.unit_id]}"
            )
        first[area.unit_id] = index
