"""The web UI over HTTP: login, CSRF, queue, case page and fragments, actions, intake errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from core.db import session_scope
from core.models import CaseRecord
from tests.web.support import HX, Web, csrf, login, new_case, post, queue_row


async def test_login_shows_an_error_for_a_bad_password_and_redirects_on_success(web: Web) -> None:
    page = await web.http.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and 'name="csrf_token"' in page.text

    bad = await login(web.http, "operator1", "wrong")
    assert bad.status_code == 401
    assert "用户名或密码错误" in bad.text and 'value="operator1"' in bad.text

    good = await login(web.http, "operator1")
    assert good.status_code == 303 and good.headers["location"] == "/"
    home = await web.http.get("/")
    assert home.status_code == 200 and "王话务员" in home.text and "话务员 · 南京市" in home.text


async def test_htmx_login_gets_200_with_the_error_or_an_hx_redirect(web: Web) -> None:
    bad = await post(web.http, "/login", {"username": "operator1", "password": "x"}, HX)
    assert bad.status_code == 200 and "用户名或密码错误" in bad.text  # htmx swaps no 4xx

    good = await post(web.http, "/login", {"username": "operator1", "password": "demo1234"}, HX)
    assert good.status_code == 200 and good.headers["hx-redirect"] == "/"


async def test_posts_without_the_sessions_csrf_token_are_forbidden(web: Web) -> None:
    form = {"username": "operator1", "password": "demo1234"}
    assert (await web.http.post("/login", data=form)).status_code == 403
    forged = await web.http.post("/login", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]

    token = await csrf(web.http)
    by_header = await web.http.post("/login", data=form, headers={"X-CSRF-Token": token})
    assert by_header.status_code == 303
    assert (await web.http.post("/logout", data={"csrf_token": "forged"})).status_code == 403
    assert (await web.http.get("/")).status_code == 200  # still logged in


async def test_anonymous_users_are_sent_to_the_login_page(web: Web) -> None:
    plain = await web.http.get("/")
    assert plain.status_code == 303 and plain.headers["location"] == "/login"
    # htmx is offered a login in place (the page and its typed text stay), with the token for it
    htmx = await web.http.get("/cases/CL1", headers=HX)
    assert htmx.status_code == 401 and "hx-redirect" not in htmx.headers
    assert htmx.headers["x-login-required"] == "true" and htmx.headers["x-csrf-token"]


async def test_a_lost_session_logs_in_again_in_place_and_the_page_posts_with_the_new_token(
    web: Web,
) -> None:
    await login(web.http, "operator1")
    page = (await web.http.get("/")).text
    assert 'id="relogin"' in page and 'value="operator1" readonly' in page
    token = await csrf(web.http)
    web.http.cookies.clear()  # the cookie is gone: the page's token belongs to no session
    lost = await web.http.post("/logout", data={"csrf_token": token}, headers=HX)
    assert lost.status_code == 401 and lost.headers["x-login-required"] == "true"
    fresh = lost.headers["x-csrf-token"]
    assert fresh != token and web.http.cookies.get("cityloop_session")  # an anonymous one
    in_place = {"X-Relogin": "true"}
    form = {"username": "operator1", "csrf_token": fresh}
    wrong = await web.http.post("/login", data={**form, "password": "x"}, headers=in_place)
    assert wrong.status_code == 401 and wrong.text == "用户名或密码错误"
    again = await web.http.post("/login", data={**form, "password": "demo1234"}, headers=in_place)
    assert again.status_code == 204 and (new := again.headers["x-csrf-token"]) != fresh
    assert (await web.http.get("/")).status_code == 200
    assert (await web.http.post("/logout", data={"csrf_token": new}, headers=HX)).status_code == 200
    # a plain browser (no htmx) with a foreign token is refused as before
    assert (await web.http.post("/logout", data={"csrf_token": token})).status_code == 403


async def test_logout_forgets_the_user(web: Web) -> None:
    await login(web.http, "operator1")
    out = await post(web.http, "/logout", {})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert (await web.http.get("/")).status_code == 303


async def test_the_queue_shows_cases_to_the_assigned_unit_and_the_area(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)

    await login(web.http, "handler_nhl")
    page = await queue_row(web.http, ticket)
    row = _row(page, ticket)
    assert 'data-testid="case-row"' in row
    for cell in ("宁海路暴露垃圾", "暴露垃圾", ">待签收<", "宁海路街道"):
        assert cell in row
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)  # the deadline, in China time

    await login(web.http, "handler_hq")  # another street sees nothing of it
    assert ticket not in (await web.http.get("/")).text
    await login(web.http, "verifier_gl")  # the district's verifier watches the area
    assert ticket in (await web.http.get("/")).text

    fragment = await web.http.get("/", headers=HX)
    assert fragment.text.lstrip().startswith('<section id="queue"') and "<html" not in fragment.text


async def test_overdue_cases_are_marked_in_the_queue(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await queue_row(web.http, ticket)
    assert re.search(r'data-testid="countdown">剩 ', _row((await web.http.get("/")).text, ticket))
    with session_scope(web.sessions) as session:  # as if the stage clock had run out
        row = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).one()
        row.due_at = datetime.now(UTC) - timedelta(minutes=5)
        session.add(row)
    row = _row((await web.http.get("/")).text, ticket)
    assert re.search(r'class="countdown late" data-testid="countdown">超期 [45] 分<', row)


async def test_return_and_dispatch_through_the_forms(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "handler_nhl")
    url = f"/cases/{ticket}/actions"
    returned = await post(web.http, f"{url}/return_case", {"reason": "不属于本街道"}, HX)
    assert 'data-testid="status">被退回<' in returned.text and "原因：不属于本街道" in returned.text
    assert "当前没有您可以执行的操作" in returned.text

    await login(web.http, "dispatcher_gl")
    page = await web.http.get(f"/cases/{ticket}")
    form = page.text[page.text.index('data-testid="action-dispatch"') :]
    assert '<option value="gl-hq">华侨路街道</option>' in form
    assert '<option value="gl-dept-water">鼓楼区水务局</option>' in form
    typed = {"unit_id": "gl-nhl", "unit_other": "gl-hq"}  # a typed unit id wins over the list
    sent = await post(web.http, f"{url}/dispatch", typed, HX)
    assert 'data-testid="status">待签收<' in sent.text and "派往：华侨路街道" in sent.text
    assert 'data-testid="assigned-unit">华侨路街道<' in sent.text


async def test_case_page_renders_whole_or_as_the_case_block_for_htmx(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "handler_nhl")

    page = await web.http.get(f"/cases/{ticket}")
    assert page.status_code == 200 and "HX-Request" in page.headers["vary"]
    assert page.text.startswith("<!doctype html>") and 'hx-boost="true"' in page.text
    assert '<section id="case"' in page.text
    assert page.text.count('data-testid="event"') == 3  # 受理, 立案, 派遣
    assert "王话务员 · 话务员 · 南京市" in page.text  # who received it, from the workflow
    for action in ("accept", "return_case"):
        assert f'data-testid="action-{action}"' in page.text
    assert "南京市 / 鼓楼区 / 宁海路街道 / 宁海路第一社区 / 宁海路第一社区第1网格" in page.text

    fragment = await web.http.get(f"/cases/{ticket}", headers=HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["vary"]
    body = fragment.text.strip()
    assert body.startswith('<section id="case"') and body.endswith("</section>")
    assert "<html" not in body and "topbar" not in body
    assert body.count('data-testid="event"') == 3

    boosted = await web.http.get(f"/cases/{ticket}", headers={**HX, "HX-Boosted": "true"})
    assert boosted.text.startswith("<!doctype html>")  # boosted navigation swaps the body


async def test_an_illegal_action_is_refused_inline(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "verifier_gl")  # sees the district's cases, does not accept them
    url = f"/cases/{ticket}/actions/accept"

    htmx = await post(web.http, url, {}, HX)
    assert htmx.status_code == 200
    assert htmx.text.lstrip().startswith('<section id="case"')
    assert 'data-testid="action-error"' in htmx.text and 'role="alert"' in htmx.text
    assert "签收未完成：您的角色不能签收" in htmx.text

    plain = await post(web.http, url, {})
    assert plain.status_code == 403 and "<html" in plain.text and "您的角色不能签收" in plain.text

    await login(web.http, "handler_hq")  # another street: the case does not exist for it
    hidden = await post(web.http, url, {})
    assert hidden.status_code == 404 and "没有这个工单" in hidden.text
    assert "签收" not in hidden.text.split('id="error"', 1)[1]  # nothing of the case shows


async def test_actions_return_the_case_block_or_redirect_without_javascript(web: Web) -> None:
    await login(web.http, "operator1")
    ticket = await new_case(web.http)
    await login(web.http, "handler_nhl")

    accepted = await post(web.http, f"/cases/{ticket}/actions/accept", {})
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/cases/{ticket}"

    missing = await post(web.http, f"/cases/{ticket}/actions/add_progress", {"note": " "}, HX)
    assert "说明：必填" in missing.text and 'data-testid="action-error"' in missing.text

    progress = await post(
        web.http, f"/cases/{ticket}/actions/add_progress", {"note": "已到场<b>清理</b>"}, HX
    )
    assert progress.status_code == 200 and "action-error" not in progress.text
    assert re.search(r'data-testid="status">处置中<', progress.text)
    assert "已到场&lt;b&gt;清理&lt;/b&gt;" in progress.text  # user text is escaped
    assert progress.text.count('data-testid="event"') == 5  # the timeline is current at once


async def test_intake_errors_are_shown_next_to_the_form_with_values_kept(web: Web) -> None:
    await login(web.http, "operator1")
    form = await web.http.get("/cases/new")
    assert form.status_code == 200
    assert '<option value="exposed_garbage">暴露垃圾</option>' in form.text
    assert 'value="gl-nhl-c1-g1"' in form.text

    data = {"title": "x", "category": "", "location_unit_id": "gl-nhl", "address": "宁海路 5 号"}
    plain = await post(web.http, "/cases", data)
    assert plain.status_code == 422
    assert 'data-testid="form-error"' in plain.text and "至少 2 个字" in plain.text
    assert 'value="宁海路 5 号"' in plain.text and 'aria-invalid="true"' in plain.text

    htmx = await post(web.http, "/cases", data, HX)
    assert htmx.status_code == 200 and htmx.text.lstrip().startswith('<section id="intake"')
    assert "标题：至少 2 个字" in htmx.text and "类别：必填" in htmx.text

    unknown = await post(web.http, "/cases", {**data, "title": "井盖", "category": "nope"})
    assert unknown.status_code == 422 and "类别：没有这个类别" in unknown.text

    fixed = {**data, "title": "井盖", "category": "manhole_cover"}
    created = await post(web.http, "/cases", fixed, HX)
    assert created.status_code == 200 and created.headers["hx-redirect"].startswith("/cases/")


async def test_only_intake_roles_get_the_intake_form(web: Web) -> None:
    await login(web.http, "handler_nhl")
    page = await web.http.get("/cases/new")
    assert page.status_code == 403 and "不能登记新工单" in page.text
    assert "新建工单" not in (await web.http.get("/")).text


def _row(page: str, ticket: str) -> str:
    rows = re.findall(r'<tr data-testid="case-row".*?</tr>', page, re.S)
    return next(r for r in rows if ticket in r)
