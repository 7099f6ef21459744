"""Login and logout with a session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from core.db import session_scope
from core.security import authenticate
from web.deps import Sessions, check_csrf
from web.templating import error_status, redirect, render

router = APIRouter(dependencies=[Depends(check_csrf)])


@router.get("/login")
def login_page(request: Request) -> Response:
    """The login form."""
    return render(request, "auth/login.html", {"username": "", "error": ""}, block="login")


@router.post("/login")
def login(
    request: Request,
    sessions: Sessions,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Check the password; the session then carries the user id."""
    with session_scope(sessions) as session:
        user = authenticate(session, username.strip(), password)
    if user is None:
        context = {"username": username, "error": "用户名或密码错误"}
        return render(
            request, "auth/login.html", context, block="login", status=error_status(request, 401)
        )
    # The CSRF token stays: it is bound to this cookie, which only we can sign.
    request.session["user_id"] = user.id
    return redirect(request, "/")


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the session (user and CSRF token alike)."""
    request.session.clear()
    return redirect(request, "/login")
