"""Activities of the major-event workflow: its projection into the read model.

Its timeline lands in `case_events` keyed by the event's workflow id (inbox items through the
events' `notify`), its row in `major_events`.
"""

from __future__ import annotations

from concurrent.futures import Executor

from temporalio import activity

from activities.projection import Projector, project_row
from core.db import SessionFactory, session_scope
from core.major_events.models import MajorEventRecord
from workflows.major_event.contracts import RecordMajorEventInput

INBOX_TITLE = "重大事件：{title}"


class MajorEventActivities(Projector):
    @activity.defn
    async def record_major_event(self, inp: RecordMajorEventInput) -> int:
        return await self._on_writers(self.write_event, inp)

    def write_event(self, inp: RecordMajorEventInput) -> int:
        e = inp.event
        with session_scope(self._sessions) as session:
            new = project_row(
                session, MajorEventRecord, e, inp.events, title=INBOX_TITLE.format(title=e.title)
            )
        return new or 0


def activities_for(sessions: SessionFactory, writers: Executor) -> list[object]:
    """The registry's activity hook: what the worker registers for this type."""
    acts = MajorEventActivities(sessions, writers)
    return [acts.record_major_event]
