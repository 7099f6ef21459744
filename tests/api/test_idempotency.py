"""Idempotency keys and honest answers under outage (issue 9), over the real app and stack."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlmodel import func, select
from temporalio.testing import WorkflowEnvironment

from core.db import SessionFactory, session_scope
from core.models import CaseRecord
from tests.api.test_cases import CASE
from tests.conftest import BIN, api_client, make_settings, projected, token_for


async def accepted_case(http: httpx.AsyncClient, sessions: SessionFactory) -> str:
    created = await http.post("/api/v1/cases", json=CASE, headers=token_for(sessions, "operator1"))
    ticket = created.json()["ticket"]
    handler = token_for(sessions, "handler_nhl")
    accepted = await http.post(f"/api/v1/cases/{ticket}/actions/accept", json={}, headers=handler)
    assert accepted.status_code == 200, accepted.text
    return str(ticket)


async def test_an_action_sent_twice_with_one_key_acts_once(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    ticket = await accepted_case(http, sessions)
    headers = {**token_for(sessions, "handler_nhl"), "Idempotency-Key": "k1"}
    url, body = f"/api/v1/cases/{ticket}/actions/add_progress", {"note": "清运车已出发"}
    first = await http.post(url, json=body, headers=headers)
    again = await http.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json()  # the first answer, not a second action
    await projected(sessions, f"case-{ticket}", first.json()["last_seq"])
    detail = await http.get(f"/api/v1/cases/{ticket}", headers=headers)
    actions = [e["action"] for e in detail.json()["timeline"]]
    assert actions.count("add_progress") == 1

    other = await http.post(url, json={"note": "另一条进展"}, headers=headers)
    assert other.status_code == 422 and other.json()["field"] == "key", other.text
    fresh = {**headers, "Idempotency-Key": "k2"}
    assert (await http.post(url, json={"note": "另一条进展"}, headers=fresh)).status_code == 200


async def test_concurrent_retries_of_one_extension_move_the_deadline_once(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    ticket = await accepted_case(http, sessions)
    supervisor = {**token_for(sessions, "supervisor1"), "Idempotency-Key": str(uuid.uuid4())}
    before = (await http.get(f"/api/v1/cases/{ticket}", headers=supervisor)).json()["case"]
    url = f"/api/v1/cases/{ticket}/actions/extend_deadline"
    body = {"hours": 2, "reason": "等待配件"}
    answers = await asyncio.gather(
        *(http.post(url, json=body, headers=supervisor) for _ in range(4))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["clock"]["due_at"] for a in answers}) == 1
    after = (await http.get(f"/api/v1/cases/{ticket}", headers=supervisor)).json()["case"]
    assert after["extension_count"] == before["extension_count"] + 1


async def test_a_malformed_key_is_refused(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    headers = {**token_for(sessions, "operator1"), "Idempotency-Key": "no spaces allowed"}
    answer = await http.post("/api/v1/cases", json=CASE, headers=headers)
    assert answer.status_code == 422
    with session_scope(sessions) as session:
        assert session.exec(select(func.count()).select_from(CaseRecord)).one() == 0


async def test_intake_with_one_key_makes_one_case_also_when_sent_at_once(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    headers = {**token_for(sessions, "operator1"), "Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(
        *(http.post("/api/v1/reports", json=CASE, headers=headers) for _ in range(5))
    )
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["ticket"] for a in answers}) == 1
    assert len({a.json()["tracking_token"] for a in answers}) == 1
    case = answers[0].json()["case"]
    await projected(sessions, case["case_id"], case["last_seq"])
    with session_scope(sessions) as session:
        assert session.exec(select(func.count()).select_from(CaseRecord)).one() == 1
    changed = await http.post(
        "/api/v1/reports", json={**CASE, "title": "另一件事"}, headers=headers
    )
    assert changed.status_code == 422 and changed.json()["field"] == "Idempotency-Key"


async def test_repeated_external_ids_answer_with_the_stored_token(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    body = {**CASE, "external_id": f"T-{uuid.uuid4().hex[:8]}"}
    answers = await asyncio.gather(
        *(http.post("/api/v1/reports", json=body, headers=op) for _ in range(5))
    )
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    tokens = {a.json()["tracking_token"] for a in answers}
    assert len(tokens) == 1
    ticket = answers[0].json()["ticket"]
    case = answers[0].json()["case"]
    await projected(sessions, case["case_id"], case["last_seq"])
    tracked = await http.get(f"/track/{ticket}", params={"t": tokens.pop()})
    assert tracked.status_code == 200


async def test_temporal_unreachable_answers_503_with_retry_after(
    db_url: str, sessions: SessionFactory, task_queue: str
) -> None:
    """A Temporal server that went away after the app connected: 503, never 500."""
    server = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"))
    settings = make_settings(db_url, server.client, task_queue)
    async with api_client(settings, server.client) as http:
        await server.shutdown()
        headers = {**token_for(sessions, "handler_nhl"), "Idempotency-Key": "k-503"}
        url = "/api/v1/cases/CL1-000001/actions/accept"
        answer = await http.post(url, json={}, headers=headers)
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0


async def test_intake_whose_routing_does_not_answer_gets_202_with_its_ticket(
    dev_env: WorkflowEnvironment, db_url: str, sessions: SessionFactory, task_queue: str
) -> None:
    """No worker polls the task queue: the case starts, routing cannot answer in time."""
    settings = make_settings(db_url, dev_env.client, task_queue)
    settings = settings.model_copy(update={"intake_wait_seconds": 1.0})
    async with api_client(settings, dev_env.client) as http:
        headers = {**token_for(sessions, "operator1"), "Idempotency-Key": str(uuid.uuid4())}
        answer = await http.post("/api/v1/cases", json=CASE, headers=headers)
        assert answer.status_code == 202, answer.text
        ticket = answer.json()["ticket"]
        again = await http.post("/api/v1/cases", json=CASE, headers=headers)
    assert again.status_code == 202 and again.json()["ticket"] == ticket  # the same case
    description = await dev_env.client.get_workflow_handle(f"case-{ticket}").describe()
    assert description.status is not None and description.status.name == "RUNNING"
    await dev_env.client.get_workflow_handle(f"case-{ticket}").terminate("test over")
