"""The facts summed per month (`case_fact_months`): what a period of whole months adds up
instead of reading every fact (issue 13, "Scale"; docs/measures.md).

One row per grouping (see GROUPINGS), month (Beijing time, as received), place and group key:
the number of cases, each measure's numerator and denominator, the count and sum of handling
minutes, and a histogram of handling minutes over fixed buckets (BOUNDS), from which the P90
is found exactly by reading only the facts of one bucket (core/measures/queries.py).

The store writes facts only through `core.measures.store._write`, which calls `apply` with the
difference its write made, in the same transaction: the rows always equal the facts. `rebuild`
sums them again from the facts (the migration's backfill, a bulk load, a repair).

A place is a case's location path cut after the street (`/nj/gl/gl-nhl/`): grids and
communities would multiply the rows, and an area of a city, district or street selects the
same cases by its place as by its full path (`covers`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import add, sub
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from core.measures.definitions import CASE_MEASURES, GROUPINGS, F, counted
from core.models import CASE_FACT_MONTHS, FACT_MONTH_BUCKETS
from workflows.shared.workcal import CST

MONTHS = CASE_FACT_MONTHS
# The counts kept per row, in this order: cases, each case measure's numerator and denominator,
# then the closed cases' handling minutes (how many, and their sum: the mean is sum / count).
NAMES = (
    "cases",
    *(f"{m.key}_{part}" for m in CASE_MEASURES for part in ("n", "d")),
    "minutes_n",
    "minutes_sum",
)
# Bucket edges of handling minutes, a quarter-octave apart (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13,
# …, 2^20 ≈ two years): bucket b holds [BOUNDS[b-1], BOUNDS[b]), bucket 0 everything below 1,
# the last everything from 2^20. Near a P90 one bucket holds a few percent of the cases.
BOUNDS: tuple[int, ...] = tuple(sorted({round(2 ** (i / 4)) for i in range(81)}))
PLACE_DEPTH = 4  # slashes in a street's path: /city/district/street/
Key = tuple[str, str, str, str]  # grouping, month, place, group key


@dataclass
class Tally:
    """What one row of `case_fact_months` counts (or a change to it)."""

    counts: list[int] = field(default_factory=lambda: [0] * len(NAMES))
    hist: dict[int, int] = field(default_factory=dict)  # bucket: closed cases

    def add(self, other: Tally, op: Any = add) -> None:
        self.counts = list(map(op, self.counts, other.counts))
        for b, n in other.hist.items():
            self.hist[b] = op(self.hist.get(b, 0), n)
            if not self.hist[b]:
                del self.hist[b]

    def __bool__(self) -> bool:
        return any(self.counts) or bool(self.hist)

    def value(self, name: str) -> int:
        return self.counts[NAMES.index(name)]

    def columns(self) -> dict[str, int]:
        return dict(zip(NAMES, self.counts, strict=True)) | {
            f"h{b}": n for b, n in self.hist.items()
        }

    @classmethod
    def of_row(cls, row: Any) -> Tally:
        """From a row of the table's counters (or their sums)."""
        m = row._mapping
        hist = {b: int(m[f"h{b}"]) for b in range(FACT_MONTH_BUCKETS) if m[f"h{b}"]}
        return cls([int(m[n] or 0) for n in NAMES], hist)


def bucket(minutes: int) -> int:
    return bisect_right(BOUNDS, minutes)


def bucket_range(b: int) -> tuple[int | None, int | None]:
    """[low, high) of bucket `b`; None where it is open."""
    return (BOUNDS[b - 1] if b > 0 else None, BOUNDS[b] if b < len(BOUNDS) else None)


def place(path: str) -> str:
    """The path cut after its street (its PLACE_DEPTH-th slash); shorter paths stay whole."""
    cut = -1
    for _ in range(PLACE_DEPTH):
        cut = path.find("/", cut + 1)
        if cut < 0:
            return path
    return path[: cut + 1]


def month_of(at: datetime) -> str:
    return at.astimezone(CST).strftime("%Y-%m")


def covers(start: datetime, end: datetime, area: str | None) -> bool:
    """Whether the rows answer for [start, end) in `area`: whole months, and an area no finer
    than a street (a path that starts with it has a place that starts with it)."""
    whole = all(_month_start(t) == t for t in (start, end)) and start < end
    fine = area is not None and (not area.endswith("/") or area.count("/") > PLACE_DEPTH)
    return whole and not fine


def _month_start(at: datetime) -> datetime:
    local = at.astimezone(CST)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def months(start: datetime, end: datetime) -> tuple[str, str]:
    """The months of [start, end) as a range of labels [first, after)."""
    return month_of(start), month_of(end)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where `condition` holds, as COUNT(*) FILTER (WHERE condition) counts it (NULL: 0)."""
    return case((condition, 1), else_=0)


def _flags_query(where: ColumnElement[bool]) -> tuple[Select[Any], list[str]]:
    """Per counted fact: when and where, its group keys, its minutes, and a 1 or 0 for each
    numerator and denominator — the measures' own SQL, as the live query counts them."""
    keys = sorted({col for col, _ in GROUPINGS.values() if col})
    flags = []
    for m in CASE_MEASURES:
        flags += [_flag(and_(m.numerator, m.denominator)), _flag(m.denominator)]
    return select(
        F.received_at, F.location_path, F.handling_minutes, *(F[k] for k in keys), *flags
    ).where(counted(), where), keys


def tally(rows: Iterable[Any], keys: Sequence[str]) -> dict[Key, Tally]:
    """Sum fact rows (of `_flags_query`) into rows of `case_fact_months`."""
    out: dict[Key, Tally] = {}
    first = 3 + len(keys)
    for row in rows:
        minutes = row[2]
        one = Tally([1, *row[first:], int(minutes is not None), minutes or 0])
        if minutes is not None:
            one.hist[bucket(minutes)] = 1
        values = dict(zip(keys, row[3:first], strict=True))
        at = (month_of(row[0]), place(row[1]))
        for by, (col, _) in GROUPINGS.items():
            out.setdefault((by, *at, values[col] if col else ""), Tally()).add(one)
    return out


def of_cases(conn: Connection | Session, case_ids: list[str]) -> dict[Key, Tally]:
    """What these cases' facts add to the rows now."""
    query, keys = _flags_query(F.case_id.in_(case_ids))
    return tally(conn.execute(query), keys)


def apply(conn: Connection | Session, before: dict[Key, Tally], after: dict[Key, Tally]) -> None:
    """Change the rows by `after - before`: rows added where missing, then each row updated
    in key order (row locks taken in one order: no deadlocks), and rows left empty removed."""
    change: dict[Key, Tally] = {}
    for k in before.keys() | after.keys():
        t = Tally()
        t.add(after.get(k, Tally()))
        t.add(before.get(k, Tally()), sub)
        if t:
            change[k] = t
    if not change:
        return
    keys = sorted(change)
    conn.execute(_insert_missing(conn), [_pk(k) for k in keys])
    for k in keys:
        values = {c: MONTHS.c[c] + n for c, n in change[k].columns().items() if n}
        # A writer that emptied the row may delete it after our insert found it there (read
        # committed): the update then finds no row, so add it again and update that.
        while not _updated(conn, update(MONTHS).where(_is(k)).values(values)):
            conn.execute(_insert_missing(conn), [_pk(k)])
    conn.execute(delete(MONTHS).where(_in(keys), MONTHS.c.cases == 0))  # nothing counted


def _updated(conn: Connection | Session, statement: Any) -> int:
    """How many rows an UPDATE changed (a Session's result is a cursor result underneath)."""
    return cast("CursorResult[Any]", conn.execute(statement)).rowcount


def _is(k: Key) -> ColumnElement[bool]:
    return and_(*(MONTHS.c[name] == value for name, value in _pk(k).items()))


def _in(keys: list[Key]) -> ColumnElement[bool]:
    pk = tuple_(MONTHS.c.grouping, MONTHS.c.month, MONTHS.c.place, MONTHS.c.key)
    return pk.in_(keys)


def _zeros() -> dict[str, int]:
    return {c.name: 0 for c in MONTHS.c if c.name not in ("grouping", "month", "place", "key")}


def _pk(k: Key) -> dict[str, str]:
    return dict(zip(("grouping", "month", "place", "key"), k, strict=True))


def _insert_missing(conn: Connection | Session) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: a row two writers add at once is added once (the
    second waits for the first to commit), and both then add to it."""
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(MONTHS).on_conflict_do_nothing()


def rebuild(conn: Connection | Session, *, batch: int = 20_000) -> int:
    """Sum every fact into the rows again, whatever they held; return how many rows."""
    conn.execute(delete(MONTHS))
    query, keys = _flags_query(true())
    total: dict[Key, Tally] = {}
    result = conn.execute(query.execution_options(yield_per=batch))
    for part in result.partitions():
        for k, t in tally(part, keys).items():
            total.setdefault(k, Tally()).add(t)
    rows = [{**_pk(k), **_zeros(), **t.columns()} for k, t in sorted(total.items())]
    for i in range(0, len(rows), batch):
        conn.execute(MONTHS.insert(), rows[i : i + batch])
    return len(rows)
