"""Record a case with three whistle rounds and its whistles' histories for the replay test:
`python -m tests.histories.record_whistle NAME` writes NAME_case.json and one file per
whistle ending (reported, closed early, cancelled with the case).

Round 1 (工作推进哨, water and police): both report, both are rated. Round 2 (攻坚克难哨,
construction): approved, signed, closed early by the street. Round 3 (police): the case is
force-closed under it, which cancels it; the callback then archives the case.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlmodel import select

from core import whistles
from core.cases.service import ActionRequest, CaseService, IntakeRequest
from core.db import session_scope
from core.models import User
from tests.histories.record import recording_stack
from workflows.contracts import CaseState

HERE = Path(__file__).parent
WATER, POLICE, BUILD = "gl-dept-water", "gl-dept-police", "gl-dept-construction"
HANDLERS = {
    WATER: "handler_gl_water",
    POLICE: "handler_gl_police",
    BUILD: "handler_gl_construction",
}


async def record(name: str) -> list[Path]:
    async with recording_stack() as service:
        ids = await _walk(service)
        histories = {
            suffix: await service.client.get_workflow_handle(wid).fetch_history()
            for suffix, wid in ids.items()
        }
    paths = []
    for suffix, history in histories.items():
        path = HERE / f"{name}_{suffix}.json"
        path.write_text(history.to_json(), encoding="utf-8")
        paths.append(path)
    return paths


async def _walk(service: CaseService) -> dict[str, str]:
    def user(name: str) -> User:
        with session_scope(service.sessions) as session:
            return session.exec(select(User).where(User.username == name)).one()

    async def step(whistle_id: str, dept: str, stage: str, **body: object) -> None:
        req = whistles.StepRequest(**body)  # type: ignore[arg-type]
        await whistles.act(service, user(HANDLERS[dept]), whistle_id, stage, req)

    async def until(check: Callable[[CaseState], bool]) -> CaseState:
        for _ in range(400):
            state = await service.live_state(ticket)
            if check(state):
                return state
            await asyncio.sleep(0.05)
        raise AssertionError("the case never got there")

    req = IntakeRequest(
        title="占道经营", category="exposed_garbage", location_unit_id="gl-nhl-c1-g1"
    )
    state = await service.intake(user("operator1"), req)
    ticket, nhl = state.ticket, user("handler_nhl")
    await service.act(nhl, ticket, "accept", ActionRequest())

    blow = whistles.BlowRequest(kind="work_push", departments=[WATER, POLICE], need="到场会商")
    state = await whistles.blow(service, nhl, ticket, blow)
    first = {m.unit.id: m.whistle_id for m in state.whistles[0].members}
    for dept, wid in first.items():
        await step(wid, dept, "sign")
        await step(wid, dept, "contact", note="已联系街道")
        await step(wid, dept, "report", note="已到场", arrived=True)
    await until(lambda s: s.whistles[0].status == "done")
    for dept, score in ((WATER, 5), (POLICE, 4)):
        rating = whistles.RateRequest(unit_id=dept, score=score, note="响应及时")
        await whistles.rate(service, nhl, ticket, rating)

    hard = whistles.BlowRequest(kind="hard_problem", departments=[BUILD], need="管线改造")
    state = await whistles.blow(service, nhl, ticket, hard)
    await whistles.approve(service, user("supervisor_gl"), ticket, whistles.ApproveRequest())
    second = state.whistles[1].members[0].whistle_id
    await step(second, BUILD, "sign")
    await until(lambda s: s.whistles[1].members[0].signed_at is not None)
    await whistles.close(service, nhl, ticket, whistles.CloseRequest(reason="街道已协调解决"))

    again = whistles.BlowRequest(kind="work_push", departments=[POLICE], need="夜间巡查")
    state = await whistles.blow(service, nhl, ticket, again)
    third = state.whistles[2].members[0].whistle_id
    close = ActionRequest(reason="现场已解决", note="已处理")
    await service.act(user("supervisor_gl"), ticket, "force_close", close)
    await _settled(service, third)
    await service.act(
        user("operator1"), ticket, "record_callback", ActionRequest(rating="satisfied")
    )
    await service.client.get_workflow_handle(state.case_id).result()
    return {"case": state.case_id, "reported": first[WATER], "closed": second, "cancelled": third}


async def _settled(service: CaseService, whistle_id: str) -> None:
    handle = service.client.get_workflow_handle(whistle_id)
    wait: Callable[[], Awaitable[object]] = handle.result
    try:
        await wait()
    except Exception:  # a cancelled whistle ends in a cancellation error: that is the point
        return


if __name__ == "__main__":
    for p in asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "whistle_v1")):
        print(p)
