"""Activities of the whistle workflow (吹哨报到): its projection into the read model.

A whistle's timeline lands in `case_events` keyed by the whistle's workflow id, its inbox items
in `inbox_items` (through the events' `notify`), and its row in `whistles`.
"""

from __future__ import annotations

import dataclasses

from sqlmodel import Session
from temporalio import activity

from activities.case import insert_missing_events
from core.db import SessionFactory, session_scope
from core.models import WhistleRecord
from workflows.contracts import RecordWhistleInput, WhistleSnapshot

INBOX_TITLE = "吹哨报到：{title}"


class WhistleActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._sessions = session_factory

    @activity.defn
    def record_whistle(self, inp: RecordWhistleInput) -> int:
        """Write a whistle's events and its row, idempotently by (whistle, sequence)."""
        w = inp.whistle
        title = INBOX_TITLE.format(title=w.title)
        with session_scope(self._sessions) as session:
            new = insert_missing_events(session, w.id, w.ticket, title, inp.events)
            _upsert_whistle(session, w)
        activity.logger.info("whistle_projected", extra={"whistle": w.id, "seq": w.last_seq})
        return new


def _upsert_whistle(session: Session, snap: WhistleSnapshot) -> None:
    """Write the whistle's own columns; the rating columns belong to the case's events."""
    row = session.get(WhistleRecord, snap.id)
    if row is not None and row.last_seq >= snap.last_seq:
        return  # an older snapshot arriving late must not overwrite a newer one
    values = dataclasses.asdict(snap)
    if row is None:
        session.add(WhistleRecord(**values))
        return
    for key, value in values.items():
        setattr(row, key, value)
