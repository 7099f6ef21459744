"""Stage deadlines under Temporal's time-skipping server: days pass in well under a second."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService
from core.db import session_scope
from core.models import CaseEventRecord
from tests.workflows.support import (
    DISPATCHER,
    HANDLER,
    accepted_case,
    dispatched_case,
    serving,
    state_of,
)
from workflows.case.workflow import CaseWorkflow
from workflows.contracts import Command, Status
from workflows.shared.workcal import WorkCalendar, deadline

pytestmark = pytest.mark.asyncio(loop_scope="session")
CAL = WorkCalendar()


async def test_accept_deadline_passes_and_case_is_marked_overdue(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, state = await dispatched_case(service)
        clock = state.clock
        assert clock.stage == "accept" and clock.due_at is not None and not clock.overdue
        expected = deadline(clock.started_at, "1d", working=True, cal=CAL)  # type: ignore[arg-type]
        assert clock.due_at == expected  # one working day on the Chinese calendar

        await ts_env.sleep(clock.due_at - clock.started_at - timedelta(minutes=1))  # type: ignore[operator]
        assert not (await state_of(handle)).clock.overdue  # not yet
        await ts_env.sleep(timedelta(minutes=2))
        late = await state_of(handle)
        assert late.clock.overdue and late.status == Status.DISPATCHED
        timeline = await handle.query(CaseWorkflow.get_timeline)
        actions = [e.action for e in timeline]
        assert actions[3:] == ["remind", "remind", "overdue", "escalate"]
        overdue = timeline[-2]
        assert overdue.payload["stage"] == "accept" and overdue.at >= clock.due_at


async def test_leaving_the_stage_in_time_means_no_overdue(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, state = await accepted_case(service)
        assert state.clock.stage == "handle"
        accept_due = state.clock.due_at
        await ts_env.sleep(timedelta(hours=2))
        after = await state_of(handle)
        assert not after.clock.overdue and after.clock.due_at == accept_due


async def test_parking_pauses_the_clock_and_unparking_resumes_the_remainder(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, accepted = await accepted_case(service)
        parked = await handle.execute_update(
            CaseWorkflow.park, Command(actor=DISPATCHER, reason="等待产权单位")
        )
        parked_at = (await handle.query(CaseWorkflow.get_timeline))[-1].at
        remaining = CAL.working_minutes_between(parked_at, accepted.clock.due_at)  # type: ignore[arg-type]
        assert parked.status == Status.PARKED and parked.clock.due_at is None
        assert parked.clock.paused_remaining_minutes == remaining

        await ts_env.sleep(timedelta(days=30))  # a month parked never makes it overdue
        assert not (await state_of(handle)).clock.overdue
        resumed = await handle.execute_update(CaseWorkflow.unpark, Command(actor=DISPATCHER))
        unparked_at = (await handle.query(CaseWorkflow.get_timeline))[-1].at
        assert resumed.status == Status.HANDLING
        assert resumed.clock.due_at == CAL.add_working_minutes(unparked_at, remaining)


async def test_approved_extension_moves_the_deadline(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, accepted = await accepted_case(service)
        due = accepted.clock.due_at
        await handle.execute_update(
            CaseWorkflow.request_extension, Command(actor=HANDLER, reason="需协调物业", hours=16)
        )
        state = await handle.execute_update(
            CaseWorkflow.decide_extension,
            Command(actor=DISPATCHER, approve=True, reason="同意延期"),
        )
        assert state.clock.due_at == CAL.add_working_minutes(due, 16 * 60)  # type: ignore[arg-type]
        assert state.extension_count == 1 and state.pending_extension is None


async def test_overdue_is_projected_to_the_read_model(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, _ = await dispatched_case(service)
        await ts_env.sleep(timedelta(days=10))
        state = await state_of(handle)
        assert state.clock.overdue
        # The projection loop writes asynchronously: let time pass until it has landed.
        for _ in range(50):
            with session_scope(service.sessions) as session:
                events = session.exec(
                    select(CaseEventRecord).where(CaseEventRecord.case_id == state.case_id)
                ).all()
            if any(e.action == "overdue" for e in events):
                break
            await ts_env.sleep(timedelta(seconds=1))
        actions = [e.action for e in sorted(events, key=lambda e: e.seq)]
        assert actions[:6] == ["receive", "register", "dispatch", "remind", "remind", "overdue"]
