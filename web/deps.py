"""Dependencies of the web UI: the case service, the logged-in user and the CSRF check."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Request

from api.deps import get_cases, get_intake
from core.cases.service import CaseService
from core.db import SessionFactory, session_scope
from core.intake.service import IntakeService
from core.models import User
from web.sessions import web_session
from web.templating import is_htmx

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A response header telling app.js the session is gone: offer a login in place.
LOGIN_REQUIRED = "X-Login-Required"


def get_sessions(request: Request) -> SessionFactory:
    return request.app.state.sessions


def current_user(
    request: Request, sessions: Annotated[SessionFactory, Depends(get_sessions)]
) -> User:
    """The user of a live session; anyone else is sent to the login page."""
    user_id = web_session(request).load()
    user = None
    if user_id is not None:
        with session_scope(sessions) as session:
            user = session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        raise _to_login(request)
    return user


def _to_login(request: Request) -> HTTPException:
    # htmx follows a 303 inside its XHR and would paint the login page into a fragment's place;
    # a redirect would lose what the page holds. So htmx gets 401 and the token a login in
    # place needs (app.js opens the re-login dialog; the page and its typed text stay).
    if is_htmx(request):
        token = web_session(request).csrf_token()  # a lost cookie gets a fresh anonymous one
        return HTTPException(
            401, "请先登录", headers={LOGIN_REQUIRED: "true", "X-CSRF-Token": token}
        )
    return HTTPException(303, "请先登录", headers={"Location": "/login"})


async def check_csrf(request: Request) -> None:
    """Refuse a staff page's state-changing request whose token is not the session's.

    A token that fails because the session is gone (the cookie was lost: the token derives
    from its id) is a lost login, not forgery: htmx is offered a login in place instead.
    """
    if await _csrf_ok(request):
        return
    if is_htmx(request) and await anyio.to_thread.run_sync(web_session(request).load) is None:
        raise _to_login(request)
    raise HTTPException(403, "CSRF 校验失败，请刷新页面后重试")


async def check_public_csrf(request: Request) -> None:
    """The CSRF check of the public pages, where nobody logs in."""
    if not await _csrf_ok(request):
        raise HTTPException(403, "CSRF 校验失败，请刷新页面后重试")


async def _csrf_ok(request: Request) -> bool:
    """A safe method, or a token (header or form field) that is the session's."""
    if request.method in SAFE_METHODS:
        return True
    session = web_session(request)
    sent = [request.headers.get("x-csrf-token")]
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent.append((await request.form()).get("csrf_token"))  # type: ignore[arg-type]
    return any(session.csrf_matches(s) for s in sent)


Cases = Annotated[CaseService, Depends(get_cases)]
Intake = Annotated[IntakeService, Depends(get_intake)]
Sessions = Annotated[SessionFactory, Depends(get_sessions)]
WebUser = Annotated[User, Depends(current_user)]
