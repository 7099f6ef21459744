"""The web process SIGKILLed twice mid-burst; the client retries with its idempotency keys."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.faults.audit import Report
from tests.faults.scenario import Size, lifecycles_under
from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.asyncio(loop_scope="session")]
DOWNTIME = 0.5  # seconds between the kill and the restart (which itself takes a few)


async def test_web_sigkill_mid_burst_with_client_retries(
    stack: Stack, size: Size, record: Callable[[Report], None]
) -> None:
    async def kill_web() -> str:
        await asyncio.to_thread(stack.web.kill)
        await asyncio.sleep(DOWNTIME)
        await stack.start_web()
        return "web SIGKILL"

    report = await lifecycles_under(stack, size, "web-kill", moments=[0.3, 0.65], strike=kill_web)
    record(report)
    assert not report.bad(), report.render()
