"""Uploading and viewing attachments in the web UI (logged-in staff)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from PIL import Image
from sqlmodel import func, select
from temporalio.testing import WorkflowEnvironment

from core.db import session_scope
from core.models import Attachment
from tests.api.test_attachments import hold_in_another_district
from tests.media import gps_of, located_photo, pixels
from tests.web.support import HX, Web, csrf, login, web_stack

SHA_INPUT = re.compile(r'name="attachments" value="([0-9a-f]{64})"')


@pytest_asyncio.fixture(loop_scope="session")
async def limited(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Web]:
    """The stack with a staff member's daily quota cut to 2 files."""
    monkeypatch.setenv("CITYLOOP_UPLOAD_QUOTA_USER_FILES", "2")
    async with web_stack(dev_env.client, sqlite_db, task_queue) as stack:
        yield stack


def png(shade: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (255, 165, shade)).save(out, "PNG")
    return out.getvalue()


def stored(web: Web) -> int:
    with session_scope(web.sessions) as session:
        return session.exec(select(func.count()).select_from(Attachment)).one()


async def upload(web: Web, name: str, data: bytes) -> tuple[int, str]:
    token = await csrf(web.http)
    response = await web.http.post(
        "/attachments",
        files={"file": (name, data, "image/png")},
        data={"csrf_token": token},
        headers=HX,
    )
    return response.status_code, response.text


async def test_a_photo_is_uploaded_shown_and_served_to_staff_only(web: Web) -> None:
    await login(web.http, "grid_nhl")
    status, fragment = await upload(web, "井盖.png", png())
    assert status == 200, fragment
    found = SHA_INPUT.search(fragment)
    assert found, fragment
    sha = found.group(1)
    full = await web.http.get(f"/files/{sha}")
    assert full.status_code == 200 and full.headers["content-type"] == "image/png"
    assert full.content == png()
    thumb = await web.http.get(f"/files/{sha}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 320

    await web.http.post("/logout", data={"csrf_token": await csrf(web.http)})
    anonymous = await web.http.get(f"/files/{sha}")
    assert anonymous.status_code in (303, 401)


async def test_a_fake_photo_is_refused_in_chinese_and_not_kept(web: Web) -> None:
    await login(web.http, "grid_nhl")
    before = stored(web)
    status, fragment = await upload(web, "fake.png", b"\x89PNG\r\n\x1a\n" + b"not a picture" * 20)
    assert status == 200 and "图片无法读取" in fragment, fragment
    assert SHA_INPUT.search(fragment) is None
    assert stored(web) == before


async def test_a_photo_is_served_without_its_place_to_who_may_not_see_it(web: Web) -> None:
    await login(web.http, "grid_nhl")
    data = located_photo()
    status, fragment = await upload(web, "井盖.jpg", data)
    found = SHA_INPUT.search(fragment)
    assert status == 200 and found, fragment
    assert (await web.http.get(f"/files/{found.group(1)}")).content == data  # the uploader's
    hold_in_another_district(web.sessions, found.group(1), holder="gl-nhl")
    await login(web.http, "supervisor_gl")  # sees the case as the holder's superior only
    full = await web.http.get(f"/files/{found.group(1)}")
    thumb = await web.http.get(f"/files/{found.group(1)}/thumb")
    assert gps_of(data) and gps_of(full.content) == {} and gps_of(thumb.content) == {}
    assert pixels(full.content) == pixels(data)


async def test_past_the_daily_quota_staff_are_told_in_chinese(limited: Web) -> None:
    await login(limited.http, "grid_nhl")
    token = await csrf(limited.http)
    files = [("file", (f"{n}.png", png(n), "image/png")) for n in range(3)]
    response = await limited.http.post("/attachments", files=files, data={"csrf_token": token})
    # Two are kept, the third is refused with the time the quota renews.
    assert response.status_code == 200 and len(SHA_INPUT.findall(response.text)) == 2
    assert "今日上传已达上限（每个账号每天最多 2 个文件" in response.text
    assert 0 < int(response.headers["retry-after"]) <= 86_400
    refused = await limited.http.post(
        "/attachments", files=files[:1], data={"csrf_token": await csrf(limited.http)}
    )
    assert refused.status_code == 429 and "今日上传已达上限" in refused.text
    assert stored(limited) == 2
