"""Activities of the major-event workflow: its projection into the read model.

Its timeline lands in `case_events` keyed by the event's workflow id (inbox items through the
events' `notify`), its row in `major_events`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from concurrent.futures import Executor

from temporalio import activity

from activities.projection import is_stale, project_timeline, projection_writers
from core.db import SessionFactory, session_scope
from core.major_events.models import MajorEventRecord
from workflows.major_event.contracts import RecordMajorEventInput

INBOX_TITLE = "重大事件：{title}"


class MajorEventActivities:
    def __init__(self, session_factory: SessionFactory, writers: Executor | None = None) -> None:
        self._sessions = session_factory
        self._writers = writers or projection_writers()

    @activity.defn
    async def record_major_event(self, inp: RecordMajorEventInput) -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writers, self.write_event, inp)

    def write_event(self, inp: RecordMajorEventInput) -> int:
        e = inp.event
        with session_scope(self._sessions) as session:
            row = session.get(MajorEventRecord, e.id, with_for_update=True)
            if is_stale(row.last_seq if row else None, e.last_seq):
                return 0
            new = project_timeline(
                session,
                e.id,
                inp.events,
                last_seq=e.last_seq,
                inbox=(e.ticket, INBOX_TITLE.format(title=e.title)),
            )
            values = dataclasses.asdict(e)
            if row is None:
                session.add(MajorEventRecord(**values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)
        return new


def activities_for(sessions: SessionFactory, writers: Executor) -> list[object]:
    """The registry's activity hook: what the worker registers for this type."""
    acts = MajorEventActivities(sessions, writers)
    return [acts.record_major_event]
