"""The Temporal Web UI decoding through cityloop's codec endpoint, in a real Chromium.

A dev server started from temporal-dev.yml (fresh ports) with `--ui-codec-endpoint` pointing at
the app's /codec, the app under uvicorn, a worker. The UI's own page for a case shows the start
input as ciphertext to anyone, and decoded only to a browser logged in to cityloop as a city
supervisor once the UI's Codec Server dialog includes credentials (docs/codec.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.db import make_engine, session_factory
from core.devstack import DevServer, DevStackConfig
from tests.api.test_codec import PHONE, REPORT
from tests.conftest import CONVERTER, token_for
from tests.web.browser import chromium, log_in, log_out, needs_chromium, serving

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def bound_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def ui_stack(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, str]]:
    """The dev stack with the UI pointed at the app's codec; yields the app's and UI's URLs."""
    web_sock, spare = bound_socket(), [bound_socket() for _ in range(2)]
    base = f"http://127.0.0.1:{web_sock.getsockname()[1]}"
    ports = [s.getsockname()[1] for s in spare]
    for s in spare:
        s.close()  # the dev server binds these itself
    config = dataclasses.replace(
        DevStackConfig.load(ROOT / "temporal-dev.yml"),
        port=ports[0],
        ui_port=ports[1],
        db_file=tmp_path / "temporal.db",
        ui_codec_endpoint=f"{base}/codec",
    )
    server = DevServer(config)
    await asyncio.to_thread(server.start)
    try:
        monkeypatch.setenv("CITYLOOP_CODEC_CORS_ORIGINS", json.dumps([config.ui_url]))
        client = await Client.connect(
            config.address, namespace=config.namespace, data_converter=CONVERTER
        )
        env = WorkflowEnvironment.from_client(client)
        async with serving(env, db_url, "codec-ui", sock=web_sock):
            yield base, f"{config.ui_url}/namespaces/{config.namespace}/workflows"
    finally:
        await asyncio.to_thread(server.stop)


async def include_credentials(page: Page, endpoint: str) -> None:
    """What an operator does once in the UI's Codec Server dialog (docs/codec.md)."""
    await page.get_by_role("button", name="Codec Server").first.click()
    await page.get_by_text("Use my browser setting and ignore Cluster-level setting.").click()
    await page.get_by_placeholder("Paste your endpoint here").fill(endpoint)
    await page.get_by_text("Include cross-origin credentials").click()
    await page.get_by_role("button", name="Apply").click()


async def case_in_ui(page: Page, url: str, status: int) -> None:
    """Open the case in the Temporal UI; its codec request must be answered `status`."""
    async with page.expect_response(lambda r: "/codec/decode" in r.url) as answered:
        await page.goto(url)
    assert (await answered.value).status == status


@needs_chromium
async def test_the_temporal_ui_shows_ciphertext_except_to_a_city_supervisor(
    tmp_path: Path, sqlite_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expect.set_options(timeout=30_000)  # the UI and a fresh dev server on a loaded host
    async with ui_stack(tmp_path, sqlite_db, monkeypatch) as (base, workflows):
        op = token_for(session_factory(make_engine(sqlite_db)), "operator1")
        async with httpx.AsyncClient(base_url=base) as http:
            created = await http.post("/api/v1/reports", json=REPORT, headers=op)
        url = f"{workflows}/{created.json()['case']['case_id']}"
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            cannot = page.locator("#content").get_by_text("Codec Server could not connect")
            # Anyone: the cluster-level endpoint answers 401, the input stays ciphertext.
            await case_in_ui(page, url, 401)
            await expect(cannot).to_be_visible()
            assert PHONE not in await page.inner_text("body")
            await include_credentials(page, f"{base}/codec")
            # A handler logged in to cityloop: the cookie goes along, and is refused.
            await log_in(page, base, "handler_nhl")
            await case_in_ui(page, url, 403)
            await expect(cannot).to_be_visible()
            assert PHONE not in await page.inner_text("body")
            await page.goto(f"{base}/")
            await log_out(page)
            # A city supervisor: the UI shows the case's input decoded.
            await log_in(page, base, "supervisor1")
            await case_in_ui(page, url, 200)
            # (the description line: the editor renders only the lines in view)
            await expect(page.locator("#content").get_by_text(PHONE).first).to_be_visible()
            await expect(cannot).to_have_count(0)
