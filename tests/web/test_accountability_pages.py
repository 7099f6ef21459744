"""The monthly accountability report: ranking, the cases behind a number, the .xlsx export."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from core.db import session_scope
from tests.measures.live import seed_live
from tests.web.support import Web, login
from workflows.shared.workcal import CST

MONTH = {"period": "2026-11"}


@pytest.fixture
def web(web: Web) -> Web:
    """The stack with the live cases of November 2026 seeded."""
    with session_scope(web.sessions) as session:
        seed_live(session, datetime(2026, 11, 20, 12, tzinfo=CST))
    return web


async def test_units_are_ranked_and_each_number_opens_its_cases(web: Web) -> None:
    await login(web.http, "supervisor_gl")
    page = (await web.http.get("/reports/accountability", params=MONTH)).text
    nhl = page.split('data-testid="unit-gl-nhl"', 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in nhl and "宁海路街道" in nhl  # 4 cases, all closed on time: first
    assert 'data-testid="unit-gl-hq"' in page and "unit-xw" not in page
    link = 'data-testid="drill-gl-nhl-overdue">2</a>'
    assert link in nhl
    drill = await web.http.get(
        "/reports/accountability/cases", params={**MONTH, "holder": "gl-nhl", "measure": "overdue"}
    )
    assert drill.status_code == 200
    assert drill.text.count('data-testid="case-row"') == 2
    assert ">L0</a>" in drill.text and ">L3</a>" in drill.text


async def test_the_report_exports_to_excel_and_others_are_refused(web: Web) -> None:
    await login(web.http, "supervisor_gl")
    r = await web.http.get("/reports/accountability.xlsx", params=MONTH)
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("排名", "单位", "工单数")
    assert rows[1][:3] == (1, "宁海路街道", 4) and rows[1][3] == 2  # two overdue cases
    await login(web.http, "handler_nhl")
    assert (await web.http.get("/reports/accountability", params=MONTH)).status_code == 403
    await login(web.http, "supervisor_xw")
    other = (await web.http.get("/reports/accountability", params=MONTH)).text
    assert "unit-gl" not in other
