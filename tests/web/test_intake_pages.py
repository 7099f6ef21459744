"""Intake in the web UI: category suggestions, 直接答复, duplicates and merging, splitting,
masked reporters, and the grid worker's patrol report — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import re

import httpx
import pytest
from PIL import Image
from sqlmodel import func, select
from temporalio.testing import WorkflowEnvironment

from core.db import SessionFactory, session_scope
from core.intake.geo import boundaries
from core.models import CaseRecord, LinkedReportRecord, Unit
from tests.conftest import make_settings
from tests.web.support import GARBAGE, HX, Web, csrf, login, post

GRID = "gl-nhl-c1-g1"
FIRST_PHONE, SECOND_PHONE = "13812345678", "13987654321"


@pytest.fixture
def web_db_url(db_url: str) -> str:
    return db_url


@pytest.fixture
def point(dev_env: WorkflowEnvironment, db_url: str, task_queue: str) -> dict[str, str]:
    """A map point inside the demo grid gl-nhl-c1-g1, as the form posts it."""
    settings = make_settings(db_url, dev_env.client, task_queue)
    found = boundaries(settings.boundaries_file).representative_point(GRID)
    assert found is not None
    return {"lat": f"{found[0]:.6f}", "lon": f"{found[1]:.6f}"}


def manhole(point: dict[str, str], **fields: str) -> dict[str, str]:
    """A hotline report of a missing manhole cover at `point` (no area unit: the point decides)."""
    return {
        **GARBAGE,
        "title": "宁海路井盖丢失",
        "description": "井盖丢了，路过的人很危险",
        "category": "manhole_cover",
        "location_unit_id": "",
        "reporter_name": "张先生",
        "reporter_phone": FIRST_PHONE,
        **point,
        **fields,
    }


def ticket_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


async def in_read_model(sessions: SessionFactory, ticket: str) -> CaseRecord:
    """The case's row once the projection has written it (duplicates are found there)."""
    for _ in range(200):
        with session_scope(sessions) as session:
            row = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
        if row is not None:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ticket} never reached the read model")


async def page_showing(http: httpx.AsyncClient, url: str, text: str) -> str:
    """The page once it shows `text` (parts of it come from the asynchronous read model)."""
    for _ in range(100):
        page = await http.get(url)
        if text in page.text:
            return page.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never showed {text!r}")


async def merged_pair(web: Web, point: dict[str, str]) -> tuple[str, str]:
    """operator1 records a case, then a second report of it merged in: (case, report) tickets."""
    await login(web.http, "operator1")
    first = ticket_of(await post(web.http, "/cases", manhole(point)))
    await in_read_model(web.sessions, first)
    second = manhole(point, reporter_name="李女士", reporter_phone=SECOND_PHONE)
    merged = await post(web.http, "/cases", {**second, "merge_into": first})
    assert ticket_of(merged) == first
    page = (await web.http.get(f"/cases/{first}")).text
    found = re.search(r'data-testid="linked-report" data-ticket="([^"]+)"', page)
    assert found, page
    return first, found.group(1)


async def test_the_description_suggests_categories_as_a_fragment(web: Web) -> None:
    await login(web.http, "operator1")
    form = await web.http.get("/cases/new")
    assert 'hx-get="/cases/suggest"' in form.text
    assert 'hx-trigger="input changed delay:400ms"' in form.text

    found = await web.http.get("/cases/suggest", params={"description": "井盖丢了"}, headers=HX)
    assert found.status_code == 200 and "<html" not in found.text
    assert 'id="category-suggestions"' in found.text
    assert 'data-category="manhole_cover"' in found.text and "井盖缺失/破损" in found.text
    assert "selected" not in found.text  # nothing is chosen for the operator

    none = await web.http.get("/cases/suggest", params={"description": "天气不错"}, headers=HX)
    assert none.status_code == 200 and "data-category" not in none.text


async def test_a_consultation_answered_directly_is_archived_without_dispatch(web: Web) -> None:
    await login(web.http, "operator1")
    answer = "垃圾定时投放时间为每天 7:00-9:00 和 18:00-20:00。"
    form = {
        **GARBAGE,
        "title": "咨询垃圾投放时间",
        "category": "hotline_general",
        "request_kind": "咨询",
        "direct_answer": answer,
    }
    ticket = ticket_of(await post(web.http, "/cases", form))

    page = (await web.http.get(f"/cases/{ticket}")).text
    assert "已直接答复并归档" in page
    assert 'data-testid="status">已归档</span>' in page
    assert 'data-testid="request-kind">咨询<' in page and answer in page
    assert re.findall(r'data-action="(\w+)"', page) == ["receive", "direct_answer"]
    assert ">直接答复</strong>" in page  # the event's name, in Chinese
    again = (await web.http.get(f"/cases/{ticket}")).text
    assert "已直接答复并归档" not in again  # the notice is shown once


async def test_a_refused_form_keeps_every_value_with_the_error_inline(web: Web) -> None:
    await login(web.http, "operator1")
    form = {**GARBAGE, "title": "", "request_kind": "投诉", "reporter_phone": FIRST_PHONE}
    refused = await post(web.http, "/cases", form)
    assert refused.status_code == 422
    assert 'data-testid="form-error"' in refused.text and "标题：必填" in refused.text
    assert f'value="{FIRST_PHONE}"' in refused.text  # the operator's own input, whole
    assert '<option value="投诉" selected>' in refused.text

    # A map point needs both coordinates.
    half = await post(web.http, "/cases", {**GARBAGE, "lat": "32.1"}, HX)
    assert half.status_code == 200 and "请同时填写纬度和经度" in half.text


async def test_a_second_report_nearby_offers_the_open_case_then_merges(
    web: Web, point: dict[str, str]
) -> None:
    await login(web.http, "operator1")
    first = ticket_of(await post(web.http, "/cases", manhole(point)))
    await in_read_model(web.sessions, first)

    second = manhole(point, reporter_name="李女士", reporter_phone=SECOND_PHONE)
    asked = await post(web.http, "/cases", second)
    assert asked.status_code == 409
    assert "附近可能重复的工单" in asked.text
    assert f'data-testid="candidate" data-ticket="{first}"' in asked.text
    assert "相距 0 米" in asked.text and "已报告 1 次" in asked.text
    assert f'name="merge_into" value="{first}"' in asked.text and "并入此工单" in asked.text
    assert 'name="duplicates" value="new"' in asked.text and "确认不是重复，新建工单" in asked.text
    assert f'value="{SECOND_PHONE}"' in asked.text and 'value="李女士"' in asked.text
    htmx = await post(web.http, "/cases", second, HX)
    assert htmx.status_code == 200 and "附近可能重复的工单" in htmx.text

    merged = await post(web.http, "/cases", {**second, "merge_into": first}, HX)
    assert merged.headers["hx-redirect"] == f"/cases/{first}"
    page = (await web.http.get(f"/cases/{first}")).text
    assert f"已作为关联报告并入工单 {first}" in page
    assert 'data-testid="report-count">2<' in page
    assert page.count('data-testid="linked-report"') == 1 and "人工并入" in page
    assert 'data-action="link_report"' in page and ">关联报告</strong>" in page

    separate = ticket_of(await post(web.http, "/cases", {**second, "duplicates": "new"}))
    assert separate != first


async def test_a_dispatcher_splits_a_merged_report_into_its_own_case(
    web: Web, point: dict[str, str]
) -> None:
    first, report = await merged_pair(web, point)
    await login(web.http, "handler_nhl")
    assert f'data-testid="split-{report}"' not in (await web.http.get(f"/cases/{first}")).text
    url = f"/cases/{first}/reports/{report}/split"
    refused = await post(web.http, url, {"reason": "不是同一个"})
    assert refused.status_code == 403 and "只有派遣员或督办员可以拆分" in refused.text

    await login(web.http, "dispatcher_gl")
    page = (await web.http.get(f"/cases/{first}")).text
    assert f'data-testid="split-{report}"' in page
    empty = await post(web.http, url, {"reason": ""}, HX)
    assert empty.status_code == 200 and 'data-testid="split-error"' in empty.text
    assert f"拆分 {report} 未完成：原因：必填" in empty.text
    forged = await post(web.http, f"/cases/{first}/reports/NOPE-1/split", {"reason": "x"}, HX)
    assert (
        forged.status_code == 200
        and "拆分 NOPE-1 未完成：关联报告：该报告未关联到本工单" in forged.text
    )

    split = await post(web.http, url, {"reason": "不是同一个井盖，相隔一条街"}, HX)
    assert split.status_code == 200 and f"报告 {report} 已拆分为新工单 {report}" in split.text
    assert 'data-testid="report-count">1<' in split.text and "已拆分" in split.text
    own = await web.http.get(f"/cases/{report}")
    assert own.status_code == 200 and f'data-testid="ticket">{report}<' in own.text
    # A retried split (a double click) finds the case it started.
    again = await post(web.http, url, {"reason": "不是同一个井盖，相隔一条街"})
    assert again.status_code == 303 and again.headers["location"] == f"/cases/{first}"


@pytest.mark.parametrize(
    ("username", "whole"),
    [
        ("handler_nhl", False),
        ("dispatcher_gl", False),
        ("operator1", True),
        ("supervisor_gl", True),
    ],
)
async def test_reporters_are_masked_but_for_the_operator_who_took_them_and_supervisors(
    web: Web, point: dict[str, str], username: str, whole: bool
) -> None:
    first, _report = await merged_pair(web, point)
    await login(web.http, username)
    masked = ("138****5678", "139****4321")
    shown = (FIRST_PHONE, SECOND_PHONE) if whole else masked
    # The linked report's reporter reaches the read model after the merge.
    page = await page_showing(web.http, f"/cases/{first}", "李女士" if whole else "李*")
    for phone in shown:
        assert phone in page
    if not whole:
        assert FIRST_PHONE not in page and SECOND_PHONE not in page
        assert "张**" in page and "个人信息已脱敏" in page
    else:
        assert "张先生" in page and "李女士" in page


async def test_the_queue_masks_reporters_too(web: Web, point: dict[str, str]) -> None:
    await login(web.http, "operator1")
    ticket = ticket_of(await post(web.http, "/cases", manhole(point)))
    await in_read_model(web.sessions, ticket)
    assert FIRST_PHONE in await page_showing(web.http, "/", ticket)
    await login(web.http, "dispatcher_gl")
    queue = await page_showing(web.http, "/", ticket)
    assert "138****5678" in queue and FIRST_PHONE not in queue


def _grid_name(sessions: SessionFactory) -> str:
    with session_scope(sessions) as session:
        unit = session.get(Unit, GRID)
        assert unit is not None
        return unit.name


def _counts(sessions: SessionFactory) -> tuple[int, int]:
    with session_scope(sessions) as session:
        cases = session.exec(select(func.count()).select_from(CaseRecord)).one()
        linked = session.exec(select(func.count()).select_from(LinkedReportRecord)).one()
    return cases, linked


async def upload_photo(http: httpx.AsyncClient) -> str:
    """Upload a JPEG as the form's file input does; the sha its figure carries."""
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(jpeg, "JPEG")
    files = {"file": ("现场.jpg", jpeg.getvalue(), "image/jpeg")}
    response = await http.post(
        "/attachments", files=files, data={"csrf_token": await csrf(http)}, headers=HX
    )
    found = re.search(r'name="attachments" value="([0-9a-f]{64})"', response.text)
    assert response.status_code == 200 and found, response.text
    return found.group(1)


async def test_a_grid_worker_reports_from_a_point_and_the_grid_is_inferred(
    web: Web, point: dict[str, str]
) -> None:
    await login(web.http, "grid_nhl")
    form = await web.http.get("/patrol/new")
    assert form.status_code == 200 and "使用我的位置" in form.text and "data-map-pick" in form.text
    assert 'data-testid="nav-patrol"' in form.text
    sha = await upload_photo(web.http)

    report = {"category": "exposed_garbage", "description": "绿化带旁垃圾堆放", **point}
    ticket = ticket_of(await post(web.http, "/patrol", {**report, "attachments": sha}))
    page = (await web.http.get(f"/cases/{ticket}")).text
    assert f"所属网格：{_grid_name(web.sessions)}" in page
    assert "巡查发现：暴露垃圾" in page and 'data-testid="channel">网格巡查<' in page
    # The photo in the case's gallery and on its 受理 event.
    assert page.count(f'src="/files/{sha}/thumb"') == 2
    row = await in_read_model(web.sessions, ticket)
    assert row.location_unit_id == GRID and row.channel == "patrol"

    # The same find again: the hotline's candidate panel, the worker's input kept.
    again = await post(web.http, "/patrol", {**report, "attachments": sha})
    assert again.status_code == 409 and "附近可能重复的工单" in again.text
    assert f'data-testid="candidate" data-ticket="{ticket}"' in again.text
    assert f'value="{sha}"' in again.text and f'value="{point["lat"]}"' in again.text
    merged = await post(web.http, "/patrol", {**report, "merge_into": ticket})
    assert ticket_of(merged) == ticket


async def test_a_patrol_point_outside_the_city_is_refused_and_nothing_is_stored(
    web: Web,
) -> None:
    await login(web.http, "grid_nhl")
    before = _counts(web.sessions)
    report = {"category": "exposed_garbage", "description": "垃圾", "lat": "0", "lon": "0"}
    outside = await post(web.http, "/patrol", report)
    assert outside.status_code == 422
    assert "该点位不在本市范围内" in outside.text and 'value="绿化带' not in outside.text
    assert 'name="description"' in outside.text and ">垃圾</textarea>" in outside.text
    missing = await post(web.http, "/patrol", {**report, "lat": "", "lon": ""}, HX)
    assert missing.status_code == 200 and "请在地图上点选位置、使用我的位置" in missing.text
    await asyncio.sleep(0.3)  # a case started by mistake would reach the read model by now
    assert _counts(web.sessions) == before


async def test_only_field_roles_may_report_from_patrol(web: Web) -> None:
    await login(web.http, "handler_nhl")
    refused = await web.http.get("/patrol/new")
    assert refused.status_code == 403 and "您的角色不能巡查上报" in refused.text
