"""The overview over HTTP: scoped counts, the area table with marks, the charts' data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.db import session_scope
from tests.measures.live import seed_live
from tests.web.support import HX, Web, login


@pytest.fixture
def web_db_url(db_url: str) -> str:
    return db_url


@pytest.fixture
def web(web: Web) -> Web:
    """The stack with live cases seeded; `web.expected` holds the counts they make."""
    with session_scope(web.sessions) as session:
        web.expected = seed_live(session, datetime.now(UTC))  # type: ignore[attr-defined]
    return web


def _tile(page: str, name: str) -> str:
    part = page.split(f'data-testid="tile-{name}"', 1)[1]
    return part.split("<strong>", 1)[1].split("</strong>", 1)[0]


async def test_a_district_supervisor_sees_its_district_by_street(web: Web) -> None:
    await login(web.http, "supervisor_gl")
    page = (await web.http.get("/overview")).text
    expected = web.expected  # type: ignore[attr-defined]
    for name in ("open", "overdue", "escalated"):
        assert _tile(page, name) == str(expected[name]), name
    assert 'data-testid="area-gl-nhl"' in page and 'data-testid="area-gl-hq"' in page
    assert "area-xw" not in page and "玄武" not in page
    assert 'src="/static/echarts/echarts.min.js"' in page and "cdn" not in page.lower()
    poll = await web.http.get("/overview", headers=HX)
    assert poll.text.lstrip().startswith('<div id="live"') and "every 60s" in poll.text

    data = (await web.http.get("/overview/data.json")).json()
    assert len(data["points"]) == 5 and sum(p[3] for p in data["points"]) == 2
    assert len(data["days"]) == len(data["intake"]) == len(data["closed"]) == 14
    assert sum(data["intake"]) == 7 and sum(data["closed"]) == 2  # 鼓楼's cases of the days
    assert {name for name, _ in data["categories"]} == {"暴露垃圾", "井盖缺失"}
    geo = (await web.http.get("/overview/boundaries.json")).json()
    ids = {f["properties"]["unit_id"] for f in geo["features"]}
    assert "gl" in ids and "gl-nhl" in ids and "xw" not in ids and "nj" not in ids


async def test_the_city_sees_districts_and_drills_down_and_others_are_refused(web: Web) -> None:
    await login(web.http, "supervisor1")
    city = (await web.http.get("/overview")).text
    assert 'data-testid="area-gl"' in city and 'data-testid="area-xw"' in city
    assert 'href="/overview?unit=gl"' in city
    gl = (await web.http.get("/overview", params={"unit": "gl"})).text
    assert 'data-testid="area-gl-nhl"' in gl and "area-xw" not in gl

    await login(web.http, "supervisor_xw")
    refused = await web.http.get("/overview", params={"unit": "gl"})
    assert refused.status_code == 403
    assert (await web.http.get("/overview/data.json", params={"unit": "gl"})).status_code == 403
    await login(web.http, "handler_nhl")
    assert (await web.http.get("/overview")).status_code == 403
