"""Server-side web sessions over the real app: the cookie holds only a random id, logout and
password changes and disabling revoke the session, the CSRF token changes at login, `Secure`
in production and over HTTPS, idle sessions end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.models import WebSessionRecord
from core.security import tokens as security
from core.security.sessions import session_digest
from tests.conftest import PRODUCTION, app_client, client_on, make_settings
from tests.web.support import csrf, login
from web.sessions import COOKIE


@pytest_asyncio.fixture(loop_scope="session")
async def site(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, SessionFactory]]:
    engine = make_engine(sqlite_db)
    settings = make_settings(sqlite_db, dev_env.client, task_queue)
    async with app_client(settings, dev_env.client) as (app, http):
        yield app, http, session_factory(engine)
    engine.dispose()


def set_cookie(response: httpx.Response) -> str:
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith(COOKIE + "=")]
    return cookie


def stored(sessions: SessionFactory, session_id: str) -> WebSessionRecord | None:
    with session_scope(sessions) as session:
        return session.get(WebSessionRecord, session_digest(session_id))


async def logged_in(http: httpx.AsyncClient) -> bool:
    page = await http.get("/")
    return page.status_code == 200 and 'data-testid="current-user"' in page.text


async def test_the_cookie_is_a_random_id_of_a_stored_session(site: tuple) -> None:
    _app, http, sessions = site
    answer = await login(http, "handler_nhl")
    assert answer.status_code == 303
    cookie = set_cookie(answer)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    session_id = http.cookies[COOKIE]
    assert len(session_id) == 43 and "handler" not in session_id
    row = stored(sessions, session_id)
    assert row is not None and row.revoked_at is None and row.address == "127.0.0.1"
    assert row.expires_at - row.created_at == timedelta(hours=12)
    assert await logged_in(http)


async def test_a_copied_cookie_stops_working_at_logout(site: tuple) -> None:
    app, http, sessions = site
    await login(http, "handler_nhl")
    session_id = http.cookies[COOKIE]
    async with client_on(app) as thief:
        thief.cookies.set(COOKIE, session_id, domain="cityloop.test")
        assert await logged_in(thief)  # a copy works while the session lives…
        out = await http.post("/logout", data={"csrf_token": await csrf(http)})
        assert out.status_code == 303 and "Max-Age=0" in set_cookie(out)
        assert not await logged_in(http)
        again = await thief.get("/")
        assert (again.status_code, again.headers["location"]) == (303, "/login")  # …not after
    row = stored(sessions, session_id)
    assert row is not None and row.revoked_reason == "logout"


async def test_login_brings_a_new_csrf_token_and_the_old_one_is_refused(site: tuple) -> None:
    _app, http, _sessions = site
    anonymous = await csrf(http)
    anonymous_id = http.cookies[COOKIE]
    answer = await http.post(
        "/login", data={"username": "handler_nhl", "password": "demo1234", "csrf_token": anonymous}
    )
    assert answer.status_code == 303 and http.cookies[COOKIE] != anonymous_id
    fresh = await csrf(http)
    assert fresh != anonymous
    refused = await http.post("/logout", data={"csrf_token": anonymous})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert await logged_in(http)
    assert (await http.post("/logout", data={"csrf_token": fresh})).status_code == 303


async def test_a_login_with_a_fixed_session_id_gets_a_new_one(site: tuple) -> None:
    """Session fixation: an id planted before login is not the one logged in."""
    _app, http, sessions = site
    http.cookies.set(COOKIE, "planted-by-an-attacker", domain="cityloop.test")
    token = await csrf(http)
    await http.post(
        "/login", data={"username": "handler_nhl", "password": "demo1234", "csrf_token": token}
    )
    assert http.cookies[COOKIE] != "planted-by-an-attacker"
    assert stored(sessions, "planted-by-an-attacker") is None


async def test_a_password_change_or_disabling_ends_the_session(site: tuple) -> None:
    _app, http, sessions = site
    await login(http, "handler_nhl")
    with session_scope(sessions) as session:
        user = security.find_user(session, "handler_nhl")
        security.set_password(session, user, "another-password", actor="cli:test")
    assert not await logged_in(http)
    assert stored(sessions, http.cookies[COOKIE]).revoked_reason == "password_changed"  # type: ignore[union-attr]

    await login(http, "handler_nhl", "another-password")
    assert await logged_in(http)
    with session_scope(sessions) as session:
        user = security.find_user(session, "handler_nhl")
        security.disable_user(session, user, actor="cli:test", reason="left the unit")
    assert not await logged_in(http)
    refused = await login(http, "handler_nhl", "another-password")
    assert refused.status_code == 401 and "用户名或密码错误" in refused.text


async def test_an_idle_session_ends(site: tuple) -> None:
    _app, http, sessions = site
    await login(http, "handler_nhl")
    with session_scope(sessions) as session:
        row = session.get(WebSessionRecord, session_digest(http.cookies[COOKIE]))
        assert row is not None
        row.last_seen_at = datetime.now(UTC) - timedelta(minutes=121)
    assert not await logged_in(http)


async def test_a_page_polling_on_its_own_does_not_keep_an_idle_session_alive(site: tuple) -> None:
    _app, http, sessions = site
    await login(http, "handler_nhl")
    digest = session_digest(http.cookies[COOKIE])
    earlier = datetime.now(UTC) - timedelta(minutes=30)

    def last_seen(move_to: datetime | None = None) -> datetime:
        with session_scope(sessions) as session:
            row = session.get(WebSessionRecord, digest)
            assert row is not None
            if move_to is not None:
                row.last_seen_at = move_to
            seen = row.last_seen_at
        return seen if seen.tzinfo else seen.replace(tzinfo=UTC)

    last_seen(earlier)
    polled = await http.get("/inbox/badge", headers={"HX-Request": "true", "X-Background": "poll"})
    assert polled.status_code == 200 and 'id="inbox-badge"' in polled.text
    assert last_seen() == earlier  # read, not touched
    assert (await http.get("/inbox/badge", headers={"HX-Request": "true"})).status_code == 200
    assert last_seen() > earlier  # a person's request counts


async def test_cookies_are_secure_in_production_and_over_https(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    settings: Settings = make_settings(sqlite_db, dev_env.client, task_queue)
    async with app_client(settings, dev_env.client, base_url="https://cityloop.test") as (_, http):
        assert set_cookie(await login(http, "handler_nhl")).endswith("; Secure")
    production = settings.model_copy(update=PRODUCTION)
    async with app_client(production, dev_env.client) as (_app, http):  # plain HTTP
        assert set_cookie(await http.get("/login")).endswith("; Secure")
