"""The registry's demo hook for major events: one staged rainstorm (鼓楼区暴雨内涝).

Received and graded Ⅲ, the response started with 鼓楼区 leading, the water and police bureaus
ordered to station and a task given to 宁海路街道 — so the board has something on it. Staged
once: the ticket is fixed, and a second start finds it already there.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.cases.service import CaseService
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.major_events.service import Handle, MajorEventIntake, MajorEventService
from core.models import User
from workflows import registry
from workflows.major_event.contracts import (
    Activate,
    Appoint,
    Assess,
    AssignTask,
    OrderStation,
    Person,
)
from workflows.major_event.workflow import MajorEventWorkflow

TICKET = "ME-DEMO-RAINSTORM"
RAINSTORM = MajorEventIntake(
    case_type="major_event",
    title="鼓楼区暴雨内涝",
    event_type="natural_disaster",
    sub_type="气象灾害",
    grade="III",
    location_unit_id="gl-nhl",
    description="短时强降雨，宁海路、湖南路多处道路积水，部分小区地下车库进水。",
)


async def stage_rainstorm(client: Client, settings: Settings, sessions: SessionFactory) -> bool:
    """Stage the demo event; False if it was staged before."""
    service = MajorEventService(client, sessions, settings)
    with session_scope(sessions) as session:
        user = session.exec(select(User).where(User.username == "supervisor1")).one()
        actor = CaseService(client, sessions, settings).actor(user)
        inp = service.event_input(session, actor, RAINSTORM, ticket=TICKET)
    try:
        await service.begin(inp)
    except WorkflowAlreadyStartedError:
        return False
    handle: Handle = client.get_workflow_handle(registry.MAJOR_EVENT.workflow_id(TICKET))
    await handle.execute_update(MajorEventWorkflow.assess, Assess(actor, note="雨量超警，定为较大"))
    await handle.execute_update(MajorEventWorkflow.activate, Activate(actor, note="启动Ⅲ级响应"))
    commander = Appoint(actor, Person("supervisor_gl", "鼓楼区督办员"), [Person("dispatcher1")])
    await handle.execute_update(MajorEventWorkflow.appoint, commander)
    order = service.prepare(
        user, "order_station", OrderStation(actor, ["gl-dept-water", "gl-dept-police"])
    )
    await handle.execute_update(MajorEventWorkflow.order_station, order)
    task = service.prepare(
        user, "assign_task", AssignTask(actor, "gl-nhl", "宁海路积水点排涝", "2h")
    )
    await handle.execute_update(MajorEventWorkflow.assign_task, task)
    return True
