"""The map: /map (open cases the user may see), and the data every map of the UI draws from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from shapely.geometry import mapping

from core import access
from core.config import Settings
from core.db import session_scope
from core.intake.geo import boundaries
from web.deps import Cases, Sessions, WebUser, check_csrf
from web.layout import layout_context
from web.map import reads
from web.templating import render

router = APIRouter(dependencies=[Depends(check_csrf)])
CACHED = {"cache-control": "public, max-age=3600"}


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(get_settings)]


@router.get("/map/config.json")
def map_config(settings: AppSettings) -> JSONResponse:
    """The tile layer, if any (public: the citizen form has a map too)."""
    tiles = {
        "tiles": settings.map_tile_url,
        "crs": settings.map_tile_crs,
        "attribution": settings.map_tile_attribution,
    }
    return JSONResponse(tiles, headers=CACHED)


@router.get("/map/boundaries.geojson")
def map_boundaries(settings: AppSettings, levels: str = "district,street") -> Response:
    """The area units' boundaries at `levels` (public: where the city's borders run)."""
    body = reads.boundaries_json(settings.boundaries_file, reads.parse_levels(levels))
    return Response(body, media_type="application/geo+json", headers=CACHED)


@router.get("/map/where")
def map_where(
    settings: AppSettings,
    sessions: Sessions,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> JSONResponse:
    """The units a picked point lies in, city first, so a form can say where it will go."""
    with session_scope(sessions) as session:
        units = reads.units_at(session, settings.boundaries_file, lat, lon)
        found = [{"id": u.id, "name": u.name, "level": u.level} for u in units]
    return JSONResponse({"units": found})


@router.get("/map")
def map_page(request: Request, user: WebUser, cases: Cases, settings: AppSettings) -> Response:
    """Open cases the user may see, on the map and as a list."""
    areas = boundaries(settings.boundaries_file)
    rows, total = reads.open_cases(cases.sessions, areas, user)
    context = {**layout_context(cases, user), "rows": rows, "total": total}
    return render(request, "map/page.html", context, block="map")


@router.get("/map/cases.geojson")
def map_cases(user: WebUser, cases: Cases, settings: AppSettings) -> JSONResponse:
    """The same cases as points."""
    rows, _ = reads.open_cases(cases.sessions, boundaries(settings.boundaries_file), user)
    features = [reads.as_feature(c) for c in rows]
    return JSONResponse({"type": "FeatureCollection", "features": features})


@router.get("/map/cases/{ticket}.geojson")
def map_case(ticket: str, user: WebUser, cases: Cases, settings: AppSettings) -> JSONResponse:
    """One case for its page's small map: its point (or its grid's, where the exact location
    is not the user's to see) and its unit's outline; 404 for a case the user may not see."""
    areas = boundaries(settings.boundaries_file)
    with session_scope(cases.sessions) as session:
        record = access.visible_case(session, user, ticket)
        if record is None:
            return JSONResponse({"detail": "没有这个工单"}, status_code=404)
        exact = access.may_see_exact_location(user, access.scope_of_record(session, record))
    case = reads.placed(record, exact, areas)
    area = areas.area(record.location_unit_id)
    features = [reads.as_feature(case)] if case else []
    if area is not None:
        outline = {"unit_id": area.unit_id, "level": area.level, "name": area.name}
        shape = mapping(area.geometry)
        features.append({"type": "Feature", "properties": outline, "geometry": shape})
    return JSONResponse({"type": "FeatureCollection", "features": features})
