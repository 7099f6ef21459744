"""A lost session in Chromium: htmx's refused request opens a login in place over the page; after
it the same form posts again with everything typed still there (issue 12)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from sqlmodel import select

from core.db import make_engine, session_factory, session_scope
from core.models import User
from core.security.sessions import revoke_user_sessions
from tests.web.browser import Desktop, log_in, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


async def test_a_lost_session_logs_in_again_in_place_and_keeps_the_form(
    desktop: Desktop, sqlite_db: str
) -> None:
    page, base = desktop
    await log_in(page, base, "operator1")
    await _fill_intake(page, "颐和路井盖缺失")

    _revoke(sqlite_db, "operator1")  # the session ends on the server (expired, revoked)
    await page.get_by_role("button", name="登记工单").click()
    await _log_in_again(page)
    await expect(page.get_by_label("详细地址")).to_have_value("颐和路 12 号门前")
    await page.get_by_role("button", name="登记工单").click()
    await expect(page.get_by_test_id("ticket")).to_be_visible()
    await expect(page.get_by_role("heading", name="颐和路井盖缺失")).to_be_visible()

    # the cookie itself is lost: the page's CSRF token belongs to no session any more
    await _fill_intake(page, "第二件：路灯不亮")
    await page.context.clear_cookies()
    await page.get_by_role("button", name="登记工单").click()
    await _log_in_again(page)
    await expect(page.get_by_label("标题")).to_have_value("第二件：路灯不亮")
    await page.get_by_role("button", name="登记工单").click()
    await expect(page.get_by_role("heading", name="第二件：路灯不亮")).to_be_visible()


async def _fill_intake(page: Page, title: str) -> None:
    await page.get_by_role("link", name="新建工单").click()
    await page.get_by_label("标题").fill(title)
    await page.get_by_label("类别").select_option("exposed_garbage")
    await page.get_by_label("位置").select_option("gl-nhl-c1-g1")
    await page.get_by_label("详细地址").fill("颐和路 12 号门前")
    await page.get_by_label("问题描述").fill("井盖缺失，行人易跌落")


async def _log_in_again(page: Page) -> None:
    """The dialog opens over the page; a wrong password is said there, the right one closes it."""
    dialog = page.get_by_test_id("relogin")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_label("用户名")).to_have_value("operator1")
    await dialog.get_by_label("密码").fill("wrong")
    await dialog.get_by_role("button", name="登录").click()
    await expect(dialog.get_by_role("alert")).to_have_text("用户名或密码错误")
    await dialog.get_by_label("密码").fill("demo1234")
    await dialog.get_by_role("button", name="登录").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#flash")).to_contain_text("已重新登录")


def _revoke(db_url: str, username: str) -> None:
    engine = make_engine(db_url)
    with session_scope(session_factory(engine)) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        revoke_user_sessions(session, user, "test")
    engine.dispose()
