"""One case from intake to 结案, driven through a real Chromium against the real stack
(tests/web/browser.py serves it)."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import FilePayload, Page, expect

from tests.web.browser import (
    Desktop,
    handed_over,
    htmx_ready,
    log_in,
    log_out,
    needs_chromium,
    open_from_queue,
    screenshot,
)
from tests.web.test_attachment_pages import png

pytestmark = [pytest.mark.browser, needs_chromium]


async def handle_case(page: Page) -> None:
    """The street's handler: 签收, 处置进展, 反馈."""
    status = page.get_by_test_id("status")
    await page.get_by_test_id("action-accept").get_by_role("button", name="签收").click()
    await expect(status).to_have_text("已签收")
    progress = page.get_by_test_id("action-add_progress")
    await progress.get_by_label("进展说明").fill("已到场，正在清运")
    await progress.get_by_role("button", name="提交进展").click()
    await expect(status).to_have_text("处置中")
    await expect(page.get_by_test_id("event").filter(has_text="已到场，正在清运")).to_be_visible()
    await screenshot(page, "case")
    feedback = page.get_by_test_id("action-submit_feedback")
    await feedback.get_by_label("处置结果").fill("垃圾已清运完毕，路面已冲洗")
    await attach_photos(page, "submit_feedback", 2)
    await feedback.get_by_role("button", name="提交反馈").click()
    await expect(status).to_have_text("待核查")


async def attach_photos(page: Page, step: str, count: int) -> None:
    """Pick `count` photos on a step's form (as the camera would hand them over); wait until
    each is uploaded and shows as a thumbnail in the form."""
    files: list[FilePayload] = [
        {"name": f"现场{n}.png", "mimeType": "image/png", "buffer": png(40 * n)}
        for n in range(1, count + 1)
    ]
    await page.locator(f"#{step}-photo-file").set_input_files(files)
    await expect(page.locator(f"#{step}-photo-list figure")).to_have_count(count)


async def test_a_case_goes_from_intake_to_closed_in_the_browser(desktop: Desktop) -> None:
    page, base = desktop
    ticket = await handed_over(page, base, "handler_nhl")
    await handle_case(page)
    await log_out(page)

    await log_in(page, base, "verifier_gl")
    await open_from_queue(page, ticket)
    await page.get_by_role("button", name="核查通过").click()
    await expect(page.get_by_test_id("status")).to_have_text("已结案")

    events = page.get_by_test_id("event")
    steps = [
        ("受理", "王话务员"),
        ("立案", "系统"),
        ("派遣（自动）", "系统"),
        ("签收", "宁海路街道处置员"),
        ("处置进展", "宁海路街道处置员"),
        ("反馈", "宁海路街道处置员"),
        ("核查", "鼓楼区核查员"),
    ]
    await expect(events).to_have_count(len(steps))
    for i, (action, actor) in enumerate(steps):
        await expect(events.nth(i)).to_contain_text(action)
        await expect(events.nth(i)).to_contain_text(actor)
    await expect(events.nth(5)).to_contain_text("垃圾已清运完毕")
    await expect(events.nth(6)).to_contain_text("核查结果：通过")
    await screenshot(page, "case-closed")


async def test_a_supervisor_reassigns_and_the_new_unit_reads_its_inbox(desktop: Desktop) -> None:
    page, base = desktop
    ticket = await handed_over(page, base, "supervisor_gl")
    await page.get_by_test_id("override-reassign").locator("summary").click()
    reassign = page.get_by_test_id("action-reassign")
    await reassign.get_by_label("改派至").select_option("gl-dept-urban")
    await reassign.get_by_label("原因").fill("属城管执法范围")
    await screenshot(page, "case-supervisor")
    await reassign.get_by_role("button", name="改派").click()
    await expect(page.get_by_test_id("assigned-unit")).to_have_text("鼓楼区城市管理局")
    await expect(page.get_by_test_id("event").last).to_contain_text("改派")
    await log_out(page)

    await log_in(page, base, "handler_gl_urban")
    badge = page.get_by_test_id("unread-count")
    for _ in range(50):  # the inbox is written by the projection, asynchronously
        if await badge.is_visible():
            break
        await asyncio.sleep(0.1)
        await page.reload()
    await expect(badge).to_have_text("1")
    await page.get_by_test_id("nav-inbox").click()
    group = page.get_by_test_id("inbox-case").filter(has_text=ticket)
    row = group.get_by_test_id("inbox-item")
    await expect(row).to_contain_text("改派")
    await expect(row).to_contain_text("属城管执法范围")
    await screenshot(page, "inbox")
    await row.get_by_role("button", name="标为已读").click()
    await expect(row).to_contain_text("已读")
    await expect(badge).to_be_hidden()  # the count came back out of band


async def test_the_operator_picks_a_suggested_category_and_records_the_case(
    desktop: Desktop,
) -> None:
    page, base = desktop
    await log_in(page, base, "operator1")
    await page.get_by_role("link", name="新建工单").click()
    await htmx_ready(page, "#description")  # htmx binds the suggestions' trigger first
    await page.get_by_label("标题").fill("宁海路井盖丢失")
    description = page.get_by_label("问题描述")
    await description.fill("宁海路口井盖丢了，晚上路过很危险")
    await description.press("End")  # typing (an input event) asks for suggestions
    suggestions = page.get_by_test_id("category-suggestions")
    pick = suggestions.get_by_role("button", name="井盖缺失/破损")
    await expect(pick).to_be_visible()
    await expect(page.get_by_label("类别")).to_have_value("")  # nothing chosen for them
    await pick.click()
    await expect(page.get_by_label("类别")).to_have_value("manhole_cover")
    await page.get_by_label("位置").select_option("gl-nhl-c1-g1")
    await screenshot(page, "intake-suggested")
    await page.get_by_role("button", name="登记工单").click()
    await expect(page.get_by_test_id("status")).to_have_text("待签收")
    case = page.get_by_test_id("case")
    await expect(case).to_contain_text("井盖缺失/破损")
    await screenshot(page, "case-suggested")
