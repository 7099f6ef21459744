"""Failed logins are throttled per user name and per client address: 429, Retry-After and a
Chinese message on the form; a success clears the user's count; unknown names count alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from tests.conftest import app_client, client_on, make_settings
from tests.web.support import login

THROTTLED = "登录尝试过于频繁"


@pytest_asyncio.fixture(loop_scope="session")
async def site(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = make_settings(sqlite_db, dev_env.client, task_queue).model_copy(
        update={
            "login_failures_per_user": "3/15minutes",
            "login_failures_per_address": "5/15minutes",
        }
    )
    async with app_client(settings, dev_env.client) as (app, http):
        yield app, http


async def wrong_password(http: httpx.AsyncClient, username: str, *, times: int) -> None:
    """Log in as `username` with a wrong password `times` times, each refused with 401."""
    for _ in range(times):
        assert (await login(http, username, "guess")).status_code == 401


def throttled(response: httpx.Response) -> bool:
    if response.status_code != 429:
        return False
    assert THROTTLED in response.text and 'data-testid="login-error"' in response.text
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    return True


async def test_a_user_name_is_throttled_after_its_failures_even_with_the_right_password(
    site: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, http = site
    await wrong_password(http, "handler_nhl", times=3)
    assert throttled(await login(http, "handler_nhl"))
    async with client_on(app, address="10.0.0.2") as elsewhere:  # per name, not per address
        assert throttled(await login(elsewhere, "handler_nhl"))
    assert (await login(http, "dispatcher1")).status_code == 303  # others still log in


async def test_unknown_names_are_throttled_like_known_ones(
    site: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _app, http = site
    await wrong_password(http, "ghost", times=3)
    assert throttled(await login(http, "ghost", "guess"))
    assert throttled(await login(http, " GHOST ", "guess"))  # the same name, however written


async def test_an_address_is_throttled_across_names(
    site: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, http = site
    for name in ["a1", "a2", "a3", "a4", "a5"]:
        assert (await login(http, name, "guess")).status_code == 401
    assert throttled(await login(http, "dispatcher1"))
    async with client_on(app, address="10.0.0.3") as elsewhere:
        assert (await login(elsewhere, "dispatcher1")).status_code == 303


async def test_a_success_clears_the_users_failures(site: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, _http = site
    async with client_on(app, address="10.0.0.4") as http:
        await wrong_password(http, "verifier_gl", times=2)
        assert (await login(http, "verifier_gl")).status_code == 303
        # two more: four in all, but only two since the success
        await wrong_password(http, "verifier_gl", times=2)
        assert (await login(http, "verifier_gl")).status_code == 303
