"""Record a full-loop case history for the replay test: `python -m tests.histories.record NAME`.

Run it when the workflow changes in a way that needs a new recorded version; keep the old
files, since every recorded version must keep replaying (see workflow.patched).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlmodel import select
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from core.cases.service import ActionRequest, CaseService, IntakeRequest
from core.db import make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.models import User
from tests.conftest import BIN, make_settings, running_worker
from workflows.shared import attributes

HERE = Path(__file__).parent
# A walk on the time-skipping stack: the history of each run it made, by the run's name.
Walk = Callable[[WorkflowEnvironment, CaseService], Awaitable[dict[str, str]]]

STEPS = [
    ("handler_nhl", "return_case", ActionRequest(reason="非本街道辖区")),
    ("dispatcher_gl", "dispatch", ActionRequest(unit_id="gl-nhl")),
    ("handler_nhl", "accept", ActionRequest()),
    ("handler_nhl", "add_progress", ActionRequest(note="已到场处置")),
    ("handler_nhl", "request_extension", ActionRequest(reason="需协调物业", hours=8)),
    ("dispatcher_gl", "decide_extension", ActionRequest(approve=True, reason="同意")),
    ("dispatcher_gl", "park", ActionRequest(reason="等待产权认定")),
    ("dispatcher_gl", "unpark", ActionRequest()),
    ("handler_nhl", "submit_feedback", ActionRequest(note="已清理", evidence=["after.jpg"])),
    ("verifier_gl", "verify", ActionRequest(passed=False, reason="仍有残留")),
    ("handler_nhl", "submit_feedback", ActionRequest(note="已彻底清理")),
    ("verifier_gl", "verify", ActionRequest(passed=True)),
    ("operator1", "record_callback", ActionRequest(rating="satisfied")),
]


@asynccontextmanager
async def recording_stack() -> AsyncIterator[CaseService]:
    """A dev server, a seeded SQLite read model and a worker, for as long as a recording takes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), search_attributes=attributes.ALL
    )
    async with _served(env) as service:
        yield service


@asynccontextmanager
async def time_skipping_stack() -> AsyncIterator[tuple[WorkflowEnvironment, CaseService]]:
    """The same on the time-skipping server, for walks whose clocks must fire."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    # The test server knows no custom search attributes until they are added.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: int(k.indexed_value_type) for k in attributes.ALL},
        )
    )
    async with _served(env) as service:
        yield env, service


@asynccontextmanager
async def _served(env: WorkflowEnvironment) -> AsyncIterator[CaseService]:
    """A seeded SQLite read model and a worker on `env`, which is shut down afterwards."""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/record.db"
            prepare_demo_database(url)
            sessions = session_factory(make_engine(url))
            settings = make_settings(url, env.client, "record")
            async with running_worker(env.client, "record", sessions):
                yield CaseService(env.client, sessions, settings)
    finally:
        await env.shutdown()


async def record_runs(name: str, walk: Walk) -> list[Path]:
    """Take `walk` on the time-skipping stack; write each run's history as NAME_<run>.json."""
    async with time_skipping_stack() as (env, service):
        runs = await walk(env, service)
    paths = []
    for suffix, history in runs.items():
        path = HERE / f"{name}_{suffix}.json"
        path.write_text(history, encoding="utf-8")
        paths.append(path)
    return paths


async def record(name: str) -> Path:
    async with recording_stack() as service:
        state = await _walk(service)
        history = await service.client.get_workflow_handle(state.case_id).fetch_history()
    path = HERE / f"{name}.json"
    path.write_text(history.to_json(), encoding="utf-8")
    return path


async def _walk(service: CaseService):  # type: ignore[no-untyped-def]
    def user(name: str) -> User:
        with session_scope(service.sessions) as session:
            return session.exec(select(User).where(User.username == name)).one()

    req = IntakeRequest(
        title="暴露垃圾", category="exposed_garbage", location_unit_id="gl-nhl-c1-g1"
    )
    state = await service.intake(user("operator1"), req)
    for n, (username, action, body) in enumerate(STEPS):
        # Idempotency keys, as the API and web forms send them (issue 9).
        key = f"step-{n}"
        state = await service.act(user(username), state.ticket, action, body, key=key)
    await service.client.get_workflow_handle(state.case_id).result()
    return state


if __name__ == "__main__":
    print(asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "city_event_v1")))
