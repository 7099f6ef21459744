"""Record a city event that continues as new (time-skipping server, a lowered history limit):
`python -m tests.histories.record_long_lived NAME` writes NAME_first_run.json (ending in
continue-as-new) and NAME_last_run.json (the new run: the deadline passes, the case climbs,
then it is finished).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService
from tests.histories.record import record_runs
from tests.workflows.support import HANDLER, SUPERVISOR, start_case, until_dispatched
from workflows.case.workflow import CaseWorkflow
from workflows.contracts import Command


async def record(name: str) -> list[Path]:
    return await record_runs(name, _walk)


async def _walk(env: WorkflowEnvironment, service: CaseService) -> dict[str, str]:
    handle = await start_case(
        service, "waterlogging", title="积水", location="gl-nhl-c1-g2", history_limit=120
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
