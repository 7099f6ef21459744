"""Accessibility in a real Chromium: axe-core (vendored, injected by the test only) over the main
pages of every role, the public ones and the staff ones with a case, an inbox message and an
open whistle in them, finds no serious or critical violation (WCAG 2.1 AA and best practice).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from core.db import make_engine, session_factory, session_scope
from core.models import CaseRecord
from tests.web.browser import chromium, log_in, log_out, needs_chromium, record_case, serving

pytestmark = [pytest.mark.browser, needs_chromium]

AXE = Path(__file__).parents[2] / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
# Each violation as "rule (impact): target — help", the serious and critical ones only.
RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .flatMap(v => v.nodes.map(n => `${v.id} (${v.impact}): ${n.target.join(" ")} — ${v.help}`));
}"""
UNNAMED_BUTTON = (
    "document.getElementById('main').insertAdjacentHTML('beforeend', '<button></button>')"
)
STAFF = {
    "operator1": ["/", "/cases/new", "/inbox", "/whistles", "/directory", "/map"],
    "grid_nhl": ["/", "/patrol/new"],
    "handler_gl_water": ["/", "/whistles", "/inbox"],
    "supervisor_gl": [
        "/",
        "/inbox",
        "/whistles",
        "/whistles/stats",
        "/map",
        "/directory",
        "/overview",
        "/stats",
        "/reports/accountability",
        "/overrides",
        "/audit/personal-data-views",
        "/major-events",
        "/cases/new",
    ],
}


class Axe:
    """Runs axe on each page shown and keeps what it found, page by page."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.found: list[str] = []
        self.checked = 0

    async def check(self, label: str) -> None:
        await self.page.add_script_tag(path=str(AXE))
        self.found += [f"{label}: {v}" for v in await self.page.evaluate(RUN)]
        self.checked += 1

    async def visit(self, path: str, label: str = "") -> None:
        await self.page.goto(self.base + path)
        await self.check(label or path)


async def test_the_main_pages_of_every_role_have_no_serious_accessibility_violation(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    async with serving(dev_env, sqlite_db, task_queue) as base, chromium() as browser:
        # axe comes as an inline script: the page's CSP would refuse it (test_csp checks it)
        context = await browser.new_context(locale="zh-CN", bypass_csp=True)
        page = await context.new_page()
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        expect.set_options(timeout=20_000)
        axe = Axe(page, base)
        for path in ("/login", "/report", "/track"):
            await axe.visit(path)

        await log_in(page, base, "operator1")
        ticket = await record_case(page)
        await axe.check("operator case page")
        await log_out(page)
        await axe.visit(f"/track/{ticket}?t={_tracking_token(sqlite_db, ticket)}", "tracking")

        await log_in(page, base, "handler_nhl")
        await page.goto(f"{base}/cases/{ticket}")
        await axe.check("handler case page")
        await page.get_by_test_id("action-accept").get_by_role("button", name="签收").click()
        await expect(page.get_by_test_id("status")).to_have_text("已签收")
        await _blow_whistle(page)
        await axe.check("handler case page with a whistle")
        await log_out(page)

        for user, paths in STAFF.items():
            await log_in(page, base, user)
            await axe.check(f"{user} /")
            for path in paths[1:]:
                await axe.visit(path, f"{user} {path}")
            if user == "handler_gl_water":  # the department answering the whistle
                await page.goto(f"{base}/whistles")
                await page.get_by_test_id("whistle-row").get_by_role("link").first.click()
                await expect(page.get_by_test_id("step-sign")).to_be_visible()
                await axe.check("department whistle page")
            if user == "supervisor_gl":
                await axe.visit(f"/cases/{ticket}", "supervisor case page")
                # the check itself sees what it should: an unnamed button is serious
                await page.evaluate(UNNAMED_BUTTON)
                await axe.check("broken on purpose")
                assert axe.found.pop().startswith("broken on purpose: button-name (critical)")
            await log_out(page)
    assert axe.checked >= 33
    assert axe.found == []


async def _blow_whistle(page: Page) -> None:
    await page.get_by_test_id("whistle-fold").locator("summary").first.click()
    blow = page.get_by_test_id("whistle-blow")
    await blow.get_by_label("吹哨类型").select_option("work_push")
    await blow.get_by_label("鼓楼区水务局").check()
    await blow.get_by_label("需求说明").fill("路面积水需排水")
    await blow.get_by_role("button", name="吹哨").click()
    await expect(page.get_by_test_id("whistle-status")).to_have_text("进行中")


def _tracking_token(db_url: str, ticket: str) -> str:
    engine = make_engine(db_url)
    with session_scope(session_factory(engine)) as session:
        case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).one()
        token = case.tracking_token
    engine.dispose()
    return token
