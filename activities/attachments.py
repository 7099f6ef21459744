"""Activities of the attachments domain: the clean-up of files that no case took."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from temporalio import activity

from core.attachments.unattached import remove_unattached
from core.config import Settings
from core.db import SessionFactory
from workflows.contracts import PruneAttachmentsInput, PruneAttachmentsResult


class AttachmentActivities:
    def __init__(self, session_factory: SessionFactory, settings: Settings) -> None:
        self._sessions, self._settings = session_factory, settings

    @activity.defn
    def prune_attachments(self, inp: PruneAttachmentsInput) -> PruneAttachmentsResult:
        """Remove files no case holds, last uploaded longer ago than the retention before `now`.

        Rerunning it is harmless: what is gone stays gone, and a batch removed before a crash
        is not found again.
        """
        now = inp.now or datetime.now(UTC)
        return remove_unattached(
            self._sessions,
            self._settings,
            now,
            progress=lambda done: activity.heartbeat(dataclasses.asdict(done)),
        )
