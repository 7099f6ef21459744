"""The JSON API over the real app, a real Temporal dev server and SQLite / PostgreSQL."""

from __future__ import annotations

import uuid

import httpx

from core.db import SessionFactory
from tests.conftest import projected, token_for

CASE = {
    "title": "湖南路暴露垃圾",
    "category": "exposed_garbage",
    "location_unit_id": "gl-nhl-c1-g2",
    "address": "湖南路12号",
}


async def test_intake_list_get_and_act(http: httpx.AsyncClient, sessions: SessionFactory) -> None:
    op, handler = token_for(sessions, "operator1"), token_for(sessions, "handler_nhl")
    created = await http.post("/api/v1/cases", json=CASE, headers=op)
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["status"] == "DISPATCHED" and case["assigned_unit"]["id"] == "gl-nhl"
    ticket = case["ticket"]

    accepted = await http.post(f"/api/v1/cases/{ticket}/actions/accept", json={}, headers=handler)
    assert accepted.status_code == 200 and accepted.json()["status"] == "ACCEPTED"
    await projected(sessions, case["case_id"], accepted.json()["last_seq"])

    listed = await http.get(
        "/api/v1/cases", params={"unit": "gl-nhl", "status": "ACCEPTED"}, headers=handler
    )
    assert listed.status_code == 200
    assert [c["ticket"] for c in listed.json()["items"]] == [ticket]
    none = await http.get("/api/v1/cases", params={"district": "xw"}, headers=handler)
    assert none.json()["total"] == 0

    detail = await http.get(f"/api/v1/cases/{ticket}", headers=handler)
    assert detail.status_code == 200
    timeline = detail.json()["timeline"]
    assert [e["action"] for e in timeline] == ["receive", "register", "dispatch", "accept"]
    assert timeline[-1]["actor_username"] == "handler_nhl"


async def test_list_pagination(http: httpx.AsyncClient, sessions: SessionFactory) -> None:
    op = token_for(sessions, "operator1")
    states = [(await http.post("/api/v1/cases", json=CASE, headers=op)).json() for _ in range(3)]
    for s in states:
        await projected(sessions, s["case_id"], s["last_seq"])
    page = await http.get("/api/v1/cases", params={"size": 2, "page": 2}, headers=op)
    body = page.json()
    assert (body["total"], body["page"], len(body["items"])) == (3, 2, 1)


async def test_errors(http: httpx.AsyncClient, sessions: SessionFactory) -> None:
    op, other = token_for(sessions, "operator1"), token_for(sessions, "handler_hq")
    assert (await http.get("/api/v1/cases")).status_code == 401
    assert (
        await http.get("/api/v1/cases", headers={"Authorization": "Bearer nope"})
    ).status_code == 401

    missing = await http.post("/api/v1/cases", json={**CASE, "title": ""}, headers=op)
    assert missing.status_code == 422 and missing.json()["field"] == "title"
    assert missing.json()["errors"][0]["loc"] == ["body", "title"]
    unknown = await http.post("/api/v1/cases", json={**CASE, "category": "ufo"}, headers=op)
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == "unknown category 'ufo'"
    assert unknown.json()["field"] == "category"
    nowhere = await http.post(
        "/api/v1/cases", json={**CASE, "location_unit_id": "gl-dept-water"}, headers=op
    )
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "location_unit_id"
    by_handler = await http.post("/api/v1/cases", json=CASE, headers=other)
    assert by_handler.status_code == 403

    ticket = (await http.post("/api/v1/cases", json=CASE, headers=op)).json()["ticket"]
    wrong_unit = await http.post(f"/api/v1/cases/{ticket}/actions/accept", json={}, headers=other)
    # Another street of the district may not see the case: it does not exist for it.
    assert wrong_unit.status_code == 404 and "no case" in wrong_unit.json()["detail"]
    by_verifier = await http.post(
        f"/api/v1/cases/{ticket}/actions/accept",
        json={},
        headers=token_for(sessions, "verifier_gl"),
    )
    assert by_verifier.status_code == 403 and "requires role" in by_verifier.json()["detail"]
    handler = token_for(sessions, "handler_nhl")
    too_early = await http.post(
        f"/api/v1/cases/{ticket}/actions/submit_feedback", json={"note": "x"}, headers=handler
    )
    assert too_early.status_code == 409
    assert too_early.json()["detail"] == "cannot submit_feedback a case in status DISPATCHED"
    no_reason = await http.post(
        f"/api/v1/cases/{ticket}/actions/return_case", json={}, headers=handler
    )
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    bad_action = await http.post(
        f"/api/v1/cases/{ticket}/actions/explode", json={}, headers=handler
    )
    assert bad_action.status_code == 422  # not one of the actions in the OpenAPI enum
    unknown_ticket = await http.post(
        "/api/v1/cases/CL19990101-000001/actions/accept", json={}, headers=handler
    )
    assert unknown_ticket.status_code == 404
    assert (await http.get("/api/v1/cases/CL19990101-000001", headers=handler)).status_code == 404


async def test_same_external_id_twice_is_one_case(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    body = {**CASE, "external_id": f"HX-{uuid.uuid4().hex[:12]}"}  # the Temporal server is shared
    first = await http.post("/api/v1/cases", json=body, headers=op)
    second = await http.post("/api/v1/cases", json=body, headers=op)
    assert first.status_code == second.status_code == 201
    assert first.json()["case_id"] == second.json()["case_id"]
    await projected(sessions, first.json()["case_id"], first.json()["last_seq"])
    listed = await http.get("/api/v1/cases", headers=op)
    assert listed.json()["total"] == 1


async def test_openapi_lists_the_routes(http: httpx.AsyncClient) -> None:
    response = await http.get("/openapi.json", headers={"x-request-id": "req-42"})
    assert response.headers["x-request-id"] == "req-42"  # bound in the logs, echoed back
    assert len((await http.get("/openapi.json")).headers["x-request-id"]) == 16
    spec = response.json()
    assert {
        "/api/v1/cases",
        "/api/v1/cases/{ticket}",
        "/api/v1/cases/{ticket}/actions/{action}",
    } <= set(spec["paths"])


async def test_a_stale_expected_version_is_refused_with_409_stale(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op, handler = token_for(sessions, "operator1"), token_for(sessions, "handler_nhl")
    case = (await http.post("/api/v1/cases", json=CASE, headers=op)).json()
    ticket, seen = case["ticket"], case["last_seq"]
    url = f"/api/v1/cases/{ticket}/actions"

    stale = await http.post(f"{url}/accept", json={"expected_version": seen - 1}, headers=handler)
    assert stale.status_code == 409, stale.text
    body = stale.json()
    assert body["code"] == "stale" and body["field"] == "expected_version"

    accepted = await http.post(f"{url}/accept", json={"expected_version": seen}, headers=handler)
    assert accepted.status_code == 200 and accepted.json()["last_seq"] == seen + 1
    # The page that showed `seen` is stale now: its progress note acts on nothing.
    again = {"note": "已到场", "expected_version": seen}
    refused = await http.post(f"{url}/add_progress", json=again, headers=handler)
    assert refused.status_code == 409 and refused.json()["code"] == "stale"
    detail = (await http.get(f"/api/v1/cases/{ticket}", headers=handler)).json()
    assert [e["action"] for e in detail["timeline"]][-1] == "accept"
    # Without a version the action is taken on whatever the case is now, as before.
    free = await http.post(f"{url}/add_progress", json={"note": "已到场"}, headers=handler)
    assert free.status_code == 200 and free.json()["status"] == "HANDLING"
