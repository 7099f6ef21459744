"""Which (category × street) pairs the router sends to the wrong unit first.

A closed case's first dispatch (its first `dispatch` event, by the router or a dispatcher) is
compared with the unit that finally held it, after returns and reassignments. A pair whose cases
were misrouted often enough gets a suggestion: send the category there to the unit that most
often ended up with it. A supervisor accepts it into the routing overrides
(core/routing/overrides.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from core import access
from core.models import CaseEventRecord, CaseRecord, Unit, User
from workflows.contracts import Status

CLOSED = (Status.CLOSED.value, Status.ARCHIVED.value)


class Suggestion(BaseModel):
    """Route `category` in `area_id` to `unit_id`: what the closed cases say."""

    category: str
    category_name: str
    area_id: str = Field(description="the street (or district, for a case with no street)")
    area_name: str
    cases: int = Field(description="closed cases of the pair in the period")
    misrouted: int = Field(description="of them, first dispatched to another unit than the last")
    share: float = Field(description="misrouted / cases")
    first_unit_id: str = Field(description="where the router sent most of them first")
    unit_id: str = Field(description="the suggested unit: where most misrouted ones ended")
    unit_name: str
    unit_cases: int = Field(description="misrouted cases that ended with the suggested unit")


@dataclass
class _Pair:
    category: str
    category_name: str
    area_id: str
    first: Counter[str]
    final: Counter[str]
    cases: int = 0
    misrouted: int = 0


def suggestions(
    session: Session,
    viewer: User,
    since: datetime,
    until: datetime,
    *,
    min_cases: int = 5,
    min_share: float = 0.3,
) -> list[Suggestion]:
    """The pairs of `viewer`'s area with ≥ `min_cases` closed cases in [since, until) of which
    ≥ `min_share` were misrouted, the worst first."""
    pairs = _pairs(session, viewer, since, until)
    found = [
        _suggest(session, pair)
        for pair in pairs.values()
        if pair.cases >= min_cases and pair.misrouted / pair.cases >= min_share
    ]
    return sorted(found, key=lambda s: (-s.share, -s.cases, s.category, s.area_id))


def _pairs(
    session: Session, viewer: User, since: datetime, until: datetime
) -> dict[tuple[str, str], _Pair]:
    cases = session.exec(
        select(CaseRecord).where(
            col(CaseRecord.status).in_(CLOSED),
            col(CaseRecord.closed_at) >= since,
            col(CaseRecord.closed_at) < until,
            CaseRecord.assigned_unit_id != "",
            access.covers_clause(viewer, CaseRecord.location_path),
        )
    ).all()
    firsts = _first_dispatches(session, [c.id for c in cases])
    pairs: dict[tuple[str, str], _Pair] = {}
    for case in cases:
        first = firsts.get(case.id)
        if first is None:
            continue  # never dispatched (a direct answer, an invalid case)
        area = case.street_id or case.district_id
        pair = pairs.setdefault(
            (case.category, area),
            _Pair(case.category, case.category_name, area, Counter(), Counter()),
        )
        pair.cases += 1
        pair.first[first] += 1
        if first != case.assigned_unit_id:
            pair.misrouted += 1
            pair.final[case.assigned_unit_id] += 1
    return pairs


def _first_dispatches(session: Session, case_ids: list[str]) -> dict[str, str]:
    """case id → the unit of its first dispatch event."""
    firsts: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(case_ids, 500):
        rows = session.exec(
            select(CaseEventRecord.case_id, CaseEventRecord.seq, CaseEventRecord.payload).where(
                col(CaseEventRecord.case_id).in_(chunk), CaseEventRecord.action == "dispatch"
            )
        )
        for case_id, seq, payload in rows:
            unit = str(payload.get("unit", ""))
            if unit and (case_id not in firsts or seq < firsts[case_id][0]):
                firsts[case_id] = (seq, unit)
    return {case_id: unit for case_id, (_seq, unit) in firsts.items()}


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _suggest(session: Session, pair: _Pair) -> Suggestion:
    [(unit_id, unit_cases)] = pair.final.most_common(1)
    names = defaultdict(str, {u.id: u.name for u in _units(session, pair.area_id, unit_id)})
    return Suggestion(
        category=pair.category,
        category_name=pair.category_name,
        area_id=pair.area_id,
        area_name=names[pair.area_id] or pair.area_id,
        cases=pair.cases,
        misrouted=pair.misrouted,
        share=round(pair.misrouted / pair.cases, 3),
        first_unit_id=pair.first.most_common(1)[0][0],
        unit_id=unit_id,
        unit_name=names[unit_id] or unit_id,
        unit_cases=unit_cases,
    )


def _units(session: Session, *ids: str) -> list[Unit]:
    return list(session.exec(select(Unit).where(col(Unit.id).in_(ids))))
