"""The whole closed loop on the local dev server, with real activities and a real database."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlmodel import select
from temporalio.client import Client

from core.cases.service import ActionRequest, CaseError, CaseService, IntakeRequest
from core.db import session_scope
from core.models import CaseEventRecord, CaseRecord
from tests.conftest import make_settings, projected, running_worker
from tests.conftest import user_named as user
from workflows.contracts import Status

pytestmark = pytest.mark.asyncio(loop_scope="session")


def manhole(**kw: object) -> IntakeRequest:
    data: dict[str, object] = {
        "title": "宁海路井盖缺失",
        "description": "颐和路口井盖缺失，有行人跌落风险",
        "category": "exposed_garbage",
        "location_unit_id": "gl-nhl-c1-g1",
        "address": "宁海路与颐和路交叉口",
    }
    data.update(kw)
    return IntakeRequest.model_validate(data)


@pytest.fixture
def service(dev_env, sqlite_db, task_queue):  # type: ignore[no-untyped-def]
    from core.db import make_engine, session_factory

    client: Client = dev_env.client
    sessions = session_factory(make_engine(sqlite_db))
    return CaseService(client, sessions, make_settings(sqlite_db, client, task_queue))


async def test_full_loop_with_return_rework_and_callback(
    service: CaseService, task_queue: str
) -> None:
    s = service.sessions
    async with running_worker(service.client, task_queue, s):
        state = await service.intake(user(s, "operator1"), manhole())
        assert state.status == Status.DISPATCHED
        assert state.assigned_unit is not None and state.assigned_unit.id == "gl-nhl"
        ticket = state.ticket

        hq, nhl = user(s, "handler_hq"), user(s, "handler_nhl")
        state = await service.act(nhl, ticket, "return_case", ActionRequest(reason="不属于本街道"))
        assert state.status == Status.RETURNED and state.return_count == 1
        disp = user(s, "dispatcher_gl")
        state = await service.act(disp, ticket, "dispatch", ActionRequest(unit_id="gl-hq"))
        assert state.status == Status.DISPATCHED and state.assigned_unit.id == "gl-hq"  # type: ignore[union-attr]
        assert state.first_unit.id == "gl-nhl"  # type: ignore[union-attr]

        await service.act(hq, ticket, "accept", ActionRequest())
        await service.act(hq, ticket, "add_progress", ActionRequest(note="已到场"))
        state = await service.act(
            hq, ticket, "submit_feedback", ActionRequest(note="已清理", evidence=["a.jpg"])
        )
        assert state.status == Status.VERIFYING
        ver = user(s, "verifier_gl")
        state = await service.act(
            ver, ticket, "verify", ActionRequest(passed=False, reason="仍有残留")
        )
        assert state.status == Status.REWORK and state.rework_count == 1
        await service.act(hq, ticket, "submit_feedback", ActionRequest(note="已彻底清理"))
        state = await service.act(ver, ticket, "verify", ActionRequest(passed=True))
        assert state.status == Status.CLOSED

        op = user(s, "operator1")
        state = await service.act(
            op, ticket, "record_callback", ActionRequest(rating="unsatisfied")
        )
        assert state.status == Status.REWORK and state.reopen_count == 1
        await service.act(hq, ticket, "submit_feedback", ActionRequest(note="重办完成"))
        await service.act(ver, ticket, "verify", ActionRequest(passed=True))
        state = await service.act(
            op, ticket, "record_callback", ActionRequest(rating="unsatisfied")
        )
        assert state.status == Status.ARCHIVED  # the second rating counts, no third round

        row = await projected(s, state.case_id, state.last_seq)
        assert row.status == "ARCHIVED" and row.return_count == 1 and row.rework_count == 1
        with session_scope(s) as session:
            events = session.exec(
                select(CaseEventRecord).where(CaseEventRecord.case_id == state.case_id)
            ).all()
        actions = [e.action for e in sorted(events, key=lambda e: e.seq)]
        assert actions[:4] == ["receive", "register", "dispatch", "return_case"]
        assert actions[-1] == "record_callback"
        assert [e.seq for e in events] == list(range(1, state.last_seq + 1))
        returned = next(e for e in events if e.action == "return_case")
        assert (returned.actor_username, returned.reason) == ("handler_nhl", "不属于本街道")


async def test_illegal_actions_are_refused_and_leave_no_trace(
    service: CaseService, task_queue: str
) -> None:
    s = service.sessions
    async with running_worker(service.client, task_queue, s):
        state = await service.intake(user(s, "operator1"), manhole())
        ticket, before = state.ticket, state.last_seq
        cases = [
            # Another street's handler may not see the case: not even its existence is told.
            ("handler_hq", "accept", ActionRequest(), 404, "no case"),
            ("operator1", "accept", ActionRequest(), 403, "requires role"),
            ("handler_nhl", "return_case", ActionRequest(), 422, "needs a reason"),
            ("handler_nhl", "submit_feedback", ActionRequest(note="x"), 409, "DISPATCHED"),
            ("verifier_gl", "verify", ActionRequest(passed=True), 409, "DISPATCHED"),
            (
                "dispatcher_gl",
                "dispatch",
                ActionRequest(unit_id="no-such-unit"),
                422,
                "unknown unit",
            ),
        ]
        for username, action, req, status, reason in cases:
            with pytest.raises(CaseError) as err:
                await service.act(user(s, username), ticket, action, req)
            assert err.value.status == status, (action, err.value.reason)
            assert reason in err.value.reason
        after = await service.live_state(ticket)
        assert after.last_seq == before and after.status == Status.DISPATCHED
        history = await service.client.get_workflow_handle(state.case_id).fetch_history()
        accepted = [
            e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            for e in history.events
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        assert accepted == ["confirm_intake"]  # a refused update never enters history


async def test_same_external_id_returns_the_same_case(
    service: CaseService, task_queue: str
) -> None:
    s = service.sessions
    async with running_worker(service.client, task_queue, s):
        op = user(s, "operator1")
        external = f"HX{uuid.uuid4().hex[:12]}"  # the Temporal server is shared by all tests
        first = await service.intake(op, manhole(external_id=external))
        again = await service.intake(op, manhole(external_id=external, title="重复提交"))
        assert again.case_id == first.case_id and again.ticket == f"EX-{external}"
        assert again.title == first.title
        with session_scope(s) as session:
            await projected(s, again.case_id, again.last_seq)
            rows = session.exec(select(CaseRecord).where(CaseRecord.external_id == external)).all()
        assert len(rows) == 1


async def test_search_attributes_find_cases(service: CaseService, task_queue: str) -> None:
    s = service.sessions
    async with running_worker(service.client, task_queue, s):
        state = await service.intake(user(s, "operator1"), manhole())
        await service.act(user(s, "handler_nhl"), state.ticket, "accept", ActionRequest())
        await service.act(
            user(s, "handler_nhl"), state.ticket, "add_progress", ActionRequest(note="处理中")
        )
        query = f"CaseStatus='HANDLING' AND District='鼓楼区' AND WorkflowId='{state.case_id}'"
        for _ in range(100):  # visibility is eventually consistent
            found = [w.id async for w in service.client.list_workflows(query)]
            if found:
                break
            await asyncio.sleep(0.1)
        assert found == [state.case_id]
