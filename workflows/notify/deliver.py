"""DeliverNotificationsWorkflow: one run of the notification sender.

A Temporal Schedule (core/temporal/schedules.py) starts it every `notify_every_seconds`; which
rows are due is decided by the workflow's clock, handed to the activity, which sends them and
heartbeats between messages.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notify import NotifyActivities
    from workflows.notify.contracts import DeliverNotificationsInput, DeliverNotificationsResult


@workflow.defn
class DeliverNotificationsWorkflow:
    @workflow.run
    async def run(self, inp: DeliverNotificationsInput) -> DeliverNotificationsResult:
        return await workflow.execute_activity_method(
            NotifyActivities.deliver_notifications,
            DeliverNotificationsInput(now=inp.now or workflow.now()),
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=1),
            # A failed message is recorded on its row; an attempt fails only when the database
            # does, and the next scheduled run picks up whatever is left.
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
