"""Published statistics over HTTP, without login: JSON, CSV, the /stats page, definitions."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from core.db import SessionFactory, session_scope
from tests.measures.fixture import seed

URL = "/api/v1/stats/measures"


@pytest.fixture
def seeded(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        seed(session)


async def test_the_measures_answer_without_login_as_json(
    http: httpx.AsyncClient, seeded: None
) -> None:
    r = await http.get(URL, params={"period": "2026-11", "by": "district"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["period"], body["by"]) == ("2026-11", "district")
    assert [m["name"] for m in body["measures"]][:3] == ["响应率", "解决率", "满意率"]
    gl = next(g for g in body["groups"] if g["key"] == "gl")
    assert (gl["name"], gl["cases"], gl["handling_p90_minutes"]) == ("鼓楼区", 4, 120)
    assert gl["measures"]["satisfaction"] == {"numerator": 2, "denominator": 3, "value": 0.6667}
    assert gl["measures"]["resolution"]["value"] == 0.3333
    xw = next(g for g in body["groups"] if g["key"] == "xw")
    assert xw["measures"]["resolution"] == {"numerator": 0, "denominator": 0, "value": None}


async def test_the_csv_download_has_a_line_per_group_and_nothing_personal(
    http: httpx.AsyncClient, seeded: None
) -> None:
    r = await http.get(URL, params={"period": "2026-11", "by": "category", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["key"], row["cases"]) for row in rows] == [
        ("exposed_garbage", "5"),
        ("manhole", "1"),
    ]
    assert rows[0]["closed_on_time_numerator"] == "3" and rows[0]["handling_p90"] == "120"
    assert not {"ticket", "reporter_name", "title", "description"} & set(rows[0])


@pytest.mark.parametrize(
    ("params", "field"), [({"period": "2026-13"}, "period"), ({"by": "person"}, "by")]
)
async def test_a_bad_period_or_grouping_is_refused(
    http: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    r = await http.get(URL, params=params)
    assert r.status_code == 422
    assert field in r.text


async def test_the_public_page_and_its_definitions(http: httpx.AsyncClient, seeded: None) -> None:
    page = await http.get("/stats", params={"period": "2026-11"})
    assert page.status_code == 200
    assert 'data-testid="group-gl"' in page.text and "鼓楼区" in page.text
    assert "66.7%" in page.text and 'href="/stats/definitions"' in page.text
    fragment = await http.get(
        "/stats", params={"period": "2026-11", "by": "category"}, headers={"HX-Request": "true"}
    )
    assert fragment.text.lstrip().startswith('<div id="results"')
    bad = await http.get("/stats", params={"period": "November"})
    assert bad.status_code == 422 and "统计月份" in bad.text
    definitions = await http.get("/stats/definitions")
    assert definitions.status_code == 200
    assert 'data-testid="definition-satisfaction"' in definitions.text
    assert "满意" in definitions.text
