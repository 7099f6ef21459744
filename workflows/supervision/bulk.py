"""BulkOverrideWorkflow: one supervisor override applied to every open case matching a filter.

Why a fan-out workflow and not Temporal's batch signal: an override is an Update with a
validator, so each case can refuse it (wrong area, wrong state) and the supervisor learns
which did and why; a batch signal is fire-and-forget and bypasses validation. The workflow
is durable, so a worker restart mid-way resumes where it stopped, and its progress is a query.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.bulk import BulkActivities
    from workflows.contracts import (
        ApplyOverrideInput,
        BulkOverrideInput,
        BulkProgress,
        SelectCasesInput,
    )

CHUNK = 100  # cases per activity: small enough to heartbeat often, big enough to amortise
PARALLEL_CHUNKS = 4
MAX_REFUSALS_KEPT = 200


@workflow.defn
class BulkOverrideWorkflow:
    def __init__(self) -> None:
        self._progress = BulkProgress()

    @workflow.run
    async def run(self, inp: BulkOverrideInput) -> BulkProgress:
        case_ids = await workflow.execute_activity_method(
            BulkActivities.select_cases,
            SelectCasesInput(filters=inp.filters),
            start_to_close_timeout=timedelta(minutes=2),
        )
        self._progress.total = len(case_ids)
        chunks = [case_ids[i : i + CHUNK] for i in range(0, len(case_ids), CHUNK)]
        gate = asyncio.Semaphore(PARALLEL_CHUNKS)
        await asyncio.gather(*(self._apply(gate, chunk, inp) for chunk in chunks))
        self._progress.done = True
        return self._progress

    @workflow.query
    def get_progress(self) -> BulkProgress:
        return self._progress

    async def _apply(
        self, gate: asyncio.Semaphore, chunk: list[str], inp: BulkOverrideInput
    ) -> None:
        async with gate:
            outcomes = await workflow.execute_activity_method(
                BulkActivities.apply_override,
                ApplyOverrideInput(case_ids=chunk, action=inp.action, command=inp.command),
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
        for outcome in outcomes:
            if outcome.applied:
                self._progress.applied += 1
                continue
            self._progress.refused += 1
            if len(self._progress.refusals) < MAX_REFUSALS_KEPT:
                self._progress.refusals.append(outcome)
