"""Continue-as-new of a city event (workflows/shared/longlived.py) under time-skipping: a case
whose history crosses a lowered threshold hands its state to a new run, keeps its ticket,
workflow id and deadline, and its clock fires in the new run as it would have in the old."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService
from tests.workflows.support import HANDLER, serving, start_case, state_of, until_dispatched
from workflows.case.workflow import CaseWorkflow
from workflows.contracts import Command

pytestmark = pytest.mark.asyncio(loop_scope="session")
MAX_NOTES = 200


async def test_a_case_past_the_threshold_continues_as_new_and_keeps_its_deadline(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle = await start_case(service, history_limit=120)
        first_run = (await handle.describe()).run_id
        await until_dispatched(handle)
        accepted = await handle.execute_update(CaseWorkflow.accept, Command(actor=HANDLER))
        notes = 0
        while notes < MAX_NOTES and (await handle.describe()).run_id == first_run:
            # a chatty sensor: each note an event and a projection, until the run hands over
            await handle.signal(CaseWorkflow.add_note, f"水位读数 {notes}")
            notes += 1
            await ts_env.sleep(timedelta(seconds=1))
        moved = await state_of(handle)
        now_run = (await handle.describe()).run_id
        await ts_env.sleep(timedelta(days=10))  # past the handling deadline
        late = await state_of(handle)
        timeline = await service.live_timeline(late)

    assert now_run != first_run
    assert moved.ticket == accepted.ticket and moved.case_id == accepted.case_id
    assert moved.clock.due_at == accepted.clock.due_at  # the deadline came along
    assert moved.last_seq >= accepted.last_seq + notes - 1
    assert late.clock.overdue and late.clock.escalation_level >= 1
    seqs = [e.seq for e in timeline]
    assert seqs == list(range(1, late.last_seq + 1))  # earlier runs' events from the read model
    overdue = next(e for e in timeline if e.action == "overdue")
    assert overdue.at >= accepted.clock.due_at  # type: ignore[operator]
