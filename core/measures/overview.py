"""The overview (一屏观全局) for supervisors and the centre: today's counts, the daily trend,
top categories, the measures per district or street with marks, and the open cases' points.

Scoped to an area (a unit's path; None for the city). Current state (open, overdue, escalated)
reads `cases`; the rest reads `case_facts`. Every query is a range on an indexed column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import and_, case, func, select, text
from sqlmodel import Session

from core.measures.definitions import F
from core.measures.queries import Group, Period, area_clause, compute
from core.measures.report import group_names
from core.models import OPEN_CASE, CaseRecord, Unit
from workflows.shared.workcal import CST

C = CaseRecord.__table__.c  # type: ignore[attr-defined]
# Marks on the area table: below RED is red, below AMBER amber (the higher the better).
MARKED = ("closed_on_time", "accepted_in_time", "satisfaction")
RED, AMBER = 0.8, 0.9
MAX_POINTS = 5000  # the map shows at most this many open cases (the newest)


@dataclass
class Scope:
    """Whose overview: the area's unit (None: the city) and how its table is grouped."""

    unit: Unit | None
    by: str  # district (the city's table) or street

    @property
    def area(self) -> str | None:
        return None if self.unit is None or self.unit.level == "city" else self.unit.path


def scope_of(unit: Unit) -> Scope:
    return Scope(unit, "district" if unit.level == "city" else "street")


@dataclass
class AreaRow:
    key: str
    name: str
    open: int = 0
    overdue: int = 0
    group: Group | None = None
    marks: dict[str, str] = field(default_factory=dict)  # measure key -> red | amber


@dataclass
class Overview:
    today: dict[str, int]
    days: list[str]
    intake: list[int]
    closed: list[int]
    categories: list[tuple[str, int]]
    rows: list[AreaRow]
    points: list[list[Any]]  # [lon, lat, ticket, overdue]


def day_start(now: datetime) -> datetime:
    local = now.astimezone(CST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def build(session: Session, scope: Scope, now: datetime, *, days: int = 14) -> Overview:
    area, start = scope.area, day_start(now)
    edges = [start - timedelta(days=days - 1 - i) for i in range(days + 1)]
    return Overview(
        today=today_counts(session, area, start),
        days=[e.strftime("%m-%d") for e in edges[:-1]],
        intake=_per_day(session, F.received_at, area, edges),
        closed=_per_day(session, F.closed_at, area, edges),
        categories=top_categories(session, area),
        rows=area_rows(session, scope, now),
        points=open_points(session, area),
    )


def _open() -> Any:
    """Open cases, in the words of their partial index (core/models.py)."""
    return text(OPEN_CASE)


def today_counts(session: Session, area: str | None, start: datetime) -> dict[str, int]:
    in_area = area_clause(C.location_path, area)
    current = select(
        func.count().label("open"),
        func.sum(case((C.overdue, 1), else_=0)).label("overdue"),
        func.sum(case((C.escalation_level > 0, 1), else_=0)).label("escalated"),
    ).where(_open(), in_area)
    row = session.execute(current).one()
    intake = select(func.count()).where(C.created_at >= start, in_area)
    closed = select(func.count()).where(F.closed_at >= start, area_clause(F.location_path, area))
    return {
        "intake": session.execute(intake).scalar_one(),
        "open": row.open,
        "overdue": int(row.overdue or 0),
        "escalated": int(row.escalated or 0),
        "closed": session.execute(closed).scalar_one(),
    }


def _per_day(session: Session, column: Any, area: str | None, edges: list[datetime]) -> list[int]:
    """Counts per day in one statement: a sum per bucket over the whole range (portable)."""
    buckets = [
        func.sum(case((and_(column >= lo, column < hi), 1), else_=0)) for lo, hi in pairwise(edges)
    ]
    query = select(*buckets).where(
        column >= edges[0], column < edges[-1], area_clause(F.location_path, area)
    )
    return [int(v or 0) for v in session.execute(query).one()]


def top_categories(session: Session, area: str | None, limit: int = 8) -> list[tuple[str, int]]:
    n = func.count().label("n")
    query = (
        select(C.category_name, n)
        .where(_open(), area_clause(C.location_path, area))
        .group_by(C.category_name)
        .order_by(n.desc(), C.category_name)
        .limit(limit)
    )
    return [(name, count) for name, count in session.execute(query)]


def area_rows(session: Session, scope: Scope, now: datetime) -> list[AreaRow]:
    """This month's measures per district (or street), with open and overdue counts now."""
    month = day_start(now).replace(day=1)
    nxt = (month + timedelta(days=32)).replace(day=1)
    groups = {
        g.key: g
        for g in compute(session, Period("", month, nxt), scope.by, now=now, area=scope.area)
    }
    key = C.district_id if scope.by == "district" else C.street_id
    current = (
        select(key, func.count(), func.sum(case((C.overdue, 1), else_=0)))
        .where(_open(), area_clause(C.location_path, scope.area))
        .group_by(key)
    )
    counts = {k: (n, int(late or 0)) for k, n, late in session.execute(current)}
    keys = sorted((set(groups) | set(counts)) - {""})
    names = group_names(session, scope.by, keys)
    rows = [AreaRow(k, names.get(k, k), *counts.get(k, (0, 0)), groups.get(k)) for k in keys]
    for row in rows:
        row.marks = _marks(row.group)
    return rows


def _marks(group: Group | None) -> dict[str, str]:
    marks = {}
    for key in MARKED:
        value = group.ratios[key].value if group else None
        if value is not None and value < AMBER:
            marks[key] = "red" if value < RED else "amber"
    return marks


def open_points(session: Session, area: str | None) -> list[list[Any]]:
    query = (
        select(C.lon, C.lat, C.ticket, C.overdue)
        .where(_open(), C.lat.is_not(None), C.lon.is_not(None), area_clause(C.location_path, area))
        .order_by(C.created_at.desc())
        .limit(MAX_POINTS)
    )
    return [[lon, lat, ticket, bool(late)] for lon, lat, ticket, late in session.execute(query)]
