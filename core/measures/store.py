"""Writing the facts: rewrite one case's stage and fact rows from its stored audit trail.

Used by the projection (in the transaction that writes the events) and by the migration that
backfills existing cases; both go through `rewrite`, so they agree. Every write of facts goes
through `_write`, which changes the monthly sums (`core/measures/rollup.py`) by as much.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from core.measures import rollup
from core.measures.facts import CaseLike, derive, dimensions
from core.models import CaseEventRecord, CaseFactRecord, CaseRecord, CaseStageRecord

EVENTS = CaseEventRecord.__table__  # type: ignore[attr-defined]
STAGES = CaseStageRecord.__table__  # type: ignore[attr-defined]
FACTS = CaseFactRecord.__table__  # type: ignore[attr-defined]
CASES = CaseRecord.__table__  # type: ignore[attr-defined]
_EVENT_COLUMNS = [
    EVENTS.c[n] for n in ("seq", "at", "action", "from_status", "to_status", "payload")
]


def rows_for(case_id: str, case: CaseLike, events: list[Any]) -> tuple[list[dict], dict]:
    """The `case_stages` rows and the `case_facts` row of one case."""
    stages, facts = derive(events)
    stage_rows = [{"case_id": case_id, **dataclasses.asdict(s)} for s in stages]
    fact_row = CaseFactRecord(case_id=case_id, **facts, **dimensions(case)).model_dump()
    return stage_rows, fact_row


def rewrite(conn: Connection | Session, case_id: str, case: CaseLike) -> None:
    """Make the case's fact rows what its stored events say, whatever was there before."""
    query = select(*_EVENT_COLUMNS).where(EVENTS.c.case_id == case_id).order_by(EVENTS.c.seq)
    events = list(conn.execute(query))
    if not events:
        return
    _write(conn, [(case_id, *rows_for(case_id, case, events))])


def _write(
    conn: Connection | Session,
    batch: list[tuple[str, list[dict], dict]],
    *,
    sums: bool = True,
) -> None:
    """Replace the cases' rows; with `sums`, change the monthly sums by the difference, in the
    same transaction (the caller holds each case's row lock, so `before` is what it replaces)."""
    ids = [case_id for case_id, _, _ in batch]
    before = rollup.of_cases(conn, ids) if sums else {}
    conn.execute(delete(STAGES).where(STAGES.c.case_id.in_(ids)))
    conn.execute(delete(FACTS).where(FACTS.c.case_id.in_(ids)))
    stage_rows = [row for _, rows, _ in batch for row in rows]
    if stage_rows:
        conn.execute(insert(STAGES), stage_rows)
    conn.execute(insert(FACTS), [fact for _, _, fact in batch])
    if sums:
        rollup.apply(conn, before, rollup.of_cases(conn, ids))


def backfill(conn: Connection, *, batch: int = 500, sums: bool = True) -> int:
    """Derive the facts of every case from `case_events`; return how many cases. Migration
    0014 passes `sums=False`: the monthly sums come later (0018), built from these facts."""
    done = 0
    for chunk in _chunks(conn, batch):
        _write(conn, chunk, sums=sums)
        done += len(chunk)
    return done


def _chunks(conn: Connection, size: int) -> Iterator[list[tuple[str, list[dict], dict]]]:
    """Pages of `size` cases in id order, each with its events: memory stays bounded."""
    after = ""
    while True:
        page = select(CASES).where(CASES.c.id > after).order_by(CASES.c.id).limit(size)
        listed = conn.execute(page).all()
        if not listed:
            return
        cases = {row.id: row for row in listed}
        query = (
            select(EVENTS.c.case_id, *_EVENT_COLUMNS)
            .where(EVENTS.c.case_id.in_(list(cases)))
            .order_by(EVENTS.c.case_id, EVENTS.c.seq)
        )
        rows = conn.execute(query).all()
        yield [
            (case_id, *rows_for(case_id, cases[case_id], list(events)))
            for case_id, events in groupby(rows, key=lambda r: r.case_id)
        ]
        after = listed[-1].id  # the database's order (its collation), not Python's
