"""The overview in a real Chromium for supervisor_gl, on a wall screen and a phone: counts,
the ECharts trend, categories and map drawn under the app's CSP, screenshots kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import expect
from temporalio.testing import WorkflowEnvironment

from core.db import make_engine, session_factory, session_scope
from tests.measures.live import seed_live
from tests.web.browser import SHOTS, chromium, log_in, serving

pytestmark = pytest.mark.browser
SIZES = {"wall": (1920, 1080), "phone": (390, 844)}


def _seed(db_url: str) -> None:
    engine = make_engine(db_url)
    with session_scope(session_factory(engine)) as session:
        seed_live(session, datetime.now(UTC))
    engine.dispose()


def _note(errors: list[str], kind: str, text: str) -> None:
    if kind == "error" and not text.startswith("Failed to load resource"):
        errors.append(text)  # a CSP refusal or a script error


def _missing(errors: list[str], status: int, url: str) -> None:
    if status >= 400 and not url.endswith("/favicon.ico"):  # the browser asks for it unbidden
        errors.append(f"{status} {url}")


async def test_the_overview_draws_its_charts_and_map_for_supervisor_gl(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str, tmp_path: Path
) -> None:
    _seed(sqlite_db)
    shots = Path(SHOTS) if SHOTS else tmp_path
    async with serving(dev_env, sqlite_db, task_queue) as base, chromium() as browser:
        for name, (width, height) in SIZES.items():
            page = await browser.new_page(
                locale="zh-CN", viewport={"width": width, "height": height}
            )
            refused: list[str] = []
            page.on("console", lambda m, r=refused: _note(r, m.type, m.text))
            page.on("response", lambda resp, r=refused: _missing(r, resp.status, resp.url))
            await log_in(page, base, "supervisor_gl")
            await page.goto(f"{base}/overview")
            root = page.get_by_test_id("overview")
            await expect(root).to_have_attribute("data-drawn", "true")
            await expect(page.get_by_test_id("tile-open").locator("strong")).to_have_text("5")
            await expect(page.get_by_test_id("area-gl-nhl")).to_be_visible()
            for chart in ("chart-trend", "chart-categories", "chart-map"):
                await expect(page.get_by_test_id(chart).locator("canvas")).to_have_count(1)
            path = shots / f"overview-{name}.png"
            await page.screenshot(path=str(path), full_page=True)
            assert path.stat().st_size > 10_000
            assert refused == [], refused  # no CSP refusal, no script error
            await page.close()
