"""Helpers for workflow tests on the time-skipping server."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import select
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleIntervalSpec,
    WorkflowHandle,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.cases.service import CaseService, IntakeRequest
from core.config import Settings
from core.db import make_engine, session_factory, session_scope
from core.models import User
from tests.conftest import running_worker
from workflows.case.workflow import CaseWorkflow, start_search_attributes
from workflows.contracts import Actor, CaseEvent, CaseState, Command, Role, Status

HANDLER = Actor("handler_nhl", "宁海路街道处置员", Role.HANDLER, "gl-nhl")
DISPATCHER = Actor("dispatcher_gl", "鼓楼区派遣员", Role.DISPATCHER, "gl")


SUPERVISOR = Actor("supervisor_gl", "鼓楼区督办员", Role.SUPERVISOR, "gl")


def service_for(ts_env: WorkflowEnvironment, db_url: str, settings: Settings) -> CaseService:
    return CaseService(ts_env.client, session_factory(make_engine(db_url)), settings)


async def start_case(
    service: CaseService,
    category: str = "exposed_garbage",
    *,
    title: str = "暴露垃圾",
    location: str = "gl-nhl-c1-g1",
    received_at: datetime | None = None,
    history_limit: int | None = None,
) -> WorkflowHandle:
    """Start a case as operator1 takes it, straight on the client (no projection awaited).

    `history_limit` lowers the policy's continue-as-new threshold, for long-lived walks.
    """
    req = IntakeRequest(title=title, category=category, location_unit_id=location)
    with session_scope(service.sessions) as session:
        op = session.exec(select(User).where(User.username == "operator1")).one()
        inp = service.case_input(session, service.actor(op), req)
    if received_at is not None:
        inp.received_at = received_at
    if history_limit is not None:
        inp.policy = dataclasses.replace(inp.policy, history_limit=history_limit)
    return await service.client.start_workflow(
        CaseWorkflow.run,
        inp,
        id=f"case-{inp.ticket}",
        task_queue=service.settings.task_queue,
        search_attributes=start_search_attributes(inp),
    )


def serving(service: CaseService) -> AbstractAsyncContextManager[Worker]:
    """The case worker on the service's task queue, for as long as the `async with` lasts."""
    return running_worker(service.client, service.settings.task_queue, service.sessions)


async def dispatched_case(
    service: CaseService, category: str = "exposed_garbage", **start: Any
) -> tuple[WorkflowHandle, CaseState]:
    """A case started as `start_case` starts it, once intake has dispatched it."""
    handle = await start_case(service, category, **start)
    return handle, await until_dispatched(handle)


async def accepted_case(service: CaseService) -> tuple[WorkflowHandle, CaseState]:
    """A 暴露垃圾 case that 宁海路街道 holds, dispatched and accepted by its handler."""
    handle, _ = await dispatched_case(service)
    return handle, await handle.execute_update(CaseWorkflow.accept, Command(actor=HANDLER))


def named(events: list[CaseEvent], action: str) -> list[CaseEvent]:
    return [e for e in events if e.action == action]


async def state_of(handle: WorkflowHandle) -> CaseState:
    return await handle.query(CaseWorkflow.get_state)


async def until_dispatched(handle: WorkflowHandle) -> CaseState:
    update = await handle.execute_update(CaseWorkflow.confirm_intake)
    assert update.status == Status.DISPATCHED
    return update


async def assert_schedule(
    handle: ScheduleHandle, every: timedelta, workflow: str, task_queue: str
) -> None:
    """The schedule starts `workflow` on `task_queue` once every `every`."""
    described = await handle.describe()
    assert described.schedule.spec.intervals == [ScheduleIntervalSpec(every=every)]
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == (workflow, task_queue)


R = TypeVar("R")


async def first_scheduled_run(client: Client, handle: ScheduleHandle, result_type: type[R]) -> R:
    """The result of a schedule's first run (the schedule starts it in its own time)."""
    for _ in range(200):
        described = await handle.describe()
        if described.info.recent_actions:
            started = described.info.recent_actions[0].action
            assert isinstance(started, ScheduleActionExecutionStartWorkflow)
            run = client.get_workflow_handle(started.workflow_id, result_type=result_type)
            return await run.result()
        await asyncio.sleep(0.05)
    raise AssertionError("the schedule never started its workflow")
