"""未诉先办, the finding half: places where the same category recurs — at least `min_cases`
cases closed within `radius_m` of one another in the last `days` — for a scheduled workflow to
open a proactive case for the street, linked to the cases that triggered it (not built yet:
see docs/measures.md).

The database narrows the rows (closed in the window, with a point); the grouping is done here
over 100 m grid cells, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from core.measures.definitions import F
from core.measures.queries import FACTS
from core.models import CaseRecord

C = CaseRecord.__table__.c  # type: ignore[attr-defined]
EARTH_M = 6_371_000.0


@dataclass(frozen=True)
class Closed:
    ticket: str
    category: str
    street_id: str
    lat: float
    lon: float


@dataclass
class Place:
    """A recurring place: a category, the street of its first case, the cases (tickets)."""

    category: str
    street_id: str
    lat: float
    lon: float
    tickets: list[str]


def distance_m(a: Closed, b: Closed) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(h))


def closed_cases(session: Session, now: datetime, days: int) -> list[Closed]:
    query = (
        select(C.ticket, F.category, F.street_id, F.lat, F.lon)
        .select_from(FACTS.join(CaseRecord.__table__, C.id == F.case_id))  # type: ignore[attr-defined]
        .where(F.closed_at >= now - timedelta(days=days), F.closed_at <= now)
        .where(F.lat.is_not(None), F.lon.is_not(None), F.voided.is_(False))
        .order_by(F.closed_at)
    )
    return [Closed(*row) for row in session.execute(query)]


def recurring_places(
    session: Session,
    now: datetime,
    *,
    days: int = 30,
    radius_m: float = 100.0,
    min_cases: int = 3,
    per_category: dict[str, int] | None = None,
) -> list[Place]:
    """Every place where a category recurs; `per_category` overrides `min_cases`."""
    by_category: dict[str, list[Closed]] = defaultdict(list)
    for case in closed_cases(session, now, days):
        by_category[case.category].append(case)
    places = []
    for category, cases in sorted(by_category.items()):
        least = (per_category or {}).get(category, min_cases)
        places += _places(category, cases, radius_m, least)
    return places


def _places(category: str, cases: list[Closed], radius_m: float, least: int) -> list[Place]:
    """Greedy: the case with the most neighbours within the radius takes them, and again."""
    left = list(cases)
    found = []
    while len(left) >= least:
        cells = _cells(left, radius_m)
        best = max(left, key=lambda c: len(_near(c, cells, radius_m)))
        group = _near(best, cells, radius_m)
        if len(group) < least:
            break
        found.append(Place(category, best.street_id, best.lat, best.lon, [c.ticket for c in group]))
        taken = {c.ticket for c in group}
        left = [c for c in left if c.ticket not in taken]
    return found


def _cell(case: Closed, radius_m: float) -> tuple[int, int]:
    deg = radius_m / 111_320.0  # one cell is one radius of latitude (longitude: at most that)
    return int(case.lat // deg), int(case.lon // deg)


def _cells(cases: list[Closed], radius_m: float) -> dict[tuple[int, int], list[Closed]]:
    cells: dict[tuple[int, int], list[Closed]] = defaultdict(list)
    for case in cases:
        cells[_cell(case, radius_m)].append(case)
    return cells


def _near(
    case: Closed, cells: dict[tuple[int, int], list[Closed]], radius_m: float
) -> list[Closed]:
    """The cases within the radius (itself included), from the neighbouring cells."""
    row, col = _cell(case, radius_m)
    reach = 1 + int(1 / max(math.cos(math.radians(case.lat)), 0.1))  # longitude cells shrink
    around = (
        other
        for dr in (-1, 0, 1)
        for dc in range(-reach, reach + 1)
        for other in cells.get((row + dr, col + dc), [])
    )
    return [other for other in around if distance_m(case, other) <= radius_m]
