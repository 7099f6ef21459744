"""What the experiments ask of the stack: cases opened and driven through the closed loop over
the JSON API, each call remembered, so the audit can tell what the client meant, what it was
told, and what the workflows did.

Every case gets a title of its own (`<experiment> #<n>`), by which the audit finds the
workflows it led to, and an idempotency key per call, which a retry repeats.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.faults.client import Answer, ApiClient

USERS = ["operator1", "handler_nhl", "verifier_gl", "supervisor_gl"]
# 湖南路 grid: an 事件 routed locality first, to 宁海路街道 (handler_nhl) at once.
CASE_BODY = {
    "category": "exposed_garbage",
    "location_unit_id": "gl-nhl-c1-g2",
    "address": "湖南路12号",
}


@dataclass(frozen=True)
class Step:
    action: str
    user: str
    body: dict[str, Any]


# The closed loop, with a supervisor's extension in the middle; case n stops after n % 7 of
# these, so every stage (DISPATCHED … ARCHIVED) and its deadline is represented.
LOOP = [
    Step("accept", "handler_nhl", {}),
    Step("add_progress", "handler_nhl", {"note": "已到场处理"}),
    Step("extend_deadline", "supervisor_gl", {"reason": "雨天，延长两小时", "hours": 2}),
    Step("submit_feedback", "handler_nhl", {"note": "已清理完毕", "evidence": ["after.jpg"]}),
    Step("verify", "verifier_gl", {"passed": True}),
    Step("record_callback", "operator1", {"rating": "satisfied"}),
]
ACCEPT = LOOP[0]


@dataclass
class Intent:
    """One case the client means to open, and the actions it means to take on it."""

    title: str
    steps: list[Step]
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    intake: Answer | None = None
    actions: dict[str, Answer] = field(default_factory=dict)  # action -> its answer

    @property
    def ticket(self) -> str:
        """The ticket the client was given ("" if it never got one)."""
        if self.intake is None or not self.intake.ok or not isinstance(self.intake.body, dict):
            return ""
        return str(self.intake.body.get("ticket", ""))


def intents(experiment: str, count: int, *, steps: list[Step] | None = None) -> list[Intent]:
    """`count` cases titled `<experiment> #n`: each with `steps`, or else case n with the
    first n % 7 steps of the loop."""
    if steps is not None:
        return [Intent(f"{experiment} #{n}", list(steps)) for n in range(count)]
    return [Intent(f"{experiment} #{n}", LOOP[: n % (len(LOOP) + 1)]) for n in range(count)]


class Progress:
    """Calls answered so far, for faults that strike part-way through a burst."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.over = total, 0, False
        self._changed = asyncio.Condition()

    async def tick(self) -> None:
        async with self._changed:
            self.done += 1
            self._changed.notify_all()

    async def reached(self, fraction: float) -> bool:
        """Wait until `fraction` of the calls are answered: True, or the burst ended first."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.over or self.done >= fraction * self.total)
            return self.done >= fraction * self.total and not self.over

    async def end(self) -> None:
        async with self._changed:
            self.over = True
            self._changed.notify_all()


async def open_case(api: ApiClient, intent: Intent, *, progress: Progress | None = None) -> Answer:
    body = {**CASE_BODY, "title": intent.title}
    intent.intake = await api.post("/api/v1/cases", body, "operator1", key=f"{intent.key}-intake")
    if progress is not None:
        await progress.tick()
    return intent.intake


async def act(
    api: ApiClient, intent: Intent, step: Step, *, progress: Progress | None = None
) -> Answer:
    path = f"/api/v1/cases/{intent.ticket}/actions/{step.action}"
    answer = await api.post(path, step.body, step.user, key=f"{intent.key}-{step.action}")
    intent.actions[step.action] = answer
    if progress is not None:
        await progress.tick()
    return answer


async def drive(api: ApiClient, intent: Intent, progress: Progress | None = None) -> None:
    """Open the case, then take its steps in order; stop at the first call that fails."""
    answer = await open_case(api, intent, progress=progress)
    for step in intent.steps:
        if not answer.ok or not intent.ticket:
            return
        answer = await act(api, intent, step, progress=progress)


def planned_calls(batch: list[Intent]) -> int:
    return sum(1 + len(i.steps) for i in batch)


async def burst(
    jobs: Sequence[Callable[[], Awaitable[object]]],
    *,
    concurrency: int,
    progress: Progress,
    fault: Awaitable[None] | None = None,
) -> None:
    """Run `jobs`, `concurrency` at a time, while `fault` strikes as `progress` moves on.

    When the jobs are done the fault finishes the strike under way (the stack is whole
    again) and strikes no more; the strikes it never made show in the experiment's count.
    """
    gate = asyncio.Semaphore(concurrency)

    async def bounded(job: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            await job()

    injector = asyncio.ensure_future(fault) if fault is not None else None
    try:
        await asyncio.gather(*(bounded(job) for job in jobs))
    except BaseException:
        if injector is not None:
            injector.cancel()
        raise
    await progress.end()
    if injector is not None:
        await injector
