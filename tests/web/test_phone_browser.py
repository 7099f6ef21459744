"""The field roles' pages on a phone (390×844) in a real Chromium: no page scrolls sideways, and
each page's primary action is on the first screen. Screenshots go to tests/web/screens/ (kept
out of git) for a human to look at; the taps each role's main job takes are counted."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Dialog, Locator, Page, expect
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.intake.geo import boundaries
from tests.web.browser import chromium, needs_chromium, serving

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
SCREENS = Path(__file__).parent / "screens"
# Buttons, links and disclosure toggles a screen reader could only call "button" or "link".
UNNAMED = """[...document.querySelectorAll('button, a[href], summary, [role=button]')]
  .filter(e => !(e.textContent.trim() || e.getAttribute('aria-label') || e.getAttribute('title')
    || e.querySelector('img[alt]:not([alt=""])')))
  .map(e => e.outerHTML.slice(0, 120))"""
NEED = "路面积水需排水和交通疏导"


class Phone:
    """A Chromium page at phone size that checks every page it is shown and counts taps."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.taps: Counter[str] = Counter()
        self.role = ""
        self.asked: list[str] = []  # the confirmations shown (and said yes to)
        page.on("dialog", self._yes)

    async def _yes(self, dialog: Dialog) -> None:
        self.asked.append(dialog.message)
        await dialog.accept()

    async def tap(self, target: Locator) -> None:
        self.taps[self.role] += 1
        await target.click()

    async def check_then_tap(self, name: str, primary: Locator) -> None:
        """Check the page (its primary action `primary`), then tap that action."""
        await self.check(name, primary)
        await self.tap(primary)

    async def check(self, name: str, primary: Locator) -> None:
        """No sideways scroll, the primary action on the first screen; a screenshot kept."""
        page = self.page
        await expect(primary).to_be_visible()
        await page.evaluate("window.scrollTo(0, 0)")
        width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        SCREENS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
        assert width[0] <= width[1], f"{name}: {width[0]} px wide on a {width[1]} px screen"
        box = await primary.bounding_box()
        assert box is not None and box["y"] < PHONE["height"], f"{name}: primary action at {box}"
        assert await page.evaluate(UNNAMED) == [], f"{name}: controls without a name"
        await page.set_viewport_size(SMALL_PHONE)  # the smallest phones in use
        narrow = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        await page.set_viewport_size(PHONE)
        assert narrow[0] <= narrow[1], f"{name}: {narrow[0]} px wide on a {narrow[1]} px screen"


@asynccontextmanager
async def phone(dev_env: WorkflowEnvironment, db_url: str, task_queue: str) -> AsyncIterator[Phone]:
    expect.set_options(timeout=20_000)
    async with serving(dev_env, db_url, task_queue) as base, chromium() as browser:
        context = await browser.new_context(
            locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True
        )
        yield Phone(await context.new_page(), base)


async def log_in(p: Phone, username: str) -> None:
    p.role = username
    await p.page.goto(f"{p.base}/login")
    await p.page.get_by_label("用户名").fill(username)
    await p.page.get_by_label("密码").fill("demo1234")
    await p.page.get_by_role("button", name="登录").click()
    await expect(p.page.get_by_role("heading", name="工单队列")).to_be_visible()


async def log_out(p: Phone) -> None:
    await p.page.get_by_role("button", name="退出登录").click()
    await expect(p.page.get_by_role("heading", name="登录")).to_be_visible()


async def queue_link(p: Phone, ticket: str, tab: str = "") -> Locator:
    """The case's link in the queue, once the read model shows it."""
    link = p.page.get_by_test_id("case-row").get_by_role("link", name=ticket)
    for _ in range(50):
        if await link.count():
            return link
        await asyncio.sleep(0.1)
        await p.page.goto(f"{p.base}/{'?tab=' + tab if tab else ''}")
    raise AssertionError(f"{ticket} never reached the queue")


async def record_case(p: Phone) -> str:
    page = p.page
    await page.goto(f"{p.base}/cases/new")
    await page.get_by_label("标题").fill("宁海路路面积水")
    await page.get_by_label("类别").select_option("exposed_garbage")
    await page.get_by_label("位置").select_option("gl-nhl-c1-g1")
    await page.get_by_label("详细地址").fill("宁海路与颐和路交叉口")
    await page.get_by_label("问题描述").fill("路口积水，垃圾堆放")
    await page.get_by_label("联系电话").fill("13800000000")
    await page.get_by_role("button", name="登记工单").click()
    await expect(page.get_by_test_id("status")).to_have_text("待签收")
    return (await page.get_by_test_id("ticket").inner_text()).strip()


async def handler_handles(p: Phone, ticket: str) -> None:
    """The handler's main job: 签收, 提交进展, 提交反馈."""
    page = p.page
    await log_in(p, "handler_nhl")
    link = await queue_link(p, ticket)
    await p.check_then_tap("handler-queue", link)
    accept = page.get_by_test_id("action-accept").get_by_role("button", name="签收")
    await p.check_then_tap("handler-case-dispatched", accept)
    await expect(page.get_by_test_id("status")).to_have_text("已签收")
    progress = page.get_by_test_id("bar-add_progress")
    await p.check_then_tap("handler-case-accepted", progress)
    form = page.get_by_test_id("action-add_progress")
    await expect(form.get_by_label("进展说明")).to_be_focused()  # the keyboard opens there
    await form.get_by_label("进展说明").fill("已到场，正在排水")
    await p.tap(form.get_by_role("button", name="提交进展"))
    await expect(page.get_by_test_id("status")).to_have_text("处置中")
    bar = page.get_by_test_id("bar-submit_feedback")
    await p.check_then_tap("handler-case-handling", bar)
    form = page.get_by_test_id("action-submit_feedback")
    await form.get_by_label("处置结果").fill("积水已排除，垃圾已清运")
    await p.tap(form.get_by_role("button", name="提交反馈"))  # and says yes to the confirmation
    await expect(page.get_by_test_id("status")).to_have_text("待核查")
    assert p.asked == ["提交反馈：工单将交核查员核查，处置结果提交后不能修改。确定提交吗？"]
    await log_out(p)


async def handler_blows_a_whistle(p: Phone, ticket: str) -> None:
    page = p.page
    role, p.role = p.role, "handler_whistle"
    await log_in(p, "handler_nhl")
    p.role = "handler_whistle"
    await (await queue_link(p, ticket)).click()
    await page.get_by_test_id("action-accept").get_by_role("button", name="签收").click()
    await expect(page.get_by_test_id("status")).to_have_text("已签收")
    # 吹哨: folded away until wanted.
    await p.tap(page.get_by_test_id("whistle-fold").locator("summary").first)
    blow = page.get_by_test_id("whistle-blow")
    await blow.get_by_label("吹哨类型").select_option("work_push")
    await blow.get_by_label("鼓楼区水务局").check()
    await blow.get_by_label("需求说明").fill(NEED)
    await p.tap(blow.get_by_role("button", name="吹哨"))
    await expect(page.get_by_test_id("whistle-status")).to_have_text("进行中")
    await p.check("handler-case-whistle", page.get_by_test_id("bar-add_progress"))

    for path, name in (
        ("/inbox", "handler-inbox"),
        ("/whistles", "handler-whistles"),
        ("/directory", "handler-directory"),
    ):
        await page.goto(f"{p.base}{path}")
        await p.check(name, page.get_by_role("heading", level=1).first)
    await log_out(p)
    p.role = role


async def department_signs(p: Phone, ticket: str) -> None:
    page = p.page
    await log_in(p, "handler_gl_water")
    await p.tap(page.get_by_test_id("nav-whistles"))
    row = page.get_by_test_id("whistle-row").filter(has_text=ticket)
    for _ in range(50):
        if await row.count():
            break
        await asyncio.sleep(0.1)
        await page.reload()
    link = row.get_by_role("link", name=ticket)
    await expect(row.get_by_test_id("whistle-countdown")).to_have_text(re.compile(r"^剩 "))
    await p.check_then_tap("department-whistles", link)
    sign = page.get_by_test_id("step-sign").get_by_role("button", name="签收")
    await p.check_then_tap("department-whistle", sign)
    await expect(page.get_by_test_id("whistle-step")).to_have_text("已签收，待联系")
    await p.check("department-whistle-signed", page.get_by_test_id("whistle-step"))
    await log_out(p)


async def grid_worker_reports(p: Phone, point: tuple[float, float]) -> None:
    page = p.page
    await log_in(p, "grid_nhl")
    await p.check_then_tap("grid-queue", page.get_by_test_id("nav-patrol"))
    category = page.get_by_label("类别")
    await p.check("grid-patrol", category)
    await category.select_option("exposed_garbage")
    await page.get_by_label("问题描述").fill("绿化带旁垃圾堆放")
    await page.get_by_label("纬度").fill(f"{point[0]:.6f}")
    await page.get_by_label("经度").fill(f"{point[1]:.6f}")
    await page.get_by_label("经度").press("Tab")  # a typed point is taken when the field is left
    await expect(page.get_by_test_id("map-where")).to_contain_text("宁海路街道")
    await p.tap(page.get_by_role("button", name="提交上报"))
    await expect(page.get_by_test_id("ticket")).to_be_visible()
    await p.check("grid-case", page.get_by_test_id("action-bar"))
    await page.goto(f"{p.base}/?tab=reported")
    await p.check("grid-reported", page.get_by_test_id("tab-reported"))
    await log_out(p)


async def citizen_reports(p: Phone, point: tuple[float, float]) -> None:
    page = p.page
    p.role = "citizen"
    await page.goto(f"{p.base}/report")
    category = page.get_by_label("问题类型")
    await p.check("citizen-report", category)
    await category.select_option("exposed_garbage")
    await page.get_by_label("问题描述").fill("颐和路口垃圾堆放两天未清运")
    await page.get_by_label("纬度").fill(f"{point[0]:.6f}")
    await page.get_by_label("经度").fill(f"{point[1]:.6f}")
    await page.get_by_label("手机号").fill("13912345678")
    await p.tap(page.get_by_role("button", name="提交", exact=True))
    link = page.get_by_test_id("tracking-link")
    await p.check_then_tap("citizen-submitted", link)
    await p.check("citizen-track", page.get_by_test_id("status"))
    await page.goto(f"{p.base}/track")
    await p.check("citizen-lookup", page.get_by_role("button", name="查询"))


@needs_chromium
async def test_field_pages_fit_a_phone_with_the_next_step_on_the_first_screen(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    point = boundaries(Settings().boundaries_file).representative_point("gl-nhl-c1-g1")
    assert point is not None
    async with phone(dev_env, sqlite_db, task_queue) as p:
        await log_in(p, "operator1")
        ticket, whistled = await record_case(p), await record_case(p)
        await log_out(p)
        await handler_handles(p, ticket)
        await handler_blows_a_whistle(p, whistled)
        await department_signs(p, whistled)
        await grid_worker_reports(p, point)
        await citizen_reports(p, point)
        # Taps per main job (a confirmation's 确定 not counted; typing and picking not taps):
        # the handler opens the case, 签收, jumps to and sends 进展, jumps to and sends 反馈.
        assert dict(p.taps) == {
            "handler_nhl": 6,
            "handler_whistle": 2,  # unfold 吹哨, send it (after picking kind and department)
            "handler_gl_water": 3,  # 吹哨 in the nav, the whistle, 签收
            "grid_nhl": 2,  # 巡查上报, 提交上报
            "citizen": 2,  # 提交, the tracking link
        }
