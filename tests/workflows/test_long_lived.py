"""Continue-as-new of a city event (workflows/shared/longlived.py) under time-skipping: a case
whose history crosses a lowered threshold hands its state to a new run, keeps its ticket,
workflow id and deadline, and its clock fires in the new run as it would have in the old."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService, IntakeRequest
from core.db import session_scope
from core.models import User
from tests.conftest import running_worker
from tests.workflows.support import HANDLER, state_of, until_dispatched
from workflows.case.workflow import CaseWorkflow, start_search_attributes
from workflows.contracts import Command

pytestmark = pytest.mark.asyncio(loop_scope="session")
MAX_NOTES = 200


async def test_a_case_past_the_threshold_continues_as_new_and_keeps_its_deadline(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    req = IntakeRequest(
        title="暴露垃圾", category="exposed_garbage", location_unit_id="gl-nhl-c1-g1"
    )
    with session_scope(service.sessions) as session:
        op = session.exec(select(User).where(User.username == "operator1")).one()
        inp = service.case_input(session, service.actor(op), req)
    inp.policy = dataclasses.replace(inp.policy, history_limit=120)
    async with running_worker(service.client, service.settings.task_queue, service.sessions):
        handle = await service.client.start_workflow(
            CaseWorkflow.run,
            inp,
            id=f"case-{inp.ticket}",
            task_queue=service.settings.task_queue,
            search_attributes=start_search_attributes(inp),
        )
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
