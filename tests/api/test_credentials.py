"""Bearer tokens through the real API: expired, revoked and disabled users' tokens get 401
(revocation within the token cache's TTL), and a read-model outage leaves cached tokens
working while an unchecked one gets 503 with Retry-After, never 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.security import tokens as security
from tests.api.support import plain_refusal
from tests.api.test_cases import CASE
from tests.conftest import app_client, make_settings, outage, running_worker, token_for
from tests.core.test_security import Clock


@pytest_asyncio.fixture(loop_scope="session")
async def api(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, SessionFactory, Clock]]:
    engine = make_engine(sqlite_db)
    settings = make_settings(sqlite_db, dev_env.client, task_queue)
    async with app_client(settings, dev_env.client) as (app, http):
        clock = Clock()
        app.state.tokens.clock = clock
        yield app, http, session_factory(engine), clock
    engine.dispose()


async def status(http: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await http.get("/api/v1/cases", headers=headers)).status_code


async def test_an_expired_token_is_refused(api: tuple) -> None:
    _app, http, sessions, _clock = api
    headers = token_for(sessions, "dispatcher1")
    with session_scope(sessions) as session:
        token = security.find_token(session, headers["Authorization"].split()[1])
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    refused = await http.get("/api/v1/cases", headers=headers)
    assert refused.status_code == 401 and refused.json() == plain_refusal("invalid bearer token")
    assert refused.headers["www-authenticate"] == "Bearer"


async def test_revocation_and_disabling_take_effect_within_the_cache_ttl(api: tuple) -> None:
    app, http, sessions, clock = api
    revoked, disabled = token_for(sessions, "dispatcher1"), token_for(sessions, "operator1")
    assert await status(http, revoked) == 200 and await status(http, disabled) == 200
    with session_scope(sessions) as session:
        token = security.find_token(session, revoked["Authorization"].split()[1])
        security.revoke_token(session, token, actor="cli:test", reason="leaked")
        operator = security.find_user(session, "operator1")
        security.disable_user(session, operator, actor="cli:test", reason="left")
    assert await status(http, revoked) == 200  # still trusted: checked less than a TTL ago
    clock.now += app.state.settings.token_cache_seconds
    assert await status(http, revoked) == 401
    assert await status(http, disabled) == 401


@pytest.mark.postgres
async def test_a_read_model_outage_keeps_cached_tokens_acting_and_answers_503_otherwise(
    dev_env: WorkflowEnvironment, pg_database: tuple[str, str], task_queue: str
) -> None:
    url, name = pg_database
    engine = make_engine(url)
    sessions = session_factory(engine)
    operator, handler = token_for(sessions, "operator1"), token_for(sessions, "handler_nhl")
    unchecked = token_for(sessions, "dispatcher1")
    settings = make_settings(url, dev_env.client, task_queue)
    async with (
        running_worker(dev_env.client, task_queue, sessions),
        app_client(settings, dev_env.client) as (_app, http),
    ):
        case = (await http.post("/api/v1/cases", json=CASE, headers=operator)).json()
        act = f"/api/v1/cases/{case['ticket']}/actions"
        accepted = await http.post(f"{act}/accept", json={}, headers=handler)
        assert accepted.status_code == 200, accepted.text  # the handler's token is now cached
        with outage(name):
            progress = await http.post(
                f"{act}/add_progress", json={"note": "清运车已到场"}, headers=handler
            )
            assert progress.status_code == 200, progress.text
            assert progress.json()["status"] == "HANDLING"
            refused = await http.get("/api/v1/cases", headers=unchecked)
            assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
            assert "database is unreachable" in refused.json()["detail"]
            device = {"Authorization": "Bearer dv_some-device-token"}  # devices: never cached
            alarm = await http.post("/api/v1/alerts", json={}, headers=device)
            assert alarm.status_code == 503 and alarm.headers["retry-after"] == "5"
        assert await status(http, unchecked) == 200  # the database is back
    engine.dispose()
