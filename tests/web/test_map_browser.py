"""The map in a real Chromium on a phone-sized screen: a citizen picks the point by clicking the
map, the report routes to the street under the click, and /map draws boundaries and points;
the grid worker's patrol form picks the same way."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page, ViewportSize, expect
from sqlmodel import select

from core.db import make_engine, session_factory, session_scope
from core.models import CaseRecord
from tests.web.browser import Desktop, log_in, log_out, needs_chromium, screenshot

pytestmark = pytest.mark.browser

PHONE = ViewportSize(width=390, height=844)
NINGHAI_ROAD = (32.0596, 118.7648)  # README's sample: 鼓楼区 宁海路街道


async def no_horizontal_overflow(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


async def click_on_the_map(page: Page, lat: float, lon: float) -> None:
    """A real mouse click where the map draws (lat, lon), after centring the map there."""
    picker = page.get_by_test_id("map-picker")
    await expect(picker).to_have_attribute("data-map-ready", "true")
    await picker.scroll_into_view_if_needed()
    x, y = await picker.evaluate(
        """(el, p) => { const m = el.cityloopMap; m.setView(p, 16, {animate: false});
                        const at = m.latLngToContainerPoint(p); return [at.x, at.y]; }""",
        [lat, lon],
    )
    box = await picker.bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + x, box["y"] + y)


async def routed_unit(db_url: str, ticket: str) -> str:
    engine = make_engine(db_url)
    try:
        for _ in range(200):
            with session_scope(session_factory(engine)) as session:
                case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
            if case is not None:
                return case.location_path
            await asyncio.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"{ticket} never reached the read model")


@needs_chromium
async def test_a_click_on_the_map_picks_the_point_and_the_map_page_draws_the_cases(
    desktop: Desktop, sqlite_db: str
) -> None:
    page, base = desktop
    refused: list[str] = []
    page.on("console", lambda m: refused.extend([m.text] if "Policy" in m.text else []))
    await page.set_viewport_size(PHONE)
    await page.goto(f"{base}/report")
    await click_on_the_map(page, *NINGHAI_ROAD)
    lat = float(await page.get_by_label("纬度").input_value())
    lon = float(await page.get_by_label("经度").input_value())
    assert abs(lat - NINGHAI_ROAD[0]) < 1e-4 and abs(lon - NINGHAI_ROAD[1]) < 1e-4
    await expect(page.get_by_test_id("map-where")).to_contain_text("鼓楼区 / 宁海路街道")
    await no_horizontal_overflow(page)
    await screenshot(page, "map-citizen-pick")
    # The GCJ-02 shift for a tile provider that needs it: geotool-cn's figures, and back.
    there, back = await page.evaluate(
        "p => { const g = cityloopGeo.wgsToGcj(...p); return [g, cityloopGeo.gcjToWgs(...g)]; }",
        list(NINGHAI_ROAD),
    )
    assert abs(there[0] - 32.0575586) < 1e-6 and abs(there[1] - 118.7700219) < 1e-6
    assert abs(back[0] - NINGHAI_ROAD[0]) < 1e-8 and abs(back[1] - NINGHAI_ROAD[1]) < 1e-8

    await page.get_by_label("问题类型").select_option("exposed_garbage")
    await page.get_by_label("问题描述").fill("宁海路边垃圾堆放两天未清运")
    await page.get_by_label("手机号").fill("13912345678")
    await page.get_by_role("button", name="提交", exact=True).click()
    await expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
    ticket = (await page.get_by_test_id("ticket").inner_text()).strip()
    assert "/gl/gl-nhl/" in await routed_unit(sqlite_db, ticket)

    await log_in(page, base, "dispatcher_gl")
    await page.get_by_test_id("nav-map").click()
    await expect(page.get_by_role("heading", name="工单地图")).to_be_visible()
    drawn = page.get_by_test_id("map")
    await expect(drawn).to_have_attribute("data-map-ready", "true")
    assert int(await drawn.get_attribute("data-cases") or 0) >= 1
    # 12 districts and 26 streets as SVG paths, and the cases as circles (also paths).
    paths = await drawn.locator(".leaflet-overlay-pane path").count()
    assert paths >= 12 + 26 + 1
    listed = page.locator(f'[data-testid="map-case"][data-ticket="{ticket}"]')
    await expect(listed).to_be_visible()
    await no_horizontal_overflow(page)
    await screenshot(page, "map-page")

    await page.get_by_role("link", name=ticket).click()
    small = page.get_by_test_id("case-map")
    await expect(small).to_have_attribute("data-map-ready", "true")
    assert await small.get_attribute("data-cases") == "2"  # the point and its grid
    await screenshot(page, "map-case")

    # The grid worker's patrol form picks the same way.
    await log_out(page)
    await log_in(page, base, "grid_nhl")
    await page.get_by_test_id("nav-patrol").click()
    await click_on_the_map(page, *NINGHAI_ROAD)
    await expect(page.get_by_test_id("map-where")).to_contain_text("鼓楼区 / 宁海路街道")
    await no_horizontal_overflow(page)
    assert refused == []
