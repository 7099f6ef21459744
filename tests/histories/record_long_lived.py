"""Record a city event that continues as new (time-skipping server, a lowered history limit):
`python -m tests.histories.record_long_lived NAME` writes NAME_first_run.json (ending in
continue-as-new) and NAME_last_run.json (the new run: the deadline passes, the case climbs,
then it is finished).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlmodel import select
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService, IntakeRequest
from core.db import make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.models import User
from tests.conftest import BIN, make_settings, running_worker
from tests.workflows.support import HANDLER, SUPERVISOR, until_dispatched
from workflows.case.workflow import CaseWorkflow, start_search_attributes
from workflows.contracts import Command
from workflows.shared import attributes

HERE = Path(__file__).parent


async def record(name: str) -> list[Path]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    names = {k.name: int(k.indexed_value_type) for k in attributes.ALL}
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=env.client.namespace, search_attributes=names)  # type: ignore[arg-type]
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/record.db"
            prepare_demo_database(url)
            sessions = session_factory(make_engine(url))
            service = CaseService(env.client, sessions, make_settings(url, env.client, "record"))
            async with running_worker(env.client, "record", sessions):
                runs = await _walk(env, service)
    finally:
        await env.shutdown()
    paths = []
    for suffix, history in runs.items():
        path = HERE / f"{name}_{suffix}.json"
        path.write_text(history, encoding="utf-8")
        paths.append(path)
    return paths


async def _walk(env: WorkflowEnvironment, service: CaseService) -> dict[str, str]:
    req = IntakeRequest(title="积水", category="waterlogging", location_unit_id="gl-nhl-c1-g2")
    with session_scope(service.sessions) as session:
        op = session.exec(select(User).where(User.username == "operator1")).one()
        inp = service.case_input(session, service.actor(op), req)
    inp.policy = dataclasses.replace(inp.policy, history_limit=120)
    handle = await service.client.start_workflow(
        CaseWorkflow.run,
        inp,
        id=f"case-{inp.ticket}",
        task_queue=service.settings.task_queue,
        search_attributes=start_search_attributes(inp),
    )
    first_run = (await handle.describe()).run_id
    await until_dispatched(handle)
    await handle.execute_update(CaseWorkflow.accept, Command(actor=HANDLER))
    for n in range(30):
        await handle.signal(CaseWorkflow.add_note, f"水位读数 {n}")
    for _ in range(200):
        await env.sleep(timedelta(seconds=1))
        if (await handle.describe()).run_id != first_run:
            break
    await env.sleep(timedelta(days=3))
    await handle.execute_update(
        CaseWorkflow.force_close, Command(actor=SUPERVISOR, reason="测试结束", note="已排水")
    )
    first = await service.client.get_workflow_handle(handle.id, run_id=first_run).fetch_history()
    assert first.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
    await env.sleep(timedelta(days=2))
    last = await handle.fetch_history()
    return {"first_run": first.to_json(), "last_run": last.to_json()}


if __name__ == "__main__":
    for written in asyncio.run(
        record(sys.argv[1] if len(sys.argv) > 1 else "city_event_v4_long_lived")
    ):
        print(written)
