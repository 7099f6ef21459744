"""Helpers of the browser tests: the real stack served under uvicorn, Debian's Chromium on it,
logging in and out, and the operator's intake.

The app runs under uvicorn as a task of the test's event loop, next to the worker, so the
browser talks to exactly what production runs: HTML over HTTP, htmx, sessions and CSRF.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.db import make_engine, session_factory
from tests.conftest import make_settings, running_worker

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where to keep screenshots for a human to look at; unset, none are taken.
SHOTS = os.environ.get("CITYLOOP_SCREENSHOT_DIR", "")
# A Chromium page at desktop size on the served stack, and the stack's base URL.
Desktop = tuple[Page, str]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium"
)


@asynccontextmanager
async def serving(
    dev_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    *,
    sock: socket.socket | None = None,
) -> AsyncIterator[str]:
    """Worker plus uvicorn on a free local port (or `sock`, bound already); yields the base URL."""
    client = dev_env.client
    engine = make_engine(db_url)
    app = create_app(make_settings(db_url, client, task_queue), client=client)
    if sock is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # the port is ours from here on: no race for a "free" one
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    async with running_worker(client, task_queue, session_factory(engine)):
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error
            await asyncio.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task
    engine.dispose()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; closed however the test ends."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def browsing(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> AsyncIterator[Desktop]:
    """The served stack and a Chromium page on it; yields the page and the base URL."""
    expect.set_options(timeout=20_000)  # intake waits for routing on a shared dev server
    async with serving(dev_env, db_url, task_queue) as base, chromium() as browser:
        page = await browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
        # Irreversible actions ask first (a confirm dialog): the tests' users say yes.
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        yield page, base


async def log_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/")
    await expect(page.get_by_role("heading", name="登录")).to_be_visible()
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill("demo1234")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", name="工单队列")).to_be_visible()


async def htmx_ready(page: Page, selector: str) -> None:
    """Wait until htmx has processed `selector` (it keeps its data on the element): input typed
    before that sends no request, however long the test then waits."""
    await page.wait_for_function(
        "s => { const e = document.querySelector(s); return !!(e && e['htmx-internal-data']); }",
        arg=selector,
    )


async def log_out(page: Page) -> None:
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("heading", name="登录")).to_be_visible()


async def screenshot(page: Page, name: str) -> None:
    """Keep a full-page screenshot `name`.png for a human to look at, when
    CITYLOOP_SCREENSHOT_DIR says where."""
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


async def record_case(page: Page) -> str:
    """The operator's intake: returns the ticket of the new, auto-dispatched case."""
    await page.get_by_role("link", name="新建工单").click()
    await page.get_by_label("标题").fill("宁海路暴露垃圾")
    await page.get_by_label("类别").select_option("exposed_garbage")
    await page.get_by_label("位置").select_option("gl-nhl-c1-g1")
    await page.get_by_label("详细地址").fill("宁海路与颐和路交叉口")
    await page.get_by_label("问题描述").fill("路口垃圾堆放两天未清运")
    await screenshot(page, "intake")
    await page.get_by_role("button", name="登记工单").click()
    await expect(page.get_by_test_id("status")).to_have_text("待签收")
    await expect(page.get_by_test_id("assigned-unit")).to_have_text("宁海路街道")
    return (await page.get_by_test_id("ticket").inner_text()).strip()


async def open_from_queue(page: Page, ticket: str) -> None:
    row = page.get_by_test_id("case-row").filter(has_text=ticket)
    for _ in range(50):  # the queue reads the read model, which the workflow writes async
        if await row.count():
            break
        await asyncio.sleep(0.1)
        await page.reload()
    await screenshot(page, "queue")
    await row.get_by_role("link", name=ticket).click()
    await expect(page.get_by_test_id("ticket")).to_have_text(ticket)


async def handed_over(page: Page, base: str, username: str) -> str:
    """The operator records a case; `username` logs in and opens it from the queue. Returns the
    case's ticket."""
    await log_in(page, base, "operator1")
    ticket = await record_case(page)
    await log_out(page)
    await log_in(page, base, username)
    await open_from_queue(page, ticket)
    return ticket
