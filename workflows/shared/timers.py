"""A standing timer: one durable timer kept for as long as the instant it waits for stays put.

Most actions on a case or a whistle leave the next alarm where it was; re-arming a timer for
each would add a start and a cancel to the history every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from temporalio import workflow


class StandingTimer:
    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._at: datetime | None = None

    def arm(self, at: datetime | None) -> None:
        """Wait for `at` (None: for nothing); a timer already set for `at` is kept."""
        if at == self._at:
            return
        self.cancel()
        if at is not None:
            self._task = asyncio.create_task(workflow.sleep(at - workflow.now()))
            self._at = at

    async def wait(
        self,
        next_alarm: Callable[[], datetime | None],
        fire: Callable[[datetime], None],
        moved: Callable[[], bool],
    ) -> None:
        """Wait until `moved()` or the next alarm; fire an alarm that is due at once, and one
        whose timer fired only if nothing moved it meanwhile (the timer is spent either way).

        Args:
            next_alarm: when the workflow's next alarm is due (None: no alarm).
            fire: acts on the alarm due at the instant it is given.
            moved: whether something happened that may have moved the alarm.
        """
        alarm = next_alarm()
        if alarm is not None and alarm <= workflow.now():
            fire(alarm)
            return
        self.arm(alarm)
        await workflow.wait_condition(lambda: moved() or self.fired)
        if self.take() and alarm is not None and next_alarm() == alarm:
            fire(alarm)

    @property
    def fired(self) -> bool:
        return self._task is not None and self._task.done()

    def take(self) -> bool:
        """Whether the timer fired; if so it is spent, and the next `arm` sets a new one."""
        if not self.fired:
            return False
        self._task, self._at = None, None
        return True

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task, self._at = None, None
