"""吹哨报到 in the web UI: the whistle panel on the case page, a department's queue and its steps
on the whistle page, ratings, approval of a 攻坚克难哨, refusals inline, the statistics page."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.web.browser import (
    Desktop,
    handed_over,
    log_in,
    log_out,
    needs_chromium,
    open_from_queue,
    screenshot,
)
from tests.web.support import HX, Web, eventually, login, match, new_case, post

DEPTS = {"gl-dept-water": "handler_gl_water", "gl-dept-police": "handler_gl_police"}
NEED = "占道经营与管线破损交织，需水务、公安到场会商"


async def case_in_handling(http: httpx.AsyncClient) -> str:
    """A case recorded by the operator and accepted by 宁海路街道 (logged in as its handler)."""
    await login(http, "operator1")
    ticket = await new_case(http)
    await login(http, "handler_nhl")
    accepted = await post(http, f"/cases/{ticket}/actions/accept", {}, HX)
    assert accepted.status_code == 200 and "action-error" not in accepted.text
    return ticket


async def blow(
    http: httpx.AsyncClient, ticket: str, departments: list[str], kind: str = "work_push"
) -> httpx.Response:
    form: dict[str, str | list[str]] = {"kind": kind, "departments": departments, "need": NEED}
    return await post(http, f"/cases/{ticket}/whistles", form, HX)  # type: ignore[arg-type]


def member_row(page: str, unit: str) -> str:
    return match(rf'<tr data-testid="whistle-member" data-unit="{unit}".*?</tr>', page)


def queue_row(page: str, ticket: str) -> str:
    return match(rf'<tr data-testid="whistle-row"[^>]*>(?:(?!</tr>).)*{ticket}.*?</tr>', page)


async def test_a_street_whistles_two_departments_which_sign_contact_and_report(web: Web) -> None:
    http = web.http
    ticket = await case_in_handling(http)
    page = (await http.get(f"/cases/{ticket}")).text
    form = re.search(r'<form[^>]*data-testid="whistle-blow".*?</form>', page, re.S)
    assert form, page
    assert '<option value="hard_problem">攻坚克难哨（需区级审批）</option>' in form.group(0)
    assert 'type="checkbox" name="departments" value="gl-dept-water"' in form.group(0)
    assert "鼓楼区公安分局" in form.group(0) and 'value="gl-nhl"' not in form.group(0), form.group(
        0
    )

    blown = await blow(http, ticket, list(DEPTS))
    assert blown.status_code == 200 and "whistle-error" not in blown.text
    assert blown.text.lstrip().startswith('<section id="case"') and "<html" not in blown.text
    assert 'data-testid="whistle-status">进行中<' in blown.text
    assert "工作推进哨" in blown.text and NEED in blown.text
    for dept in DEPTS:
        row = member_row(blown.text, dept)
        assert 'data-testid="member-step">待签收<' in row
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)  # the deadlines in China time
    assert 'data-testid="whistle-blow"' not in blown.text  # one whistle at a time
    assert 'data-testid="whistle-close"' in blown.text  # the blower may end it early
    assert 'data-action="whistle_blow"' in blown.text and "吹哨</strong>" in blown.text
    assert "召集：鼓楼区水务局、鼓楼区公安分局" in blown.text
    assert 'data-testid="action-submit_feedback"' not in blown.text  # the case waits
    early = await post(http, f"/cases/{ticket}/actions/submit_feedback", {"note": "完成"}, HX)
    assert "反馈未完成：吹哨尚未结束" in early.text

    # Each department finds it in its queue and takes its three steps on the whistle page.
    for dept, user in DEPTS.items():
        await login(http, user)
        queue = await eventually(
            lambda: _text(http, "/whistles"), lambda p: ticket in p, f"{dept} queue"
        )
        row = queue_row(queue, ticket)
        assert "工作推进哨" in row and "待签收" in row and "签收：" in row and "宁海路街道" in row
        assert re.search(r'data-testid="whistle-count"[^>]*>1<', queue)
        wid = re.search(r'href="/whistles/(whistle-[^"]+)"', row)
        assert wid and wid.group(1).endswith(dept)
        await _steps(http, wid.group(1), arrived=dept == "gl-dept-police")

    await login(http, "handler_nhl")
    done = await eventually(
        lambda: _text(http, f"/cases/{ticket}"),
        lambda p: 'data-testid="whistle-status">已完成<' in p,
        "the round is done",
    )
    for dept in DEPTS:
        assert 'data-testid="member-step">已报到<' in member_row(done, dept)
    assert 'data-testid="co-handlers">鼓楼区水务局、鼓楼区公安分局<' in done
    assert "报到完成</strong>" in done and "部门报到</strong>" in done
    assert 'data-testid="whistle-close"' not in done
    assert 'data-testid="action-submit_feedback"' in done  # the case goes on

    rated = await post(
        http,
        f"/cases/{ticket}/whistles/rate",
        {"unit_id": "gl-dept-water", "score": "5", "note": "响应迅速", "round": "1"},
        HX,
    )
    assert rated.status_code == 200 and "whistle-error" not in rated.text
    water = member_row(rated.text, "gl-dept-water")
    assert 'data-testid="member-rating">5 分<' in water and "响应迅速" in water
    assert 'data-testid="rate-gl-dept-police"' in member_row(rated.text, "gl-dept-police")
    assert "评价部门</strong>" in rated.text and "鼓楼区水务局：5 分" in rated.text
    again = await post(
        http, f"/cases/{ticket}/whistles/rate", {"unit_id": "gl-dept-water", "score": "4"}, HX
    )
    assert "评价部门未完成：已评价过该部门" in again.text
    assert 'data-testid="rate-gl-dept-water"' not in again.text  # rated once only


async def _text(http: httpx.AsyncClient, url: str) -> str:
    page = await http.get(url)
    assert page.status_code == 200, page.text
    return page.text


async def _steps(http: httpx.AsyncClient, wid: str, *, arrived: bool) -> None:
    """签收, 联系 (a note needed) and 报到 (a note and 已到场 or a plan date) by the forms."""
    page = (await http.get(f"/whistles/{wid}")).text
    assert 'data-testid="step-sign"' in page and 'data-testid="step-report"' not in page
    assert "吹哨召集</strong>" in page and NEED in page
    url = f"/whistles/{wid}/actions"
    signed = await post(http, f"{url}/sign", {}, HX)
    assert signed.text.lstrip().startswith('<section id="whistle"'), signed.text
    assert 'data-testid="whistle-step">已签收，待联系<' in signed.text
    assert "签收</strong>" in signed.text and "待签收 → 已签收，待联系" in signed.text
    bare = await post(http, f"{url}/contact", {"note": ""}, HX)
    assert 'data-testid="step-error">联系未完成：说明：必填<' in bare.text
    contacted = await post(http, f"{url}/contact", {"note": "已电话联系宁海路街道"}, HX)
    assert (
        'data-testid="step-report"' in contacted.text and "已电话联系宁海路街道" in contacted.text
    )
    plan = {"arrived": "true"} if arrived else {"plan_date": "2026-12-20"}
    reported = await post(http, f"{url}/report", {"note": "已到场会商", **plan}, HX)
    assert 'data-testid="whistle-step">已报到<' in reported.text, reported.text
    summary = "（已到场）" if arrived else "（计划 2026-12-20 前完成）"
    assert summary in reported.text and "本吹哨已结束。" in reported.text


async def test_a_hard_problem_whistle_waits_for_the_district_supervisor(web: Web) -> None:
    http = web.http
    ticket = await case_in_handling(http)
    refused = await blow(http, ticket, [])
    assert refused.status_code == 200  # htmx swaps no 4xx: the refusal is in the fragment
    assert "吹哨未完成：召集部门：请至少选择一个部门" in refused.text
    assert NEED in refused.text  # what was typed is kept
    assert 'data-testid="whistle-round"' not in refused.text
    plain = await post(http, f"/cases/{ticket}/whistles", {"kind": "work_push", "need": NEED})
    assert plain.status_code == 422 and "请至少选择一个部门" in plain.text

    hard = await blow(http, ticket, ["gl-dept-police"], kind="hard_problem")
    assert 'data-testid="whistle-status">待审批<' in hard.text
    assert 'data-testid="member-step">待审批<' in member_row(hard.text, "gl-dept-police")
    assert 'data-testid="whistle-approve"' not in hard.text
    assert "攻坚克难哨须经区级督办员审批后才召集部门" in hard.text

    for user in ("supervisor1", "dispatcher_gl", "handler_gl_police"):
        await login(http, user)
        assert 'data-testid="whistle-approve"' not in (await http.get(f"/cases/{ticket}")).text
    await login(http, "supervisor_gl")
    page = (await http.get(f"/cases/{ticket}")).text
    assert 'data-testid="whistle-approve"' in page and 'data-testid="whistle-close"' not in page
    approved = await post(http, f"/cases/{ticket}/whistles/approve", {"note": "同意"}, HX)
    assert 'data-testid="whistle-status">进行中<' in approved.text
    assert 'data-testid="whistle-approve"' not in approved.text
    assert "批准吹哨</strong>" in approved.text and "审批意见：同意" in approved.text

    await login(http, "handler_nhl")
    closed = await post(http, f"/cases/{ticket}/whistles/close", {"reason": ""}, HX)
    assert "提前结束吹哨未完成：原因：必填" in closed.text
    assert '<details class="override" open data-testid="whistle-close">' in closed.text
    ended = await post(http, f"/cases/{ticket}/whistles/close", {"reason": "街道先行处置"}, HX)
    assert 'data-testid="whistle-status">已关闭<' in ended.text
    assert "结束原因：街道先行处置" in ended.text
    assert 'data-testid="rate-gl-dept-police"' in ended.text  # a closed round may be rated
    assert 'data-testid="whistle-blow"' in ended.text  # and a new whistle blown


async def test_the_queue_board_stats_and_access(web: Web) -> None:
    http = web.http
    ticket = await case_in_handling(http)
    await blow(http, ticket, ["gl-dept-water"])
    board = await eventually(
        lambda: _text(http, "/whistles"), lambda p: ticket in p, "the street's board"
    )
    assert 'data-testid="whistle-board"' in board and "鼓楼区水务局" in queue_row(board, ticket)
    assert 'data-testid="whistle-queue"' not in board and 'data-testid="stats-link"' not in board
    fragment = await http.get("/whistles", headers=HX)
    assert fragment.text.lstrip().startswith('<section id="whistles"')
    assert "HX-Request" in fragment.headers["vary"]
    assert (await http.get("/whistles/stats")).status_code == 403
    assert (await http.get("/whistles/whistle-nope")).status_code == 404
    assert (await http.get("/whistles?unit=gl-hq")).status_code == 403  # another street

    await login(http, "supervisor_gl")  # the district's supervisor sees its streets' whistles
    district = await _text(http, "/whistles")
    assert "本单位及下属单位吹哨看板" in district and "宁海路街道" in queue_row(district, ticket)
    assert re.search(r'data-testid="whistle-count"[^>]*>\d+<', district)
    stats = await http.get("/whistles/stats")
    assert stats.status_code == 200 and "街道吹哨率" in stats.text
    street = re.search(r'data-street="gl-nhl".*?</tr>', stats.text, re.S)
    assert street and "宁海路街道" in street.group(0) and "%" in street.group(0)
    dept = re.search(r'data-dept="gl-dept-water".*?</tr>', stats.text, re.S)
    assert dept and "报到及时率" in stats.text and "平均评分" in stats.text
    assert 'data-testid="nav-whistles"' in stats.text


@pytest.mark.browser
@needs_chromium
async def test_a_whistle_in_the_browser(desktop: Desktop) -> None:
    page, base = desktop
    ticket = await handed_over(page, base, "handler_nhl")
    await page.get_by_test_id("action-accept").get_by_role("button", name="签收").click()
    await page.get_by_test_id("whistle-fold").locator("summary").first.click()  # folded away
    blow_form = page.get_by_test_id("whistle-blow")
    await blow_form.get_by_label("吹哨类型").select_option("work_push")
    await blow_form.get_by_label("鼓楼区水务局").check()
    await blow_form.get_by_label("鼓楼区公安分局").check()
    await blow_form.get_by_label("需求说明").fill(NEED)
    await blow_form.get_by_role("button", name="吹哨").click()
    await expect(page.get_by_test_id("whistle-status")).to_have_text("进行中")
    await expect(page.get_by_test_id("whistle-member")).to_have_count(2)
    await log_out(page)

    await log_in(page, base, "handler_gl_water")
    await page.get_by_test_id("nav-whistles").click()
    row = page.get_by_test_id("whistle-row").filter(has_text=ticket)
    await _reload_until(page, row)
    await expect(row).to_contain_text("待签收")
    await screenshot(page, "whistles")
    await row.get_by_role("link", name=ticket).click()
    await page.get_by_test_id("step-sign").get_by_role("button", name="签收").click()
    await expect(page.get_by_test_id("whistle-step")).to_have_text("已签收，待联系")
    await screenshot(page, "whistle")
    await log_out(page)

    await log_in(page, base, "handler_nhl")
    await open_from_queue(page, ticket)
    water = page.get_by_test_id("whistle-member").filter(has_text="鼓楼区水务局")
    await _reload_until(page, water.get_by_text("已签收，待联系"))
    await screenshot(page, "case-whistle")


async def _reload_until(page: Page, locator: Locator) -> None:
    """The queue reads the read model and the case hears its whistles, both asynchronously."""
    for _ in range(50):
        if await locator.count():
            return
        await asyncio.sleep(0.1)
        await page.reload()
