"""Login and logout: a server-side session per login, failed logins throttled."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import PlainTextResponse

from core.db import session_scope
from core.security.ratelimit import LoginThrottle, RateLimited, RateLimiter, client_address
from core.security.tokens import authenticate
from web.deps import Sessions, check_csrf
from web.sessions import web_session
from web.templating import error_status, redirect, render

router = APIRouter(dependencies=[Depends(check_csrf)])
RELOGIN = "X-Relogin"  # the header of a login in place


@router.get("/login")
def login_page(request: Request) -> Response:
    """The login form."""
    return _form(request, "", "")


@router.post("/login")
def login(
    request: Request,
    sessions: Sessions,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Check the password; a new session (new cookie, new CSRF token) then carries the user."""
    address, name = client_address(request), username.strip()
    throttle: LoginThrottle = request.app.state.login_throttle
    try:
        limiter: RateLimiter = request.app.state.limiter
        limiter.check("login", address)
        if wait := throttle.wait(name, address):
            raise RateLimited(wait)
    except RateLimited as err:
        minutes = math.ceil(err.retry_after / 60)
        message = f"登录尝试过于频繁，请 {minutes} 分钟后再试"
        response = _refused(request, username, message, 429)
        response.headers["Retry-After"] = str(err.retry_after)
        return response
    with session_scope(sessions) as session:
        user = authenticate(session, name, password)
    if user is None:
        throttle.failed(name, address)
        return _refused(request, username, "用户名或密码错误", 401)
    throttle.succeeded(name)
    web_session(request).begin(user, address=address)
    if _in_place(request):  # the page stays: it needs the new session's CSRF token
        return Response(
            status_code=204, headers={"X-CSRF-Token": web_session(request).csrf_token()}
        )
    return redirect(request, "/")


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session: revoked server-side, so a copy of the cookie no longer works."""
    web_session(request).end()
    return redirect(request, "/login")


def _in_place(request: Request) -> bool:
    """A login in place (app.js's re-login dialog, over a page whose session was lost)."""
    return request.headers.get(RELOGIN) == "true"


def _refused(request: Request, username: str, error: str, status: int) -> Response:
    if _in_place(request):  # the dialog shows the text as it is
        return PlainTextResponse(error, status_code=status)
    return _form(request, username, error, status)


def _form(request: Request, username: str, error: str, status: int = 200) -> Response:
    context = {"username": username, "error": error}
    status = error_status(request, status) if error else status
    return render(request, "auth/login.html", context, block="login", status=status)
