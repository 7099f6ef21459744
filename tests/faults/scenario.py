"""The shape every experiment shares: drive cases through the API while a fault strikes at set
moments of the burst, restore what the fault broke, then audit."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.faults.audit import Report, audit
from tests.faults.client import ApiClient, Retries
from tests.faults.stack import Stack, mint_tokens
from tests.faults.workload import USERS, Intent, Progress, burst, drive, intents, planned_calls

# A real client waits this long for an answer. Intake itself waits up to 15 s for routing
# (core.cases.INTAKE_WAIT), so a stalled worker makes calls time out and be retried.
CLIENT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Size:
    """How big an experiment is: CI's by default, the issue's ≈200 cases with the flag."""

    cases: int  # cases opened per experiment
    concurrency: int  # cases driven at once
    outage: float  # seconds a read-model outage lasts
    settle: float  # seconds the projection gets to catch up after the fault


CI_SIZE = Size(cases=28, concurrency=8, outage=12.0, settle=150.0)
FULL_SIZE = Size(cases=200, concurrency=20, outage=20.0, settle=420.0)


Strike = Callable[[], Awaitable[str]]  # does the damage, restores the stack, names what it did


def api_for(
    stack: Stack, *, retries: Retries | None = None, timeout: float = CLIENT_TIMEOUT
) -> ApiClient:
    """A client of the stack's web app holding a fresh token for each demo user it needs."""
    tokens = mint_tokens(stack.db_url, USERS)
    return ApiClient(stack.base_url, tokens, timeout=timeout, retries=retries or Retries())


async def strikes(
    progress: Progress, moments: list[float], strike: Strike, struck: list[str]
) -> None:
    """Strike once each time `progress` passes one of `moments` (fractions of the calls)."""
    for moment in moments:
        if not await progress.reached(moment):
            return
        done = progress.done
        struck.append(f"{await strike()} after {done}/{progress.total} calls")


async def lifecycles_under(
    stack: Stack, size: Size, name: str, *, moments: list[float], strike: Strike
) -> Report:
    """Drive `size.cases` cases through the loop with a retrying client while `strike` hits
    at each of `moments`; then settle and audit."""
    batch = intents(name, size.cases)
    api = api_for(stack)
    progress = Progress(planned_calls(batch))
    struck: list[str] = []
    try:
        jobs = [functools.partial(drive, api, intent, progress) for intent in batch]
        fault = strikes(progress, moments, strike, struck)
        await burst(jobs, concurrency=size.concurrency, progress=progress, fault=fault)
        report = await audit_batch(stack, size, name, name, batch, (api,))
    finally:
        await api.aclose()
    return with_faults(report, len(moments), struck)


async def audit_batch(
    stack: Stack,
    size: Size,
    label: str,
    prefix: str,
    batch: list[Intent],
    clients: tuple[ApiClient, ...],
) -> Report:
    report = await audit(
        label,
        prefix,
        stack.temporal_client,
        stack.db_url,
        batch,
        clients=clients,
        settle_timeout=size.settle,
    )
    for client in clients:
        outcomes = ", ".join(f"{k}×{n}" for k, n in sorted(client.statuses.items()))
        report.notes.append(f"attempts by outcome: {outcomes or 'none'}")
    return report


def with_faults(report: Report, planned: int, struck: list[str]) -> Report:
    report.faults_planned, report.faults_struck = planned, len(struck)
    report.notes += struck
    return report
