"""Record the callback-by-channel histories (issue 12): `python -m tests.histories.record_callback`.

`callback_v1_patrol.json`: a patrol case, verified and archived at once (no 回访), behind
`workflow.patched("callback-by-channel-v1")`. `callback_v1_citizen.json`: a citizen's case
rated 不满意 on the tracking page (重办), closed again, and then the caller is unreachable.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from core.cases.service import ActionRequest, CaseService, CitizenRating, IntakeRequest
from core.db import session_scope
from core.models import User
from tests.histories.record import HERE, recording_stack
from workflows.contracts import CallbackOutcome, CaseState, Rating

HANDLED = [
    ("handler_nhl", "accept", ActionRequest()),
    ("handler_nhl", "submit_feedback", ActionRequest(note="已清理")),
    ("verifier_gl", "verify", ActionRequest(passed=True)),
]


async def _handle(
    service: CaseService, channel: str, steps: list[tuple[str, str, ActionRequest]]
) -> CaseState:
    def user(name: str) -> User:
        with session_scope(service.sessions) as session:
            return session.exec(select(User).where(User.username == name)).one()

    req = IntakeRequest(
        title="暴露垃圾",
        category="exposed_garbage",
        location_unit_id="gl-nhl-c1-g1",
        channel=channel,
    )
    state = await service.intake(user("operator1"), req)
    for n, (username, action, body) in enumerate(steps):
        if username == "citizen":
            rating = CitizenRating(
                rating=Rating(body.rating), outcome=body.outcome, comment=body.note
            )
            state = await service.rate_by_citizen(state.ticket, rating, key=f"rate-{n}")
            continue
        state = await service.act(user(username), state.ticket, action, body, key=f"step-{n}")
    return state


async def record() -> list[Path]:
    unsatisfied = ActionRequest(
        rating="unsatisfied", outcome=CallbackOutcome.UNSOLVED, note="仍有异味"
    )
    walks = {
        "callback_v1_patrol": ("patrol", HANDLED),
        "callback_v1_citizen": (
            "citizen",
            [
                *HANDLED,
                ("citizen", "rate_by_citizen", unsatisfied),
                *HANDLED[1:],
                (
                    "operator1",
                    "record_callback",
                    ActionRequest(outcome=CallbackOutcome.UNREACHABLE),
                ),
            ],
        ),
    }
    paths = []
    async with recording_stack() as service:
        for name, (channel, steps) in walks.items():
            state = await _handle(service, channel, steps)
            handle = service.client.get_workflow_handle(state.case_id)
            await handle.result()
            path = HERE / f"{name}.json"
            path.write_text((await handle.fetch_history()).to_json(), encoding="utf-8")
            paths.append(path)
    return paths


if __name__ == "__main__":
    print(asyncio.run(record()))
