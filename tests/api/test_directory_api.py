"""The directory's JSON API over the real app, a real worker and Temporal dev server: edits,
allocation to a real case, the conflict naming the case, and release when the case moves on."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from core.db import SessionFactory
from tests.conftest import projected, token_for
from tests.web.support import eventually

CASE = {
    "title": "宁海路暴露垃圾",
    "category": "exposed_garbage",
    "location_unit_id": "gl-nhl-c1-g2",
    "address": "宁海路12号",
}


async def accepted_case(http: httpx.AsyncClient, sessions: SessionFactory) -> dict[str, Any]:
    """A real case at 宁海路, accepted by the street's handler, as the read model has it."""
    created = await http.post("/api/v1/cases", json=CASE, headers=token_for(sessions, "operator1"))
    assert created.status_code == 201, created.text
    ticket = created.json()["ticket"]
    handler = token_for(sessions, "handler_nhl")
    accepted = await http.post(f"/api/v1/cases/{ticket}/actions/accept", json={}, headers=handler)
    assert accepted.status_code == 200, accepted.text
    state: dict[str, Any] = accepted.json()
    await projected(sessions, state["case_id"], state["last_seq"])
    return state


async def equipment(
    http: httpx.AsyncClient, headers: dict[str, str], serial: str
) -> dict[str, Any]:
    listed = await http.get("/api/v1/directory/equipment", params={"unit": "gl"}, headers=headers)
    assert listed.status_code == 200
    [found] = [e for e in listed.json() if e["serial"] == serial]
    return found


async def eventually_available(
    http: httpx.AsyncClient, headers: dict[str, str], serial: str
) -> dict[str, Any]:
    """The projection releases asynchronously: poll until it has."""
    return await eventually(
        lambda: equipment(http, headers, serial),
        lambda found: found["status"] == "available",
        f"{serial} released",
    )


async def test_allocate_conflict_and_release_when_the_case_moves_on(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    handler = token_for(sessions, "handler_nhl")
    first, second = await accepted_case(http, sessions), await accepted_case(http, sessions)
    van = await equipment(http, handler, "苏A·N5002")
    assert (van["status"], van["unit_id"]) == ("available", "gl-nhl")

    url = f"/api/v1/cases/{first['ticket']}/allocations"
    made = await http.post(url, json={"equipment_id": van["id"], "reason": "清运"}, headers=handler)
    assert made.status_code == 201, made.text
    [allocation] = made.json()
    assert (allocation["resource"], allocation["allocated_by"]) == (
        "小型保洁车 苏A·N5002",
        "handler_nhl",
    )
    held = await equipment(http, handler, "苏A·N5002")
    assert (held["status"], held["allocated_ticket"]) == ("allocated", first["ticket"])

    # The case's timeline shows the allocation (the projection of the signal is asynchronous).
    for _ in range(200):
        detail = (await http.get(f"/api/v1/cases/{first['ticket']}", headers=handler)).json()
        events = [e for e in detail["timeline"] if e["action"] == "allocate"]
        if events:
            break
        await asyncio.sleep(0.05)
    assert events[0]["payload"] == {"resource": "小型保洁车 苏A·N5002"}
    assert (events[0]["actor_username"], events[0]["reason"]) == ("handler_nhl", "清运")

    again = await http.post(
        f"/api/v1/cases/{second['ticket']}/allocations",
        json={"equipment_id": van["id"], "reason": "也要"},
        headers=handler,
    )
    assert again.status_code == 409
    assert again.json() == {
        "detail": f"equipment 苏A·N5002 is allocated to case {first['ticket']}",
        "field": "equipment_id",
        "code": "equipment_busy",
        "params": {"serial": "苏A·N5002", "ticket": first["ticket"]},
    }

    feedback = await http.post(
        f"/api/v1/cases/{first['ticket']}/actions/submit_feedback",
        json={"note": "已清运完毕"},
        headers=handler,
    )
    assert feedback.status_code == 200 and feedback.json()["status"] == "VERIFYING"
    assert (await eventually_available(http, handler, "苏A·N5002"))["allocated_ticket"] == ""
    [released] = (await http.get(url, headers=handler)).json()
    assert (released["released_by"], released["release_reason"]) == (
        "system",
        "case left handling (VERIFYING)",
    )
    late = await http.post(url, json={"equipment_id": van["id"], "reason": "x"}, headers=handler)
    assert late.status_code == 409 and "not in handling" in late.json()["detail"]

    now = await http.post(
        f"/api/v1/cases/{second['ticket']}/allocations",
        json={"equipment_id": van["id"], "reason": "也要"},
        headers=handler,
    )
    assert now.status_code == 201


async def test_release_early_and_who_may_allocate(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    case = await accepted_case(http, sessions)
    url = f"/api/v1/cases/{case['ticket']}/allocations"
    dispatcher = token_for(sessions, "dispatcher_gl")
    teams = await http.get("/api/v1/directory/teams", params={"unit": "gl-dept-water"})
    assert teams.status_code == 401
    listed = await http.get(
        "/api/v1/directory/teams", params={"unit": "gl-dept-water"}, headers=dispatcher
    )
    team = next(t for t in listed.json() if t["name"] == "排水抢险一队")
    assert len(team["people"]) == 3 and team["busy_ticket"] == ""

    other_street = token_for(sessions, "handler_hq")
    body = {"team_id": team["id"], "reason": "抽排积水"}
    refused = await http.post(url, json=body, headers=other_street)
    assert refused.status_code == 404  # another street may not see the case
    missing = await http.post(url, json={"team_id": team["id"]}, headers=dispatcher)
    assert missing.status_code == 422 and missing.json()["field"] == "reason"

    [made] = (await http.post(url, json=body, headers=dispatcher)).json()
    busy = await http.get("/api/v1/directory/busy", params={"unit": "gl"}, headers=dispatcher)
    assert [a["ticket"] for a in busy.json()] == [case["ticket"]]
    release_url = f"/api/v1/allocations/{made['id']}/release"
    released = await http.post(release_url, json={"reason": "已抽排"}, headers=dispatcher)
    assert released.status_code == 200
    assert (released.json()["released_by"], released.json()["release_reason"]) == (
        "dispatcher_gl",
        "已抽排",
    )
    twice = await http.post(release_url, json={"reason": "again"}, headers=dispatcher)
    assert twice.status_code == 409
    assert (await http.get("/api/v1/directory/busy", headers=dispatcher)).json() == []


async def test_directory_edits_over_the_api(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    water = token_for(sessions, "handler_gl_water")
    pump = {"unit_id": "gl-dept-water", "type": "移动泵", "name": "排涝泵", "serial": "sb-77"}
    made = await http.post("/api/v1/directory/equipment", json=pump, headers=water)
    assert made.status_code == 201 and made.json()["serial"] == "SB-77"
    duplicate = await http.post("/api/v1/directory/equipment", json=pump, headers=water)
    assert duplicate.status_code == 409
    assert duplicate.json() == {
        "detail": "serial SB-77 is taken by another piece of equipment",
        "field": "serial",
        "code": "serial_taken",
        "params": {"serial": "SB-77"},
    }
    unknown = await http.post(
        "/api/v1/directory/equipment", json={**pump, "unit_id": "x", "serial": "A1"}, headers=water
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "unit_id"

    url = f"/api/v1/directory/equipment/{made.json()['id']}"
    repair = await http.patch(url, json={"status": "repair"}, headers=water)
    assert repair.status_code == 200 and repair.json()["status"] == "repair"
    bad = await http.patch(url, json={"status": "allocated"}, headers=water)
    assert bad.status_code == 422 and bad.json()["field"] == "status"

    team = await http.post(
        "/api/v1/directory/teams", json={"unit_id": "gl-dept-water", "name": "夜班"}, headers=water
    )
    assert team.status_code == 201
    person = await http.post(
        "/api/v1/directory/people",
        json={"unit_id": "gl-dept-water", "team_id": team.json()["id"], "name": "钱多"},
        headers=water,
    )
    assert person.status_code == 201
    moved = await http.patch(
        f"/api/v1/directory/people/{person.json()['id']}", json={"team_id": None}, headers=water
    )
    assert moved.json()["team_id"] is None
    renamed = await http.patch(
        f"/api/v1/directory/teams/{team.json()['id']}", json={"name": ""}, headers=water
    )
    assert renamed.status_code == 422 and renamed.json()["field"] == "name"
