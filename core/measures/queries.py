"""The measures computed in SQL over a period and a grouping (SQLAlchemy Core: the same
statement on SQLite and PostgreSQL). Cases belong to the month they were received in; whistles
to the month they were summoned in (docs/measures.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, literal, select, true
from sqlalchemy.orm import Session

from core.errors import CaseError
from core.measures.definitions import (
    CASE_MEASURES,
    GROUPINGS,
    WHISTLE_MEASURES,
    F,
    Measure,
    W,
    counted,
)
from core.models import CaseFactRecord, WhistleRecord
from workflows.shared.workcal import CST

FACTS = CaseFactRecord.__table__  # type: ignore[attr-defined]
WHISTLES = WhistleRecord.__table__  # type: ignore[attr-defined]
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class Period:
    """A calendar month or year in Beijing time, as [start, end)."""

    label: str
    start: datetime
    end: datetime


def parse_period(text: str) -> Period:
    """`2026-11` (a month) or `2026` (a year)."""
    m = _PERIOD.match(text.strip())
    if not m or not 2000 <= int(m[1]) <= 2100 or (m[2] and not 1 <= int(m[2]) <= 12):
        raise CaseError(422, "period must be YYYY-MM or YYYY", field="period", code="period_format")
    year, month = int(m[1]), int(m[2] or 0)
    if not month:
        return Period(m[0], datetime(year, 1, 1, tzinfo=CST), datetime(year + 1, 1, 1, tzinfo=CST))
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=CST)
    return Period(m[0], datetime(year, month, 1, tzinfo=CST), end)


@dataclass
class Ratio:
    num: int
    den: int

    @property
    def value(self) -> float | None:
        return round(self.num / self.den, 4) if self.den else None


@dataclass
class Group:
    """The measures of one group (a district, a street, …; key "" when not grouped)."""

    key: str
    cases: int = 0
    ratios: dict[str, Ratio] = field(default_factory=dict)
    handling_avg: float | None = None  # minutes
    handling_p90: int | None = None


def area_clause(path_column: Any, area: str | None) -> ColumnElement[bool]:
    """Rows whose location path lies under `area` (a unit's path); everything if None."""
    if area is None:
        return true()
    return and_(path_column >= area, path_column < area[:-1] + "0")


def compute(
    conn: Connection | Session, period: Period, by: str, *, now: datetime, area: str | None = None
) -> list[Group]:
    """Every measure of `period`, one `Group` per value of `by` (see GROUPINGS)."""
    if by not in GROUPINGS:
        raise CaseError(
            422, f"by must be one of {sorted(GROUPINGS)}", field="by", code="not_in_list"
        )
    groups: dict[str, Group] = {}
    for row in conn.execute(_case_query(period, by, area)):
        g = groups.setdefault(row.k or "", Group(row.k or ""))
        g.cases = row.cases
        g.ratios.update(_ratios(CASE_MEASURES, row))
        g.handling_avg = None if row.avg is None else round(float(row.avg), 1)
    for row in conn.execute(_p90_query(period, by, area)):
        groups[row.k or ""].handling_p90 = row.p90
    for row in conn.execute(_whistle_query(period, by, area), {"now": now}):
        g = groups.setdefault(row.k or "", Group(row.k or ""))
        g.ratios.update(_ratios(WHISTLE_MEASURES, row))
    for g in groups.values():
        for m in (*CASE_MEASURES, *WHISTLE_MEASURES):
            g.ratios.setdefault(m.key, Ratio(0, 0))
    return [groups[k] for k in sorted(groups)]


def _ratios(measures: tuple[Measure, ...], row: Any) -> dict[str, Ratio]:
    return {
        m.key: Ratio(int(row._mapping[f"{m.key}_n"] or 0), int(row._mapping[f"{m.key}_d"] or 0))
        for m in measures
    }


def _counts(measures: tuple[Measure, ...]) -> list[Any]:
    """COUNT(*) FILTER (WHERE …) per numerator and denominator (PostgreSQL, SQLite ≥ 3.30):
    cheaper than SUM(CASE …) over a million rows."""
    cols = []
    for m in measures:
        cols.append(func.count().filter(and_(m.numerator, m.denominator)).label(f"{m.key}_n"))
        cols.append(func.count().filter(m.denominator).label(f"{m.key}_d"))
    return cols


def _key(by: str, *, whistles: bool = False) -> ColumnElement[Any]:
    fact_col, whistle_col = GROUPINGS[by]
    if whistles and whistle_col:
        return WHISTLES.c[whistle_col]
    return FACTS.c[fact_col] if fact_col else literal("")


def case_filter(period: Period, area: str | None) -> ColumnElement[bool]:
    received = F.received_at
    in_period = and_(received >= period.start, received < period.end)
    return and_(in_period, counted(), area_clause(F.location_path, area))


def _case_query(period: Period, by: str, area: str | None) -> Select[Any]:
    key = _key(by).label("k")
    cols = [key, func.count().label("cases"), *_counts(CASE_MEASURES)]
    cols.append(func.avg(F.handling_minutes).label("avg"))
    query = select(*cols).where(case_filter(period, area))
    return query.group_by(key) if GROUPINGS[by][0] else query


def _p90_query(period: Period, by: str, area: str | None) -> Select[Any]:
    """The nearest-rank 90th percentile: the smallest value m whose cumulative count c (cases
    with at most m minutes) has 10·c ≥ 9·n.

    Counted per distinct value first, then a running sum over those (a window, not
    `percentile_cont`, which SQLite lacks): a year of a million cases sorts a few thousand
    values per group instead of a million rows."""
    key, grouped = _key(by), bool(GROUPINGS[by][0])
    minutes = F.handling_minutes
    values = (
        select(key.label("k"), minutes.label("m"), func.count().label("c"))
        .where(case_filter(period, area), minutes.is_not(None))
        .group_by(*([key] if grouped else []), minutes)
        .subquery()
    )
    partition = [values.c.k] if grouped else None
    ranked = select(
        values.c.k,
        values.c.m,
        func.sum(values.c.c).over(partition_by=partition, order_by=values.c.m).label("cum"),
        func.sum(values.c.c).over(partition_by=partition).label("n"),
    ).subquery()
    query = select(ranked.c.k, func.min(ranked.c.m).label("p90")).where(
        ranked.c.cum * 10 >= ranked.c.n * 9
    )
    return query.group_by(ranked.c.k)


def _whistle_query(period: Period, by: str, area: str | None) -> Select[Any]:
    key = _key(by, whistles=True).label("k")
    summoned = W.summoned_at
    query = (
        select(key, *_counts(WHISTLE_MEASURES))
        .select_from(WHISTLES.join(FACTS, FACTS.c.case_id == W.case_id))
        .where(
            summoned >= period.start,
            summoned < period.end,
            W.dept_id != "",
            area_clause(F.location_path, area),
        )
    )
    return query.group_by(key) if GROUPINGS[by][0] else query
