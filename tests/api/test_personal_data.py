"""Personal information over the real app (article 20, 21), on SQLite and PostgreSQL: what the
public Open311 feed publishes, who sees reporters and staff phones whole, the log of those
views, and tracking tokens kept from staff."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlmodel import select

from core.config import Settings
from core.db import SessionFactory, session_scope
from core.intake.geo import boundaries
from core.models import PublicationConsent
from core.open311 import NOT_PUBLISHED, mint_open311_key
from tests.api.test_open311 import BASE, created, in_read_model
from tests.conftest import token_for

# The published samples, and a phone: none may ever reach an Open311 GET.
CALLER = "来电人王小明(身份证320102199001011234)投诉楼上住户…"
EMAIL = "wang.xm@example.cn"
ADDRESS = "颐和路12号3栋502室"
PHONE = "13812345678"
DESCRIPTION = f"{CALLER}深夜噪音，请回复 {EMAIL} 或 {PHONE}"
SECRETS = ("王小明", "320102199001011234", EMAIL, ADDRESS, "12号", "502室", PHONE)
SCRUBBED = "来电人[姓名](身份证[身份证号])投诉楼上住户…深夜噪音，请回复 [邮箱] 或 [电话]"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def point(unit_id: str) -> tuple[float, float]:
    found = boundaries(Settings().boundaries_file).representative_point(unit_id)
    assert found is not None
    return found


async def citizen_report(http: httpx.AsyncClient, unit_id: str, **fields: str) -> str:
    """File the public form (no login); return the report's ticket."""
    form = await http.get("/report")
    found = CSRF_INPUT.search(form.text)
    assert found, form.text
    lat, lon = point(unit_id)
    data = {
        "category": "exposed_garbage",
        "description": DESCRIPTION,
        "address": ADDRESS,
        "lat": str(lat),
        "lon": str(lon),
        "reporter_name": "王小明",
        "reporter_phone": PHONE,
        "csrf_token": found.group(1),
        **fields,
    }
    answer = await http.post("/report", data=data)
    assert answer.status_code == 200, answer.text
    ticket = re.search(r'data-testid="ticket">([^<]+)<', answer.text)
    assert ticket, answer.text
    return ticket.group(1)


async def hotline_report(
    http: httpx.AsyncClient, sessions: SessionFactory, unit_id: str = "gl-nhl-c1-g1", **extra: Any
) -> dict[str, Any]:
    lat, lon = point(unit_id)
    body = {
        "title": "楼上噪音",
        "description": DESCRIPTION,
        "category": "hotline_general",
        "request_kind": "投诉",
        "address": ADDRESS,
        "lat": lat,
        "lon": lon,
        "reporter_name": "王小明",
        "reporter_phone": PHONE,
        "duplicates": "new",
        **extra,
    }
    answer = await http.post("/api/v1/reports", json=body, headers=token_for(sessions, "operator1"))
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    await in_read_model(sessions, made["ticket"])
    return made


async def open311_get(http: httpx.AsyncClient, path: str, **params: str) -> httpx.Response:
    answer = await http.get(f"{BASE}/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer


# ---- the public Open311 feed -----------------------------------------------------------------
async def test_open311_never_publishes_a_callers_words(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    hotline = (await hotline_report(http, sessions))["ticket"]
    declined = await citizen_report(http, "gl-nhl-c1-g2")  # the box left unticked
    agreed = await citizen_report(http, "gl-nhl-c2-g1", publish="yes")
    with session_scope(sessions) as session:
        api_key = mint_open311_key(session, "南京通")
    lat, lon = point("gl-hq-c1-g1")
    posted = await created(
        http, api_key, description=DESCRIPTION, address_string=ADDRESS, lat=lat, long=lon,
        first_name="小明", last_name="王", email=EMAIL, phone=PHONE,
    )  # fmt: skip
    client = posted["service_request_id"]
    for ticket in (declined, agreed, client):
        await in_read_model(sessions, ticket)

    tickets = {hotline, declined, agreed, client}
    bodies = []
    for fmt in ("json", "xml"):
        bodies.append((await open311_get(http, f"requests.{fmt}")).text)
        bodies.append(
            (await open311_get(http, f"requests.{fmt}", service_request_id=",".join(tickets))).text
        )
        for ticket in tickets:
            bodies.append((await open311_get(http, f"requests/{ticket}.{fmt}")).text)
        bodies.append((await open311_get(http, f"tokens/{posted['token']}.{fmt}")).text)
    for body in bodies:
        for secret in SECRETS:
            assert secret not in body

    listed = {r["service_request_id"]: r for r in (await open311_get(http, "requests.json")).json()}
    assert set(listed) == tickets  # every request is listed, the private ones as a summary
    for ticket in (hotline, declined):
        summary = listed[ticket]
        assert summary["description"] == NOT_PUBLISHED
        assert summary["address"] == "鼓楼区宁海路街道"  # the street, no closer
        assert summary["lat"] is None and summary["long"] is None
        assert summary["service_name"] and summary["status"] == "open"
        assert summary["requested_datetime"]
    for ticket in (agreed, client):
        shown = listed[ticket]
        assert shown["description"] == SCRUBBED
        assert shown["address"] == "颐和路"
        assert shown["lat"] is not None
    xml = (await open311_get(http, f"requests/{agreed}.xml")).text
    assert f"<description>{SCRUBBED}</description>" in xml


async def test_consent_is_recorded_with_the_report(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    declined = await citizen_report(http, "gl-nhl-c1-g1")
    agreed = await citizen_report(http, "gl-nhl-c2-g1", publish="yes")
    hotline = (await hotline_report(http, sessions, "gl-hq-c1-g1"))["ticket"]
    with session_scope(sessions) as session:
        rows = {r.ticket: r for r in session.exec(select(PublicationConsent))}
    assert (rows[declined].publish, rows[declined].basis) == (False, "form")
    assert (rows[agreed].publish, rows[agreed].basis, rows[agreed].recorded_by) == (
        True,
        "form",
        "public",
    )
    assert (rows[hotline].publish, rows[hotline].basis) == (False, "operator")
    form = await http.get("/report")
    box = re.search(r'<input id="publish" type="checkbox"[^>]*>', form.text)
    assert box and "checked" not in box.group(0)
    assert "同意公开我的诉求内容（个人信息会被去除）" in form.text


# ---- reporters, and the log of unmasked views --------------------------------------------
async def test_reporters_are_whole_only_to_the_taker_and_the_supervisors_of_the_area(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    ticket = (await hotline_report(http, sessions))["ticket"]
    seen = {}
    other = await http.get(f"/api/v1/cases/{ticket}", headers=token_for(sessions, "supervisor_xw"))
    assert other.status_code == 404  # a supervisor of 玄武区 does not see a 鼓楼 case at all
    for user in ("operator1", "supervisor_gl", "supervisor1", "handler_nhl"):
        detail = await http.get(f"/api/v1/cases/{ticket}", headers=token_for(sessions, user))
        assert detail.status_code == 200, detail.text
        [reporter] = detail.json()["reporters"]
        seen[user] = (reporter["name"], reporter["phone"], reporter["masked"])
    whole, masked = ("王小明", PHONE, False), ("王**", "138****5678", True)
    assert seen == {
        "operator1": whole,
        "supervisor_gl": whole,
        "supervisor1": whole,
        "handler_nhl": masked,
    }

    log = await views(http, sessions, "supervisor_gl", subject=ticket)
    assert {(v["viewer_username"], v["route"]) for v in log} == {
        (user, f"GET /api/v1/cases/{ticket}")
        for user in ("operator1", "supervisor_gl", "supervisor1")
    }
    assert all(
        v["fields"] == ["cases.reporter_name", "cases.reporter_phone"]
        and v["subject_kind"] == "report"
        for v in log
    )
    assert await views(http, sessions, "supervisor_xw", subject=ticket) == []
    only_one = await views(http, sessions, "supervisor1", subject=ticket, viewer="operator1")
    assert [v["viewer_username"] for v in only_one] == ["operator1"]
    refused = await http.get(
        "/api/v1/audit/personal-data-views", headers=token_for(sessions, "handler_nhl")
    )
    assert refused.status_code == 403 and "may not read" in refused.json()["detail"]
    naive = await http.get(
        "/api/v1/audit/personal-data-views",
        params={"since": "2026-12-01T00:00:00"},
        headers=token_for(sessions, "supervisor_gl"),
    )
    assert naive.status_code == 422 and naive.json()["field"] == "since"


async def views(
    http: httpx.AsyncClient, sessions: SessionFactory, supervisor: str, **params: str
) -> list[dict[str, Any]]:
    answer = await http.get(
        "/api/v1/audit/personal-data-views",
        params=params,
        headers=token_for(sessions, supervisor),
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["items"])
    items: list[dict[str, Any]] = page["items"]
    return items


# ---- staff phones in the directory -------------------------------------------------------
async def test_staff_phones_are_whole_to_their_unit_and_the_supervisors_of_the_area(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    leader = "13905140101"  # 排水抢险一队's leader, of 鼓楼区水务局 (demo data)
    phones = {}
    for user in ("handler_gl_water", "supervisor_gl", "admin", "handler_nhl", "supervisor_xw"):
        teams = await http.get(
            "/api/v1/directory/teams",
            params={"unit": "gl-dept-water"},
            headers=token_for(sessions, user),
        )
        assert teams.status_code == 200, teams.text
        team = next(t for t in teams.json() if t["name"] == "排水抢险一队")
        people = await http.get(
            "/api/v1/directory/people",
            params={"unit": "gl-dept-water"},
            headers=token_for(sessions, user),
        )
        person = next(p for p in people.json() if p["name"] == "陈建国")
        member = next(p for p in team["people"] if p["name"] == "陈建国")
        phones[user] = (team["phone"], member["phone"], person["phone"])
    whole, masked = (leader,) * 3, ("139****0101",) * 3
    assert phones == {
        "handler_gl_water": whole,
        "supervisor_gl": whole,
        "admin": whole,
        "handler_nhl": masked,  # another unit of the same district
        "supervisor_xw": masked,
    }
    log = await views(http, sessions, "supervisor_gl", viewer="handler_gl_water")
    kinds = {(v["subject_kind"], v["route"]) for v in log}
    assert ("team", "GET /api/v1/directory/teams") in kinds
    assert ("person", "GET /api/v1/directory/people") in kinds
    assert await views(http, sessions, "supervisor_gl", viewer="handler_nhl") == []


# ---- tracking tokens ---------------------------------------------------------------------
async def test_tracking_tokens_are_never_shown_to_staff(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    with session_scope(sessions) as session:
        api_key = mint_open311_key(session, "南京通")
    lat, lon = point("gl-nhl-c1-g1")
    first = await created(http, api_key, lat=lat, long=lon)
    case = first["service_request_id"]
    await in_read_model(sessions, case)
    again = await created(http, api_key, lat=lat + 0.00001, long=lon)  # merged: a linked report
    await in_read_model(sessions, again["service_request_id"])
    tokens = (first["token"], again["token"])
    supervisor = token_for(sessions, "supervisor_gl")

    detail = await http.get(f"/api/v1/cases/{case}", headers=supervisor)
    assert detail.status_code == 200 and detail.json()["case"]["report_count"] == 2
    acted = await http.post(
        f"/api/v1/cases/{case}/actions/change_priority",
        json={"priority": "urgent", "reason": "群众反映强烈"},
        headers=supervisor,
    )
    assert acted.status_code == 200, acted.text
    linked = acted.json()["linked_reports"][0]["report"]
    assert linked["ticket"] == again["service_request_id"] and linked["tracking_token"] == ""
    listed = await http.get("/api/v1/cases", headers=supervisor)
    for answer in (detail.text, acted.text, listed.text):
        for token in tokens:
            assert token not in answer
