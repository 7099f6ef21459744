"""Worker SIGKILL, three times in one burst of cases driven through the API with retries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.faults.audit import Report
from tests.faults.scenario import Size, lifecycles_under
from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.asyncio(loop_scope="session")]
DOWNTIME = 1.0  # seconds between the kill and the restart (which itself takes a few)


async def test_worker_sigkill_three_times_mid_burst(
    stack: Stack, size: Size, record: Callable[[Report], None]
) -> None:
    async def kill_worker() -> str:
        await asyncio.to_thread(stack.worker.kill)
        await asyncio.sleep(DOWNTIME)
        await stack.start_worker()
        return "worker SIGKILL"

    report = await lifecycles_under(
        stack, size, "worker-kill", moments=[0.2, 0.45, 0.7], strike=kill_worker
    )
    record(report)
    assert not report.bad(), report.render()
