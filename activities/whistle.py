"""Activities of the whistle workflow (吹哨报到): its projection into the read model.

A whistle's timeline lands in `case_events` keyed by the whistle's workflow id, its inbox items
in `inbox_items` (through the events' `notify`), and its row in `whistles`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from concurrent.futures import Executor

from sqlmodel import Session
from temporalio import activity

from activities.projection import is_stale, project_timeline, projection_writers
from core.db import SessionFactory, session_scope
from core.models import WhistleRecord
from workflows.contracts import RecordWhistleInput, WhistleSnapshot

INBOX_TITLE = "吹哨报到：{title}"


class WhistleActivities:
    def __init__(self, session_factory: SessionFactory, writers: Executor | None = None) -> None:
        self._sessions = session_factory
        self._writers = writers or projection_writers()

    @activity.defn
    async def record_whistle(self, inp: RecordWhistleInput) -> int:
        """Project the whistle (on the projection's own threads, as the case does)."""
        loop = asyncio.get_running_loop()
        new = await loop.run_in_executor(self._writers, self.write_whistle, inp)
        w = inp.whistle
        activity.logger.info("whistle_projected", extra={"whistle": w.id, "seq": w.last_seq})
        return new

    def write_whistle(self, inp: RecordWhistleInput) -> int:
        """Write a whistle's events and its row as its workflow recorded them (its own timeline,
        keyed by the whistle's workflow id)."""
        w = inp.whistle
        title = INBOX_TITLE.format(title=w.title)
        with session_scope(self._sessions) as session:
            row = session.get(WhistleRecord, w.id, with_for_update=True)
            if is_stale(row.last_seq if row else None, w.last_seq):
                return 0
            new = project_timeline(
                session, w.id, inp.events, last_seq=w.last_seq, inbox=(w.ticket, title)
            )
            _upsert_whistle(session, row, w)
        return new


def _upsert_whistle(session: Session, row: WhistleRecord | None, snap: WhistleSnapshot) -> None:
    """Write the whistle's own columns; the rating columns belong to the case's events."""
    values = dataclasses.asdict(snap)
    if row is None:
        session.add(WhistleRecord(**values))
        return
    for key, value in values.items():
        setattr(row, key, value)
