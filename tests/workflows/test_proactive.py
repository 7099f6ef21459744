"""未诉先办 end to end: the scan workflow under time-skipping finds a recurring place in the
read model and opens a real proactive case there, routed to the street; the worker keeps its
schedule on the dev server."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService
from core.config import Settings
from core.db import make_engine, session_factory, session_scope
from core.intake.geo import boundaries
from core.models import ProactiveSource
from core.temporal.schedules import PROACTIVE_SCAN, SCHEDULES, ensure_schedules
from core.temporal.worker import build_worker
from tests.conftest import projected
from tests.core.test_proactive_places import closed
from tests.workflows.support import assert_schedule, first_scheduled_run
from workflows.contracts import Status
from workflows.proactive.contracts import ScanInput, ScanResult
from workflows.proactive.scan import ProactiveScanWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
GRID = "gl-nhl-c1-g1"


async def scan(service: CaseService) -> ScanResult:
    return await service.client.execute_workflow(
        ProactiveScanWorkflow.run,
        ScanInput(),
        id=f"scan-{uuid.uuid4().hex[:8]}",
        task_queue=service.settings.task_queue,
        result_type=ScanResult,
    )


async def test_three_closed_cases_at_one_place_open_one_proactive_case(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    point = boundaries(service.settings.boundaries_file).representative_point(GRID)
    assert point is not None
    lat, lon = point
    now = await ts_env.get_current_time()
    with session_scope(service.sessions) as session:
        for i in range(3):  # 0, 20 and 40 m north of the grid's point, closed last week
            closed(session, f"R{i}", lat + i * 0.00018, lon=lon, closed_at=now - timedelta(days=7))
        closed(session, "ELSE", lat + 0.01, lon=lon, closed_at=now - timedelta(days=7))
    async with build_worker(
        service.client,
        task_queue=service.settings.task_queue,
        sessions=service.sessions,
        settings=service.settings,
    ):
        first = await scan(service)
        assert (first.places, len(first.opened)) == (1, 1)
        [ticket] = first.opened
        state = await service.live_state(ticket)
        assert (state.channel, state.category) == ("proactive", "exposed_garbage")
        assert state.location.unit_id == GRID and state.status == Status.DISPATCHED
        assert state.assigned_unit is not None and state.assigned_unit.id == "gl-nhl"
        assert all(f"R{i}" in state.description for i in range(3))
        assert state.taken_by == "system:proactive" and not ticket.startswith("EX-")
        await projected(service.sessions, f"case-{ticket}", 1)

        again = await scan(service)  # the place has its case: nothing opens twice
        await ts_env.sleep(timedelta(days=40))  # and a month on, the three fall out of the window
        later = await scan(service)
    assert (again.places, again.opened, later.places) == (0, [], 0)
    with session_scope(service.sessions) as session:
        sources = session.exec(select(ProactiveSource.source_ticket)).all()
    assert sorted(sources) == ["R0", "R1", "R2"]


async def test_the_worker_keeps_the_scan_s_schedule(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    client = dev_env.client
    settings = Settings(database_url=sqlite_db, task_queue=task_queue, proactive_every_hours=6)
    sessions = session_factory(make_engine(sqlite_db))
    await ensure_schedules(client, settings)
    handle = client.get_schedule_handle(PROACTIVE_SCAN)
    try:
        await assert_schedule(handle, timedelta(hours=6), "ProactiveScanWorkflow", task_queue)
        async with build_worker(
            client, task_queue=task_queue, sessions=sessions, settings=settings
        ):
            await handle.trigger()
            done = await first_scheduled_run(client, handle, ScanResult)
        assert (done.places, done.opened) == (0, [])  # the demo has no closed cases
    finally:
        for schedule_id in SCHEDULES:
            await client.get_schedule_handle(schedule_id).delete()
