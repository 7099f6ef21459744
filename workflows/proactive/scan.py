"""ProactiveScanWorkflow: one run of the recurring-place scan (未诉先办).

A Temporal Schedule (core/temporal/schedules.py) starts it every `proactive_every_hours`. One
activity finds the places, one per place opens its proactive case, so a failing place retries
alone and each case opened is visible in the history.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.proactive import ProactiveActivities
    from workflows.proactive.contracts import ScanInput, ScanResult

RETRY = RetryPolicy(maximum_attempts=5)


@workflow.defn
class ProactiveScanWorkflow:
    @workflow.run
    async def run(self, inp: ScanInput) -> ScanResult:
        places = await workflow.execute_activity_method(
            ProactiveActivities.find_recurring_places,
            ScanInput(now=inp.now or workflow.now()),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RETRY,
        )
        result = ScanResult(places=len(places))
        for place in places:
            ticket = await workflow.execute_activity_method(
                ProactiveActivities.open_proactive_case,
                place,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RETRY,
            )
            result.opened.append(ticket)
        return result
