"""Activities of notifications out of the app: the sender of the outbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime

from temporalio import activity

from core.config import Settings
from core.db import SessionFactory
from core.notify.delivery import deliver_due, notifiers
from core.notify.notifier import Channel, Notifier
from workflows.notify.contracts import DeliverNotificationsInput, DeliverNotificationsResult


class NotifyActivities:
    def __init__(
        self,
        session_factory: SessionFactory,
        settings: Settings,
        adapters: Mapping[Channel, Notifier] | None = None,
    ) -> None:
        self._sessions, self._settings = session_factory, settings
        self._adapters = adapters or notifiers(settings)

    @activity.defn
    def deliver_notifications(self, inp: DeliverNotificationsInput) -> DeliverNotificationsResult:
        """Send the notifications due at `now`; record each attempt on its row.

        Rerunning it is harmless: a sent row is never picked again, and one sent but not yet
        marked (a crash in between) goes again with the same message id.
        """
        done = deliver_due(
            self._sessions,
            self._settings,
            self._adapters,
            inp.now or datetime.now(UTC),
            progress=lambda d: activity.heartbeat(dataclasses.asdict(d)),
        )
        if done.sent or done.failed:
            activity.logger.info("notifications_delivered", extra=dataclasses.asdict(done))
        return DeliverNotificationsResult(sent=done.sent, failed=done.failed, gave_up=done.gave_up)
