"""未诉先办 under time-skipping: three closures of one category within 100 m open a proactive
case for the street through the real intake (routing, projection), once however often it runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment

from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.models import CaseRecord
from core.temporal.worker import build_worker
from tests.conftest import make_settings, projected
from tests.measures.test_recurring import M, _closed
from workflows import registry
from workflows.measures.contracts import ProactiveCasesInput, ProactiveCasesResult
from workflows.measures.proactive import ProactiveCasesWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _seed(sessions: SessionFactory, now: datetime) -> None:
    lat, lon = 32.56, 119.1
    with session_scope(sessions) as session:
        for n, (north_m, days_ago) in enumerate([(0, 2), (60, 5), (-30, 20)], start=1):
            _closed(session, n, lat + north_m * M, lon, days_ago, now=now)


async def _run(env: WorkflowEnvironment, task_queue: str) -> ProactiveCasesResult:
    return await env.client.execute_workflow(
        ProactiveCasesWorkflow.run,
        ProactiveCasesInput(),
        id=f"proactive-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
        result_type=ProactiveCasesResult,
    )


async def test_a_recurring_place_opens_one_proactive_case(
    ts_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    engine = make_engine(sqlite_db)
    sessions = session_factory(engine)
    _seed(sessions, datetime.now(UTC) - timedelta(hours=1))
    settings = make_settings(sqlite_db, ts_env.client, task_queue)
    worker = build_worker(
        ts_env.client, task_queue=task_queue, sessions=sessions, settings=settings
    )
    async with worker:
        first = await _run(ts_env, task_queue)
        again = await _run(ts_env, task_queue)  # the next scheduled run: the same place
        assert len(first.opened) == 1 and again.opened == first.opened
        case = await projected(sessions, registry.CITY_EVENT.workflow_id(first.opened[0]), 1)
    with session_scope(sessions) as session:
        proactive = session.exec(
            select(CaseRecord).where(col(CaseRecord.title).startswith("未诉先办"))
        )
        assert len(list(proactive)) == 1
    engine.dispose()
    assert case.title == "未诉先办：暴露垃圾反复发生" and case.street_id == "gl-nhl"
    assert all(t in case.description for t in ("L1", "L2", "L3"))
