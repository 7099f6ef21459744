"""Activities of the whistle workflow (吹哨报到): its projection into the read model.

A whistle's timeline lands in `case_events` keyed by the whistle's workflow id, its inbox items
in `inbox_items` (through the events' `notify`), and its row in `whistles`.
"""

from __future__ import annotations

from temporalio import activity

from activities.projection import Projector, project_row
from core.db import session_scope
from core.models import WhistleRecord
from workflows.contracts import RecordWhistleInput

INBOX_TITLE = "吹哨报到：{title}"


class WhistleActivities(Projector):
    @activity.defn
    async def record_whistle(self, inp: RecordWhistleInput) -> int:
        """Project the whistle (on the projection's own threads, as the case does)."""
        new = await self._on_writers(self.write_whistle, inp)
        w = inp.whistle
        activity.logger.info("whistle_projected", extra={"whistle": w.id, "seq": w.last_seq})
        return new

    def write_whistle(self, inp: RecordWhistleInput) -> int:
        """Write a whistle's events and its row as its workflow recorded them (its own timeline,
        keyed by the whistle's workflow id). The snapshot has no rating columns: those belong
        to the case's events."""
        w = inp.whistle
        with session_scope(self._sessions) as session:
            new = project_row(
                session, WhistleRecord, w, inp.events, title=INBOX_TITLE.format(title=w.title)
            )
        return new or 0
