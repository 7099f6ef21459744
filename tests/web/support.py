"""Helpers for the web tests: the app with a worker behind it, CSRF tokens, logins, a case."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx
from temporalio.client import Client

from core.db import SessionFactory, make_engine, session_factory
from tests.conftest import api_client, make_settings, running_worker

T = TypeVar("T")
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
HX = {"HX-Request": "true"}
GARBAGE = {
    "title": "宁海路暴露垃圾",
    "description": "颐和路口垃圾堆放两天未清运",
    "category": "exposed_garbage",
    "location_unit_id": "gl-nhl-c1-g1",
    "address": "宁海路与颐和路交叉口",
    "priority": "normal",
    "reporter_name": "张先生",
    "reporter_phone": "13800000000",
}


@dataclass
class Web:
    http: httpx.AsyncClient
    sessions: SessionFactory


@asynccontextmanager
async def web_stack(client: Client, db_url: str, task_queue: str) -> AsyncIterator[Web]:
    """The real app over ASGI, with a worker on the test's task queue."""
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    settings = make_settings(db_url, client, task_queue)
    async with running_worker(client, task_queue, sessions), api_client(settings, client) as http:
        yield Web(http, sessions)
    engine.dispose()


def match(pattern: str, page: str) -> str:
    """What `pattern` first matches in `page`, across lines; the test fails showing the page
    where nothing does."""
    found = re.search(pattern, page, re.S)
    assert found, page
    return found.group(0)


async def csrf(http: httpx.AsyncClient, form: str = "/login") -> str:
    """The session's CSRF token, as the page at `form` carries it: the login form, or the report
    form for an anonymous citizen's session."""
    page = await http.get(form)
    found = CSRF_INPUT.search(page.text)
    assert found, page.text
    return found.group(1)


async def login(
    http: httpx.AsyncClient, username: str, password: str = "demo1234"
) -> httpx.Response:
    token = await csrf(http)
    form = {"username": username, "password": password, "csrf_token": token}
    return await http.post("/login", data=form)


async def post(
    http: httpx.AsyncClient, url: str, data: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    """A form post carrying the session's CSRF token."""
    return await http.post(url, data={**data, "csrf_token": await csrf(http)}, headers=headers)


async def new_case(http: httpx.AsyncClient, **fields: str) -> str:
    """Record a case through the intake form (logged in as an intake role); return its ticket."""
    response = await post(http, "/cases", {**GARBAGE, **fields})
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


async def eventually(fetch: Callable[[], Awaitable[T]], check: Callable[[T], bool], what: str) -> T:
    """Fetch until `check` holds, for about ten seconds: the read model, a case's whistles and a
    workflow's next run all catch up asynchronously. (Used by the API tests too.)"""
    for _ in range(200):
        got = await fetch()
        if check(got):
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def queue_row(http: httpx.AsyncClient, ticket: str) -> str:
    """The queue page once the read model shows `ticket` (the projection is asynchronous)."""
    for _ in range(100):
        page = await http.get("/")
        if ticket in page.text:
            return page.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ticket} never reached the queue")
