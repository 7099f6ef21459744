"""A supervisor resets a case to an earlier decision point: the steps after it are undone in
the workflow, kept on the stored timeline, and a `reset` event says who, when and why."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from core.db import SessionFactory, session_scope
from core.models import CaseEventRecord
from tests.conftest import projected, token_for
from tests.web.support import eventually

CASE = {
    "title": "湖南路暴露垃圾",
    "category": "exposed_garbage",
    "location_unit_id": "gl-nhl-c1-g2",
}


async def _accepted_case(http: httpx.AsyncClient, sessions: SessionFactory) -> dict:
    op, handler = token_for(sessions, "operator1"), token_for(sessions, "handler_nhl")
    case = (await http.post("/api/v1/cases", json=CASE, headers=op)).json()
    url = f"/api/v1/cases/{case['ticket']}/actions"
    accepted = await http.post(f"{url}/accept", json={}, headers=handler)
    assert accepted.status_code == 200 and accepted.json()["status"] == "ACCEPTED"
    await projected(sessions, case["case_id"], accepted.json()["last_seq"])
    return accepted.json()


async def _until_reset(http: httpx.AsyncClient, ticket: str, headers: dict) -> dict:
    async def detail() -> dict:
        return (await http.get(f"/api/v1/cases/{ticket}", headers=headers)).json()

    # the new run takes the post-reset signal on its next task
    return await eventually(
        detail, lambda d: d["timeline"][-1]["action"] == "reset", f"case {ticket} records its reset"
    )


async def test_a_supervisor_resets_a_case_to_before_an_action(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    case = await _accepted_case(http, sessions)
    ticket, supervisor = case["ticket"], token_for(sessions, "supervisor_gl")
    points = await http.get(f"/api/v1/cases/{ticket}/decision-points", headers=supervisor)
    assert points.status_code == 200
    before_accept = next(p for p in points.json() if "update:accept" in p["undoes"])

    body = {"event_id": before_accept["event_id"], "reason": "误签收，退回派遣状态"}
    done = await http.post(f"/api/v1/cases/{ticket}/reset", json=body, headers=supervisor)
    assert done.status_code == 200, done.text
    detail = await _until_reset(http, ticket, supervisor)
    assert detail["case"]["status"] == "DISPATCHED"  # the accept is undone in the workflow
    reset = detail["timeline"][-1]
    assert reset["actor_username"] == "supervisor_gl" and reset["reason"] == "误签收，退回派遣状态"
    assert reset["payload"]["event_id"] == before_accept["event_id"]
    assert reset["seq"] == case["last_seq"] + 1  # after every event the timeline had

    # The stored timeline keeps the undone accept, then the reset (article 21).
    await projected(sessions, case["case_id"], reset["seq"])
    with session_scope(sessions) as session:
        query = select(CaseEventRecord).where(CaseEventRecord.case_id == case["case_id"])
        stored = session.exec(query.order_by(col(CaseEventRecord.seq))).all()
        assert [e.action for e in stored][-2:] == ["accept", "reset"]


async def test_only_a_supervisor_over_the_area_resets_and_a_reason_is_needed(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    ticket = (await _accepted_case(http, sessions))["ticket"]
    handler, other = token_for(sessions, "handler_nhl"), token_for(sessions, "supervisor_xw")
    refused = await http.get(f"/api/v1/cases/{ticket}/decision-points", headers=handler)
    assert refused.status_code == 403 and refused.json()["code"] == "reset_role"
    elsewhere = await http.get(f"/api/v1/cases/{ticket}/decision-points", headers=other)
    assert elsewhere.status_code in (403, 404)  # another district's supervisor
    supervisor = token_for(sessions, "supervisor_gl")
    url = f"/api/v1/cases/{ticket}/reset"
    blank = await http.post(url, json={"event_id": 3, "reason": "  "}, headers=supervisor)
    assert blank.status_code == 422 and blank.json()["code"] == "required"
    nowhere = await http.post(url, json={"event_id": 1, "reason": "试试"}, headers=supervisor)
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "not_decision_point"
