"""Fixtures of the JSON API tests: the real app, a worker, a real Temporal server and DB."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from core.db import SessionFactory
from tests.conftest import api_client, make_settings, running_worker


@pytest_asyncio.fixture(loop_scope="session")
async def http(
    dev_env: WorkflowEnvironment, db_url: str, sessions: SessionFactory, task_queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(db_url, dev_env.client, task_queue)
    async with (
        running_worker(dev_env.client, task_queue, sessions),
        api_client(settings, dev_env.client) as client,
    ):
        yield client
