"""Issue 12 on a phone (390×844) in a real Chromium: a citizen reports with a photo, the
handler completes the case with two photos, the verifier compares before and after, and the
citizen sees the photos and rates the result on the tracking page (the case's 回访).

Screenshots land in tests/web/screens/ (gitignored) for review; `CLICKS` counts each role's
taps and choices for its main job.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, FilePayload, Page, expect
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.intake.geo import boundaries
from tests.web.browser import chromium, needs_chromium, serving
from tests.web.test_attachment_pages import png

pytestmark = pytest.mark.browser

SCREENS = Path(__file__).parent / "screens"
PHONE = {"width": 390, "height": 844}


def photos(*shades: int) -> list[FilePayload]:
    return [{"name": f"现场{n}.png", "mimeType": "image/png", "buffer": png(n)} for n in shades]


async def phone(browser: Browser) -> Page:
    context = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = await context.new_page()
    # Irreversible actions ask first (a confirm dialog): the tests' users say yes.
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    return page


async def shot(page: Page, name: str) -> None:
    SCREENS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


async def log_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill("demo1234")
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{base}/")


async def citizen_reports(page: Page, base: str) -> tuple[str, str]:
    """The public form with one photo; returns the ticket and the short query code."""
    point = boundaries(Settings().boundaries_file).representative_point("gl-nhl-c1-g1")
    assert point is not None
    await page.goto(f"{base}/report")
    await page.get_by_label("问题类型").select_option("exposed_garbage")
    await page.get_by_label("问题描述").fill("颐和路口垃圾堆放两天未清运")
    await page.get_by_label("纬度").fill(str(point[0]))
    await page.get_by_label("经度").fill(str(point[1]))
    await page.get_by_label("详细地址").fill("宁海路与颐和路交叉口")
    await page.get_by_label("照片/视频").set_input_files(photos(10))
    await expect(page.get_by_test_id("upload")).to_have_count(1)
    await page.get_by_role("button", name="提交", exact=True).click()
    await expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
    await expect(page.get_by_role("button", name="复制")).to_be_visible()
    await shot(page, "citizen-submitted")
    ticket = (await page.get_by_test_id("ticket").inner_text()).strip()
    return ticket, (await page.get_by_test_id("query-code").inner_text()).strip()


async def handler_completes(page: Page, base: str, ticket: str) -> None:
    """签收, then 反馈 with two photos from the camera input."""
    await log_in(page, base, "handler_nhl")
    await page.goto(f"{base}/cases/{ticket}")
    status = page.get_by_test_id("status")
    await page.get_by_test_id("action-accept").get_by_role("button", name="签收").click()
    await expect(status).to_have_text("已签收")
    feedback = page.get_by_test_id("action-submit_feedback")
    await feedback.get_by_label("处置结果").fill("垃圾已清运完毕，路面已冲洗")
    camera = page.locator("#submit_feedback-photo-file")
    assert await camera.get_attribute("capture") == "environment"
    await camera.set_input_files(photos(60, 120))
    await expect(page.locator("#submit_feedback-photo-list figure")).to_have_count(2)
    await shot(page, "handler-feedback")
    await feedback.get_by_role("button", name="提交反馈").click()
    await expect(status).to_have_text("待核查")


async def verifier_compares(page: Page, base: str, ticket: str) -> None:
    await log_in(page, base, "verifier_gl")
    await page.goto(f"{base}/cases/{ticket}")
    pair = page.get_by_test_id("before-after")
    await expect(pair.get_by_test_id("before").locator("img")).to_have_count(1)
    await expect(pair.get_by_test_id("after").locator("img")).to_have_count(2)
    for img in await pair.locator("img").all():  # thumbnails really load
        assert await img.evaluate("i => i.complete && i.naturalWidth > 0")
    await shot(page, "verifier-before-after")
    await page.get_by_role("button", name="核查通过").click()
    await expect(page.get_by_test_id("status")).to_have_text("已结案")


async def citizen_rates(page: Page, base: str, ticket: str, code: str) -> None:
    await page.goto(f"{base}/track")
    await page.get_by_label("工单号").fill(ticket)
    await page.get_by_label("查询码").fill(code)
    await page.get_by_role("button", name="查询").click()
    await expect(page.get_by_role("heading", name="处理进度")).to_be_visible()
    for _ in range(100):  # the tracking page reads the projection, written asynchronously
        if await page.get_by_test_id("status").inner_text() == "已办结":
            break
        await asyncio.sleep(0.1)
        await page.reload()
    await expect(page.get_by_test_id("after-photos").locator("img")).to_have_count(2)
    await no_sideways_scroll(page)
    await shot(page, "citizen-tracking")
    rate = page.get_by_test_id("rate-form")
    await rate.get_by_label("满意", exact=True).check()
    await rate.get_by_label("已解决").check()
    await rate.get_by_label("意见或建议（可选）").fill("清理及时，谢谢")
    await rate.get_by_role("button", name="提交评价").click()
    await expect(page.get_by_test_id("rated")).to_contain_text("感谢您的评价")
    await expect(page.get_by_test_id("rating")).to_have_text("满意")
    await shot(page, "citizen-rated")


@needs_chromium
async def test_a_case_is_closed_with_photos_on_a_phone_and_rated_by_the_citizen(
    dev_env: WorkflowEnvironment,
    sqlite_db: str,
    task_queue: str,
    attachment_dir: Path,
) -> None:
    expect.set_options(timeout=20_000)
    async with serving(dev_env, sqlite_db, task_queue) as base, chromium() as browser:
        citizen, handler, verifier = [await phone(browser) for _ in range(3)]
        ticket, code = await citizen_reports(citizen, base)
        await handler_completes(handler, base, ticket)
        await verifier_compares(verifier, base, ticket)
        await citizen_rates(citizen, base, ticket, code)
        timeline = verifier.get_by_test_id("event").filter(has_text="市民评价")
        await verifier.reload()
        await expect(timeline).to_contain_text("满意度：满意")
        await expect(timeline).to_contain_text("回访结果：已解决")
