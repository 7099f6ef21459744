"""The directory pages over HTTP: browse, add and edit with inline errors, and the case panel."""

from __future__ import annotations

import asyncio
import re

from sqlmodel import select

from core.db import SessionFactory, session_scope
from core.models import CaseRecord, Equipment
from tests.web.support import HX, Web, login, match, new_case, post

PUMP = {
    "unit_id": "gl-dept-water",
    "type": "移动泵",
    "name": "排涝泵",
    "serial": "苏A·W1999",
    "status": "available",
    "note": "",
}


def equipment_id(sessions: SessionFactory, serial: str) -> int:
    with session_scope(sessions) as session:
        found = session.exec(select(Equipment.id).where(Equipment.serial == serial)).one()
        assert found is not None
        return found


def row(page: str, serial: str) -> str:
    return match(rf'<tr data-testid="equipment-row" data-serial="{serial}">.*?</tr>', page)


async def test_browse_the_directory_by_unit(web: Web) -> None:
    await login(web.http, "handler_gl_water")
    page = await web.http.get("/directory")
    assert page.status_code == 200 and "处置力量和装备目录" in page.text
    assert "排水抢险一队" in page.text and "陈建国（队长）" in page.text
    assert "可用" in row(page.text, "苏A·W1001") and "维修中" in row(page.text, "苏A·W1002")

    street = await web.http.get("/directory", params={"unit": "gl-hq"})
    assert "<strong>华侨路街道应急处置队</strong>" in street.text
    assert "<strong>排水抢险一队</strong>" not in street.text
    nowhere = await web.http.get("/directory", params={"unit": "nowhere"})
    assert nowhere.status_code == 422 and "没有这个单位" in nowhere.text
    fragment = await web.http.get("/directory", headers=HX)
    assert fragment.text.lstrip().startswith('<section id="directory"')
    assert "<html" not in fragment.text and "HX-Request" in fragment.headers["vary"]


async def test_add_equipment_and_see_errors_next_to_the_fields(web: Web) -> None:
    await login(web.http, "handler_gl_water")
    added = await post(web.http, "/directory/equipment", PUMP, HX)
    assert added.status_code == 200 and "<html" not in added.text
    assert "已保存装备：排涝泵" in added.text and "可用" in row(added.text, "苏A·W1999")
    assert 'data-serial="苏A·W1999"' in (await web.http.get("/directory")).text

    taken = await post(web.http, "/directory/equipment", {**PUMP, "name": "排涝泵二号"}, HX)
    assert taken.status_code == 200  # htmx swaps no 4xx: the error is in the fragment
    assert '<p class="field-error" id="serial-error">号牌/编号 苏A·W1999 已存在</p>' in taken.text
    assert 'value="排涝泵二号"' in taken.text and 'aria-describedby="serial-error"' in taken.text
    assert "未能保存装备：号牌/编号：号牌/编号 苏A·W1999 已存在" in taken.text
    spaced = await post(web.http, "/directory/equipment", {**PUMP, "serial": "苏A W 1"})
    assert spaced.status_code == 422 and 'id="serial-error">格式不正确' in spaced.text
    elsewhere = await post(
        web.http, "/directory/equipment", {**PUMP, "unit_id": "gl-dept-urban", "serial": "X-1"}
    )
    assert elsewhere.status_code == 403 and "只能编辑本单位的力量和装备" in elsewhere.text
    assert "X-1" not in row((await web.http.get("/directory")).text, "苏A·W1001")


async def test_edit_equipment_and_a_team(web: Web) -> None:
    await login(web.http, "handler_gl_water")
    pump = equipment_id(web.sessions, "苏A·W1001")
    form = await web.http.get("/directory", params={"edit": "equipment", "id": pump})
    assert "编辑装备" in form.text and 'value="苏A·W1001"' in form.text
    saved = await post(
        web.http,
        f"/directory/equipment/{pump}",
        {**PUMP, "name": "大流量排水抢险车", "serial": "苏A·W1001", "status": "repair"},
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/directory"
    assert "维修中" in row((await web.http.get("/directory")).text, "苏A·W1001")

    other = await web.http.get("/directory", params={"edit": "equipment", "id": 10**6})
    assert other.status_code == 404 and "找不到该记录" in other.text
    await login(web.http, "handler_gl_urban")
    refused = await web.http.get("/directory", params={"edit": "equipment", "id": pump})
    assert refused.status_code == 403


async def test_an_operator_reads_the_directory_and_is_offered_no_edit(web: Web) -> None:
    await login(web.http, "operator1")
    page = await web.http.get("/directory")
    assert page.status_code == 200 and 'data-testid="teams"' in page.text
    for offered in ("新增队伍", "新增人员", "新增装备", "edit=teams", "edit=equipment"):
        assert offered not in page.text, offered
    refused = await post(web.http, "/directory/teams", {"unit_id": "gl-nhl", "name": "x"})
    assert refused.status_code == 403

    await login(web.http, "handler_nhl")  # an editor role is offered its own unit's forms
    assert "新增队伍" in (await web.http.get("/directory")).text


async def accepted_case(web: Web) -> str:
    """A case at 宁海路 accepted by its street, once the read model shows it in handling."""
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "handler_nhl")
    accepted = await post(web.http, f"/cases/{ticket}/actions/accept", {})
    assert accepted.status_code == 303, accepted.text
    for _ in range(100):
        with session_scope(web.sessions) as session:
            case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
        if case is not None and case.status == "ACCEPTED":
            return ticket
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ticket} never reached ACCEPTED in the read model")


async def test_the_case_panel_allocates_refuses_in_chinese_and_releases(web: Web) -> None:
    first, second = await accepted_case(web), await accepted_case(web)
    van = equipment_id(web.sessions, "苏A·N5002")

    panel = await web.http.get(f"/cases/{first}/resources", headers=HX)
    assert panel.text.lstrip().startswith('<section id="resources"')
    assert "尚未调派队伍或装备" in panel.text and "苏A·N5002" in panel.text
    assert "排水抢险一队" not in panel.text  # only the holding street's own resources

    no_reason = await post(web.http, f"/cases/{first}/resources", {"equipment_id": str(van)}, HX)
    assert "调派未完成：原因：必填" in no_reason.text
    url = f"/cases/{first}/resources"
    made = await post(web.http, url, {"equipment_id": str(van), "reason": "清运垃圾"}, HX)
    assert "已调派" in made.text and "小型保洁车 苏A·N5002" in made.text
    assert 'data-open="true"' in made.text

    body = {"equipment_id": str(van), "reason": "也要清运"}
    busy = await post(web.http, f"/cases/{second}/resources", body, HX)
    assert f"调派未完成：装备：装备 苏A·N5002 已调派给工单 {first}" in busy.text
    listed = await web.http.get("/directory", params={"unit": "gl-nhl"})
    assert f'<a class="mono" href="/cases/{first}">{first}</a>' in row(listed.text, "苏A·N5002")

    case_page = await web.http.get(f"/cases/{first}")
    assert 'data-action="allocate"' in case_page.text  # the signal reached the timeline

    [allocation] = re.findall(r'data-testid="release-(\d+)"', made.text)
    released = await post(
        web.http, f"/cases/{first}/resources/{allocation}/release", {"reason": "已清运"}, HX
    )
    assert "已释放" in released.text and 'data-open="false"' in released.text
    plain = await post(web.http, f"/cases/{second}/resources", body)
    assert plain.status_code == 303 and plain.headers["location"] == f"/cases/{second}/resources"
