"""The worker and the web process SIGKILLed mid-burst, while the client drives cases through
the API and retries (with its idempotency keys) whatever got no answer or a 5xx."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.faults.audit import Report
from tests.faults.scenario import Size, lifecycles_under
from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.asyncio(loop_scope="session")]
# Seconds a killed process stays dead before it is started again (which takes a few more).
DOWNTIME = 1.0


async def test_worker_sigkill_three_times_mid_burst(
    stack: Stack, size: Size, record: Callable[[Report], None]
) -> None:
    async def kill_worker() -> str:
        return await stack.crash(stack.worker, downtime=DOWNTIME)

    moments = [0.2, 0.45, 0.7]  # fractions of the burst's calls answered
    report = await lifecycles_under(stack, size, "worker-kill", moments=moments, strike=kill_worker)
    record(report)
    assert not report.bad(), report.render()


async def test_web_sigkill_twice_mid_burst_with_client_retries(
    stack: Stack, size: Size, record: Callable[[Report], None]
) -> None:
    async def kill_web() -> str:
        return await stack.crash(stack.web, downtime=DOWNTIME)

    moments = [0.3, 0.65]
    report = await lifecycles_under(stack, size, "web-kill", moments=moments, strike=kill_web)
    record(report)
    assert not report.bad(), report.render()
