"""A major event through the generic case routes only: POST /cases with case_type, the action
route, GET a case, the registry's list of types (real app, Temporal dev server, DB)."""

from __future__ import annotations

import asyncio

import httpx
from temporalio.testing import WorkflowEnvironment

from core.db import SessionFactory
from tests.conftest import token_for

EVENT = {
    "case_type": "major_event",
    "title": "鼓楼区暴雨内涝",
    "event_type": "natural_disaster",
    "grade": "III",
    "location_unit_id": "gl-nhl",
}


async def listed_in_temporal(env: WorkflowEnvironment, ticket: str) -> list[str]:
    query = f"CaseType='major_event' AND WorkflowId='major-event-{ticket}'"
    for _ in range(100):  # visibility is eventually consistent
        found = [w.id async for w in env.client.list_workflows(query)]
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def test_a_major_event_through_the_generic_routes(
    http: httpx.AsyncClient, sessions: SessionFactory, dev_env: WorkflowEnvironment
) -> None:
    sup, handler = token_for(sessions, "supervisor1"), token_for(sessions, "handler_nhl")
    created = await http.post("/api/v1/cases", json=EVENT, headers=sup)
    assert created.status_code == 201, created.text
    event = created.json()
    ticket = event["ticket"]
    assert ticket.startswith("ME-") and event["phase"] == "received"
    assert await listed_in_temporal(dev_env, ticket) == [f"major-event-{ticket}"]

    act = f"/api/v1/cases/{ticket}/actions"
    assessed = await http.post(f"{act}/assess", json={"note": "雨量超警"}, headers=sup)
    assert assessed.status_code == 200 and assessed.json()["phase"] == "assessed"
    active = await http.post(f"{act}/activate", json={}, headers=sup)
    assert active.json()["phase"] == "responding" and active.json()["lead"]["id"] == "gl"

    refused = await http.post(f"{act}/terminate", json={"note": "x"}, headers=handler)
    assert refused.status_code == 403 and refused.json()["code"] == "role_not_allowed"
    hidden = await http.post(f"{act}/activate", json={}, headers=token_for(sessions, "handler_xwm"))
    assert hidden.status_code == 404
    unknown = await http.post(f"{act}/fly", json={}, headers=sup)
    assert unknown.status_code == 404
    no_reason = await http.post(f"{act}/regrade", json={"grade": "II", "reason": ""}, headers=sup)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    assert no_reason.json()["code"] == "required"
    bad_body = await http.post(f"{act}/regrade", json={"grade": 2}, headers=sup)
    assert bad_body.status_code == 422 and bad_body.json()["errors"][0]["loc"][0] == "body"

    ordered = await http.post(
        f"{act}/order_station", json={"unit_ids": ["gl-dept-water"]}, headers=sup
    )
    assert ordered.status_code == 200, ordered.text
    station = ordered.json()["board"][0]
    signed = await http.post(
        f"{act}/take_step",
        json={"assignment_id": station["assignment_id"], "step": "sign"},
        headers=token_for(sessions, "handler_gl_water"),
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["step"] == "arrive"

    key = {"Idempotency-Key": "report-1", **sup}
    body = {"kind": "first_written", "text": "宁海路多处积水，已调度排涝"}
    first = await http.post(f"{act}/submit_report", json=body, headers=key)
    again = await http.post(f"{act}/submit_report", json=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert first.json()["last_seq"] == again.json()["last_seq"]

    detail = await http.get(f"/api/v1/cases/{ticket}", headers=sup)
    assert detail.status_code == 200 and detail.json()["case_type"] == "major_event"
    actions = [e["action"] for e in detail.json()["timeline"] if e["action"] != "progress_due"]
    assert actions[:4] == ["receive", "assess", "activate", "order_station"]
    assert actions.count("submit_report") == 1


async def test_linking_city_events_by_filter(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    sup, op = token_for(sessions, "supervisor1"), token_for(sessions, "operator1")
    water = {"title": "宁海路积水", "category": "waterlogging", "location_unit_id": "gl-nhl-c1-g2"}
    case = (
        await http.post("/api/v1/cases", json={**water, "duplicates": "new"}, headers=op)
    ).json()
    ticket = (await http.post("/api/v1/cases", json=EVENT, headers=sup)).json()["ticket"]
    for _ in range(100):  # the filter reads the read model
        linked = await http.post(
            f"/api/v1/cases/{ticket}/actions/link_cases",
            json={"category": "waterlogging", "area": "gl"},
            headers=sup,
        )
        if linked.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert linked.status_code == 200, linked.text
    assert linked.json()["linked"] == [case["ticket"]]


async def test_intake_offers_the_types_a_user_may_start(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    mine = await http.get("/api/v1/case-types", headers=token_for(sessions, "supervisor1"))
    theirs = await http.get("/api/v1/case-types", headers=token_for(sessions, "handler_nhl"))
    startable = {t["name"]: t["startable"] for t in mine.json()}
    assert startable == {"city_event": True, "whistle": False, "major_event": True}
    assert {t["name"]: t["startable"] for t in theirs.json()}["major_event"] is False
    actions = next(t for t in mine.json() if t["name"] == "major_event")["actions"]
    assert {"name": "regrade", "label": "调整级别"}.items() <= actions[6].items()
    refused = await http.post(
        "/api/v1/cases", json=EVENT, headers=token_for(sessions, "handler_nhl")
    )
    assert refused.status_code == 403


async def test_a_retried_start_with_the_same_key_finds_the_first_event(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    headers = {"Idempotency-Key": "storm-1", **token_for(sessions, "supervisor1")}
    first = await http.post("/api/v1/cases", json=EVENT, headers=headers)
    again = await http.post("/api/v1/cases", json=EVENT, headers=headers)
    other = await http.post("/api/v1/cases", json={**EVENT, "grade": "II"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["ticket"] == again.json()["ticket"]
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
