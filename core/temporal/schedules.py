"""Temporal Schedules of the deployment, created (or brought up to date) when a worker starts.

Recurring chores run as Temporal Schedules rather than cron: time is Temporal's, a missed run
is visible in the Web UI, and no two runs overlap. Every worker calls `ensure_schedules`; the
first creates each schedule, the others find it and set it to what their settings say.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
from workflows.proactive.contracts import ScanInput
from workflows.proactive.scan import ProactiveScanWorkflow

log = get_logger(__name__)

PRUNE_ATTACHMENTS = "attachments-prune"
DELIVER_NOTIFICATIONS = "notifications-deliver"
PROACTIVE_SCAN = "proactive-scan"


def prune_attachments_schedule(settings: Settings) -> Schedule:
    """Every `upload_cleanup_minutes`, one pass of the clean-up of files no case took."""
    every = timedelta(minutes=settings.upload_cleanup_minutes)
    run, arg = PruneAttachmentsWorkflow.run, PruneAttachmentsInput()
    return _every(settings, every, run, arg, PRUNE_ATTACHMENTS, timedelta(hours=1))


def deliver_notifications_schedule(settings: Settings) -> Schedule:
    """Every `notify_every_seconds`, one run of the sender of e-mails and SMS that are due."""
    every = timedelta(seconds=settings.notify_every_seconds)
    run, arg = DeliverNotificationsWorkflow.run, DeliverNotificationsInput()
    return _every(settings, every, run, arg, DELIVER_NOTIFICATIONS, timedelta(minutes=15))


def proactive_scan_schedule(settings: Settings) -> Schedule:
    """Every `proactive_every_hours`, one scan for recurring places (未诉先办)."""
    every = timedelta(hours=settings.proactive_every_hours)
    run, arg = ProactiveScanWorkflow.run, ScanInput()
    return _every(settings, every, run, arg, PROACTIVE_SCAN, timedelta(hours=1))


def _every(
    settings: Settings, every: timedelta, run: Any, arg: Any, workflow_id: str, timeout: timedelta
) -> Schedule:
    """Start `run(arg)` every `every`, never two at once (a run still going skips the next).

    `workflow_id` is the runs' id: the schedule appends the time of each run.
    """
    return Schedule(
        action=ScheduleActionStartWorkflow(
            run,
            arg,
            id=workflow_id,
            task_queue=settings.task_queue,
            execution_timeout=timeout,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


SCHEDULES = {
    PRUNE_ATTACHMENTS: prune_attachments_schedule,
    DELIVER_NOTIFICATIONS: deliver_notifications_schedule,
    PROACTIVE_SCAN: proactive_scan_schedule,
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
