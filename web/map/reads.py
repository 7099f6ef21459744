"""Read-model queries of the map: boundaries as GeoJSON, open cases as points, a point's units.

Points are WGS-84 here and in every response; the browser converts to GCJ-02 only for a tile
provider that draws in it (web/static/map.js).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import case as when
from sqlmodel import Session, col, func, select

from core import access
from core.db import SessionFactory, session_scope
from core.intake.geo import LEVELS, Boundaries, boundaries
from core.models import CaseRecord, Unit, User
from workflows.case.transitions import STATUS_NAMES
from workflows.contracts import TERMINAL

MAP_SIZE = 2_000  # points drawn at most; the page says how many there are in all
DEFAULT_LEVELS = ("district", "street")
STATUS = {str(status): name for status, name in STATUS_NAMES.items()}


@dataclass(frozen=True)
class MapCase:
    """An open case on the map; `exact` False: drawn at its grid, its map point withheld."""

    ticket: str
    title: str
    status: str
    priority: str
    overdue: bool
    due_at: datetime | None
    lat: float
    lon: float
    exact: bool


def parse_levels(text: str) -> tuple[str, ...]:
    """The levels a client asked for ("district,street"), known ones only, coarse first."""
    asked = {part.strip() for part in text.split(",")}
    return tuple(level for level in LEVELS if level in asked) or DEFAULT_LEVELS


@cache
def boundaries_json(path: Path, levels: tuple[str, ...]) -> bytes:
    """The features of the boundaries file at `levels`, serialised once per process."""
    data = json.loads(path.read_text(encoding="utf-8"))
    features = [f for f in data["features"] if f["properties"].get("level") in levels]
    body = {"type": "FeatureCollection", "features": features}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def open_cases(
    sessions: SessionFactory, areas: Boundaries, user: User
) -> tuple[list[MapCase], int]:
    """The open cases `user` may see (core/access.py), soonest deadline first, and their count.

    A case whose exact location the user may not see is drawn at its grid's inner point.
    """
    with session_scope(sessions) as session:
        exact = when((access.exact_clause(session, user), True), else_=False)
        query = select(CaseRecord, exact).where(
            col(CaseRecord.status).not_in([s.value for s in TERMINAL]),
            access.case_clause(session, user),
        )
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        order = (col(CaseRecord.due_at).is_(None), col(CaseRecord.due_at), CaseRecord.ticket)
        rows = session.exec(query.order_by(*order).limit(MAP_SIZE)).all()
    cases = [c for c in (placed(record, bool(ok), areas) for record, ok in rows) if c]
    return cases, total


def placed(record: CaseRecord, exact: bool, areas: Boundaries) -> MapCase | None:
    point = (record.lat, record.lon) if exact and record.lat is not None else None
    point = point or areas.representative_point(record.location_unit_id)
    if point is None or point[0] is None or point[1] is None:
        return None  # a unit without a polygon (a deployment's own file)
    return MapCase(
        ticket=record.ticket,
        title=record.title,
        status=record.status,
        priority=record.priority,
        overdue=record.overdue,
        due_at=record.due_at,
        lat=point[0],
        lon=point[1],
        exact=exact and record.lat is not None,
    )


def units_at(session: Session, path_file: Path, lat: float, lon: float) -> list[Unit]:
    """The area units a point lies in, city first; empty outside the city."""
    unit_id = boundaries(path_file).resolve(lat, lon)
    unit = session.get(Unit, unit_id) if unit_id else None
    if unit is None:
        return []
    ids = [part for part in unit.path.split("/") if part]
    found = {u.id: u for u in session.exec(select(Unit).where(col(Unit.id).in_(ids)))}
    return [found[i] for i in ids if i in found]


def as_feature(case: MapCase) -> dict[str, Any]:
    """A case as a GeoJSON point feature for map.js."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [case.lon, case.lat]},
        "properties": {
            "ticket": case.ticket,
            "title": case.title,
            "status": STATUS.get(case.status, case.status),
            "priority": case.priority,
            "overdue": case.overdue,
            "exact": case.exact,
        },
    }
