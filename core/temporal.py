"""The Temporal client and worker, built once per process from Settings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.bulk import BulkActivities
from activities.case import CaseActivities
from activities.projection import projection_writers
from activities.whistle import WhistleActivities
from core.config import Settings
from core.db import SessionFactory
from workflows import registry
from workflows.bulk import BulkOverrideWorkflow

# The sandbox re-imports a workflow's modules for every new workflow run; ours are pure and
# deterministic (workflows/ imports only the standard library, temporalio and its own pure
# modules, and chinese_calendar's data), so they pass through and are imported once.
# Measured with bench.lifecycle: see the closing note of the supervision issue.
RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "workflows", "chinese_calendar"
    )
)


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """The process's client; `runtime` carries its metrics (core.metrics), else the SDK default."""
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, runtime=runtime
    )


def build_worker(
    client: Client,
    *,
    task_queue: str,
    sessions: SessionFactory,
    max_threads: int = 32,
    shutdown_grace: timedelta = timedelta(),
) -> Worker:
    """A worker running every registered case type and the activities they call.

    Activities are synchronous (SQL through SQLAlchemy), so they run on a thread pool. On
    shutdown, running activities get `shutdown_grace` to finish before they are cancelled.
    """
    writers = projection_writers()
    acts = CaseActivities(sessions, writers)
    whistles = WhistleActivities(sessions, writers)
    bulk = BulkActivities(client, sessions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[*registry.workflow_classes(), BulkOverrideWorkflow],
        activities=[
            acts.record_events,
            acts.route_case,
            whistles.record_whistle,
            bulk.select_cases,
            bulk.apply_override,
        ],
        activity_executor=ThreadPoolExecutor(max_workers=max_threads),
        workflow_runner=RUNNER,
        max_concurrent_activities=max_threads,
        graceful_shutdown_timeout=shutdown_grace,
    )
