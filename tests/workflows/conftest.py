"""Fixtures of the workflow tests."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService
from tests.conftest import make_settings
from tests.workflows.support import service_for


@pytest.fixture
def service(ts_env: WorkflowEnvironment, sqlite_db: str, task_queue: str) -> CaseService:
    return service_for(ts_env, sqlite_db, make_settings(sqlite_db, ts_env.client, task_queue))
