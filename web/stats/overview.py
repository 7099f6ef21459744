"""The overview (一屏观全局, article 2) for supervisors and the centre, scoped by the access
rules: the user's unit's area, or a district or street inside it (drill-down). Counts and the
table refresh by htmx polling; the charts and the map (ECharts, vendored in web/static) read
`/overview/data.json` and `/overview/boundaries.json` from web/static/overview.js."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from core import access
from core.cases.service import CaseError, CaseService
from core.db import session_scope
from core.measures import overview
from core.measures.definitions import MEASURES
from core.models import Unit, User
from web.deps import Cases, WebUser
from web.layout import error_page, layout_context
from web.templating import render

router = APIRouter()
ROLES = frozenset({"supervisor", "dispatcher"})  # the centre's and the districts' desks
REFRESH_SECONDS = 60
MAP_LEVELS = ("city", "district", "street")


def scope_for(session: Session, user: User, unit_id: str) -> overview.Scope:
    if user.role not in ROLES:
        raise CaseError(403, f"role {user.role} may not see the overview", code="overview_role")
    own = session.get(Unit, user.unit_id)
    if own is None:
        raise CaseError(403, "the user's unit is not in the tree", code="unit_not_in_tree")
    if not unit_id or unit_id == own.id:
        return overview.scope_of(own)
    unit = access.require_unit(session, user, unit_id)
    if not unit.path.startswith(own.path) and own.level != "city":
        raise CaseError(403, f"unit {unit_id} lies outside the user's area", code="unit_hidden")
    return overview.scope_of(unit)


def _build(
    cases: CaseService, user: User, unit_id: str
) -> tuple[overview.Scope, overview.Overview]:
    with session_scope(cases.sessions) as session:
        scope = scope_for(session, user, unit_id)
        return scope, overview.build(session, scope, datetime.now(UTC))


@router.get("/overview")
async def overview_page(request: Request, user: WebUser, cases: Cases, unit: str = "") -> Response:
    """Today's counts, trend, top categories, the area table with marks, the map."""
    try:
        scope, data = await run_in_threadpool(_build, cases, user, unit)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context = {
        **layout_context(cases, user),
        "scope": scope,
        "data": data,
        "marked": [m for m in MEASURES if m.key in overview.MARKED],
        "refresh": REFRESH_SECONDS,
        "unit": unit,
    }
    return render(request, "stats/overview.html", context, block="live")


@router.get("/overview/data.json")
async def overview_data(user: WebUser, cases: Cases, unit: str = "") -> Response:
    """The charts' and the map's data."""
    try:
        _, data = await run_in_threadpool(_build, cases, user, unit)
    except CaseError as err:
        return JSONResponse({"detail": err.reason}, status_code=err.status)
    body = {
        "days": data.days,
        "intake": data.intake,
        "closed": data.closed,
        "categories": data.categories,
        "points": data.points,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/overview/boundaries.json")
async def overview_boundaries(
    request: Request, user: WebUser, cases: Cases, unit: str = ""
) -> Response:
    """The city's, districts' and streets' boundaries within the scope, as GeoJSON."""
    try:
        with session_scope(cases.sessions) as session:
            scope = scope_for(session, user, unit)
            inside = _units_inside(session, scope)
    except CaseError as err:
        return JSONResponse({"detail": err.reason}, status_code=err.status)
    features = [
        f
        for f in _features(request.app.state.settings.boundaries_file)
        if f["properties"].get("unit_id") in inside
    ]
    return JSONResponse({"type": "FeatureCollection", "features": features})


def _units_inside(session: Session, scope: overview.Scope) -> set[str]:
    query = select(Unit.id).where(col(Unit.level).in_(MAP_LEVELS))
    if scope.area is not None:
        query = query.where(col(Unit.path).startswith(scope.area))
    return set(session.exec(query))


@cache
def _features(path: Path) -> list[dict[str, Any]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [f for f in data["features"] if f["properties"].get("level") in MAP_LEVELS]
