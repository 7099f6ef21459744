"""PruneAttachmentsWorkflow: one pass of the clean-up of files that no case took.

A Temporal Schedule (core/temporal/schedules.py) starts it every `upload_cleanup_minutes`; time is
Temporal's, so the cut-off is taken from the workflow's clock and handed to the activity, which
does the work in batches and heartbeats between them.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.attachments import AttachmentActivities
    from workflows.contracts import PruneAttachmentsInput, PruneAttachmentsResult


@workflow.defn
class PruneAttachmentsWorkflow:
    @workflow.run
    async def run(self, inp: PruneAttachmentsInput) -> PruneAttachmentsResult:
        return await workflow.execute_activity_method(
            AttachmentActivities.prune_attachments,
            PruneAttachmentsInput(now=inp.now or workflow.now()),
            start_to_close_timeout=timedelta(minutes=30),
            schedule_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=5),
        )
