"""The measures computed in SQL over a period and a grouping (SQLAlchemy Core: the same
statement on SQLite and PostgreSQL). Cases belong to the month they were received in; whistles
to the month they were summoned in (docs/measures.md).

A period of whole months in an area no finer than a street adds up the monthly sums
(core/measures/rollup.py) instead of reading every fact, and finds the P90 in the facts of one
histogram bucket; anything else, and `live=True`, reads the facts. Both give the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from core.errors import CaseError
from core.measures import rollup
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
MONTHS = rollup.MONTHS
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
    conn: Connection | Session,
    period: Period,
    by: str,
    *,
    now: datetime,
    area: str | None = None,
    live: bool = False,
) -> list[Group]:
    """Every measure of `period`, one `Group` per value of `by` (see GROUPINGS); `live` reads
    the facts even where the monthly sums would answer."""
    if by not in GROUPINGS:
        raise CaseError(
            422, f"by must be one of {sorted(GROUPINGS)}", field="by", code="not_in_list"
        )
    if live or not rollup.covers(period.start, period.end, area):
        groups = _live_case_groups(conn, period, by, area)
    else:
        groups = _summed_case_groups(conn, period, by, area)
    for row in conn.execute(_whistle_query(period, by, area), {"now": now}):
        g = groups.setdefault(row.k or "", Group(row.k or ""))
        g.ratios.update(_ratios(WHISTLE_MEASURES, row))
    for g in groups.values():
        for m in (*CASE_MEASURES, *WHISTLE_MEASURES):
            g.ratios.setdefault(m.key, Ratio(0, 0))
    return [groups[k] for k in sorted(groups)]


def _live_case_groups(
    conn: Connection | Session, period: Period, by: str, area: str | None
) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for row in conn.execute(_case_query(period, by, area)):
        g = groups.setdefault(row.k or "", Group(row.k or ""))
        g.cases = row.cases
        g.ratios.update(_ratios(CASE_MEASURES, row))
        g.handling_avg = None if row.avg is None else round(float(row.avg), 1)
    for row in conn.execute(_p90_query(period, by, area)):
        groups[row.k or ""].handling_p90 = row.p90
    return groups


def _summed_case_groups(
    conn: Connection | Session, period: Period, by: str, area: str | None
) -> dict[str, Group]:
    """The case measures from the monthly sums: the same numbers as `_live_case_groups`."""
    first, after = rollup.months(period.start, period.end)
    counters = [c for c in MONTHS.c if not c.primary_key]
    query = (
        select(MONTHS.c.key, *(func.sum(c).label(c.name) for c in counters))
        .where(
            MONTHS.c.grouping == by,
            MONTHS.c.month >= first,
            MONTHS.c.month < after,
            area_clause(MONTHS.c.place, area),
        )
        .group_by(MONTHS.c.key)
    )
    sums = {row.key: rollup.Tally.of_row(row) for row in conn.execute(query)}
    if not GROUPINGS[by][0]:
        sums.setdefault("", rollup.Tally())  # ungrouped, the live query answers one row
    groups = {key: _group(key, t) for key, t in sums.items()}
    for key, p90 in _p90_of_sums(conn, period, by, area, sums).items():
        groups[key].handling_p90 = p90
    return groups


def _group(key: str, t: rollup.Tally) -> Group:
    g = Group(key, t.value("cases"))
    for m in CASE_MEASURES:
        g.ratios[m.key] = Ratio(t.value(f"{m.key}_n"), t.value(f"{m.key}_d"))
    n = t.value("minutes_n")
    # sum / n rounds to the same tenth as AVG: where they could differ (an exact tie at the
    # hundredths), the quotient is a short decimal that both compute exactly.
    g.handling_avg = round(t.value("minutes_sum") / n, 1) if n else None
    return g


def _p90_of_sums(
    conn: Connection | Session,
    period: Period,
    by: str,
    area: str | None,
    sums: dict[str, rollup.Tally],
) -> dict[str, int]:
    """The nearest-rank P90 of each group (as `_p90_query`): the histogram names the bucket
    holding rank r = ⌈9n/10⌉ and r's place in it; the facts of that bucket give the value."""
    targets: dict[str, tuple[int, int]] = {}  # group: (bucket, rank within the bucket)
    for key, t in sums.items():
        rank, seen = (9 * t.value("minutes_n") + 9) // 10, 0
        for b in sorted(t.hist):
            if rank and seen + t.hist[b] >= rank:
                targets[key] = (b, rank - seen)
                break
            seen += t.hist[b]
    if not targets:
        return {}
    values: dict[str, list[tuple[int, int]]] = {}
    for row in conn.execute(_refine(period, by, area, targets)):
        values.setdefault(row.k or "", []).append((row.m, row.c))
    found = {}
    for key, (_, rank) in targets.items():
        seen = 0
        for m, c in sorted(values.get(key, [])):
            seen += c
            if seen >= rank:
                found[key] = m
                break
        else:  # a write committed between the two reads: read the facts instead
            return {row.k or "": row.p90 for row in conn.execute(_p90_query(period, by, area))}
    return found


def _refine(period: Period, by: str, area: str | None, targets: dict[str, tuple[int, int]]) -> Any:
    """Each target bucket's facts, counted per group and minutes value: one SELECT per bucket
    (a range scan of ix_case_facts_minutes each, index-only on PostgreSQL), UNION ALL."""
    key, grouped = _key(by), bool(GROUPINGS[by][0])
    minutes = F.handling_minutes
    buckets: dict[int, list[str]] = {}
    for group, (b, _) in targets.items():
        buckets.setdefault(b, []).append(group)
    parts = []
    for b, groups in sorted(buckets.items()):
        low, high = rollup.bucket_range(b)
        where = [case_filter(period, area), minutes.is_not(None)]
        where += [minutes >= low] if low is not None else []
        where += [minutes < high] if high is not None else []
        where += [key.in_(groups)] if grouped else []
        part = select(key.label("k"), minutes.label("m"), func.count().label("c")).where(*where)
        parts.append(part.group_by(*([key] if grouped else []), minutes))
    return parts[0] if len(parts) == 1 else union_all(*parts)


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
