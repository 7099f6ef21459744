"""The citizen channel in a real Chromium: report with a photo, no login, then track it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import expect
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.intake.geo import boundaries
from tests.web.browser import browsing, needs_chromium, screenshot

pytestmark = pytest.mark.browser

PHONE = "13912345678"


@needs_chromium
async def test_a_citizen_reports_with_a_photo_and_follows_the_tracking_link(
    dev_env: WorkflowEnvironment,
    sqlite_db: str,
    task_queue: str,
    tmp_path: Path,
    attachment_dir: Path,
) -> None:
    photo = tmp_path / "现场照片.png"
    Image.new("RGB", (640, 480), (60, 140, 90)).save(photo)
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"not a picture")
    point = boundaries(Settings().boundaries_file).representative_point("gl-nhl-c1-g1")
    assert point is not None
    lat, lon = point

    async with browsing(dev_env, sqlite_db, task_queue) as (page, base):
        await page.goto(f"{base}/report")
        await expect(page.get_by_role("heading", name="反映城市问题")).to_be_visible()

        # 使用我的位置 fills the point from the browser's geolocation.
        await page.context.grant_permissions(["geolocation"], origin=base)
        await page.context.set_geolocation({"latitude": lat, "longitude": lon})
        await page.get_by_role("button", name="使用我的位置").click()
        await expect(page.get_by_label("纬度")).to_have_value(f"{lat:.6f}")
        await expect(page.get_by_label("经度")).to_have_value(f"{lon:.6f}")

        await page.get_by_label("问题类型").select_option("exposed_garbage")
        await page.get_by_label("问题描述").fill("颐和路口垃圾堆放两天未清运")
        await page.get_by_label("纬度").fill(str(lat))
        await page.get_by_label("经度").fill(str(lon))
        await page.get_by_label("详细地址").fill("宁海路与颐和路交叉口")
        await page.get_by_label("手机号").fill(PHONE)

        # A fake file is refused inline and can be dismissed; the photo shows as a thumbnail.
        files = page.get_by_label("照片/视频")
        await files.set_input_files(str(fake))
        refusal = page.get_by_test_id("upload-error")
        await expect(refusal).to_contain_text("不是有效的图片或视频")
        await refusal.get_by_role("button", name="关闭").click()
        await expect(refusal).to_have_count(0)
        await files.set_input_files(str(photo))
        uploaded = page.get_by_test_id("upload")
        await expect(uploaded).to_have_count(1)
        await expect(uploaded.get_by_role("img", name="现场照片.png")).to_be_visible()
        await screenshot(page, "public-report")

        await page.get_by_role("button", name="提交", exact=True).click()
        await expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
        ticket = (await page.get_by_test_id("ticket").inner_text()).strip()
        link = page.get_by_test_id("tracking-link")
        await expect(link).to_have_text(
            re.compile(re.escape(f"{base}/track/{ticket}?t=") + r"[\w-]+$")
        )
        await screenshot(page, "public-submitted")

        await link.click()
        await expect(page.get_by_role("heading", name="处理进度")).to_be_visible()
        await expect(page.get_by_test_id("ticket")).to_have_text(ticket)
        await expect(page.get_by_test_id("status")).to_have_text("办理中")
        await expect(page.get_by_test_id("photos")).to_have_text("1 个")
        await expect(page.get_by_test_id("step").first).to_contain_text("受理")
        assert PHONE not in await page.content()
        await screenshot(page, "public-tracking")
