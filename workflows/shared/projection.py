"""How a workflow's timeline reaches the read model: its new events, a batch at a time, through
an ordinary activity that retries until the database answers (activities/projection.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import CaseEvent

# The projection must eventually land, however long the database is away. Each attempt gets
# longer than the database's busy timeout, so a locked SQLite file fails an attempt, not a thread.
PROJECTION_TIMEOUT = timedelta(seconds=30)
PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)

Batch = TypeVar("Batch")


async def project_unwritten(
    unwritten: list[CaseEvent],
    record: Callable[[Any, Batch], Awaitable[int]],
    batch_input: Callable[[list[CaseEvent]], Batch],
) -> None:
    """Project the events not written yet (`record` takes `batch_input(events)`), then drop
    them from `unwritten`; events recorded meanwhile wait for the next batch."""
    batch = list(unwritten)
    await workflow.execute_activity_method(
        record,
        batch_input(batch),
        start_to_close_timeout=PROJECTION_TIMEOUT,
        retry_policy=PROJECTION_RETRY,
    )
    del unwritten[: len(batch)]
