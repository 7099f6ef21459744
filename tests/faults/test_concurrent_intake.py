"""Twenty identical intakes at once: a double click, a retry storm, a bus delivering twice.

With an external id or an Idempotency-Key the twenty are one submission: exactly one case,
and every answer names it. Without either the server cannot tell them from twenty callers
reporting the same thing: twenty cases, each answered with its own ticket, none lost.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.faults.audit import Report
from tests.faults.client import Answer, Retries
from tests.faults.scenario import Size, api_for, audit_batch
from tests.faults.stack import Stack, running, sqlite_read_model
from tests.faults.workload import CASE_BODY, Intent

pytestmark = [pytest.mark.faults, pytest.mark.asyncio(loop_scope="session")]
TWENTY = 20
# Twenty intakes queue behind each other on a loaded host: the client is patient, so that
# without a key no retry of its own opens a case (that would be the client's doing).
PATIENT = 60.0


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def intake_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    """One stack for the four variants; each audits only the cases titled after it."""
    tmp: Path = tmp_path_factory.mktemp("intake")
    failures = request.session.testsfailed
    failed = lambda: request.session.testsfailed > failures  # noqa: E731
    async with running(tmp, sqlite_read_model(tmp), failed) as stack:
        yield stack


async def twenty_at_once(
    stack: Stack,
    size: Size,
    path: str,
    body: Mapping[str, object],
    *,
    key: str = "",
    retries: Retries | None = None,
    meant: int = 1,
) -> tuple[list[Answer], Report]:
    """Send `body` twenty times at once, then audit it as `meant` intended cases."""
    api = api_for(stack, retries=retries, timeout=PATIENT)
    name = str(body["title"])
    try:
        calls = [api.post(path, dict(body), "operator1", key=key) for _ in range(TWENTY)]
        answers = list(await asyncio.gather(*calls))
        ok = [a for a in answers if a.ok] or answers
        batch = [Intent(name, [], intake=a) for a in (answers if meant > 1 else ok[:1])]
        report = await audit_batch(stack, size, name, name, batch, (api,))
    finally:
        await api.aclose()
    return answers, report


def external_id() -> str:
    return f"HX-{uuid.uuid4().hex[:12]}"


def tickets(answers: list[Answer]) -> list[str]:
    return [str(a.body.get("ticket", "")) if isinstance(a.body, dict) else "" for a in answers]


def statuses(answers: list[Answer]) -> list[int]:
    return [a.status for a in answers]


def assert_one_case(answers: list[Answer], report: Report) -> None:
    """Twenty answers for one submission: one case, every answer a success naming it."""
    assert not report.bad(), report.render()
    assert report.workflows == 1
    assert all(a.ok for a in answers), statuses(answers)
    assert len(set(tickets(answers))) == 1, tickets(answers)


@pytest.mark.parametrize("by", ["external_id", "idempotency_key"])
async def test_one_submission_sent_twenty_times_is_one_case(
    intake_stack: Stack, size: Size, record: Callable[[Report], None], by: str
) -> None:
    body = {**CASE_BODY, "title": f"intake-{by}"}
    key = uuid.uuid4().hex if by == "idempotency_key" else ""
    if by == "external_id":
        body["external_id"] = external_id()
    answers, report = await twenty_at_once(intake_stack, size, "/api/v1/cases", body, key=key)
    record(report)
    assert_one_case(answers, report)


async def test_one_external_id_reported_twenty_times_gives_one_tracking_link(
    intake_stack: Stack, size: Size, record: Callable[[Report], None]
) -> None:
    body = {**CASE_BODY, "title": "intake-report", "external_id": external_id()}
    answers, report = await twenty_at_once(intake_stack, size, "/api/v1/reports", body)
    record(report)
    assert_one_case(answers, report)
    tracked = await track_statuses(intake_stack, answers)
    opened = tracked.count(200)
    assert opened == TWENTY, f"{opened} of {TWENTY} answers carry a token /track accepts: {tracked}"


async def track_statuses(stack: Stack, answers: list[Answer]) -> list[int]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=PATIENT) as http:
        pages = [
            http.get(f"/track/{a.body['ticket']}", params={"t": a.body["tracking_token"]})
            for a in answers
        ]
        return [r.status_code for r in await asyncio.gather(*pages)]


async def test_twenty_without_key_are_twenty_cases(
    intake_stack: Stack, size: Size, record: Callable[[Report], None]
) -> None:
    """Nothing tells these apart from twenty callers: each is a case, none is lost or doubled.
    Sent once each (a retry without a key is a new submission, the client's doing)."""
    body = {**CASE_BODY, "title": "intake-no-key"}
    answers, report = await twenty_at_once(
        intake_stack, size, "/api/v1/cases", body, retries=Retries.none(), meant=TWENTY
    )
    record(report)
    assert not report.bad(), report.render()
    assert all(a.ok for a in answers), statuses(answers)
    assert len(set(tickets(answers))) == TWENTY
    assert report.workflows == TWENTY
