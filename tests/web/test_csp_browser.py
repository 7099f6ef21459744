"""The strict Content-Security-Policy in a real Chromium: every main page, public and staff,
and /docs (Swagger UI) loads and works without the browser reporting a single violation.

Violations are caught twice: the `securitypolicyviolation` events a script injected by the
test records (Playwright's init scripts are exempt from the page's CSP) and the console
errors Chromium prints for each.
"""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.web.browser import (
    chromium,
    htmx_ready,
    log_in,
    log_out,
    needs_chromium,
    record_case,
    serving,
)

pytestmark = pytest.mark.browser

RECORD = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
STAFF_PAGES = {
    "operator1": ["/", "/inbox", "/whistles", "/directory", "/cases/new"],
    "supervisor1": ["/overrides", "/whistles/stats"],
    "grid_nhl": ["/patrol/new"],
}


class Violations:
    """What the browser reported, page by page."""

    def __init__(self, context: BrowserContext) -> None:
        self.found: list[str] = []
        self.context = context

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.found.append(f"console: {message.text}")

    async def collect(self, page: Page) -> None:
        self.found += [f"{page.url}: {v}" for v in await page.evaluate("window.__csp || []")]


async def visit(page: Page, violations: Violations, url: str) -> None:
    await page.goto(url)
    await page.wait_for_load_state("networkidle")
    await violations.collect(page)


@needs_chromium
async def test_the_main_pages_load_under_the_csp_without_a_violation(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    async with serving(dev_env, sqlite_db, task_queue) as base, chromium() as browser:
        context = await browser.new_context(locale="zh-CN")
        await context.add_init_script(RECORD)
        violations = Violations(context)
        page = await context.new_page()
        page.on("console", violations.console)
        expect.set_options(timeout=20_000)

        for path in ["/login", "/report", "/track", "/docs"]:
            await visit(page, violations, base + path)
        await expect(page.get_by_role("heading", name="cityloop")).to_be_visible()
        await expect(page.get_by_text("/api/v1/cases").first).to_be_visible()
        await violations.collect(page)  # Swagger UI rendered: its own styles included

        await log_in(page, base, "operator1")
        await suggested_category_is_picked(page, base)
        await violations.collect(page)
        ticket = await record_case(page)  # htmx posts and swaps, then the case page
        await violations.collect(page)
        await visit(page, violations, f"{base}/track")
        for user, paths in STAFF_PAGES.items():
            if user != "operator1":
                await log_out(page)
                await log_in(page, base, user)
            for path in paths:
                await visit(page, violations, base + path)
        await visit(page, violations, f"{base}/cases/{ticket}")
    assert violations.found == []


async def suggested_category_is_picked(page: Page, base: str) -> None:
    """The suggestion buttons work from app.js (they were `hx-on` attributes, eval'd)."""
    await page.get_by_role("link", name="新建工单").click()
    await htmx_ready(page, "#description")  # typing before would ask for no suggestions
    description = page.get_by_label("问题描述")
    await description.fill("宁海路口井盖丢了")
    await description.press("End")
    pick = page.get_by_test_id("category-suggestions").get_by_role("button", name="井盖缺失/破损")
    await pick.click()
    await expect(page.get_by_label("类别")).to_have_value("manhole_cover")
    await expect(pick).to_have_attribute("aria-pressed", "true")
    # Back to the queue: record_case follows its link to the form, which must not be on the
    # page already (it would fill the old form while htmx swaps in the new one).
    await page.goto(f"{base}/")
