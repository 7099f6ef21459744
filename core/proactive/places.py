"""Recurring places: ≥ N closed cases of one category in the last D days, all within R metres
of one of them (the place's seed).

The read model answers with one indexed range per category (closed in the window, with a map
point); the clustering runs here, on a grid of R-sized cells, so each case is compared only with
the cases of its own and the eight neighbouring cells. A place already taken up by a proactive
case (open, or opened within the window) is not found again.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.intake.dedup import METRES_PER_DEGREE, distance_m
from core.models import CaseRecord
from core.proactive.rules import RecurrenceRule
from workflows.contracts import Status

PROACTIVE_CHANNEL = "proactive"
# A case counts once it was closed for good; a voided case or a direct answer is no problem fixed.
COUNTED = (Status.CLOSED.value, Status.ARCHIVED.value)


@dataclass(frozen=True)
class Point:
    ticket: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Place:
    """A cluster: its category, the cases that make it, and its centre."""

    category: str
    category_name: str
    tickets: tuple[str, ...]
    lat: float
    lon: float
    address: str

    @property
    def key(self) -> str:
        """The idempotency key of its proactive case: a retry opens no second case."""
        digest = hashlib.sha256(f"{self.category}|{'|'.join(self.tickets)}".encode())
        return f"pa-{digest.hexdigest()[:24]}"


def recurring_places(
    session: Session, now: datetime, rules: dict[str, RecurrenceRule], default: RecurrenceRule
) -> list[Place]:
    """Every recurring place of every category that has closed cases with a point."""
    widest = now - timedelta(days=_widest(rules, default))
    found: list[Place] = []
    for category in _categories_closed_since(session, widest):
        found += _places_of(session, category, now, rules.get(category, default))
    return found


def _places_of(session: Session, category: str, now: datetime, rule: RecurrenceRule) -> list[Place]:
    since = now - timedelta(days=rule.window_days)
    rows = {r.ticket: r for r in _closed(session, category, since)}
    taken = _proactive_points(session, category, since)
    points = [Point(r.ticket, r.lat, r.lon) for r in rows.values()]  # type: ignore[arg-type]
    places = []
    for cluster in clusters(points, rule):
        centre = _centre(cluster)
        if any(_within(centre, p, rule.radius_m) for p in taken):
            continue  # a proactive case has taken this place up already
        first = rows[cluster[0].ticket]
        places.append(
            Place(
                category=category,
                category_name=first.category_name,
                tickets=tuple(p.ticket for p in cluster),
                lat=centre.lat,
                lon=centre.lon,
                address=first.address,
            )
        )
    return places


def clusters(points: list[Point], rule: RecurrenceRule) -> list[list[Point]]:
    """Greedy: the point with the most neighbours within the radius takes them, again and again,
    while a point still has `min_cases - 1` untaken neighbours. Deterministic (ties by ticket)."""
    cell = rule.radius_m / METRES_PER_DEGREE
    grid: dict[tuple[int, int], list[Point]] = defaultdict(list)
    for p in points:
        grid[_cell(p, cell)].append(p)
    near = {p.ticket: _neighbours(p, grid, cell, rule.radius_m) for p in points}
    taken: set[str] = set()
    found: list[list[Point]] = []
    while True:
        best = max(
            (p for p in points if p.ticket not in taken),
            key=lambda p: (sum(n.ticket not in taken for n in near[p.ticket]), p.ticket),
            default=None,
        )
        if best is None:
            return found
        members = [best, *(n for n in near[best.ticket] if n.ticket not in taken)]
        if len(members) < rule.min_cases:
            return found
        found.append(sorted(members, key=lambda p: p.ticket))
        taken.update(p.ticket for p in members)


def _neighbours(
    p: Point, grid: dict[tuple[int, int], list[Point]], cell: float, radius: float
) -> list[Point]:
    x, y = _cell(p, cell)
    around = (q for dx in (-1, 0, 1) for dy in (-1, 0, 1) for q in grid.get((x + dx, y + dy), ()))
    return [q for q in around if q.ticket != p.ticket and _within(p, q, radius)]


def _within(p: Point, q: Point, radius: float) -> bool:
    return distance_m(p.lat, p.lon, q.lat, q.lon) <= radius


def _cell(p: Point, size: float) -> tuple[int, int]:
    # A degree of longitude shrinks with latitude: cells twice as wide in longitude stay at
    # least a radius wide up to 60°, so a neighbour never lies two cells away.
    return math.floor(p.lat / size), math.floor(p.lon / (2 * size))


def _centre(points: Iterable[Point]) -> Point:
    pts = list(points)
    return Point("", sum(p.lat for p in pts) / len(pts), sum(p.lon for p in pts) / len(pts))


def _widest(rules: dict[str, RecurrenceRule], default: RecurrenceRule) -> int:
    return max([default.window_days, *(r.window_days for r in rules.values())])


def _categories_closed_since(session: Session, since: datetime) -> list[str]:
    query = (
        select(CaseRecord.category)
        .where(col(CaseRecord.status).in_(COUNTED), col(CaseRecord.closed_at) >= since)
        .where(CaseRecord.channel != PROACTIVE_CHANNEL)
        .distinct()
    )
    return sorted(session.exec(query))


def _closed(session: Session, category: str, since: datetime) -> list[CaseRecord]:
    query = select(CaseRecord).where(
        CaseRecord.category == category,
        col(CaseRecord.status).in_(COUNTED),
        col(CaseRecord.closed_at) >= since,
        col(CaseRecord.lat).is_not(None),
        col(CaseRecord.lon).is_not(None),
        CaseRecord.channel != PROACTIVE_CHANNEL,
        CaseRecord.direct_answer == False,  # noqa: E712 (SQL, not Python)
    )
    return list(session.exec(query.order_by(col(CaseRecord.ticket))))


def _proactive_points(session: Session, category: str, since: datetime) -> list[Point]:
    """Proactive cases of `category` still open, or opened within the window."""
    query = select(CaseRecord).where(
        CaseRecord.category == category,
        CaseRecord.channel == PROACTIVE_CHANNEL,
        col(CaseRecord.lat).is_not(None),
        (col(CaseRecord.created_at) >= since) | col(CaseRecord.closed_at).is_(None),
    )
    return [Point(r.ticket, r.lat, r.lon) for r in session.exec(query)]  # type: ignore[arg-type]
