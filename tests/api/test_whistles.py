"""吹哨报到 over the JSON API (real dev server, SQLite and PostgreSQL): the full branch with
three departments, ratings and statistics, a case closed under open whistles, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlmodel import col, select
from temporalio.client import Client, WorkflowExecutionStatus

from core.db import SessionFactory, session_scope
from core.models import CaseEventRecord, WhistleRecord
from tests.conftest import projected, token_for

GULOU = {"title": "占道经营", "category": "exposed_garbage", "location_unit_id": "gl-nhl-c1-g1"}
DEPTS = {
    "gl-dept-water": "handler_gl_water",
    "gl-dept-police": "handler_gl_police",
    "gl-dept-construction": "handler_gl_construction",
}
NEED = "占道经营与管线破损交织，需公安、水务、建设到场会商"


async def case_in_handling(http: httpx.AsyncClient, sessions: SessionFactory) -> dict[str, Any]:
    op, handler = token_for(sessions, "operator1"), token_for(sessions, "handler_nhl")
    created = await http.post("/api/v1/cases", json=GULOU, headers=op)
    assert created.status_code == 201, created.text
    ticket = created.json()["ticket"]
    accepted = await http.post(f"/api/v1/cases/{ticket}/actions/accept", json={}, headers=handler)
    assert accepted.status_code == 200, accepted.text
    return accepted.json()  # type: ignore[no-any-return]


async def blow(
    http: httpx.AsyncClient, sessions: SessionFactory, ticket: str, **body: Any
) -> httpx.Response:
    body = {"kind": "work_push", "departments": list(DEPTS), "need": NEED, **body}
    headers = token_for(sessions, body.pop("as_user", "handler_nhl"))
    return await http.post(f"/api/v1/cases/{ticket}/whistles", json=body, headers=headers)


async def step(
    http: httpx.AsyncClient,
    sessions: SessionFactory,
    whistle_id: str,
    action: str,
    user: str,
    **b: Any,
) -> httpx.Response:
    url = f"/api/v1/whistles/{whistle_id}/actions/{action}"
    return await http.post(url, json=b, headers=token_for(sessions, user))


async def until(check: Any, what: str, tries: int = 200) -> Any:
    """Poll `check` (an async callable) until it returns something truthy."""
    for _ in range(tries):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def live_case(
    http: httpx.AsyncClient, sessions: SessionFactory, ticket: str
) -> dict[str, Any]:
    got = await http.get(f"/api/v1/cases/{ticket}", headers=token_for(sessions, "handler_nhl"))
    assert got.status_code == 200, got.text
    return got.json()["case"]  # type: ignore[no-any-return]


def whistle_rows(sessions: SessionFactory, ticket: str) -> list[WhistleRecord]:
    with session_scope(sessions) as session:
        query = select(WhistleRecord).where(WhistleRecord.ticket == ticket)
        return list(session.exec(query.order_by(WhistleRecord.dept_id)))


async def test_the_full_branch_with_three_departments(
    http: httpx.AsyncClient, sessions: SessionFactory, dev_env: Any
) -> None:
    case = await case_in_handling(http, sessions)
    ticket = case["ticket"]
    blown = await blow(http, sessions, ticket)
    assert blown.status_code == 200, blown.text
    rnd = blown.json()["whistles"][0]
    assert rnd["status"] == "open" and rnd["kind_label"] == "工作推进哨"
    members = {m["unit"]["id"]: m for m in rnd["members"]}
    assert set(members) == set(DEPTS)
    assert all(m["step"] == "summoned" and m["sign_due"] for m in members.values())

    # Each department finds its whistle in its queue, in Chinese, with its deadline.
    for dept, user in DEPTS.items():
        queue = await until(
            lambda dept=dept, user=user: _queue(http, sessions, user, dept), f"{dept} queue"
        )
        item = next(q for q in queue if q["ticket"] == ticket)
        assert (item["step_label"], item["next_action"]) == ("待签收", "签收")
        assert item["kind_label"] == "工作推进哨" and item["due_at"] == item["sign_due"]
    board = (
        await http.get(
            "/api/v1/whistles", params={"open": True}, headers=token_for(sessions, "handler_nhl")
        )
    ).json()
    assert {b["dept_id"] for b in board if b["ticket"] == ticket} == set(DEPTS)

    # A whistle is seen with its case (core.access): another street does not see either.
    police = members["gl-dept-police"]["whistle_id"]
    foreign = await http.get(
        f"/api/v1/whistles/{police}", headers=token_for(sessions, "handler_hq")
    )
    assert foreign.status_code == 404
    blower = await http.get(
        f"/api/v1/whistles/{police}", headers=token_for(sessions, "handler_nhl")
    )
    assert blower.status_code == 200
    stats = await http.get("/api/v1/stats/whistles", headers=token_for(sessions, "handler_nhl"))
    assert stats.status_code == 403

    # The search attributes find each whistle from Temporal too.
    client: Client = dev_env.client
    query = "CaseType='whistle' AND AssignedUnit='gl-dept-police' AND CaseStatus='summoned'"
    await until(
        lambda: _found(client, query, members["gl-dept-police"]["whistle_id"]), "visibility"
    )

    for dept, user in DEPTS.items():
        wid = members[dept]["whistle_id"]
        assert (await step(http, sessions, wid, "sign", user)).status_code == 200
        contacted = await step(http, sessions, wid, "contact", user, note="已电话联系宁海路街道")
        assert contacted.json()["step"] == "contacted"
        body = {"arrived": True} if dept == "gl-dept-police" else {"plan_date": "2026-12-20"}
        reported = await step(http, sessions, wid, "report", user, note="已到场/已出方案", **body)
        assert reported.status_code == 200 and reported.json()["step"] == "reported"

    async def done() -> dict[str, Any] | None:
        state = await live_case(http, sessions, ticket)
        return state if state["whistles"][0]["status"] == "done" else None

    state = await until(done, "the round is done")
    assert {u["id"] for u in state["co_handlers"]} == set(DEPTS)
    assert all(
        m["reported_in_time"] and m["signed_in_time"] for m in state["whistles"][0]["members"]
    )
    await projected(sessions, state["case_id"], state["last_seq"])
    with session_scope(sessions) as session:
        actions = [
            e.action
            for e in session.exec(
                select(CaseEventRecord)
                .where(CaseEventRecord.case_id == state["case_id"])
                .order_by(col(CaseEventRecord.seq))  # rows come in no order of their own
            )
        ]
    assert actions.count("whistle_report") == 3 and actions[-1] == "whistle_done"

    # One whistle's own timeline, and the case continues handling.
    wid = members["gl-dept-water"]["whistle_id"]
    detail = (
        await http.get(f"/api/v1/whistles/{wid}", headers=token_for(sessions, "handler_gl_water"))
    ).json()
    assert [e["action"] for e in detail["timeline"]] == ["summon", "sign", "contact", "report"]
    assert detail["whistle"]["plan_date"] == "2026-12-20"
    handler = token_for(sessions, "handler_nhl")
    fed = await http.post(
        f"/api/v1/cases/{ticket}/actions/submit_feedback",
        json={"note": "多部门协同已处置"},
        headers=handler,
    )
    assert fed.status_code == 200 and fed.json()["status"] == "VERIFYING"


async def _queue(
    http: httpx.AsyncClient, sessions: SessionFactory, user: str, dept: str
) -> list[dict[str, Any]] | None:
    got = await http.get(
        "/api/v1/whistles", params={"open": True}, headers=token_for(sessions, user)
    )
    assert got.status_code == 200, got.text
    items = [i for i in got.json() if i["dept_id"] == dept]
    return items or None


async def _found(client: Client, query: str, whistle_id: str) -> bool:
    return any([w.id == whistle_id async for w in client.list_workflows(query)])


async def test_ratings_and_statistics(http: httpx.AsyncClient, sessions: SessionFactory) -> None:
    quiet = await case_in_handling(http, sessions)  # held by 宁海路街道, no whistle
    case = await case_in_handling(http, sessions)
    ticket = case["ticket"]
    body = {"departments": ["gl-dept-water", "gl-dept-police"]}
    members = {
        m["unit"]["id"]: m
        for m in (await blow(http, sessions, ticket, **body)).json()["whistles"][0]["members"]
    }
    water = members["gl-dept-water"]["whistle_id"]
    for action, extra in (
        ("sign", {}),
        ("contact", {"note": "已联系"}),
        ("report", {"note": "方案", "plan_date": "2026-12-31"}),
    ):
        assert (
            await step(http, sessions, water, action, "handler_gl_water", **extra)
        ).status_code == 200
    nhl = token_for(sessions, "handler_nhl")
    rate_url = f"/api/v1/cases/{ticket}/whistles/rate"

    early = await http.post(rate_url, json={"unit_id": "gl-dept-police", "score": 2}, headers=nhl)
    assert early.status_code == 409, early.text  # still open and not reported

    async def water_heard() -> bool:
        state = await live_case(http, sessions, ticket)
        return state["whistles"][0]["members"][0]["step"] == "reported"

    await until(water_heard, "the case hears the water bureau's report")
    rated = await http.post(
        rate_url, json={"unit_id": "gl-dept-water", "score": 5, "note": "响应迅速"}, headers=nhl
    )
    assert rated.status_code == 200, rated.text
    again = await http.post(rate_url, json={"unit_id": "gl-dept-water", "score": 4}, headers=nhl)
    assert again.status_code == 409
    closed = await http.post(
        f"/api/v1/cases/{ticket}/whistles/close",
        json={"reason": "公安分局未响应，街道先行处置"},
        headers=nhl,
    )
    assert closed.status_code == 200 and closed.json()["whistles"][0]["status"] == "closed"
    police_rated = await http.post(
        rate_url, json={"unit_id": "gl-dept-police", "score": 1, "note": "未签收"}, headers=nhl
    )
    assert police_rated.status_code == 200, police_rated.text
    await projected(sessions, police_rated.json()["case_id"], police_rated.json()["last_seq"])
    await projected(sessions, quiet["case_id"], quiet["last_seq"])

    async def rows_final() -> list[WhistleRecord] | None:
        rows = whistle_rows(sessions, ticket)
        return rows if [r.step for r in rows] == ["closed", "reported"] else None

    rows = await until(rows_final, "both whistles projected")
    assert [(r.dept_id, r.rating, r.rating_note) for r in rows] == [
        ("gl-dept-police", 1, "未签收"),
        ("gl-dept-water", 5, "响应迅速"),
    ]
    assert {r.dept_id: r.reported_in_time for r in rows} == {
        "gl-dept-water": True,
        "gl-dept-police": None,
    }

    sup = token_for(sessions, "supervisor_gl")
    stats = (
        await http.get("/api/v1/stats/whistles", params={"district": "gl"}, headers=sup)
    ).json()
    nhl_street = next(s for s in stats["streets"] if s["street_id"] == "gl-nhl")
    assert (nhl_street["cases_held"], nhl_street["cases_whistled"], nhl_street["whistle_rate"]) == (
        2,
        1,
        0.5,
    )
    depts = {d["dept_id"]: d for d in stats["departments"]}
    assert (
        depts["gl-dept-water"]["report_rate"] == 1.0
        and depts["gl-dept-water"]["average_rating"] == 5.0
    )
    # Closed before the police bureau signed: not held against its timeliness, but rated.
    assert (
        depts["gl-dept-police"]["report_due"] == 0
        and depts["gl-dept-police"]["average_rating"] == 1.0
    )


async def test_a_case_closed_with_open_whistles_cancels_them(
    http: httpx.AsyncClient, sessions: SessionFactory, dev_env: Any
) -> None:
    case = await case_in_handling(http, sessions)
    ticket = case["ticket"]
    members = (await blow(http, sessions, ticket)).json()["whistles"][0]["members"]
    ids = [m["whistle_id"] for m in members]
    assert (
        await step(http, sessions, ids[0], "sign", DEPTS[members[0]["unit"]["id"]])
    ).status_code == 200
    sup = token_for(sessions, "supervisor_gl")
    closed = await http.post(
        f"/api/v1/cases/{ticket}/actions/force_close",
        json={"reason": "现场已解决", "note": "已处理"},
        headers=sup,
    )
    assert closed.status_code == 200 and closed.json()["status"] == "CLOSED"
    assert closed.json()["whistles"][0]["status"] == "cancelled"

    client: Client = dev_env.client
    for wid in ids:
        handle = client.get_workflow_handle(wid)
        await until(lambda h=handle: _ended(h), f"{wid} cancelled")
    running = (
        "CaseType='whistle' AND ExecutionStatus='Running'"
        f" AND WorkflowId STARTS_WITH 'whistle-{ticket}-'"
    )
    await until(lambda: _none(client, running), "no whistle left running")
    rows = await until(
        lambda: _steps(sessions, ticket, "cancelled", len(ids)), "cancelled rows projected"
    )
    assert all(r.closed_reason == "案件结案，吹哨撤销" for r in rows)
    late = await step(http, sessions, ids[1], "sign", DEPTS[members[1]["unit"]["id"]])
    assert late.status_code == 409


async def _ended(handle: Any) -> bool:
    return bool((await handle.describe()).status == WorkflowExecutionStatus.CANCELED)


async def _none(client: Client, query: str) -> bool:
    return not [w async for w in client.list_workflows(query)]


async def _steps(
    sessions: SessionFactory, ticket: str, step_: str, n: int
) -> list[WhistleRecord] | None:
    rows = whistle_rows(sessions, ticket)
    return rows if len(rows) == n and all(r.step == step_ for r in rows) else None


async def test_bad_input_is_refused_and_records_nothing(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    fresh = (await http.post("/api/v1/cases", json=GULOU, headers=op)).json()
    not_handling = await blow(http, sessions, fresh["ticket"])
    assert not_handling.status_code == 409, not_handling.text
    typed = await http.post("/api/v1/cases", json={**GULOU, "case_type": "whistle"}, headers=op)
    assert (typed.status_code, typed.json()["field"]) == (422, "case_type")

    case = await case_in_handling(http, sessions)
    t, seq = case["ticket"], case["last_seq"]
    refusals = [
        ({"departments": []}, 422, "departments"),
        ({"departments": ["gl-dept-nowhere"]}, 422, "departments"),
        ({"departments": ["gl-nhl", "gl-dept-water"]}, 422, "departments"),  # its own unit
        ({"departments": ["gl-dept-water", "gl-dept-water"]}, 422, "departments"),
        ({"departments": ["gl-hq"]}, 422, "departments"),  # a street is no department
        ({"kind": "whenever"}, 422, "kind"),
        ({"need": " "}, 422, "need"),
        ({"as_user": "handler_hq"}, 404, ""),  # another street: may not see the case
        ({"as_user": "handler_gl_water"}, 404, ""),  # a department not summoned: nor it
        ({"as_user": "operator1"}, 403, ""),  # sees the case (the city), may not blow
        ({"departments": ["xw-dept-police"]}, 403, "departments"),  # another district's
    ]
    for body, status, field in refusals:
        got = await blow(http, sessions, t, **body)
        assert (got.status_code, got.json()["field"]) == (status, field), (body, got.text)
        assert got.json()["detail"]

    # 攻坚克难哨: nothing is summoned until a district supervisor approves.
    hard = await blow(http, sessions, t, kind="hard_problem", departments=["gl-dept-police"])
    assert hard.status_code == 200 and hard.json()["whistles"][0]["status"] == "pending_approval"
    wid = hard.json()["whistles"][0]["members"][0]["whistle_id"]
    assert (await step(http, sessions, wid, "sign", "handler_gl_police")).status_code == 404
    approve = f"/api/v1/cases/{t}/whistles/approve"
    for user in ("handler_nhl", "supervisor1", "dispatcher_gl"):
        denied = await http.post(approve, json={}, headers=token_for(sessions, user))
        assert denied.status_code == 403, (user, denied.text)
    second = await blow(http, sessions, t)
    assert second.status_code == 409  # one whistle at a time
    feedback = await http.post(
        f"/api/v1/cases/{t}/actions/submit_feedback",
        json={"note": "完成"},
        headers=token_for(sessions, "handler_nhl"),
    )
    assert feedback.status_code == 409  # the case waits for the departments
    assert whistle_rows(sessions, t) == []
    approved = await http.post(
        approve, json={"note": "同意"}, headers=token_for(sessions, "supervisor_gl")
    )
    assert approved.status_code == 200, approved.text
    assert (
        await http.post(approve, json={}, headers=token_for(sessions, "supervisor_gl"))
    ).status_code == 409

    # Only the summoned department acts for itself, in order, with what each step needs.
    # Another department may not see the case: its whistle does not exist for it.
    assert (await step(http, sessions, wid, "sign", "handler_gl_water")).status_code == 404
    assert (
        await step(http, sessions, wid, "contact", "handler_gl_police", note="x")
    ).status_code == 409
    assert (await step(http, sessions, wid, "sign", "handler_gl_police")).status_code == 200
    no_note = await step(http, sessions, wid, "contact", "handler_gl_police")
    assert (no_note.status_code, no_note.json()["field"]) == (422, "note")
    assert (
        await step(http, sessions, wid, "contact", "handler_gl_police", note="已联系")
    ).status_code == 200
    other = await step(http, sessions, wid, "report", "handler_gl_water", note="到场", arrived=True)
    assert other.status_code == 404  # reporting for another department, which it may not see
    bad_date = await step(
        http, sessions, wid, "report", "handler_gl_police", note="方案", plan_date="明天"
    )
    assert (bad_date.status_code, bad_date.json()["field"]) == (422, "plan_date")
    assert (
        await step(http, sessions, "whistle-nope", "sign", "handler_gl_police")
    ).status_code == 404
    assert (await step(http, sessions, wid, "dance", "handler_gl_police")).status_code == 422

    nhl = token_for(sessions, "handler_nhl")
    rate_url = f"/api/v1/cases/{t}/whistles/rate"
    for body, status in (
        ({"unit_id": "gl-dept-police", "score": 6}, 422),
        ({"unit_id": "gl-dept-water", "score": 3}, 422),
        ({"unit_id": "gl-dept-police", "score": 3, "_as": "handler_hq"}, 404),
    ):
        headers = token_for(sessions, body.pop("_as")) if "_as" in body else nhl  # type: ignore[arg-type]
        got = await http.post(rate_url, json=body, headers=headers)
        assert got.status_code == status, (body, got.text)
    close_url = f"/api/v1/cases/{t}/whistles/close"
    assert (await http.post(close_url, json={}, headers=nhl)).status_code == 422
    assert (
        await http.post(close_url, json={"reason": "x"}, headers=token_for(sessions, "handler_hq"))
    ).status_code == 404

    # The case recorded the whistle, its approval and two steps, and nothing of the refusals.
    async def settled() -> dict[str, Any] | None:
        state = await live_case(http, sessions, t)
        return state if state["last_seq"] >= seq + 4 else None

    state = await until(settled, "the case hears both steps")
    assert state["last_seq"] == seq + 4  # whistle_blow, _approve, _sign, _contact
    assert [w["status"] for w in state["whistles"]] == ["open"]
