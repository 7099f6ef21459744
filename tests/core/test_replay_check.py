"""`cityloop replay-check`: running workflows fetched from the server replay against this
tree's workflow code (exit 0), and a change that breaks replay is named (exit 1)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.cases.service import ActionRequest, CaseService, IntakeRequest
from core.db import session_scope
from core.models import User
from core.temporal.replay import replay_check
from tests.conftest import make_settings, running_worker
from tests.core import replay_changed
from tests.workflows.support import service_for

ROOT = Path(__file__).resolve().parents[2]


def _user(service: CaseService, name: str) -> User:
    with session_scope(service.sessions) as session:
        return session.exec(select(User).where(User.username == name)).one()


async def _running_case(service: CaseService) -> str:
    """A case accepted by its handler (a history with an activity and an update), still open."""
    req = IntakeRequest(
        title="暴露垃圾", category="exposed_garbage", location_unit_id="gl-nhl-c1-g1"
    )
    state = await service.intake(_user(service, "operator1"), req)
    await service.act(_user(service, "handler_nhl"), state.ticket, "accept", ActionRequest())
    return state.case_id


async def _listed(client: Client, query: str, count: int) -> None:
    for _ in range(200):  # visibility is eventually consistent
        if len([w async for w in client.list_workflows(query)]) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{query} never listed {count} workflows")


def _cli(client: Client, *args: str, patch: str = "") -> subprocess.CompletedProcess[str]:
    """`cityloop …` in a process of its own, against the test's server (`patch`: Python run
    first, to swap the workflow classes it replays against)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CITYLOOP_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "CITYLOOP_TEMPORAL_NAMESPACE": client.namespace,
    }
    code = f"{patch}\nfrom core.cli.main import app\napp({list(args)!r})"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


async def test_running_cases_replay_and_a_changed_workflow_is_named(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    service = service_for(dev_env, sqlite_db, make_settings(sqlite_db, dev_env.client, task_queue))
    async with running_worker(dev_env.client, task_queue, service.sessions):
        case_id = await _running_case(service)
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    await _listed(dev_env.client, query, 1)

    today = await replay_check(dev_env.client, query=query)
    assert today.ok and today.replayed == 1
    changed = await replay_check(dev_env.client, query=query, workflows=replay_changed.classes())
    assert not changed.ok and changed.workflow_id == case_id
    assert "Nondeterminism" in changed.failure

    passed = _cli(dev_env.client, "replay-check", "--query", query)
    assert passed.returncode == 0, passed.stderr
    assert "1 histories replayed, all deterministic" in passed.stdout
    swap = (
        "import core.temporal.replay as replay\nfrom tests.core import replay_changed\n"
        "replay.workflow_classes = replay_changed.classes"
    )
    failed = _cli(dev_env.client, "replay-check", "--query", query, patch=swap)
    assert failed.returncode == 1
    assert f"NONDETERMINISTIC {case_id}" in failed.stderr
