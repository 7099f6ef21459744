"""Supervisor overrides, the inbox and bulk overrides over the JSON API (real server and DB)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlmodel import col, select

from core.db import SessionFactory, session_scope
from core.models import CaseEventRecord
from tests.conftest import projected, token_for

GULOU = {"title": "暴露垃圾", "category": "exposed_garbage", "location_unit_id": "gl-nhl-c1-g1"}
XUANWU = {"title": "暴露垃圾", "category": "exposed_garbage", "location_unit_id": "xw-xwm-c1-g1"}


async def new_case(
    http: httpx.AsyncClient, sessions: SessionFactory, body: dict[str, Any]
) -> dict[str, Any]:
    created = await http.post("/api/v1/cases", json=body, headers=token_for(sessions, "operator1"))
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def act(
    http: httpx.AsyncClient, headers: dict[str, str], ticket: str, action: str, **body: Any
) -> httpx.Response:
    return await http.post(f"/api/v1/cases/{ticket}/actions/{action}", json=body, headers=headers)


async def test_each_override_records_who_and_why(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    sup = token_for(sessions, "supervisor_gl")
    case = await new_case(http, sessions, GULOU)
    t = case["ticket"]

    moved = await act(http, sup, t, "reassign", unit_id="gl-dept-urban", reason="属城管执法范围")
    assert moved.status_code == 200, moved.text
    moved_case = moved.json()
    assert moved_case["assigned_unit"]["id"] == "gl-dept-urban"
    assert [u["id"] for u in moved_case["escalation_chain"]] == ["gl", "nj"]
    recat = (
        await act(http, sup, t, "change_category", category="illegal_building", reason="实为违建")
    ).json()
    assert recat["category"] == "illegal_building" and recat["category_name"] == "违法建设"
    assert recat["clock"]["due_at"] == moved_case["clock"]["due_at"]  # 签收 limit is the same
    pri = (await act(http, sup, t, "change_priority", priority="urgent", reason="媒体关注")).json()
    assert pri["priority"] == "urgent"
    ext = await act(http, sup, t, "extend_deadline", hours=9, reason="节前人手不足")
    assert ext.status_code == 200 and ext.json()["extension_count"] == 1
    closed = (
        await act(http, sup, t, "force_close", note="已由城管当场处理", reason="现场已解决")
    ).json()
    assert closed["status"] == "CLOSED"
    reopened = (await act(http, sup, t, "reopen", reason="市民反映未解决")).json()
    assert reopened["status"] == "REWORK"
    voided = (await act(http, sup, t, "void_invalid", reason="重复工单")).json()
    assert voided["status"] == "VOIDED"

    await projected(sessions, case["case_id"], voided["last_seq"])
    with session_scope(sessions) as session:
        events = session.exec(
            select(CaseEventRecord)
            .where(CaseEventRecord.case_id == case["case_id"])
            .order_by(col(CaseEventRecord.seq))
        ).all()
    overrides = [e for e in events if e.actor_username == "supervisor_gl"]
    assert [e.action for e in overrides] == [
        "reassign",
        "change_category",
        "change_priority",
        "extend_deadline",
        "force_close",
        "reopen",
        "void_invalid",
    ]
    assert all(e.reason for e in overrides)


async def test_override_refusals_record_nothing(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    case = await new_case(http, sessions, GULOU)
    t, seq = case["ticket"], case["last_seq"]
    sup, foreign = token_for(sessions, "supervisor_gl"), token_for(sessions, "supervisor_xw")
    handler = token_for(sessions, "handler_nhl")
    refusals = [
        (foreign, "extend_deadline", {"hours": 4, "reason": "x"}, 404),  # may not see it
        (handler, "extend_deadline", {"hours": 4, "reason": "x"}, 403),
        (sup, "extend_deadline", {"hours": 4}, 422),
        (sup, "extend_deadline", {"hours": 541, "reason": "x"}, 422),
        (sup, "extend_deadline", {"hours": -1, "reason": "x"}, 422),
        (sup, "reassign", {"unit_id": "nowhere", "reason": "x"}, 422),
        (sup, "change_category", {"category": "ufo", "reason": "x"}, 422),
        (sup, "change_priority", {"priority": "whenever", "reason": "x"}, 422),
        (sup, "de_escalate", {"reason": "x"}, 409),
        (sup, "reopen", {"reason": "x"}, 409),
    ]
    for headers, action, body, status in refusals:
        response = await act(http, headers, t, action, **body)
        assert response.status_code == status, (action, body, response.text)
    late = await act(http, handler, t, "accept")
    assert late.json()["last_seq"] == seq + 1  # only the accept was recorded


async def test_inbox_shows_what_is_addressed_to_a_unit(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    case = await new_case(http, sessions, GULOU)
    sup, urban = token_for(sessions, "supervisor_gl"), token_for(sessions, "handler_gl_urban")
    moved = (
        await act(http, sup, case["ticket"], "reassign", unit_id="gl-dept-urban", reason="属城管")
    ).json()
    await projected(sessions, case["case_id"], moved["last_seq"])
    items = (await http.get("/api/v1/inbox", params={"unread": True}, headers=urban)).json()
    mine = [i for i in items if i["ticket"] == case["ticket"]]
    assert [i["kind"] for i in mine] == ["reassign"] and mine[0]["reason"] == "属城管"
    read = await http.post(f"/api/v1/inbox/{mine[0]['id']}/read", headers=urban)
    assert read.status_code == 200 and read.json()["read_by"] == "handler_gl_urban"
    unread = (await http.get("/api/v1/inbox", params={"unread": True}, headers=urban)).json()
    assert mine[0]["id"] not in [i["id"] for i in unread]
    other = token_for(sessions, "handler_hq")
    assert (
        await http.post(f"/api/v1/inbox/{mine[0]['id']}/read", headers=other)
    ).status_code == 404


async def test_bulk_extension_touches_exactly_the_matching_open_cases(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    sup = token_for(sessions, "supervisor_gl")
    gulou = [await new_case(http, sessions, GULOU) for _ in range(4)]
    xuanwu = await new_case(http, sessions, XUANWU)
    archived = gulou.pop()
    handler, verifier = token_for(sessions, "handler_nhl"), token_for(sessions, "verifier_gl")
    await act(http, handler, archived["ticket"], "accept")
    await act(http, handler, archived["ticket"], "submit_feedback", note="完成")
    await act(http, verifier, archived["ticket"], "verify", passed=True)
    done = (
        await act(
            http,
            token_for(sessions, "operator1"),
            archived["ticket"],
            "record_callback",
            rating="satisfied",
        )
    ).json()
    for c in [*gulou, xuanwu]:
        await projected(sessions, c["case_id"], c["last_seq"])
    await projected(sessions, done["case_id"], done["last_seq"])

    filters = {"district": "gl", "category": "exposed_garbage"}
    preview = (await http.post("/api/v1/overrides/preview", json=filters, headers=sup)).json()
    assert preview["count"] == 3
    body = {"filters": filters, "action": "extend_deadline", "body": {"hours": 8, "reason": "暴雨"}}
    stale = await http.post("/api/v1/overrides", json={**body, "expected": 5}, headers=sup)
    assert stale.status_code == 409
    not_sup = await http.post(
        "/api/v1/overrides",
        json={**body, "expected": 3},
        headers=token_for(sessions, "dispatcher_gl"),
    )
    assert not_sup.status_code == 403
    started = await http.post("/api/v1/overrides", json={**body, "expected": 3}, headers=sup)
    assert started.status_code == 202, started.text
    bulk_id = started.json()["id"]
    for _ in range(100):
        progress = (await http.get(f"/api/v1/overrides/{bulk_id}", headers=sup)).json()
        if progress["done"]:
            break
        await asyncio.sleep(0.1)
    assert (progress["total"], progress["applied"], progress["refused"]) == (3, 3, 0)

    city = token_for(sessions, "supervisor1")  # sees both districts
    for c in [*gulou, xuanwu]:
        detail = (await http.get(f"/api/v1/cases/{c['ticket']}", headers=city)).json()
        extended = c in gulou
        assert (detail["case"]["extension_count"] == 1) is extended
