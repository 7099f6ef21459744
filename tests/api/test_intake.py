"""Intake through the JSON API: map points, duplicates, merge and split, direct answers,
personal information, on the real app, a real worker and Temporal dev server, SQLite and
PostgreSQL."""

from __future__ import annotations

import httpx
from sqlmodel import func, select

from core.config import get_settings
from core.db import SessionFactory, session_scope
from core.intake.geo import boundaries
from core.models import CaseRecord, LinkedReportRecord
from tests.conftest import projected, token_for

LAT, LON = boundaries(get_settings().boundaries_file).representative_point("gl-nhl-c1-g1") or (0, 0)
COVER = {
    "title": "颐和路井盖缺失",
    "description": "井盖丢了，很危险",
    "category": "manhole_cover",
    "lat": LAT,
    "lon": LON,
    "address": "颐和路 8 号",
    "reporter_name": "张三",
    "reporter_phone": "13812345678",
}


def metres_north(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + metres / 111_195, lon


def case_count(sessions: SessionFactory) -> int:
    with session_scope(sessions) as session:
        return session.exec(select(func.count()).select_from(CaseRecord)).one()


async def report(
    http: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> httpx.Response:
    return await http.post("/api/v1/reports", json={**COVER, **body}, headers=headers)


async def test_a_map_point_is_resolved_to_its_grid_and_routed(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    created = await report(http, op)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["merged"] is False and body["ticket"] == body["case_ticket"]
    case = body["case"]
    assert case["location"]["unit_id"] == "gl-nhl-c1-g1"
    assert case["location"]["street_id"] == "gl-nhl"
    # 部件 owner first: a manhole cover goes to the district's water bureau.
    assert case["status"] == "DISPATCHED" and case["assigned_unit"]["id"] == "gl-dept-water"
    row = await projected(sessions, case["case_id"], case["last_seq"])
    assert (row.lat, row.lon, row.taken_by) == (LAT, LON, "operator1")


async def test_bad_locations_are_refused_and_nothing_is_stored(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    before = case_count(sessions)
    nowhere = await report(http, op, lat=None, lon=None)
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "location"
    beijing = await report(http, op, lat=39.9, lon=116.4)
    assert beijing.status_code == 422
    assert beijing.json()["detail"] == "the point lies outside the city's boundaries"
    assert beijing.json()["field"] == "lat"
    half = await report(http, op, lon=None)
    assert half.status_code == 422 and half.json()["field"] == "lon"
    unknown = await report(http, op, category="ufo")
    assert unknown.status_code == 422 and unknown.json()["field"] == "category"
    fake = await report(http, op, attachments=["0" * 64])
    assert fake.status_code == 422 and fake.json()["field"] == "attachments"
    not_a_sha = await report(http, op, attachments=["../../etc/passwd"])
    assert not_a_sha.status_code == 422
    assert case_count(sessions) == before


async def test_duplicates_are_offered_then_merged_and_split_back_out(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op, dispatcher = token_for(sessions, "operator1"), token_for(sessions, "dispatcher_gl")
    first = (await report(http, op)).json()["case"]
    await projected(sessions, first["case_id"], first["last_seq"])

    near = metres_north(LAT, LON, 30)  # within the manhole cover's 50 m
    asked = await report(http, op, lat=near[0], lon=near[1], reporter_phone="13900001111")
    assert asked.status_code == 409, asked.text
    candidates = asked.json()["candidates"]
    assert [c["ticket"] for c in candidates] == [first["ticket"]]
    assert 25 < candidates[0]["distance_m"] < 35
    far = metres_north(LAT, LON, 80)
    found = await http.get(
        "/api/v1/intake/duplicates",
        params={"category": "manhole_cover", "lat": far[0], "lon": far[1]},
        headers=op,
    )
    assert found.json() == []  # 80 m is beyond the category's radius
    other_kind = await http.get(
        "/api/v1/intake/duplicates",
        params={"category": "streetlight", "lat": near[0], "lon": near[1]},
        headers=op,
    )
    assert other_kind.json() == []

    merged = await report(
        http, op, lat=near[0], lon=near[1], reporter_phone="13900001111", merge_into=first["ticket"]
    )
    assert merged.status_code == 201, merged.text
    body = merged.json()
    assert body["merged"] is True and body["case_ticket"] == first["ticket"]
    assert body["ticket"] != first["ticket"]
    # The refused (409) attempt minted nothing: the serials have no gap.
    assert int(body["ticket"][-6:]) == int(first["ticket"][-6:]) + 1
    case = body["case"]
    assert case["report_count"] == 2 and case["status"] == "DISPATCHED"
    events_after = await projected(sessions, case["case_id"], case["last_seq"])
    assert events_after.report_count == 2
    detail = (await http.get(f"/api/v1/cases/{first['ticket']}", headers=op)).json()
    actions = [e["action"] for e in detail["timeline"]]
    assert actions.count("dispatch") == 1 and actions[-1] == "link_report"
    assert [r["phone"] for r in detail["reporters"]] == ["13812345678", "13900001111"]

    refused = await http.post(
        f"/api/v1/cases/{first['ticket']}/reports/{body['ticket']}/split",
        json={"reason": "不是同一个井盖"},
        headers=op,
    )
    assert refused.status_code == 403  # operators do not split
    split = await http.post(
        f"/api/v1/cases/{first['ticket']}/reports/{body['ticket']}/split",
        json={"reason": "不是同一个井盖"},
        headers=dispatcher,
    )
    assert split.status_code == 201, split.text
    new_case = split.json()
    assert new_case["ticket"] == body["ticket"] and new_case["status"] == "DISPATCHED"
    again = await http.post(
        f"/api/v1/cases/{first['ticket']}/reports/{body['ticket']}/split",
        json={"reason": "重试"},
        headers=dispatcher,
    )
    assert again.status_code == 201 and again.json()["case_id"] == new_case["case_id"]
    original = (await http.get(f"/api/v1/cases/{first['ticket']}", headers=op)).json()
    assert original["case"]["report_count"] == 1
    row = await projected(sessions, new_case["case_id"], new_case["last_seq"])
    assert row.reporter_phone == "13900001111"  # the split case keeps its reporter whole
    with session_scope(sessions) as session:
        linked = session.get(LinkedReportRecord, body["ticket"])
        assert linked is not None and linked.split_by == "dispatcher_gl"


async def test_duplicates_outside_the_window_are_not_candidates(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    first = (await report(http, op)).json()["case"]
    row = await projected(sessions, first["case_id"], first["last_seq"])
    with session_scope(sessions) as session:
        stored = session.get(CaseRecord, row.id)
        assert stored is not None
        stored.created_at = stored.created_at.replace(year=stored.created_at.year - 1)
        stored.last_seq += 100  # keep the projection from writing the old time back
        session.add(stored)
    second = await report(http, op)
    assert second.status_code == 201 and second.json()["merged"] is False


async def test_automatic_channels_merge_only_a_certain_duplicate(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    first = (await report(http, op)).json()["case"]
    await projected(sessions, first["case_id"], first["last_seq"])
    same_spot = await report(http, op, duplicates="auto")
    assert same_spot.json()["merged"] is True
    assert same_spot.json()["case_ticket"] == first["ticket"]
    near = metres_north(LAT, LON, 30)  # a candidate, but not certain: a case of its own
    apart = await report(http, op, lat=near[0], lon=near[1], duplicates="auto")
    assert apart.json()["merged"] is False


async def test_a_consultation_answered_directly_closes_without_dispatch(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    body = {
        **COVER,
        "category": "hotline_general",
        "request_kind": "咨询",
        "direct_answer": "办理居住证请携带身份证到所在街道服务中心。",
    }
    answered = await http.post("/api/v1/reports", json=body, headers=op)
    assert answered.status_code == 201, answered.text
    case = answered.json()["case"]
    assert case["status"] == "ARCHIVED" and case["assigned_unit"] is None
    row = await projected(sessions, case["case_id"], case["last_seq"])
    assert row.direct_answer and row.closed_at is not None and row.request_kind == "咨询"
    detail = (await http.get(f"/api/v1/cases/{case['ticket']}", headers=op)).json()
    assert [e["action"] for e in detail["timeline"]] == ["receive", "direct_answer"]

    complaint = await http.post(
        "/api/v1/reports", json={**body, "request_kind": "投诉"}, headers=op
    )
    assert complaint.status_code == 422 and complaint.json()["field"] == "direct_answer"


async def test_reporters_are_masked_except_for_the_taker_and_supervisors(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    created = (await report(http, op)).json()["case"]
    assert created["reporter_phone"] == "138****5678"  # the workflow keeps only masked copies
    assert created["reporter_name"] == "张*"
    await projected(sessions, created["case_id"], created["last_seq"])
    seen = {}
    for user in ("operator1", "supervisor_gl", "handler_gl_water", "dispatcher_gl"):
        detail = await http.get(
            f"/api/v1/cases/{created['ticket']}", headers=token_for(sessions, user)
        )
        seen[user] = detail.json()["reporters"][0]["phone"]
        assert "13812345678" not in detail.json()["case"]["reporter_phone"]
    assert seen == {
        "operator1": "13812345678",
        "supervisor_gl": "13812345678",
        "handler_gl_water": "138****5678",
        "dispatcher_gl": "138****5678",
    }
    listed = await http.get("/api/v1/cases", headers=op)
    assert "13812345678" not in listed.text


async def test_category_suggestions_come_from_the_catalog_keywords(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op = token_for(sessions, "operator1")
    found = await http.get(
        "/api/v1/intake/suggest", params={"text": "小区门口井盖丢了"}, headers=op
    )
    assert found.json()[0]["category"] == "manhole_cover"
    none = await http.get("/api/v1/intake/suggest", params={"text": "你好"}, headers=op)
    assert none.json() == []
