"""Rate limits on every public and login endpoint, through the real app: past the limit a
client gets 429 with Retry-After (JSON for the API, the spec's errors for Open311, a Chinese
page for the web), counted per client address and, where the request carries one, per
device token or api_key. The requests here are refused ones (no CSRF token, no credentials):
the limit is counted before those are checked (login, whose form is cheap, after its CSRF)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from core.config import RATE_LIMITS
from tests.conftest import app_client, client_on, make_settings
from tests.web.support import login

Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
ENDPOINTS: dict[str, Send] = {
    "report": lambda h: h.post("/report", data={"description": "x"}),
    "upload": lambda h: h.post("/report/attachments", files={"file": ("a.jpg", b"x")}),
    "track": lambda h: h.get("/track", params={"ticket": "CL1", "t": "guess"}),
    "open311_post": lambda h: h.post("/open311/v2/requests.json", data={"service_code": "x"}),
    "alerts": lambda h: h.post("/api/v1/alerts", json={}),
    "stats": lambda h: h.get("/api/v1/stats/measures", params={"period": "2026-11"}),
    "login": lambda h: login(h, "nobody", "guess"),  # with its CSRF token: counted after it
}


@pytest_asyncio.fixture(loop_scope="session")
async def limited(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> AsyncIterator[FastAPI]:
    settings = make_settings(sqlite_db, dev_env.client, task_queue).model_copy(
        update={"rate_limits_enabled": True, "rate_limits": dict.fromkeys(RATE_LIMITS, "2/minute")}
    )
    async with app_client(settings, dev_env.client) as (app, _http):
        yield app


def retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    wait = int(response.headers["retry-after"])
    assert 0 < wait <= 60
    return wait


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
async def test_past_its_limit_an_endpoint_answers_429_with_retry_after(
    limited: FastAPI, name: str
) -> None:
    send = ENDPOINTS[name]
    async with client_on(limited, address="10.1.0.1") as http:
        for _ in range(2):
            assert (await send(http)).status_code != 429
        refused = await send(http)
        retry_after(refused)
    async with client_on(limited, address="10.1.0.2") as other:  # counted per address
        assert (await send(other)).status_code != 429


async def test_each_kind_of_client_hears_it_in_its_own_terms(limited: FastAPI) -> None:
    async with client_on(limited, address="10.2.0.1") as http:
        for name in ("alerts", "open311_post", "report", "login"):
            for _ in range(2):
                await ENDPOINTS[name](http)
        api = await ENDPOINTS["alerts"](http)
        assert retry_after(api) == api.json()["retry_after"] and "too many" in api.json()["detail"]
        open311 = await ENDPOINTS["open311_post"](http)
        retry_after(open311)
        assert open311.json()[0]["code"] == 429
        page = await ENDPOINTS["report"](http)
        retry_after(page)
        assert "请求过于频繁" in page.text and page.headers["content-type"].startswith("text/html")
        form = await ENDPOINTS["login"](http)
        retry_after(form)
        assert "登录尝试过于频繁" in form.text  # on the login form itself


async def test_a_device_token_and_an_api_key_are_counted_across_addresses(
    limited: FastAPI,
) -> None:
    device = {"Authorization": "Bearer dv_the-same-token"}
    key = {"api_key": "o311_the-same-key", "service_code": "x"}
    for address in ("10.3.0.1", "10.3.0.2"):
        async with client_on(limited, address=address) as http:
            assert (await http.post("/api/v1/alerts", json={}, headers=device)).status_code == 401
            assert (await http.post("/open311/v2/requests.json", data=key)).status_code != 429
    async with client_on(limited, address="10.3.0.3") as http:  # a fresh address, same secrets
        retry_after(await http.post("/api/v1/alerts", json={}, headers=device))
        retry_after(await http.post("/open311/v2/requests.json", data=key))
        assert (await http.post("/api/v1/alerts", json={})).status_code == 401  # no token: ok


async def test_the_api_upload_is_limited_too(limited: FastAPI) -> None:
    async with client_on(limited, address="10.4.0.1") as http:
        for _ in range(2):
            answer = await http.post("/api/v1/attachments", files={"file": ("a.jpg", b"x")})
            assert answer.status_code == 401
        retry_after(await http.post("/api/v1/attachments", files={"file": ("a.jpg", b"x")}))
        staff = await http.post("/attachments", files={"file": ("a.jpg", b"x")})
        retry_after(staff)  # the web's staff upload shares the "upload" limit


async def test_limits_are_off_when_settings_say_so(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    settings = make_settings(sqlite_db, dev_env.client, task_queue).model_copy(
        update={"rate_limits": dict.fromkeys(RATE_LIMITS, "1/minute")}
    )
    assert settings.rate_limits_enabled is False  # what every other test runs with
    async with app_client(settings, dev_env.client) as (_app, http):
        for _ in range(3):
            assert (await ENDPOINTS["track"](http)).status_code != 429
