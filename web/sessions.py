"""The web UI's sessions: a random id in the cookie, the session itself in `web_sessions`.

`request.session` is a `WebSession`. Before login it holds nothing but the id its CSRF token
is derived from (an anonymous id, never stored: a visitor leaves no row behind). Login opens
a stored session under a new id, so neither the cookie nor the CSRF token of the anonymous
session survives it; logout revokes the stored one. The CSRF token is an HMAC of the session
id under the secret key: it changes with the id and needs no storage of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, MutableMapping
from datetime import timedelta
from typing import Any

import anyio
from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import Settings
from core.db import SessionFactory, session_scope
from core.models import User
from core.security.sessions import (
    Lifetime,
    live_session,
    new_session_id,
    open_session,
    revoke_session,
    save_data,
)

COOKIE = "cityloop_session"
# Sent by what a page polls on its own (hx-headers on the polling element): such a request
# reads the session without counting as activity, so an open tab still goes idle.
POLL_HEADER = "X-Background"


def lifetime(settings: Settings) -> Lifetime:
    return Lifetime(
        absolute=timedelta(hours=settings.session_hours),
        idle=timedelta(minutes=settings.session_idle_minutes),
    )


class WebSession(MutableMapping[str, Any]):
    """One request's view of its session: the user, a little data, the CSRF token."""

    def __init__(
        self, session_id: str | None, sessions: SessionFactory, settings: Settings, *, secure: bool
    ) -> None:
        self.session_id, self.sessions, self.settings = session_id, sessions, settings
        self.secure = secure  # cookies get `Secure`
        self.polled = False  # a request the page made on its own (a badge's poll)
        self.user_id: int | None = None
        self.cookie = ""  # a Set-Cookie value this response must carry, if any
        self.dirty = False
        self._data: dict[str, Any] | None = None  # None: not read from the table yet

    # ---- the stored session ----------------------------------------------------------------
    def load(self) -> int | None:
        """Read the session (blocking: call it from a worker thread); returns its user id."""
        if self._data is None:
            self._data = {}
            if self.session_id:
                with session_scope(self.sessions) as session:
                    row = live_session(
                        session, self.session_id, lifetime(self.settings), touch=not self.polled
                    )
                    if row is not None:
                        self.user_id, self._data = row.user_id, dict(row.data)
        return self.user_id

    def begin(self, user: User, *, address: str) -> None:
        """Log `user` in under a new session id (the old id and its CSRF token are dropped)."""
        with session_scope(self.sessions) as session:
            self.session_id = open_session(session, user, lifetime(self.settings), address=address)
        self.user_id, self._data, self.dirty = user.id, {}, False
        max_age = int(lifetime(self.settings).absolute.total_seconds())
        self.cookie = _cookie(self.session_id, max_age=max_age, secure=self.secure)

    def end(self) -> None:
        """Log out: the stored session is revoked, so a copy of the cookie is worth nothing."""
        if self.session_id:
            with session_scope(self.sessions) as session:
                revoke_session(session, self.session_id, "logout")
        self.session_id, self.user_id, self._data, self.dirty = None, None, {}, False
        self.cookie = _cookie("", max_age=0, secure=self.secure)

    def save(self) -> None:
        if self.dirty and self.session_id and self.user_id is not None and self._data is not None:
            with session_scope(self.sessions) as session:
                save_data(session, self.session_id, self._data)
        self.dirty = False

    # ---- CSRF ------------------------------------------------------------------------------
    def csrf_token(self) -> str:
        """This session's CSRF token; a visitor without a session gets an anonymous id."""
        if not self.session_id:
            self.session_id = new_session_id()
            self.cookie = _cookie(self.session_id, max_age=None, secure=self.secure)
        return _csrf_for(self.settings.secret_key, self.session_id)

    def device_id(self) -> str:
        """A stable id of this browser (upload quotas), derived from its session id so that
        no cookie value is stored; an anonymous visitor gets its id here as for CSRF."""
        self.csrf_token()
        assert self.session_id is not None
        return _derived(self.settings.secret_key, "device", self.session_id)[:22]

    def csrf_matches(self, sent: str | None) -> bool:
        if not self.session_id or not isinstance(sent, str):
            return False
        return hmac.compare_digest(sent, _csrf_for(self.settings.secret_key, self.session_id))

    # ---- the mapping (request.session[...]) ------------------------------------------------
    def _items(self) -> dict[str, Any]:
        self.load()
        assert self._data is not None
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._items()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        data = self._items()
        if self.user_id is None:
            raise RuntimeError("only a logged-in session keeps data")
        data[key], self.dirty = value, True

    def __delitem__(self, key: str) -> None:
        del self._items()[key]
        self.dirty = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())


def web_session(request: Request) -> WebSession:
    session = request.scope.get("session")
    assert isinstance(session, WebSession), "WebSessionMiddleware is not installed"
    return session


def _csrf_for(secret_key: str, session_id: str) -> str:
    return _derived(secret_key, "csrf", session_id)


def _derived(secret_key: str, label: str, session_id: str) -> str:
    mac = hmac.new(secret_key.encode(), f"{label}:{session_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def _cookie(value: str, *, max_age: int | None, secure: bool) -> str:
    parts = [f"{COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class WebSessionMiddleware:
    """Puts a `WebSession` in `scope["session"]`; stores its changes and sets its cookie."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session_id = Request(scope).cookies.get(COOKIE) or None
        # `Secure` always in production, and on any HTTPS request (behind a proxy: as
        # uvicorn's proxy headers report the scheme).
        secure = self.settings.is_production or scope.get("scheme") == "https"
        session = WebSession(session_id, scope["app"].state.sessions, self.settings, secure=secure)
        session.polled = Request(scope).headers.get(POLL_HEADER) == "poll"
        scope["session"] = session

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                if session.dirty:
                    await anyio.to_thread.run_sync(session.save)
                if session.cookie:
                    MutableHeaders(scope=message).append("set-cookie", session.cookie)
            await send(message)

        await self.app(scope, receive, send_with_session)
