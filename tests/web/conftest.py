"""Fixtures of the web tests: the real app with a worker behind it, on the test's own database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.web.browser import Desktop, browsing
from tests.web.support import Web, web_stack


@pytest.fixture
def web_db_url(sqlite_db: str) -> str:
    """The database `web` runs on: SQLite. A module whose SQL must also run on PostgreSQL
    overrides this fixture with one returning `db_url`."""
    return sqlite_db


@pytest_asyncio.fixture(loop_scope="session")
async def web(dev_env: WorkflowEnvironment, web_db_url: str, task_queue: str) -> AsyncIterator[Web]:
    async with web_stack(dev_env.client, web_db_url, task_queue) as stack:
        yield stack


@pytest.fixture
def attachment_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Files of the test go to its own folder."""
    path = tmp_path / "attachments"
    monkeypatch.setenv("CITYLOOP_ATTACHMENT_DIR", str(path))
    return path


@pytest_asyncio.fixture(loop_scope="session")
async def desktop(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> AsyncIterator[Desktop]:
    """A Chromium page at desktop size on the served stack (SQLite), and its base URL."""
    async with browsing(dev_env, sqlite_db, task_queue) as opened:
        yield opened
