"""Open311 GeoReport v2 over the real app, a real Temporal dev server and SQLite / PostgreSQL."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from core.config import Settings
from core.db import SessionFactory, session_scope
from core.intake.geo import boundaries
from core.models import CaseRecord, LinkedReportRecord, Open311Key
from core.open311 import mint_open311_key
from tests.conftest import token_for
from workflows.shared.workcal import CST

BASE = "/open311/v2"
SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
PHONE = "13912345678"


def point(unit_id: str = "gl-nhl-c1-g1") -> tuple[float, float]:
    found = boundaries(Settings().boundaries_file).representative_point(unit_id)
    assert found is not None
    return found


@pytest.fixture
def api_key(sessions: SessionFactory) -> str:
    with session_scope(sessions) as session:
        return mint_open311_key(session, "南京通")


async def post(
    http: httpx.AsyncClient, api_key: str | None, fmt: str = "json", **fields: Any
) -> httpx.Response:
    lat, lon = point()
    data = {
        "api_key": api_key,
        "service_code": "exposed_garbage",
        "lat": lat,
        "long": lon,
        "description": "宁海路口垃圾堆放两天未清运",
        **fields,
    }
    sent = {k: str(v) for k, v in data.items() if v is not None}
    return await http.post(f"{BASE}/requests.{fmt}", data=sent)


async def created(http: httpx.AsyncClient, api_key: str, **fields: Any) -> dict[str, Any]:
    answer = await post(http, api_key, **fields)
    assert answer.status_code == 201, answer.text
    [body] = answer.json()
    return body  # type: ignore[no-any-return]


async def in_read_model(sessions: SessionFactory, ticket: str, status: str = "") -> None:
    """Wait until the projection holds the ticket (as a case or a linked report)."""
    for _ in range(200):
        with session_scope(sessions) as session:
            case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
            linked = session.get(LinkedReportRecord, ticket)
        if (case is not None and (not status or case.status == status)) or linked is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ticket} never reached the read model ({status or 'any status'})")


async def force_close(http: httpx.AsyncClient, sessions: SessionFactory, ticket: str) -> None:
    closed = await http.post(
        f"/api/v1/cases/{ticket}/actions/force_close",
        json={"reason": "现场已解决", "note": "已由城管当场处理"},
        headers=token_for(sessions, "supervisor_gl"),
    )
    assert closed.status_code == 200, closed.text
    await in_read_model(sessions, ticket, "CLOSED")


def xml_of(answer: httpx.Response) -> ET.Element:
    assert answer.headers["content-type"] == "text/xml; charset=utf-8"
    assert answer.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(answer.content)


def assert_error(answer: httpx.Response, code: int, words: str) -> None:
    """The spec's error body, JSON or XML, with `words` in the description."""
    assert answer.status_code == code, answer.text
    if answer.headers["content-type"].startswith("text/xml"):
        root = xml_of(answer)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"]
        assert root.findtext("error/code") == str(code)
        assert words in (root.findtext("error/description") or "")
        return
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    [err] = answer.json()
    assert err["code"] == code and words in err["description"], err


async def ids_of(http: httpx.AsyncClient, **params: str) -> set[str]:
    answer = await http.get(f"{BASE}/requests.json", params=params)
    assert answer.status_code == 200, answer.text
    return {r["service_request_id"] for r in answer.json()}


# ---- discovery and services ------------------------------------------------------------
async def test_discovery(http: httpx.AsyncClient) -> None:
    answer = await http.get(f"{BASE}/discovery.json")
    assert answer.status_code == 200
    [endpoint] = answer.json()["endpoints"]
    assert endpoint["url"] == "http://cityloop.test/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert answer.json()["changeset"].endswith("+08:00")

    root = xml_of(await http.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


async def test_services_and_definition(http: httpx.AsyncClient) -> None:
    answer = await http.get(f"{BASE}/services.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    by_code = {s["service_code"]: s for s in answer.json()}
    garbage = by_code["exposed_garbage"]
    assert list(garbage) == SERVICE_FIELDS
    assert garbage["service_name"] == "暴露垃圾" and garbage["group"] == "市容环境"
    assert garbage["metadata"] is False and garbage["type"] == "realtime"
    assert garbage["keywords"] == "垃圾,堆放"

    root = xml_of(await http.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and {s.tag for s in root} == {"service"}
    assert len(root) == len(by_code)
    first = root[0]
    assert [child.tag for child in first] == SERVICE_FIELDS
    assert first.findtext("metadata") == "false"

    definition = await http.get(f"{BASE}/services/exposed_garbage.json")
    assert definition.json() == {"service_code": "exposed_garbage", "attributes": []}
    root = xml_of(await http.get(f"{BASE}/services/exposed_garbage.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "exposed_garbage"
    attributes = root.find("attributes")
    assert attributes is not None and len(attributes) == 0

    assert_error(await http.get(f"{BASE}/services/ufo.json"), 404, "'ufo' not found")
    assert_error(await http.get(f"{BASE}/services/ufo.xml"), 404, "'ufo' not found")
    assert garbage["description"] == "事件 · 市容环境：暴露垃圾；处置时限 1 天（工作时间）"
    assert_error(await http.get(f"{BASE}/services.html"), 400, "use json or xml")
    assert_error(await http.get(f"{BASE}/services"), 404, "no Open311 resource 'services'")
    assert_error(await http.get(f"{BASE}/nothing/here.xml"), 404, "no Open311 resource")


async def test_jurisdiction(http: httpx.AsyncClient, api_key: str) -> None:
    ours = await http.get(f"{BASE}/services.json", params={"jurisdiction_id": "nanjing"})
    assert ours.status_code == 200
    theirs = await http.get(f"{BASE}/services.xml", params={"jurisdiction_id": "sfgov.org"})
    assert_error(theirs, 404, "jurisdiction_id 'sfgov.org' not found")
    posted = await post(http, api_key, jurisdiction_id="chicago")
    assert_error(posted, 404, "jurisdiction_id 'chicago' not found")


# ---- POST and GET one ------------------------------------------------------------------
async def test_post_then_get_by_id_and_token(
    http: httpx.AsyncClient, sessions: SessionFactory, api_key: str
) -> None:
    body = await created(
        http, api_key, address_string="宁海路与颐和路交叉口", media_url="https://img.test/a.jpg"
    )
    ticket, token = body["service_request_id"], body["token"]
    assert body["account_id"] is None and "received" in body["service_notice"]
    assert set(body) == {"service_request_id", "token", "service_notice", "account_id"}

    answer = await http.get(f"{BASE}/requests/{ticket}.json")
    assert answer.status_code == 200, answer.text
    [request] = answer.json()
    assert list(request) == REQUEST_FIELDS
    assert request["service_request_id"] == ticket and request["status"] == "open"
    assert request["service_code"] == "exposed_garbage" and request["service_name"] == "暴露垃圾"
    assert request["description"] == "宁海路口垃圾堆放两天未清运"
    assert request["media_url"] == "https://img.test/a.jpg"
    assert request["address"] == "宁海路与颐和路交叉口"
    assert (request["lat"], request["long"]) == pytest.approx(point())
    for when in ("requested_datetime", "updated_datetime"):
        stamp = datetime.fromisoformat(request[when])
        assert request[when].endswith("+08:00") and abs(stamp - datetime.now(UTC)) < timedelta(
            minutes=5
        )

    root = xml_of(await http.get(f"{BASE}/requests/{ticket}.xml"))
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]
    assert [child.tag for child in root[0]] == REQUEST_FIELDS
    assert root.findtext("request/status") == "open"
    assert root.findtext("request/zipcode") == ""  # null: an empty element

    # A token resolves from the read model, once the projection has written the case (POST
    # already answered with the service_request_id itself).
    await in_read_model(sessions, ticket)
    tokened = await http.get(f"{BASE}/tokens/{token}.json")
    assert tokened.json() == [{"service_request_id": ticket, "token": token}]
    root = xml_of(await http.get(f"{BASE}/tokens/{token}.xml"))
    assert root.findtext("request/service_request_id") == ticket
    assert_error(await http.get(f"{BASE}/tokens/nope.json"), 404, "token 'nope' not found")

    # A case the projection has not written yet is shown from the live workflow.
    with session_scope(sessions) as session:
        session.delete(session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).one())
    [live] = (await http.get(f"{BASE}/requests/{ticket}.json")).json()
    assert live == {**request, "updated_datetime": live["updated_datetime"]}


async def test_post_refusals(
    http: httpx.AsyncClient, sessions: SessionFactory, api_key: str
) -> None:
    assert_error(await post(http, None), 403, "api_key")
    assert_error(await post(http, None, fmt="xml"), 403, "api_key")
    assert_error(await post(http, "o311_guessed"), 403, "invalid")
    with session_scope(sessions) as session:
        revoked = mint_open311_key(session, "retired app")
    with session_scope(sessions) as session:
        for row in session.exec(select(Open311Key).where(Open311Key.name == "retired app")):
            row.active = False
            session.add(row)
    assert_error(await post(http, revoked), 403, "invalid")

    assert_error(await post(http, api_key, service_code="ufo"), 400, "service_code 'ufo'")
    assert_error(await post(http, api_key, service_code=""), 400, "service_code")
    nowhere = await post(http, api_key, fmt="xml", lat=None, long=None, address_string="宁海路")
    assert_error(nowhere, 400, "lat and long are required")
    outside = await post(http, api_key, lat=39.9042, long=116.4074)  # Beijing
    assert_error(outside, 400, "outside the city")
    assert_error(await post(http, api_key, lat="north"), 400, "lat")
    assert_error(await post(http, api_key, phone="call me"), 400, "phone")
    assert_error(await post(http, api_key, description="长" * 4001), 400, "description")
    assert_error(await post(http, api_key, media_url="file:///etc/passwd"), 400, "media_url")
    garbled = await http.post(
        f"{BASE}/requests.xml", content=b"--x", headers={"content-type": "multipart/form-data"}
    )
    assert_error(garbled, 400, "boundary")


async def test_unknown_request_is_404(http: httpx.AsyncClient) -> None:
    assert_error(await http.get(f"{BASE}/requests/CL20000101-000001.json"), 404, "not found")
    assert_error(await http.get(f"{BASE}/requests/CL20000101-000001.xml"), 404, "not found")
    assert_error(await http.get(f"{BASE}/requests/no%20such.json"), 404, "not found")


# ---- GET the list ----------------------------------------------------------------------
async def test_list_filters(
    http: httpx.AsyncClient, sessions: SessionFactory, api_key: str
) -> None:
    garbage = (await created(http, api_key))["service_request_id"]
    ad = (await created(http, api_key, service_code="illegal_ad"))["service_request_id"]
    lat, lon = point("gl-nhl-c1-g2")
    light = (await created(http, api_key, service_code="streetlight", lat=lat, long=lon))[
        "service_request_id"
    ]
    for ticket in (garbage, ad, light):
        await in_read_model(sessions, ticket)
    await force_close(http, sessions, ad)

    assert await ids_of(http) == {garbage, ad, light}
    assert await ids_of(http, service_code="exposed_garbage") == {garbage}
    assert await ids_of(http, service_code="exposed_garbage,streetlight") == {garbage, light}
    assert await ids_of(http, status="closed") == {ad}
    assert await ids_of(http, status="open") == {garbage, light}
    assert await ids_of(http, status="open,closed") == {garbage, ad, light}

    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    assert await ids_of(http, start_date=(now + hour).isoformat()) == set()
    assert await ids_of(http, end_date=(now - hour).isoformat()) == set()
    window = {"start_date": (now - hour).isoformat(), "end_date": (now + hour).isoformat()}
    assert await ids_of(http, **window) == {garbage, ad, light}
    assert await ids_of(http, start_date="2000-01-01T00:00:00Z", end_date="2000-02-01") == set()
    today = now.astimezone(CST).date()
    assert await ids_of(http, start_date=today.isoformat()) == {garbage, ad, light}
    assert await ids_of(http, end_date=(today - timedelta(days=1)).isoformat()) == set()

    by_ids = await http.get(
        f"{BASE}/requests.json",
        params={"service_request_id": f"{light},{garbage}", "status": "closed"},
    )
    assert [r["service_request_id"] for r in by_ids.json()] == [light, garbage]
    root = xml_of(
        await http.get(f"{BASE}/requests.xml", params={"service_request_id": f"{ad},nope"})
    )
    assert [r.findtext("service_request_id") for r in root] == [ad]
    assert root.findtext("request/status") == "closed"

    bad = await http.get(f"{BASE}/requests.json", params={"status": "pending"})
    assert_error(bad, 400, "status")
    bad = await http.get(f"{BASE}/requests.xml", params={"start_date": "yesterday"})
    assert_error(bad, 400, "start_date must be a W3C date-time")
    bad = await http.get(f"{BASE}/requests.json", params={"end_date": "2026-11-29T10:00:00"})
    assert_error(bad, 400, "timezone")
    span = {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"}
    assert_error(await http.get(f"{BASE}/requests.json", params=span), 400, "90 days")


# ---- duplicates and personal information ----------------------------------------------
async def test_duplicate_is_merged_and_follows_its_case(
    http: httpx.AsyncClient, sessions: SessionFactory, api_key: str
) -> None:
    case = (await created(http, api_key))["service_request_id"]
    await in_read_model(sessions, case)
    lat, lon = point()
    again = await created(http, api_key, lat=lat + 0.00001, long=lon, description="又堆上了")
    report = again["service_request_id"]
    assert report != case and case in again["service_notice"]
    await in_read_model(sessions, report)

    [shown] = (await http.get(f"{BASE}/requests/{report}.json")).json()
    assert shown["service_request_id"] == report and shown["status"] == "open"
    assert case in shown["status_notes"] and shown["description"] == "又堆上了"
    tokened = (await http.get(f"{BASE}/tokens/{again['token']}.json")).json()
    assert tokened == [{"service_request_id": report, "token": again["token"]}]
    assert await ids_of(http) == {case, report}

    await force_close(http, sessions, case)
    [shown] = (await http.get(f"{BASE}/requests/{report}.json")).json()
    assert shown["status"] == "closed" and shown["expected_datetime"] is None
    assert await ids_of(http, status="closed") == {case, report}
    assert await ids_of(http, status="open") == set()


async def test_reporter_never_shown(
    http: httpx.AsyncClient, sessions: SessionFactory, api_key: str
) -> None:
    person = {"first_name": "晓明", "last_name": "王", "phone": PHONE, "email": "wxm@example.cn"}
    first = await created(http, api_key, description=f"垃圾堆放，联系 {PHONE}", **person)
    await in_read_model(sessions, first["service_request_id"])
    second = await created(http, api_key, phone="139 8765 4321", first_name="丽娟")
    await in_read_model(sessions, second["service_request_id"])

    tickets = f"{first['service_request_id']},{second['service_request_id']}"
    bodies = []
    for fmt in ("json", "xml"):
        for path, params in (
            (f"requests.{fmt}", {}),
            (f"requests.{fmt}", {"service_request_id": tickets}),
            (f"requests/{first['service_request_id']}.{fmt}", {}),
            (f"requests/{second['service_request_id']}.{fmt}", {}),
            (f"tokens/{first['token']}.{fmt}", {}),
        ):
            answer = await http.get(f"{BASE}/{path}", params=params)
            assert answer.status_code == 200, answer.text
            bodies.append(answer.text)
    assert "垃圾堆放，联系 [电话]" in bodies[0]  # taken out where the reporter typed it
    for text in bodies:
        for secret in (PHONE, "139 8765 4321", "晓明", "wxm@example.cn", "丽娟"):
            assert secret not in text


async def test_a_tip_off_is_listed_without_its_text_even_with_consent(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    lat, lon = point()
    op = token_for(sessions, "operator1")
    body = {
        "title": "楼下无证经营",
        "description": "楼下有人无证经营",
        "category": "hotline_general",
        "request_kind": "投诉",
        "lat": lat,
        "lon": lon,
    }
    complaint = (await http.post("/api/v1/reports", json=body, headers=op)).json()
    await in_read_model(sessions, complaint["ticket"])
    tip = {
        **body,
        "request_kind": "举报",
        "description": "某某在楼下无证经营，人名在此",
        "publish": True,
    }
    tip_off = await http.post(
        "/api/v1/reports", json={**tip, "merge_into": complaint["ticket"]}, headers=op
    )
    own = await http.post("/api/v1/reports", json={**tip, "duplicates": "new"}, headers=op)
    for made in (tip_off.json(), own.json()):
        await in_read_model(sessions, made["ticket"])
        shown = (await http.get(f"{BASE}/requests/{made['ticket']}.json")).json()[0]
        assert shown["description"] == "（举报内容不公开）" and "某某" not in str(shown)
    public = (await http.get(f"{BASE}/requests/{complaint['ticket']}.json")).json()[0]
    assert public["description"] == "（诉求内容未经反映人同意公开）"  # operators did not ask
    agreed = await http.post(
        "/api/v1/reports", json={**body, "duplicates": "new", "publish": True}, headers=op
    )
    await in_read_model(sessions, agreed.json()["ticket"])
    public = (await http.get(f"{BASE}/requests/{agreed.json()['ticket']}.json")).json()[0]
    assert public["description"] == "楼下有人无证经营"


async def test_client_names_fit_the_audit_trail(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        for bad in ("", "  ", "x" * 49, "line\nbreak"):
            with pytest.raises(ValueError):
                mint_open311_key(session, bad)
        assert mint_open311_key(session, "南京通 app").startswith("o311_")
