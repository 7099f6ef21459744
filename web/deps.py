"""Dependencies of the web UI: the case service, the logged-in user and the CSRF check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from core.cases.service import CaseService
from core.db import SessionFactory, session_scope
from core.intake.service import IntakeService
from core.models import User
from web.sessions import web_session
from web.templating import is_htmx

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_cases(request: Request) -> CaseService:
    return request.app.state.cases


def get_intake(request: Request) -> IntakeService:
    return request.app.state.intake


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
    # htmx follows a 303 inside its XHR and would paint the login page into a fragment's place.
    if is_htmx(request):
        return HTTPException(401, "请先登录", headers={"HX-Redirect": "/login"})
    return HTTPException(303, "请先登录", headers={"Location": "/login"})


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request whose token (header or form field) is not the session's."""
    if request.method in SAFE_METHODS:
        return
    session = web_session(request)
    sent = [request.headers.get("x-csrf-token")]
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent.append((await request.form()).get("csrf_token"))  # type: ignore[arg-type]
    if not any(session.csrf_matches(s) for s in sent):
        raise HTTPException(403, "CSRF 校验失败，请刷新页面后重试")


Cases = Annotated[CaseService, Depends(get_cases)]
Intake = Annotated[IntakeService, Depends(get_intake)]
Sessions = Annotated[SessionFactory, Depends(get_sessions)]
WebUser = Annotated[User, Depends(current_user)]
