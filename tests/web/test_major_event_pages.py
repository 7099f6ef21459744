"""重大事件 pages: intake offers the type, receiving an event, the board and its actions
(through the generic seam), a refusal inline, the list."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from tests.web.browser import Desktop, log_in
from tests.web.support import HX, Web, login, post

EVENT = {
    "title": "鼓楼区暴雨内涝",
    "event_type": "natural_disaster",
    "sub_type": "气象灾害",
    "grade": "III",
    "location_unit_id": "gl-nhl",
}


async def test_an_event_from_intake_to_its_board(web: Web) -> None:
    http = web.http
    await login(http, "supervisor1")
    intake = await http.get("/cases/new")
    assert 'href="/major-events/new"' in intake.text  # intake offers the types one may start

    received = await post(http, "/major-events", EVENT)
    assert received.status_code == 303, received.text
    url = received.headers["location"]
    board = await http.get(url)
    assert board.status_code == 200
    assert "Ⅲ" in board.text or "III级 较大" in board.text
    assert "初报（书面）" in board.text and 'data-testid="me-phase">接报' in board.text
    # linking by category and area offers names to pick, not codes to type
    assert '<select name="category" aria-label="或按类别">' in board.text
    assert '<option value="exposed_garbage">' in board.text and "如 waterlogging" not in board.text

    ticket = url.rsplit("/", 1)[-1]
    act = f"/major-events/{ticket}/actions"
    await post(http, f"{act}/assess", {"note": "雨量超警"}, HX)
    active = await post(http, f"{act}/activate", {}, HX)
    assert 'data-testid="me-phase">启动响应' in active.text
    assert 'data-testid="me-lead">鼓楼区' in active.text
    ordered = await post(http, f"{act}/order_station", {"unit_ids": "gl-dept-water"}, HX)
    assert "鼓楼区水务局" in ordered.text and 'data-testid="me-station"' in ordered.text

    refused = await post(http, f"{act}/regrade", {"grade": "II", "reason": ""}, HX)
    assert refused.status_code == 422 and 'data-testid="me-error"' in refused.text

    for _ in range(100):  # the list reads the read model
        listed = await http.get("/major-events")
        if ticket in listed.text:
            break
        await asyncio.sleep(0.1)
    assert ticket in listed.text and "III级 较大" in listed.text


async def test_a_handler_may_not_receive_an_event(web: Web) -> None:
    await login(web.http, "handler_nhl")
    intake = await web.http.get("/major-events")
    assert 'data-testid="me-new"' not in intake.text
    refused = await post(web.http, "/major-events", EVENT)
    assert refused.status_code == 422 and 'data-testid="me-error"' in refused.text


async def test_the_board_fits_a_phone_and_its_actions_work_in_the_browser(desktop: Desktop) -> None:
    page, base = desktop
    await page.set_viewport_size({"width": 390, "height": 844})
    await log_in(page, base, "supervisor1")
    await page.goto(f"{base}/major-events/new")
    await page.get_by_label("事件名称").fill("鼓楼区暴雨内涝")
    await page.get_by_label("事件级别").select_option("III")
    await page.get_by_label("发生地（区域单元）").fill("gl-nhl")
    await page.get_by_role("button", name="接报").click()
    await expect(page.get_by_test_id("me-phase")).to_have_text("接报")
    await page.get_by_test_id("me-act-assess").get_by_role("button").click()
    await expect(page.get_by_test_id("me-phase")).to_have_text("研判定级")
    await page.get_by_test_id("me-act-activate").get_by_role("button").click()
    await expect(page.get_by_test_id("me-lead")).to_have_text("鼓楼区")
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390  # nothing sideways on a phone
