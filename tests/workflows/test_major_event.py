"""重大事件综合指挥调度 under Temporal's time-skipping server: every clock of a major event
(初报, 续报 at 08:00/17:00, stations, tasks and their ladder), a regrade, continue-as-new."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlmodel import select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService
from core.cases.types import CaseTypes
from core.db import session_scope
from core.demo.seed import stage_demo_cases
from core.major_events import demo
from core.major_events.models import MajorEventRecord
from core.major_events.service import MajorEventIntake, MajorEventService
from core.models import CaseEventRecord
from tests.conftest import user_named
from tests.workflows.support import dispatched_case, named, serving, state_of
from workflows import registry
from workflows.case.workflow import CaseWorkflow
from workflows.contracts import Actor, CaseEvent
from workflows.major_event.assignment import AssignmentWorkflow
from workflows.major_event.contracts import (
    Activate,
    Assess,
    AssignTask,
    LinkCases,
    MajorEventState,
    OrderStation,
    Regrade,
    StepTaken,
    SubmitReport,
)
from workflows.major_event.workflow import MajorEventWorkflow
from workflows.shared.workcal import CST

pytestmark = pytest.mark.asyncio(loop_scope="session")
Handle = WorkflowHandle[MajorEventWorkflow, MajorEventState]


def rainstorm(grade: str = "III") -> MajorEventIntake:
    return MajorEventIntake(
        case_type="major_event",
        title="鼓楼区暴雨内涝",
        event_type="natural_disaster",
        grade=grade,  # type: ignore[arg-type]
        location_unit_id="gl-nhl",
    )


async def start(service: CaseService, grade: str = "III", **policy: object) -> Handle:
    events = MajorEventService(service.client, service.sessions, service.settings)
    user = user_named(service.sessions, "supervisor1")
    with session_scope(service.sessions) as session:
        inp = events.event_input(session, service.actor(user), rainstorm(grade))
    inp.policy = dataclasses.replace(inp.policy, **policy)  # type: ignore[arg-type]
    await events.begin(inp)
    return service.client.get_workflow_handle_for(
        MajorEventWorkflow.run, registry.MAJOR_EVENT.workflow_id(inp.ticket)
    )


def actor(service: CaseService, username: str = "supervisor1") -> Actor:
    return service.actor(user_named(service.sessions, username))


async def responding(service: CaseService) -> tuple[Handle, Actor]:
    """A Ⅲ event that supervisor1 has assessed and activated, and supervisor1 as its actor."""
    handle = await start(service, "III")
    me = actor(service)
    await handle.execute_update(MajorEventWorkflow.assess, _assess(me))
    await handle.execute_update(MajorEventWorkflow.activate, Activate(me))
    return handle, me


async def timeline(handle: Handle) -> list[CaseEvent]:
    return await handle.query(MajorEventWorkflow.get_timeline)


async def test_a_late_first_report_reminds_goes_overdue_and_climbs_to_the_city(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle = await start(service, "III")
        state = await handle.query(MajorEventWorkflow.get_state)
        due = state.reports[0].clock.due_at
        assert [r.kind for r in state.reports] == ["first_written"]
        assert due is not None and due - state.received_at == timedelta(hours=1)
        await ts_env.sleep(timedelta(hours=2))
        events = await timeline(handle)
        late = SubmitReport(actor(service), "first_written", "鼓楼区多处积水，已组织排涝")
        after = await handle.execute_update(MajorEventWorkflow.submit_report, late)

    remind, overdue = named(events, "report_remind"), named(events, "report_overdue")
    climbed = named(events, "report_escalate")
    assert remind and remind[0].at < due <= overdue[0].at
    assert overdue[0].payload["notify"] == ["gl", "nj"]  # the district reports, the city hears
    assert climbed[0].payload["unit"] == "nj" and climbed[0].at == overdue[0].at
    assert after.reports[0].late and after.reports[0].submitted_at is not None


async def test_grade_one_needs_a_phone_report_in_15_minutes_and_written_in_35(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle = await start(service, "I")
        state = await handle.query(MajorEventWorkflow.get_state)
        await ts_env.sleep(timedelta(minutes=20))
        events = await timeline(handle)

    dues = {r.kind: r.clock.due_at - state.received_at for r in state.reports}  # type: ignore[operator]
    assert dues == {"first_phone": timedelta(minutes=15), "first_written": timedelta(minutes=35)}
    overdue = named(events, "report_overdue")
    assert [e.payload["report"] for e in overdue] == ["first_phone"]
    assert named(events, "escalation_report")[0].payload["unit"] == "nj"  # the city leads Ⅰ


async def test_progress_reports_fall_due_at_8_and_17_while_the_response_runs(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, _ = await responding(service)
        await ts_env.sleep(timedelta(days=2))
        state = await handle.query(MajorEventWorkflow.get_state)
        events = await timeline(handle)

    progress = [r for r in state.reports if r.kind == "progress"]
    assert len(progress) >= 4
    for report in progress:
        local = report.clock.due_at.astimezone(CST)  # type: ignore[union-attr]
        assert (local.hour, local.minute) in {(8, 0), (17, 0)}
    missed = [r for r in progress if r.clock.overdue]
    assert len(missed) == len(progress) - 1  # each slot but the one ahead went by unreported
    assert len(named(events, "report_overdue")) >= len(missed)
    assert state.lead is not None and state.lead.id == "gl"


async def test_a_department_that_does_not_station_in_time_climbs_to_the_command(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle = await start(service, "III")
        me, water = actor(service), actor(service, "handler_gl_water")
        events_service = MajorEventService(service.client, service.sessions, service.settings)
        await handle.execute_update(MajorEventWorkflow.assess, _assess(me))
        order = events_service.prepare(
            user_named(service.sessions, "supervisor1"),
            "order_station",
            OrderStation(me, ["gl-dept-water", "gl-dept-police"]),
        )
        await handle.execute_update(MajorEventWorkflow.order_station, order)
        state = await handle.query(MajorEventWorkflow.get_state)
        water_id = next(b.assignment_id for b in state.board if b.unit.id == "gl-dept-water")
        child = service.client.get_workflow_handle_for(AssignmentWorkflow.run, water_id)
        await child.execute_update(AssignmentWorkflow.take_step, StepTaken(water, "sign"))
        await ts_env.sleep(timedelta(hours=6))
        state = await handle.query(MajorEventWorkflow.get_state)
        events = await timeline(handle)

    board = {b.unit.id: b for b in state.board}
    assert board["gl-dept-water"].step == "arrive" and board["gl-dept-water"].overdue
    police = board["gl-dept-police"]
    assert police.step == "sign" and police.overdue and police.escalation_level >= 2
    police_alarms = [e for e in events if e.payload.get("unit") == "gl-dept-police"]
    climbs = [
        e.payload["notify"]
        for e in police_alarms
        if e.action in ("station_overdue", "station_escalate")
    ]
    assert named(events, "station_remind")
    # overdue: the bureau and its district; then the command (the city, before a response)
    assert climbs[:2] == [["gl", "gl-dept-police"], ["gl-dept-police", "nj"]]


async def test_a_task_past_its_deadline_climbs_the_shared_ladder(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, me = await responding(service)
        events_service = MajorEventService(service.client, service.sessions, service.settings)
        task = events_service.prepare(
            user_named(service.sessions, "supervisor1"),
            "assign_task",
            AssignTask(me, "gl-nhl", "宁海路积水点排涝", "2h"),
        )
        state = await handle.execute_update(MajorEventWorkflow.assign_task, task)
        child = service.client.get_workflow_handle_for(
            AssignmentWorkflow.run, state.board[0].assignment_id
        )
        nhl = actor(service, "handler_nhl")
        await child.execute_update(AssignmentWorkflow.take_step, StepTaken(nhl, "accept"))
        await ts_env.sleep(timedelta(hours=3))
        live = await child.query(AssignmentWorkflow.get_assignment)
        events = await timeline(handle)

    assert live.step == "complete" and live.clock.overdue
    assert live.clock.escalation_level >= 1 and live.escalated_to is not None
    assert live.escalated_to.id == "gl"  # 宁海路街道's district first
    assert named(events, "task_overdue") or named(events, "task_escalate")
    assert named(events, "task_remind")


async def test_a_regrade_moves_the_first_report_and_the_lead(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, me = await responding(service)
        state = await handle.execute_update(
            MajorEventWorkflow.regrade, Regrade(me, "II", "积水范围扩大，多人被困")
        )

    assert state.classification.grade == "II" and state.lead is not None
    assert state.lead.id == "nj"
    assert {r.kind for r in state.reports} >= {"first_phone", "first_written"}


async def test_a_long_event_continues_as_new_and_keeps_its_deadlines(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle = await start(service, "III", history_limit=80)
        first_run = (await handle.describe()).run_id
        me = actor(service)
        await handle.execute_update(MajorEventWorkflow.assess, _assess(me))
        await handle.execute_update(MajorEventWorkflow.activate, Activate(me))
        await ts_env.sleep(timedelta(days=4))
        state = await handle.query(MajorEventWorkflow.get_state)
        now_run = (await handle.describe()).run_id
        ahead = [r for r in state.reports if r.kind == "progress" and not r.clock.overdue]
        found = await CaseTypes(service.client, service.sessions, service.settings, service).detail(
            user_named(service.sessions, "supervisor1"), state.ticket
        )
        report = SubmitReport(me, "progress", "排涝进展")
        after = await handle.execute_update(MajorEventWorkflow.submit_report, report)
        with session_scope(service.sessions) as session:
            row = session.exec(
                select(MajorEventRecord).where(MajorEventRecord.ticket == state.ticket)
            ).one()
            stored = session.exec(
                select(CaseEventRecord).where(CaseEventRecord.case_id == state.event_id)
            ).all()

    assert state.runs > 1 and now_run != first_run
    assert len(ahead) == 1  # one slot ahead, at 08:00 or 17:00 as before
    local = ahead[0].clock.due_at.astimezone(CST)  # type: ignore[union-attr]
    assert (local.hour, local.minute) in {(8, 0), (17, 0)}
    assert after.reports[-1].submitted_at is not None or any(
        r.submitted_at for r in after.reports if r.kind == "progress"
    )
    seqs = sorted(e.seq for e in stored)
    assert seqs == list(range(1, seqs[-1] + 1))  # the read model keeps every run's events
    assert row.phase == "responding"
    shown = [e.seq for e in found.timeline]  # GET a case: earlier runs' events from the read model
    assert shown == list(range(1, found.case.last_seq + 1))


def _assess(me: Actor) -> Assess:
    return Assess(me, note="雨量超警")


async def test_a_linked_case_tells_the_command_when_it_climbs(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        case, _ = await dispatched_case(service, "waterlogging", location="gl-nhl-c1-g2")
        ticket = (await state_of(case)).ticket
        handle = await start(service, "III")
        me = actor(service)
        linked = await handle.execute_update(MajorEventWorkflow.link_cases, LinkCases(me, [ticket]))
        await ts_env.sleep(timedelta(days=3))
        state = await handle.query(MajorEventWorkflow.get_state)
        events = await timeline(handle)
        case_events = await case.query(CaseWorkflow.get_timeline)

    assert linked.linked == [ticket]
    assert named(case_events, "link_command") and named(case_events, "escalate")
    assert state.escalated_cases == [ticket]
    told = named(events, "linked_case_escalated")
    assert told and told[0].payload["ticket"] == ticket and "gl" in told[0].payload["notify"]


async def test_the_demo_hook_stages_the_rainstorm_once(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        staged = await stage_demo_cases(service.client, service.settings, service.sessions)
        again = await stage_demo_cases(service.client, service.settings, service.sessions)
        handle = service.client.get_workflow_handle_for(
            MajorEventWorkflow.run, registry.MAJOR_EVENT.workflow_id(demo.TICKET)
        )
        state = await handle.query(MajorEventWorkflow.get_state)

    assert staged == ["major_event"] and again == []
    assert state.title == "鼓楼区暴雨内涝" and state.phase == "responding"
    assert {b.kind for b in state.board} == {"station", "task"}
