"""Temporal Schedules of the deployment, created (or brought up to date) when a worker starts.

Recurring chores run as Temporal Schedules rather than cron: time is Temporal's, a missed run
is visible in the Web UI, and no two runs overlap. Every worker calls `ensure_schedules`; the
first creates each schedule, the others find it and set it to what their settings say.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from core.config import Settings
from core.logs import get_logger
from workflows.attachments.prune import PruneAttachmentsWorkflow
from workflows.contracts import PruneAttachmentsInput
from workflows.notify.contracts import DeliverNotificationsInput
from workflows.notify.deliver import DeliverNotificationsWorkflow

log = get_logger(__name__)

PRUNE_ATTACHMENTS = "attachments-prune"
DELIVER_NOTIFICATIONS = "notifications-deliver"


def prune_attachments_schedule(settings: Settings) -> Schedule:
    """Every `upload_cleanup_minutes`, one pass of the clean-up of files no case took."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PruneAttachmentsWorkflow.run,
            PruneAttachmentsInput(),
            id=PRUNE_ATTACHMENTS,  # the schedule appends the time of each run
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=1),
        ),
        spec=ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(every=timedelta(minutes=settings.upload_cleanup_minutes))
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


def deliver_notifications_schedule(settings: Settings) -> Schedule:
    """Every `notify_every_seconds`, one run of the sender of e-mails and SMS that are due."""
    every = timedelta(seconds=settings.notify_every_seconds)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DeliverNotificationsWorkflow.run,
            DeliverNotificationsInput(),
            id=DELIVER_NOTIFICATIONS,
            task_queue=settings.task_queue,
            execution_timeout=timedelta(minutes=15),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


SCHEDULES = {
    PRUNE_ATTACHMENTS: prune_attachments_schedule,
    DELIVER_NOTIFICATIONS: deliver_notifications_schedule,
}


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Create the deployment's schedules, or update them to `settings` if they exist."""
    for schedule_id, make in SCHEDULES.items():
        await _ensure(client, schedule_id, make(settings))


async def _ensure(client: Client, schedule_id: str, schedule: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, schedule)
        log.info("schedule_created", schedule_id=schedule_id)
    except ScheduleAlreadyRunningError:

        def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule.state = current.description.schedule.state  # an operator's pause stays
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
        log.info("schedule_updated", schedule_id=schedule_id)
