"""Extracts the real outlines of Nanjing's districts from `geotool-cn` into a vendored GeoJSON.

Run at development time only (the package is a dev dependency; nothing imports it at run time):

    python -m core.demo.nanjing [path]    # default: core/data/nanjing-districts.geojson

`geotool-cn` ships China's district polygons in WGS-84 (converted from DataV.GeoAtlas's GCJ-02)
in its own binary format. Its public API answers point queries only, so the polygons are read
through its data reader. The eleven districts form a valid coverage (shared edges are identical),
and `shapely.coverage_simplify` keeps them so while it drops vertices.

Licence: the code of geotool-cn is MIT; the boundary data is DataV.GeoAtlas's, "数据来源于高德开放
平台，仅供学习交流使用" (learning and exchange only). That is fine for a demo; a deployment supplies
its own boundaries (`Settings.boundaries_file`). The file records this in its `source` member.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping

from core.config import ROOT

NANJING_ADCODE = "320100"
DISTRICTS_FILE = ROOT / "core" / "data" / "nanjing-districts.geojson"
# About 100 m. The source is already generalised (about 2,500 vertices for the whole city), so
# this drops only near-collinear vertices; it keeps the file small should a finer source come.
SIMPLIFY_DEGREES = 0.001
DECIMALS = 6
SOURCE = {
    "data": "DataV.GeoAtlas (阿里云 DataV), via the geotool-cn package 3.1.0, converted to WGS-84",
    "licence": "数据来源于高德开放平台，仅供学习交流使用 — learning and exchange only; "
    "demo use. A deployment supplies its own boundaries.",
    "processing": "shapely.coverage_simplify, tolerance 0.001 degrees; positions [lon, lat]",
}


def nanjing_districts() -> dict[str, Any]:
    """Returns Nanjing's districts as a FeatureCollection (properties `adcode`, `name`)."""
    from GeoToolCN import GeoTool  # dev dependency, needed only to regenerate

    tool = GeoTool()
    regions = [r for r in tool.list_regions("district") if r.code.startswith(NANJING_ADCODE[:4])]
    shapes = [_district_shape(tool, region.code) for region in regions]
    simplified = shapely.coverage_simplify(shapes, SIMPLIFY_DEGREES)
    features = [
        {
            "type": "Feature",
            "properties": {"adcode": region.code, "name": region.name},
            "geometry": rounded(shape),
        }
        for region, shape in zip(regions, simplified, strict=True)
    ]
    return {"type": "FeatureCollection", "source": SOURCE, "features": features}


def _district_shape(tool: Any, adcode: str) -> Polygon | MultiPolygon:
    data = tool._data  # the reader; geotool-cn has no public polygon API
    _, polygons = data.geometry(data.index_of(adcode, "district"))
    parts = []
    for rings in polygons:
        coords = [
            [(x / data.scale, y / data.scale) for x, y in zip(*ring, strict=True)] for ring in rings
        ]
        parts.append(Polygon(coords[0], coords[1:]))
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def rounded(geometry: Any) -> dict[str, Any]:
    """GeoJSON geometry with counter-clockwise exteriors (RFC 7946) and positions rounded."""
    oriented = mapping(shapely.orient_polygons(geometry))

    def walk(value: Any) -> Any:
        if isinstance(value[0], float | int):
            return [round(float(v), DECIMALS) for v in value]
        return [walk(v) for v in value]

    return {"type": oriented["type"], "coordinates": walk(oriented["coordinates"])}


def dumps(collection: dict[str, Any]) -> str:
    """Serialises a FeatureCollection with one feature per line, for readable diffs."""
    head = {k: v for k, v in collection.items() if k != "features"}
    lines = [
        json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in collection["features"]
    ]
    opening = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    return opening + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str]) -> None:
    """Writes the districts to argv[0], or to the vendored file."""
    path = Path(argv[0]) if argv else DISTRICTS_FILE
    path.write_text(dumps(nanjing_districts()), encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
