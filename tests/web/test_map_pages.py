"""The map's data and page over HTTP: boundaries, where a point lies, open cases per access."""

from __future__ import annotations

import asyncio

import pytest
from shapely.geometry import Point, shape

from api.headers import content_security_policy
from core.config import Settings
from core.intake.geo import boundaries
from tests.web.support import Web, login, new_case

NINGHAI_ROAD = {"lat": "32.0596", "lon": "118.7648"}  # README's sample: 鼓楼区 宁海路街道


@pytest.fixture
def web_db_url(db_url: str) -> str:
    return db_url


async def test_boundaries_and_settings_are_served_to_anyone(web: Web) -> None:
    drawn = await web.http.get("/map/boundaries.geojson")
    assert drawn.status_code == 200
    assert drawn.headers["content-type"] == "application/geo+json"
    levels = [f["properties"]["level"] for f in drawn.json()["features"]]
    assert levels.count("district") == 12 and levels.count("street") == 26
    assert set(levels) == {"district", "street"}
    grids = (await web.http.get("/map/boundaries.geojson?levels=grid,nonsense")).json()
    assert {f["properties"]["level"] for f in grids["features"]} == {"grid"}
    config = (await web.http.get("/map/config.json")).json()
    assert config == {"tiles": "", "crs": "wgs84", "attribution": ""}  # no tile server


async def test_where_a_point_lies(web: Web) -> None:
    found = (await web.http.get("/map/where", params=NINGHAI_ROAD)).json()["units"]
    assert [u["name"] for u in found[:3]] == ["南京市", "鼓楼区", "宁海路街道"]
    assert found[-1]["id"].startswith("gl-nhl-") and found[-1]["level"] == "grid"
    beijing = await web.http.get("/map/where", params={"lat": "39.9", "lon": "116.4"})
    assert beijing.json() == {"units": []}
    bad = await web.http.get("/map/where", params={"lat": "95", "lon": "118"})
    assert bad.status_code == 422


async def test_a_tile_server_is_the_one_other_image_origin() -> None:
    assert "img-src 'self' data:;" in content_security_policy("")
    tianditu = content_security_policy("https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY")
    assert "img-src 'self' data: https://*.tianditu.gov.cn;" in tianditu
    plain = content_security_policy("https://tiles.example.cn/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tiles.example.cn;" in plain


async def map_showing(web: Web, ticket: str) -> str:
    for _ in range(100):
        page = await web.http.get("/map")
        if ticket in page.text:
            return page.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ticket} never reached the map")


async def test_the_map_shows_the_open_cases_a_user_may_see(web: Web) -> None:
    assert (await web.http.get("/map")).status_code == 303  # to the login page
    await login(web.http, "operator1")
    ticket = await new_case(web.http, location_unit_id="", **NINGHAI_ROAD)
    await login(web.http, "dispatcher_gl")
    page = await map_showing(web, ticket)
    assert 'data-map-cases="/map/cases.geojson"' in page and 'data-testid="map-case"' in page
    points = (await web.http.get("/map/cases.geojson")).json()["features"]
    (mine,) = [f for f in points if f["properties"]["ticket"] == ticket]
    nhl = boundaries(Settings().boundaries_file).area("gl-nhl")
    assert nhl is not None and nhl.geometry.covers(shape(mine["geometry"]))
    own = (await web.http.get(f"/map/cases/{ticket}.geojson")).json()["features"]
    assert [f["properties"].get("unit_id") for f in own][1].startswith("gl-nhl-")
    at_the_point = shape(own[0]["geometry"]).equals(Point(118.7648, 32.0596))
    assert at_the_point == own[0]["properties"]["exact"]

    await login(web.http, "dispatcher_xw")  # another district: neither listed nor drawn
    assert ticket not in (await web.http.get("/map")).text
    assert ticket not in (await web.http.get("/map/cases.geojson")).text
    assert (await web.http.get(f"/map/cases/{ticket}.geojson")).status_code == 404
