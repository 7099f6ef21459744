"""The inbox's back end over the JSON API: filters, grouped by case, mark all read, a reason
for every message, and the unread count a badge polls."""

from __future__ import annotations

import dataclasses

import httpx
from sqlmodel import select

from activities.case import CaseActivities
from core.db import SessionFactory, session_scope
from core.models import InboxItem
from tests.activities.test_case import snapshot
from tests.activities.test_notify_outbox import action
from tests.conftest import token_for
from workflows.contracts import RecordEventsInput, Status

DUE = "2026-11-30T02:30:00+00:00"  # 10:30 in Nanjing


def project(sessions: SessionFactory) -> None:
    """Case X1: dispatched to 宁海路街道, reminded, escalated to 鼓楼区; X2: dispatched."""
    acts = CaseActivities(sessions)
    x1 = [
        action(1, "dispatch", Status.DISPATCHED, unit="gl-nhl", notify=["gl-nhl"]),
        action(2, "remind", Status.DISPATCHED, stage="accept", due_at=DUE, notify=["gl-nhl"]),
        action(3, "escalate", Status.DISPATCHED, level=1, unit="gl", notify=["gl"]),
    ]
    acts.write_case(RecordEventsInput(snapshot(3, Status.DISPATCHED), x1))
    x2 = dataclasses.replace(snapshot(1, Status.DISPATCHED), id="case-X2", ticket="X2")
    dispatch = action(1, "dispatch", Status.DISPATCHED, unit="gl-nhl", notify=["gl-nhl"])
    acts.write_case(RecordEventsInput(x2, [dispatch]))


async def test_filters_and_a_reason_for_every_message(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    project(sessions)
    nhl = token_for(sessions, "handler_nhl")
    reminded = (await http.get("/api/v1/inbox", params={"kind": "remind"}, headers=nhl)).json()
    assert [(i["ticket"], i["kind"], i["reason"]) for i in reminded] == [("X1", "remind", "")]
    assert reminded[0]["summary"] == "签收时限 11月30日 10:30 到期，请及时办理"
    one_case = await http.get("/api/v1/inbox", params={"ticket": "X2"}, headers=nhl)
    assert [(i["ticket"], i["summary"]) for i in one_case.json()] == [
        ("X2", "派至宁海路街道，请及时签收")
    ]
    sup = (await http.get("/api/v1/inbox", headers=token_for(sessions, "supervisor_gl"))).json()
    assert [(i["kind"], i["summary"]) for i in sup] == [
        ("escalate", "超期未办结，升级至鼓楼区督办（第 1 级）")
    ]


async def test_grouped_by_case_and_marked_read_all_at_once(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    project(sessions)
    nhl = token_for(sessions, "handler_nhl")
    grouped = (await http.get("/api/v1/inbox/cases", headers=nhl)).json()
    assert grouped["total"] == 2
    assert {g["ticket"]: (g["total"], g["unread"], g["kinds"]) for g in grouped["items"]} == {
        "X1": (2, 2, ["dispatch", "remind"]),
        "X2": (1, 1, ["dispatch"]),
    }
    assert (await http.get("/api/v1/inbox/unread", headers=nhl)).json() == {"unread": 3}

    marked = await http.post("/api/v1/inbox/read", params={"ticket": "X1"}, headers=nhl)
    assert marked.status_code == 200 and marked.json() == {"marked": 2}
    grouped = (await http.get("/api/v1/inbox/cases", headers=nhl)).json()
    assert [(g["ticket"], g["unread"]) for g in grouped["items"]] == [("X2", 1), ("X1", 0)]
    assert (await http.post("/api/v1/inbox/read", headers=nhl)).json() == {"marked": 1}
    assert (await http.post("/api/v1/inbox/read", headers=nhl)).json() == {"marked": 0}
    assert (await http.get("/api/v1/inbox/unread", headers=nhl)).json() == {"unread": 0}
    with session_scope(sessions) as session:
        rows = {(i.unit_id, i.read_by) for i in session.exec(select(InboxItem))}
    # Who read them is kept; another unit's message stays unread.
    assert rows == {("gl-nhl", "handler_nhl"), ("gl", "")}
