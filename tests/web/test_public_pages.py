"""The citizen channel over HTTP: the public report form, photo uploads and tracking, no login."""

from __future__ import annotations

import asyncio
import html
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from sqlmodel import func, select
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import SessionFactory, session_scope
from core.intake.geo import boundaries
from core.models import Attachment, CaseEventRecord, CaseRecord
from tests.conftest import projected
from tests.web.support import HX, Web, csrf, login, post, web_stack

MIB = 1024 * 1024
PHONE = "13912345678"
REPORT = {
    "category": "exposed_garbage",
    "description": "颐和路口垃圾堆放两天未清运，气味很大",
    "address": "宁海路与颐和路交叉口",
    "reporter_name": "李秀英",
    "reporter_phone": PHONE,
}
TRACKING_LINK = re.compile(r'data-testid="tracking-link">([^<]+)<')
TICKET = re.compile(r'data-testid="ticket">([^<]+)<')


@pytest.fixture
def attachment_dir(attachment_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own folder, with small limits: "too large" is cheap to test."""
    monkeypatch.setenv("CITYLOOP_MAX_IMAGE_BYTES", str(1 * MIB))
    monkeypatch.setenv("CITYLOOP_MAX_VIDEO_BYTES", str(2 * MIB))
    return attachment_dir


@pytest_asyncio.fixture(loop_scope="session")
async def web(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str, attachment_dir: Path
) -> AsyncIterator[Web]:
    async with web_stack(dev_env.client, sqlite_db, task_queue) as stack:
        yield stack


def inside(unit_id: str = "gl-nhl-c1-g1") -> tuple[float, float]:
    point = boundaries(Settings().boundaries_file).representative_point(unit_id)
    assert point is not None
    return point


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


async def report(
    http: httpx.AsyncClient, headers: dict[str, str] | None = None, **fields: str
) -> httpx.Response:
    lat, lon = inside()
    data = {**REPORT, "lat": str(lat), "lon": str(lon), **fields}
    return await http.post(
        "/report", data={**data, "csrf_token": await csrf(http, "/report")}, headers=headers
    )


async def upload(
    http: httpx.AsyncClient, name: str, data: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    files = {"file": (name, data, "image/png")}
    token = {"X-CSRF-Token": await csrf(http, "/report")}
    return await http.post("/report/attachments", files=files, headers={**token, **(headers or {})})


def tracking_link(page: httpx.Response) -> str:
    found = TRACKING_LINK.search(page.text)
    assert found, page.text
    return html.unescape(found.group(1))


def ticket_of(page: httpx.Response) -> str:
    found = TICKET.search(page.text)
    assert found, page.text
    return found.group(1)


def count(sessions: SessionFactory, table: type[CaseRecord] | type[Attachment]) -> int:
    with session_scope(sessions) as session:
        return session.exec(select(func.count()).select_from(table)).one()


async def tracked(http: httpx.AsyncClient, url: str, text: str) -> httpx.Response:
    """The tracking page once it shows `text` (the projection is asynchronous)."""
    for _ in range(100):
        page = await http.get(url)
        if page.status_code == 200 and text in page.text:
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never showed {text!r}: {page.status_code} {page.text}")


async def test_the_report_form_needs_no_login(web: Web) -> None:
    page = await web.http.get("/report")
    assert page.status_code == 200
    for label in (
        "问题类型",
        "问题描述",
        "纬度",
        "经度",
        "详细地址",
        "照片/视频",
        "姓名",
        "手机号",
    ):
        assert label in page.text
    assert "使用我的位置" in page.text and "个人信息保护" in page.text
    assert 'hx-post="/report"' in page.text and 'name="csrf_token"' in page.text
    assert "退出登录" not in page.text  # no staff layout for the public
    assert "市容环境" in page.text and 'value="exposed_garbage"' in page.text  # grouped


async def test_a_citizen_report_gives_a_ticket_and_an_absolute_tracking_link(web: Web) -> None:
    done = await report(web.http)
    assert done.status_code == 200, done.text
    assert "工单号" in done.text and "查询码" in done.text
    ticket = ticket_of(done)
    link = tracking_link(done)
    assert link.startswith(f"http://cityloop.test/track/{ticket}?t=")
    assert done.headers["cache-control"] == "private, no-store"
    assert done.headers["referrer-policy"] == "no-referrer"
    assert PHONE not in done.text

    row = await projected(web.sessions, f"case-{ticket}", 1)
    assert (row.channel, row.reporter_phone, row.taken_by) == ("citizen", PHONE, "public")
    assert row.title == REPORT["description"][:30]

    htmx = await report(
        web.http, HX, description="鼓楼公园门口电线杆上贴满小广告", category="illegal_ad"
    )
    assert htmx.status_code == 200 and "<html" not in htmx.text
    assert 'id="report"' in htmx.text and "提交成功" in htmx.text


async def test_the_tracking_page_shows_the_public_steps_and_no_personal_data(web: Web) -> None:
    done = await report(web.http)
    link = tracking_link(done)
    ticket = ticket_of(done)

    page = await tracked(web.http, link, "派遣")
    await projected(web.sessions, f"case-{ticket}", 3)  # receive, register, dispatch
    page = await tracked(web.http, link, "派遣")
    assert ticket in page.text and "暴露垃圾" in page.text
    steps = re.findall(r'data-testid="step">\s*<div class="what"><strong>([^<]+)<', page.text)
    assert steps == ["受理", "立案", "派遣"]
    assert 'data-testid="status">办理中<' in page.text  # in plain words
    assert 'data-testid="unit">宁海路街道<' in page.text  # who handles it
    assert 'aria-current="step">办理中<' in page.text
    assert page.headers["cache-control"] == "private, no-store"
    # No reporter, no staff, no system, no address.
    for private in (PHONE, "李秀英", "系统", REPORT["address"]):
        assert private not in page.text, private


async def test_a_case_not_yet_in_the_read_model_is_tracked_from_its_workflow(web: Web) -> None:
    done = await report(web.http)
    ticket, link = ticket_of(done), tracking_link(done)
    await projected(web.sessions, f"case-{ticket}", 3)
    with session_scope(web.sessions) as session:  # as if the projection lagged behind
        for event in session.exec(
            select(CaseEventRecord).where(CaseEventRecord.case_id == f"case-{ticket}")
        ):
            session.delete(event)
        row = session.get(CaseRecord, f"case-{ticket}")
        assert row is not None
        session.delete(row)

    page = await web.http.get(link)
    assert page.status_code == 200 and "受理" in page.text and "派遣" in page.text
    wrong = await web.http.get(f"/track/{ticket}?t=wrong-token")
    assert wrong.status_code == 404


async def test_tracking_without_the_right_token_is_not_found(web: Web) -> None:
    first = await report(web.http)
    second = await report(web.http, category="illegal_ad", description="电线杆上贴满小广告")
    ticket, link = ticket_of(first), tracking_link(first)
    other_token = tracking_link(second).split("?t=", 1)[1]
    await tracked(web.http, link, "派遣")

    for url in (
        f"/track/{ticket}",
        f"/track/{ticket}?t=",
        f"/track/{ticket}?t=guess",
        f"/track/{ticket}?t={other_token}",
        f"/track/{ticket}?t=令牌",
        f"/track/CL20990101-000001?t={other_token}",
    ):
        page = await web.http.get(url)
        assert page.status_code == 404, url
        assert "未找到该工单" in page.text and "暴露垃圾" not in page.text


async def test_the_lookup_form_finds_a_report_by_ticket_and_token(web: Web) -> None:
    done = await report(web.http)
    ticket, link = ticket_of(done), tracking_link(done)
    token = link.split("?t=", 1)[1]
    await tracked(web.http, link, "派遣")

    form = await web.http.get("/track")
    assert form.status_code == 200 and "工单号" in form.text and "查询码" in form.text
    found = await web.http.get("/track", params={"ticket": f" {ticket} ", "t": token})
    assert found.status_code == 303 and found.headers["location"] == f"/track/{ticket}?t={token}"
    missed = await web.http.get("/track", params={"ticket": ticket, "t": "nope"})
    assert missed.status_code == 404 and "未找到该工单" in missed.text and ticket in missed.text
    boosted = {"HX-Request": "true", "HX-Boosted": "true"}  # htmx swaps no 404: 200 it is
    missed = await web.http.get("/track", params={"ticket": ticket, "t": "x"}, headers=boosted)
    assert missed.status_code == 200 and "未找到该工单" in missed.text
    found = await web.http.get("/track", params={"ticket": ticket, "t": token}, headers=boosted)
    assert found.headers["hx-redirect"] == f"/track/{ticket}?t={token}"


async def test_a_report_without_a_location_is_refused_inline_and_nothing_is_stored(
    web: Web,
) -> None:
    before = count(web.sessions, CaseRecord)
    page = await report(web.http, lat="", lon="")
    assert page.status_code == 422
    assert "请在地图上选择位置或填写经纬度" in page.text
    assert REPORT["description"] in page.text and f'value="{PHONE}"' in page.text  # kept

    htmx = await report(web.http, HX, lat="", lon="")
    assert htmx.status_code == 200 and "请在地图上选择位置或填写经纬度" in htmx.text
    assert "<html" not in htmx.text

    half = await report(web.http, lon="")
    assert half.status_code == 422 and "请同时填写纬度和经度" in half.text
    empty = await report(web.http, description="  ")
    assert empty.status_code == 422 and "请描述问题" in empty.text
    await asyncio.sleep(0.3)  # a projection, were anything started, would have landed
    assert count(web.sessions, CaseRecord) == before


async def test_points_outside_the_city_and_unknown_categories_are_refused(web: Web) -> None:
    beijing = await report(web.http, lat="39.9", lon="116.4")
    assert beijing.status_code == 422 and "该位置不在南京市范围内" in beijing.text
    typed = await report(web.http, lat="abc", lon="118.8")
    assert typed.status_code == 422 and "纬度应为" in typed.text
    unknown = await report(web.http, category="no_such_kind")
    assert unknown.status_code == 422 and "请选择问题类型" in unknown.text
    phone = await report(web.http, reporter_phone="call me")
    assert phone.status_code == 422 and "请填写正确的手机号" in phone.text
    assert count(web.sessions, CaseRecord) == 0


async def test_posts_without_the_csrf_token_are_forbidden(web: Web) -> None:
    lat, lon = inside()
    data = {**REPORT, "lat": str(lat), "lon": str(lon)}
    assert (await web.http.post("/report", data=data)).status_code == 403
    files = {"file": ("a.png", png(), "image/png")}
    assert (await web.http.post("/report/attachments", files=files)).status_code == 403


async def test_a_fake_image_is_refused_inline_and_nothing_is_stored(
    web: Web, attachment_dir: Path
) -> None:
    fake = await upload(web.http, "photo.png", b"this is not a picture at all", HX)
    assert fake.status_code == 200 and "不是有效的图片或视频" in fake.text
    assert 'data-testid="upload-error"' in fake.text and "photo.png" in fake.text
    broken = await upload(web.http, "broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert broken.status_code == 422 and "不是有效的图片或视频" in broken.text
    large = await upload(web.http, "large.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (MIB + 10), HX)
    assert "文件过大（上限 1 MB）" in large.text
    assert count(web.sessions, Attachment) == 0
    assert not attachment_dir.exists() or not any(p.is_file() for p in attachment_dir.rglob("*"))


@pytest_asyncio.fixture(loop_scope="session")
async def limited(
    dev_env: WorkflowEnvironment,
    sqlite_db: str,
    task_queue: str,
    attachment_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Web]:
    """The stack with a citizen's daily quotas cut to 1 file a device and 2 an address."""
    monkeypatch.setenv("CITYLOOP_UPLOAD_QUOTA_DEVICE_FILES", "1")
    monkeypatch.setenv("CITYLOOP_UPLOAD_QUOTA_ADDRESS_FILES", "2")
    async with web_stack(dev_env.client, sqlite_db, task_queue) as stack:
        yield stack


async def test_past_a_daily_quota_a_citizen_is_told_when_to_come_back(limited: Web) -> None:
    http = limited.http
    assert (await upload(http, "a.png", png(), HX)).status_code == 200
    again = await upload(http, "b.png", png((30, 30)), HX)
    assert again.status_code == 200 and 'data-testid="upload-error"' in again.text
    assert "今日上传已达上限（每台设备每天最多 1 个文件" in again.text
    assert 0 < int(again.headers["retry-after"]) <= 86_400
    without_js = await upload(http, "b.png", png((30, 30)))
    assert without_js.status_code == 429 and "retry-after" in without_js.headers

    http.cookies.clear()  # another phone behind the same address has a quota of its own…
    assert (await upload(http, "c.png", png((31, 31)), HX)).status_code == 200
    http.cookies.clear()  # …until the address's runs out
    third = await upload(http, "d.png", png((32, 32)))
    assert third.status_code == 429 and "每个网络地址每天最多 2 个文件" in third.text
    assert count(limited.sessions, Attachment) == 2

    # A report without new files still goes through.
    assert "提交成功" in (await report(http)).text


async def test_a_body_beyond_the_upload_limit_is_refused_before_it_is_read(web: Web) -> None:
    huge = await upload(web.http, "huge.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * MIB))
    assert huge.status_code == 413 and "文件过大" in huge.json()["detail"]


async def test_a_photo_is_uploaded_shown_and_counted_on_the_tracking_page(web: Web) -> None:
    uploaded = await upload(web.http, "现场.png", png(), HX)
    assert uploaded.status_code == 200, uploaded.text
    assert (
        'data-testid="upload"' in uploaded.text and 'src="data:image/jpeg;base64,' in uploaded.text
    )
    sha = re.search(r'name="attachments" value="([0-9a-f]{64})"', uploaded.text)
    assert sha is not None
    with session_scope(web.sessions) as session:
        row = session.get(Attachment, sha.group(1))
        assert row is not None and row.uploaded_by == "public"

    # An error keeps the uploaded photo on the form.
    refused = await report(web.http, lat="", attachments=sha.group(1))
    assert (
        refused.status_code == 422 and sha.group(1) in refused.text and "现场.png" in refused.text
    )

    done = await report(web.http, attachments=sha.group(1))
    page = await tracked(web.http, tracking_link(done), "派遣")
    assert 'data-testid="photos">1 个<' in page.text


async def test_a_photo_posted_with_the_form_itself_works_without_javascript(web: Web) -> None:
    lat, lon = inside()
    data = {
        **REPORT,
        "lat": str(lat),
        "lon": str(lon),
        "csrf_token": await csrf(web.http, "/report"),
    }
    files = [
        ("files", ("a.png", png(), "image/png")),
        ("files", ("b.png", png((30, 30)), "image/png")),
    ]
    done = await web.http.post("/report", data=data, files=files)
    assert done.status_code == 200 and "提交成功" in done.text, done.text
    page = await tracked(web.http, tracking_link(done), "派遣")
    assert 'data-testid="photos">2 个<' in page.text

    files = [("files", ("fake.jpg", b"nope", "image/jpeg"))]
    data["csrf_token"] = await csrf(web.http, "/report")
    refused = await web.http.post("/report", data=data, files=files)
    assert refused.status_code == 422 and "fake.jpg：不是有效的图片或视频" in refused.text


async def test_a_second_report_at_the_same_point_joins_the_first_case(web: Web) -> None:
    first = await report(web.http)
    case_ticket = ticket_of(first)
    await projected(web.sessions, f"case-{case_ticket}", 3)  # dedup reads the read model

    second = await report(web.http, reporter_phone="13700001111", reporter_name="王先生")
    assert second.status_code == 200, second.text
    assert "已并入工单" in second.text and case_ticket in second.text
    assert "处理结果会一并告知您" in second.text
    report_ticket = ticket_of(second)
    assert report_ticket != case_ticket

    page = await tracked(web.http, tracking_link(second), case_ticket)
    assert report_ticket in page.text and 'data-testid="merged"' in page.text
    assert 'data-testid="status">办理中<' in page.text and "共 2 人反映" in page.text
    for private in ("13700001111", PHONE, "王先生", "李秀英"):
        assert private not in page.text
    assert 'data-testid="description"' not in page.text  # the first reporter's own words
    with session_scope(web.sessions) as session:
        row = session.get(CaseRecord, f"case-{case_ticket}")
        assert row is not None and row.report_count == 2


async def test_the_result_is_shown_once_the_case_is_closed(web: Web) -> None:
    done = await report(web.http)
    ticket, link = ticket_of(done), tracking_link(done)
    await projected(web.sessions, f"case-{ticket}", 3)

    await login(web.http, "handler_nhl")
    assert (await post(web.http, f"/cases/{ticket}/actions/accept", {})).status_code == 303
    progress = {"note": "已到场，正在清运"}
    assert (
        await post(web.http, f"/cases/{ticket}/actions/add_progress", progress)
    ).status_code == 303
    note = {"note": "垃圾已清运完毕，路面已冲洗"}
    fed = await post(web.http, f"/cases/{ticket}/actions/submit_feedback", note)
    assert fed.status_code == 303
    await post(web.http, "/logout", {})
    page = await tracked(web.http, link, "核查")
    assert "垃圾已清运完毕" not in page.text  # a result is told once verified

    await login(web.http, "verifier_gl")
    verified = await post(web.http, f"/cases/{ticket}/actions/verify", {"passed": "true"})
    assert verified.status_code == 303
    await post(web.http, "/logout", {})
    page = await tracked(web.http, link, "结案")
    assert "处理结果" in page.text and "垃圾已清运完毕，路面已冲洗" in page.text
    steps = re.findall(r'data-testid="step">\s*<div class="what"><strong>([^<]+)<', page.text)
    assert steps == ["受理", "立案", "派遣", "签收", "处置中", "核查", "结案"]
    for private in ("宁海路街道处置员", "鼓楼区核查员", PHONE):
        assert private not in page.text
