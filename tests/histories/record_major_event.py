"""Record a major event's histories for the replay test (time-skipping server, so its clocks
fire): `python -m tests.histories.record_major_event NAME` writes NAME_first_run.json (a run
that continues as new), NAME_last_run.json (the run that closes it) and NAME_station.json.

The walk: a Ⅲ rainstorm received, assessed, activated; a commander; water and police ordered
to station (water signs and arrives, police never signs and climbs); a task; a city event
linked; 初报 late, 续报 slots missed over two days, a regrade to Ⅱ, termination, 终报,
review, close.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService
from core.db import session_scope
from core.major_events.demo import RAINSTORM
from core.major_events.service import MajorEventService
from tests.conftest import user_named
from tests.histories.record import record_runs
from tests.workflows.support import start_case, state_of, until_dispatched
from workflows import registry
from workflows.major_event.assignment import AssignmentWorkflow
from workflows.major_event.contracts import (
    Activate,
    Appoint,
    Assess,
    AssignTask,
    LinkCases,
    OrderStation,
    Person,
    PhaseStep,
    Regrade,
    StepTaken,
    SubmitReport,
)
from workflows.major_event.workflow import MajorEventWorkflow


async def record(name: str) -> list[Path]:
    return await record_runs(name, _walk)


async def _walk(env: WorkflowEnvironment, service: CaseService) -> dict[str, str]:
    events = MajorEventService(service.client, service.sessions, service.settings)
    sup = user_named(service.sessions, "supervisor1")
    me = service.actor(sup)
    case = await start_case(service, "waterlogging", location="gl-nhl-c1-g2")
    await until_dispatched(case)
    with session_scope(service.sessions) as session:
        inp = events.event_input(session, me, RAINSTORM)
    inp.policy = dataclasses.replace(inp.policy, history_limit=120)
    await events.begin(inp)
    wid = registry.MAJOR_EVENT.workflow_id(inp.ticket)
    handle = service.client.get_workflow_handle_for(MajorEventWorkflow.run, wid)
    first_run = (await handle.describe()).run_id

    await handle.execute_update(MajorEventWorkflow.assess, Assess(me, note="雨量超警"))
    await handle.execute_update(MajorEventWorkflow.activate, Activate(me, note="启动Ⅲ级响应"))
    commander = Appoint(me, Person("supervisor_gl", "鼓楼区督办员"), [Person("dispatcher1")])
    await handle.execute_update(MajorEventWorkflow.appoint, commander)
    order = events.prepare(
        sup, "order_station", OrderStation(me, ["gl-dept-water", "gl-dept-police"])
    )
    state = await handle.execute_update(MajorEventWorkflow.order_station, order)
    water = next(b.assignment_id for b in state.board if b.unit.id == "gl-dept-water")
    station = service.client.get_workflow_handle_for(AssignmentWorkflow.run, water)
    water_actor = service.actor(user_named(service.sessions, "handler_gl_water"))
    await station.execute_update(AssignmentWorkflow.take_step, StepTaken(water_actor, "sign"))
    await station.execute_update(AssignmentWorkflow.take_step, StepTaken(water_actor, "arrive"))
    task = events.prepare(sup, "assign_task", AssignTask(me, "gl-nhl", "宁海路积水点排涝", "2h"))
    await handle.execute_update(MajorEventWorkflow.assign_task, task)
    ticket = (await state_of(case)).ticket
    await handle.execute_update(MajorEventWorkflow.link_cases, LinkCases(me, [ticket]))
    await env.sleep(timedelta(hours=2))
    late = SubmitReport(me, "first_written", "多处积水，已调度排涝")
    await handle.execute_update(MajorEventWorkflow.submit_report, late)
    await env.sleep(timedelta(days=2))
    await handle.execute_update(
        MajorEventWorkflow.submit_report, SubmitReport(me, "progress", "排涝进展")
    )
    await handle.execute_update(MajorEventWorkflow.regrade, Regrade(me, "II", "积水范围扩大"))
    await handle.execute_update(MajorEventWorkflow.begin_handling, PhaseStep(me))
    await handle.execute_update(MajorEventWorkflow.terminate, PhaseStep(me, "积水退去"))
    await handle.execute_update(MajorEventWorkflow.submit_report, SubmitReport(me, "final", "终报"))
    await handle.execute_update(MajorEventWorkflow.evaluate, PhaseStep(me, "总结：排涝及时"))
    await handle.execute_update(MajorEventWorkflow.close, PhaseStep(me))
    await handle.result()
    last = await handle.fetch_history()
    first = await service.client.get_workflow_handle(wid, run_id=first_run).fetch_history()
    assert first.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
    return {
        "first_run": first.to_json(),
        "last_run": last.to_json(),
        "station": (await station.fetch_history()).to_json(),
    }


if __name__ == "__main__":
    for written in asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "major_event_v1")):
        print(written)
