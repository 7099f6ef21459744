"""ProactiveCasesWorkflow (未诉先办): one pass over the recurring places, opening a proactive
case for each, linked (by its description) to the cases that triggered it.

A Temporal Schedule (core/temporal/schedules.py) starts it every `proactive_every_hours`; the
window ends at the workflow's time, handed to the activity.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.measures import ProactiveActivities
    from workflows.measures.contracts import ProactiveCasesInput, ProactiveCasesResult


@workflow.defn
class ProactiveCasesWorkflow:
    @workflow.run
    async def run(self, inp: ProactiveCasesInput) -> ProactiveCasesResult:
        inp.now = inp.now or workflow.now()
        return await workflow.execute_activity_method(
            ProactiveActivities.open_proactive_cases,
            inp,
            start_to_close_timeout=timedelta(minutes=10),
            # Each place's case is opened under an idempotency key: a retry opens none twice.
            retry_policy=RetryPolicy(maximum_attempts=5),
        )
