"""The Temporal client and worker, built once per process from Settings."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import temporalio.converter
from temporalio.client import Client
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.attachments import AttachmentActivities
from activities.bulk import BulkActivities
from activities.case import CaseActivities
from activities.notify import NotifyActivities
from activities.projection import projection_writers
from activities.whistle import WhistleActivities
from core.config import Settings, get_settings
from core.db import SessionFactory
from core.temporal.codec import codec_from_settings
from workflows import registry
from workflows.attachments.prune import PruneAttachmentsWorkflow
from workflows.notify.deliver import DeliverNotificationsWorkflow
from workflows.supervision.bulk import BulkOverrideWorkflow

# The sandbox re-imports a workflow's modules for every new workflow run; ours are pure and
# deterministic (workflows/ imports only the standard library, temporalio and its own pure
# modules, and chinese_calendar's data), so they pass through and are imported once.
# Measured with bench.lifecycle: see the closing note of the supervision issue.
RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "workflows", "chinese_calendar"
    )
)


def data_converter(settings: Settings) -> DataConverter:
    """The one converter of every client, worker, replayer and test environment.

    Payloads are encrypted by the codec (core/temporal/codec.py). Failure messages and stack traces
    move into an encrypted payload too: an activity's database error can quote the row it
    failed on, reporter and all. Search attributes are not payloads the codec sees, which is
    why none of them may hold personal information.
    """
    return dataclasses.replace(
        temporalio.converter.default(),
        payload_codec=codec_from_settings(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """The process's client; `runtime` carries its metrics (core.metrics), else the SDK default."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
    )


def build_worker(
    client: Client,
    *,
    task_queue: str,
    sessions: SessionFactory,
    max_threads: int = 32,
    settings: Settings | None = None,
    shutdown_grace: timedelta = timedelta(),
) -> Worker:
    """A worker running every registered case type and the activities they call.

    Activities are synchronous (SQL through SQLAlchemy), so they run on a thread pool.
    `settings` says where attachments are kept (default: from the environment). On shutdown,
    running activities get `shutdown_grace` to finish before they are cancelled.
    """
    writers = projection_writers()
    acts = CaseActivities(sessions, writers)
    whistles = WhistleActivities(sessions, writers)
    bulk = BulkActivities(client, sessions)
    settings = settings or get_settings()
    files = AttachmentActivities(sessions, settings)
    notify = NotifyActivities(sessions, settings)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            *registry.workflow_classes(),
            BulkOverrideWorkflow,
            PruneAttachmentsWorkflow,
            DeliverNotificationsWorkflow,
        ],
        activities=[
            acts.record_events,
            acts.route_case,
            whistles.record_whistle,
            bulk.select_cases,
            bulk.apply_override,
            files.prune_attachments,
            notify.deliver_notifications,
        ],
        activity_executor=ThreadPoolExecutor(max_workers=max_threads),
        workflow_runner=RUNNER,
        max_concurrent_activities=max_threads,
        graceful_shutdown_timeout=shutdown_grace,
    )
