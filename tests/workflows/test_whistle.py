"""吹哨报到 under Temporal's time-skipping server: the ladder of a department that never signs,
an early close, and a case that ends while its whistles are open."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core import whistles
from core.cases.service import ActionRequest, CaseService
from core.db import session_scope
from core.models import CaseEventRecord, InboxItem, WhistleRecord
from tests.conftest import user_named
from tests.workflows.support import accepted_case, named, serving, state_of
from workflows.case.workflow import CaseWorkflow
from workflows.contracts import CaseState, WhistleState
from workflows.shared.workcal import WorkCalendar
from workflows.whistle.workflow import WhistleWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
CAL = WorkCalendar()
POLICE, WATER = "gl-dept-police", "gl-dept-water"
POLICE_HANDLER = "handler_gl_police"


def fired_between(at: datetime, due: datetime, before: datetime) -> bool:
    """An alarm due at `due` fired in its own slot: never early, and (however loaded the host,
    its timer can fire late) before the next instant anything was scheduled for."""
    return due <= at < before


async def blow(service: CaseService, handle: WorkflowHandle, *depts: str) -> CaseState:
    state = await state_of(handle)
    req = whistles.BlowRequest(kind="work_push", departments=list(depts), need="协调占道清理")
    return await whistles.blow(
        service, user_named(service.sessions, "handler_nhl"), state.ticket, req
    )


def whistle(service: CaseService, whistle_id: str) -> WorkflowHandle[WhistleWorkflow, WhistleState]:
    return service.client.get_workflow_handle_for(WhistleWorkflow.run, whistle_id)


async def step(
    service: CaseService, whistle_id: str, stage: str, username: str, **kw: object
) -> WhistleState:
    req = whistles.StepRequest(**kw)  # type: ignore[arg-type]
    return await whistles.act(
        service, user_named(service.sessions, username), whistle_id, stage, req
    )


async def test_a_department_that_never_signs_climbs_the_ladder(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        case, _ = await accepted_case(service)
        state = await blow(service, case, POLICE)
        member = state.whistles[0].members[0]
        await ts_env.sleep(timedelta(weeks=2))
        events = await whistle(service, member.whistle_id).query(WhistleWorkflow.get_timeline)
        live = await whistle(service, member.whistle_id).query(WhistleWorkflow.get_whistle)
        parent = await state_of(case)

    due = live.dues["sign"]
    summoned = live.summoned_at
    assert due == CAL.add_working_minutes(summoned, 60)  # 1 working hour to sign
    assert len(named(events, "remind")) == 2
    assert all(e.payload["notify"] == [POLICE] for e in named(events, "remind"))
    # 4 working hours of grace at the department and the district, a working day at the city.
    second = CAL.add_working_minutes(due, 240)
    third = CAL.add_working_minutes(second, 240)
    first_report = CAL.add_working_minutes(third, 540)
    overdue = named(events, "overdue")[0]
    assert fired_between(overdue.at, due, second)
    assert overdue.payload["notify"] == sorted([POLICE, "gl-nhl"])
    rungs = named(events, "escalate")
    # The department's head first (its own inbox), then 鼓楼区, then 南京市; 4 working hours
    # of grace at the department and the district.
    assert [(e.payload["level"], e.payload["unit"]) for e in rungs] == [
        (1, POLICE),
        (2, "gl"),
        (3, "nj"),
    ]
    assert rungs[0].at == overdue.at  # the first rung is climbed as the deadline passes
    assert fired_between(rungs[1].at, second, third)
    assert fired_between(rungs[2].at, third, first_report)
    reports = named(events, "escalation_report")
    assert reports and fired_between(reports[0].at, first_report, first_report + timedelta(days=1))
    # Rungs count from the instant each was due, not from when its timer fired.
    assert live.clock.next_escalation_at == first_report + timedelta(days=len(reports))
    assert live.step == "summoned" and live.clock.escalation_level == 3
    # The case sees the rungs live; the read model and the inboxes have them too.
    assert parent.whistles[0].members[0].escalation_level == 3
    with session_scope(service.sessions) as session:
        row = session.get(WhistleRecord, member.whistle_id)
        inbox = session.exec(select(InboxItem).where(InboxItem.case_id == member.whistle_id)).all()
    assert row is not None and row.overdue and row.escalation_level == 3 and row.step == "summoned"
    assert {i.unit_id for i in inbox if i.kind == "escalate"} == {POLICE, "gl", "nj"}
    assert {i.kind for i in inbox if i.unit_id == POLICE} >= {"summon", "remind", "overdue"}


async def test_early_close_ends_the_round_and_records_co_handlers(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        case, _ = await accepted_case(service)
        state = await blow(service, case, POLICE, WATER)
        police, water = (m.whistle_id for m in state.whistles[0].members)
        await step(service, police, "sign", POLICE_HANDLER)
        nhl = user_named(service.sessions, "handler_nhl")
        closed = await whistles.close(
            service, nhl, state.ticket, whistles.CloseRequest(reason="问题已由街道自行解决")
        )
        police_end = await whistle(service, police).result()
        water_end = await whistle(service, water).result()
        await ts_env.sleep(timedelta(seconds=5))
        parent = await state_of(case)

    rnd = closed.whistles[0]
    assert rnd.status == "closed" and rnd.closed_reason == "问题已由街道自行解决"
    assert [m.step for m in rnd.members] == ["closed", "closed"]
    assert [u.id for u in parent.co_handlers] == [POLICE]  # only who took part
    assert police_end.step == water_end.step == "closed"
    assert police_end.closed_reason == "问题已由街道自行解决"
    assert parent.whistles[0].members[0].signed_at is not None


async def test_a_case_voided_with_open_whistles_cancels_them_cleanly(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        case, _ = await accepted_case(service)
        state = await blow(service, case, POLICE, WATER)
        ids = [m.whistle_id for m in state.whistles[0].members]
        await step(service, ids[0], "sign", POLICE_HANDLER)
        sup = user_named(service.sessions, "supervisor_gl")
        await service.act(sup, state.ticket, "void_invalid", ActionRequest(reason="重复工单"))
        final = await case.result()
        statuses = [(await whistle(service, i).describe()).status for i in ids]
        timelines = [await whistle(service, i).query(WhistleWorkflow.get_timeline) for i in ids]
        case_events = await case.query(CaseWorkflow.get_timeline)

    assert final.status == "VOIDED" and final.whistles[0].status == "cancelled"
    assert [m.step for m in final.whistles[0].members] == ["cancelled", "cancelled"]
    assert statuses == [WorkflowExecutionStatus.CANCELED] * 2
    for events in timelines:
        cancelled = named(events, "cancelled")
        assert len(cancelled) == 1 and cancelled[0].reason == "案件注销，吹哨撤销"
    with session_scope(service.sessions) as session:
        rows = [session.get(WhistleRecord, i) for i in ids]
        ends = session.exec(
            select(CaseEventRecord).where(CaseEventRecord.action == "cancelled")
        ).all()
    assert all(r is not None and r.step == "cancelled" for r in rows)
    assert {e.case_id for e in ends} == set(ids)
    cancel = named(case_events, "whistle_cancel")
    assert len(cancel) == 1 and cancel[0].payload["units"] == [POLICE, WATER]
    assert cancel[0].seq > named(case_events, "void_invalid")[0].seq


async def test_a_department_cannot_act_for_another_or_out_of_order(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        case, _ = await accepted_case(service)
        state = await blow(service, case, POLICE)
        wid = state.whistles[0].members[0].whistle_id
        handle = whistle(service, wid)
        refusals = []
        for stage, username, kw in (
            ("sign", "handler_gl_water", {}),
            ("contact", POLICE_HANDLER, {"note": "已电话联系"}),
        ):
            try:
                await step(service, wid, stage, username, **kw)
            except whistles.CaseError as err:
                refusals.append((err.status, err.reason))
        await step(service, wid, "sign", POLICE_HANDLER)
        await step(service, wid, "contact", POLICE_HANDLER, note="已电话联系街道")
        try:
            await step(service, wid, "report", POLICE_HANDLER, note="到场")
        except whistles.CaseError as err:
            refusals.append((err.status, err.field))
        done = await step(service, wid, "report", POLICE_HANDLER, note="已到场处置", arrived=True)
        await handle.result()
        parent = await state_of(case)

    assert refusals[0][0] == 404  # another department may not see this whistle at all
    assert refusals[1][0] == 409
    assert refusals[2] == (422, "plan_date")
    assert done.step == "reported" and done.arrived
    assert parent.whistles[0].status == "done"
    assert [u.id for u in parent.co_handlers] == [POLICE]
