"""A deliberately changed CaseWorkflow for tests/core/test_replay_check.py: it waits on a timer
where the real one routes the case, so no recorded case replays against it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import CaseInput


@workflow.defn(name="CaseWorkflow")
class ChangedCaseWorkflow:
    @workflow.run
    async def run(self, inp: CaseInput) -> None:
        await workflow.sleep(timedelta(days=1))


def classes() -> list[type]:
    return [ChangedCaseWorkflow]
