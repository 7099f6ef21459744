"""The clean-up as Temporal runs it: the workflow under time-skipping, the schedule on the dev
server, each with the real activity on a real database and real files."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.client import (
    Client,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.attachments import AttachmentActivities
from core.attachments import store as attachments
from core.attachments.uploads import Uploader
from core.config import Settings
from core.db import SessionFactory, make_engine, migrate, session_factory, session_scope
from core.models import UploadRecord
from core.temporal.schedules import DELIVER_NOTIFICATIONS, PRUNE_ATTACHMENTS, ensure_schedules
from core.temporal.worker import RUNNER
from tests.media import picture
from tests.workflows.support import assert_schedule, first_scheduled_run
from workflows.attachments.prune import PruneAttachmentsWorkflow
from workflows.contracts import PruneAttachmentsInput, PruneAttachmentsResult

pytestmark = pytest.mark.asyncio(loop_scope="session")
CITIZEN = Uploader.public("phone-1", "198.51.100.7")


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[SessionFactory]:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path, task_queue: str) -> Settings:
    return Settings(
        database_url=sqlite_url, attachment_dir=tmp_path / "files", task_queue=task_queue
    )


def upload(sessions: SessionFactory, settings: Settings) -> Path:
    out = io.BytesIO()
    picture().save(out, "PNG")
    row = attachments.store(sessions, settings, out.getvalue(), "left.png", CITIZEN)
    return attachments.path_of(settings, row.sha256)


@asynccontextmanager
async def worker(
    client: Client, sessions: SessionFactory, settings: Settings
) -> AsyncIterator[Worker]:
    acts = AttachmentActivities(sessions, settings)
    async with Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[PruneAttachmentsWorkflow],
        activities=[acts.prune_attachments],
        activity_executor=ThreadPoolExecutor(max_workers=2),
        workflow_runner=RUNNER,
    ) as running:
        yield running


async def prune(client: Client, settings: Settings) -> PruneAttachmentsResult:
    return await client.execute_workflow(
        PruneAttachmentsWorkflow.run,
        PruneAttachmentsInput(),
        id=f"prune-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
        result_type=PruneAttachmentsResult,
    )


async def test_the_cut_off_is_temporals_time(
    ts_env: WorkflowEnvironment, sessions: SessionFactory, settings: Settings
) -> None:
    path = upload(sessions, settings)
    size = path.stat().st_size
    async with worker(ts_env.client, sessions, settings):
        assert (await prune(ts_env.client, settings)).removed == 0
        # The test server may skip a little further than asked (to timers the finished runs
        # left behind), so the steps keep well clear of the 24 hours.
        await ts_env.sleep(timedelta(hours=20))
        assert (await prune(ts_env.client, settings)).removed == 0 and path.is_file()
        await ts_env.sleep(timedelta(hours=6))
        done = await prune(ts_env.client, settings)
    assert (done.removed, done.freed_bytes) == (1, size) and not path.exists()


async def test_the_worker_keeps_one_schedule_that_runs_the_clean_up(
    dev_env: WorkflowEnvironment, sessions: SessionFactory, settings: Settings
) -> None:
    client = dev_env.client
    await ensure_schedules(client, settings)
    # A second worker, or a restart with other settings, updates the schedule in place.
    await ensure_schedules(client, settings.model_copy(update={"upload_cleanup_minutes": 45}))
    handle = client.get_schedule_handle(PRUNE_ATTACHMENTS)
    try:
        await assert_schedule(
            handle, timedelta(minutes=45), "PruneAttachmentsWorkflow", settings.task_queue
        )
        schedules = [s.id async for s in await client.list_schedules()]
        assert schedules.count(PRUNE_ATTACHMENTS) <= 1  # listing lags; never two

        path = upload(sessions, settings)
        with session_scope(sessions) as session:
            row = session.exec(select(UploadRecord)).one()
            row.created_at = datetime.now(UTC) - timedelta(hours=25)
            session.add(row)
        async with worker(client, sessions, settings):
            await handle.trigger()
            done = await first_scheduled_run(client, handle, PruneAttachmentsResult)
        assert done.removed == 1 and not path.exists()
    finally:
        await handle.delete()
        await client.get_schedule_handle(DELIVER_NOTIFICATIONS).delete()  # made alongside
