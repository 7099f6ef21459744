"""Temporal server `kill -9` during a burst of one-shot accepts, restarted on the same file.

The cases are opened and projected first. Then every case gets one `accept`, sent once and
never retried, while the server is killed a third of the way through; it is started again on
the same database file. The audit runs twice: once the stack is back (what the workflows
durably recorded must be all the read model shows), and again after the client has retried,
with the same keys, the accepts that got no answer or a 5xx.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

import pytest

from tests.faults.audit import Report, projection_gaps, settle
from tests.faults.client import ApiClient, Retries
from tests.faults.scenario import Size, api_for, audit_batch, strikes, with_faults
from tests.faults.stack import Stack
from tests.faults.workload import ACCEPT, Intent, Progress, act, burst, intents, open_case

pytestmark = [pytest.mark.faults, pytest.mark.asyncio(loop_scope="session")]
NAME = "temporal-kill"
# Seconds the server stays dead: longer than the Temporal client's own retries of an
# unreachable server (about 10 s), so the web app has to answer before it is back.
DOWNTIME = 12.0
ONE_SHOT_TIMEOUT = 30.0  # the one-shot client waits for that answer


async def test_temporal_kill_9_mid_burst_of_one_shot_accepts(
    stack: Stack, size: Size, record: Callable[[Report], None]
) -> None:
    batch = intents(NAME, size.cases, steps=[ACCEPT])
    api, one_shot = api_for(stack), api_for(stack, retries=Retries.none(), timeout=ONE_SHOT_TIMEOUT)
    try:
        await _open_and_project(stack, size, batch)
        struck = await _accept_once_while_killed(stack, size, batch, one_shot)
        label = f"{NAME}: after the restart"
        after_restart = await audit_batch(stack, size, label, NAME, batch, (one_shot,))
        record(with_faults(after_restart, 1, struck))
        await _retry_unanswered(api, batch)
        label = f"{NAME}: after the client's retries"
        after_retries = await audit_batch(stack, size, label, NAME, batch, (one_shot, api))
        record(after_retries)
    finally:
        await api.aclose()
        await one_shot.aclose()
    assert not after_restart.bad(), after_restart.render()
    assert not after_retries.bad(), after_retries.render()


async def _open_and_project(stack: Stack, size: Size, batch: list[Intent]) -> None:
    """Open every case (retrying as needed) and wait until the read model holds them."""
    api = api_for(stack)
    try:
        progress = Progress(len(batch))
        jobs = [functools.partial(open_case, api, intent, progress=progress) for intent in batch]
        await burst(jobs, concurrency=size.concurrency, progress=progress)
    finally:
        await api.aclose()
    assert all(i.ticket for i in batch), "every case must be open before the fault"
    _, before = await settle(stack.temporal_client, stack.db_url, NAME, timeout=size.settle)
    assert projection_gaps(before) == 0, before.render()


async def _accept_once_while_killed(
    stack: Stack, size: Size, batch: list[Intent], one_shot: ApiClient
) -> list[str]:
    async def kill_temporal() -> str:
        return await stack.crash(stack.temporal, downtime=DOWNTIME) + " on the same file"

    progress, struck = Progress(len(batch)), list[str]()
    jobs = [functools.partial(act, one_shot, intent, ACCEPT, progress=progress) for intent in batch]
    fault = strikes(progress, [1 / 3], kill_temporal, struck)
    await burst(jobs, concurrency=size.concurrency, progress=progress, fault=fault)
    return struck


async def _retry_unanswered(api: ApiClient, batch: list[Intent]) -> None:
    """What a client does after a 503 or no answer: send the same accept again, same key."""
    answers = {i.title: i.actions[ACCEPT.action] for i in batch}
    unanswered = [i for i in batch if not (answers[i.title].ok or answers[i.title].refused)]
    await asyncio.gather(*(act(api, i, ACCEPT) for i in unanswered))
