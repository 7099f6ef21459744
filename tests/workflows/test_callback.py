"""回访 by channel: patrol and sensor cases archive once closed; callers are asked, and may be
unreachable; a citizen's 评价 is their 回访 (issue 12)."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from core.cases.service import ActionRequest, CaseError, CaseService, CitizenRating
from core.db import make_engine, session_factory
from tests.conftest import make_settings, running_worker
from tests.conftest import user_named as user
from tests.workflows.test_case_lifecycle import manhole
from workflows.contracts import CallbackOutcome, CaseState, Rating, Status

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def service(dev_env, sqlite_db, task_queue):  # type: ignore[no-untyped-def]
    client: Client = dev_env.client
    sessions = session_factory(make_engine(sqlite_db))
    return CaseService(client, sessions, make_settings(sqlite_db, client, task_queue))


async def closed(service: CaseService, channel: str) -> CaseState:
    """A case of `channel`, handled and verified."""
    s = service.sessions
    state = await service.intake(user(s, "operator1"), manhole(channel=channel))
    nhl, ver = user(s, "handler_nhl"), user(s, "verifier_gl")
    await service.act(nhl, state.ticket, "accept", ActionRequest())
    await service.act(nhl, state.ticket, "submit_feedback", ActionRequest(note="已处理"))
    return await service.act(ver, state.ticket, "verify", ActionRequest(passed=True))


@pytest.mark.parametrize("channel", ["patrol", "sensor"])
async def test_cases_with_nobody_to_call_archive_once_verified(
    service: CaseService, task_queue: str, channel: str
) -> None:
    async with running_worker(service.client, task_queue, service.sessions):
        state = await closed(service, channel)
        assert state.status == Status.ARCHIVED and state.clock.stage == ""  # no 回访 clock
        events = await service.live_timeline(state)
        assert [e.action for e in events[-2:]] == ["verify", "archive"]
        assert events[-2].to_status == "CLOSED" and events[-1].payload == {"no_callback": True}


async def test_a_caller_who_cannot_be_reached_leaves_the_case_unrated(
    service: CaseService, task_queue: str
) -> None:
    s = service.sessions
    async with running_worker(service.client, task_queue, s):
        state = await closed(service, "hotline")
        assert state.status == Status.CLOSED and state.clock.stage == "callback"
        op = user(s, "operator1")
        with pytest.raises(CaseError) as err:  # reached, but no rating
            await service.act(op, state.ticket, "record_callback", ActionRequest(outcome="solved"))
        assert err.value.status == 422 and err.value.field == "rating"
        unreachable = ActionRequest(outcome=CallbackOutcome.UNREACHABLE, note="三次未接通")
        state = await service.act(op, state.ticket, "record_callback", unreachable)
        assert state.status == Status.ARCHIVED and state.rating == ""
        assert state.callback_outcome == "unreachable"


async def test_a_citizens_rating_is_the_callback_and_counts_once(
    service: CaseService, task_queue: str
) -> None:
    async with running_worker(service.client, task_queue, service.sessions):
        hotline = await closed(service, "hotline")
        rating = CitizenRating(rating=Rating.SATISFIED, outcome=CallbackOutcome.SOLVED)
        with pytest.raises(CaseError) as err:  # a hotline caller is called back instead
            await service.rate_by_citizen(hotline.ticket, rating, key="k1")
        assert err.value.status == 409

        state = await closed(service, "citizen")
        first = await service.rate_by_citizen(state.ticket, rating, key="k2")
        again = await service.rate_by_citizen(state.ticket, rating, key="k2")
        assert first.status == again.status == Status.ARCHIVED
        assert first.last_seq == again.last_seq and first.callback_outcome == "solved"
        events = await service.live_timeline(first)
        assert [e.action for e in events].count("rate_by_citizen") == 1
        assert events[-1].actor.name == "市民" and events[-1].actor.role == "public"
