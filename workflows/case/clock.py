"""Stage-clock arithmetic: start, pause, resume, extend, and the next instant to act on.

Pure and deterministic: `now` is always passed in (the workflow passes `workflow.now()`), so
the same code is unit-testable without Temporal.
"""

from __future__ import annotations

from datetime import datetime

from workflows.contracts import CasePolicy, Clock, Stage
from workflows.shared.ladder import add_minutes, reminder_instants
from workflows.shared.workcal import WorkCalendar, deadline, limit_minutes


class StageClock:
    """Clock rules for one case. `supervised` cases (every case started since supervision
    landed) get reminders and an escalation ladder; older ones only an overdue mark.
    """

    def __init__(self, policy: CasePolicy, cal: WorkCalendar, *, supervised: bool) -> None:
        self.policy, self.cal, self.supervised = policy, cal, supervised

    def start(self, stage: Stage, now: datetime, *, priority: str) -> Clock:
        """A fresh clock for `stage` with its deadline; reminders are armed by the caller."""
        limit = self._limit(stage, priority)
        if not limit:
            return Clock(stage=stage.value, started_at=now)
        minutes = limit_minutes(limit, working=self.policy.working_time, cal=self.cal)
        due = deadline(now, limit, working=self.policy.working_time, cal=self.cal)
        return Clock(stage=stage.value, started_at=now, due_at=due, limit_minutes=minutes)

    def _limit(self, stage: Stage, priority: str) -> str:
        limits = self.policy.limits
        if stage is Stage.DISPATCH and priority != "normal" and "dispatch_urgent" in limits:
            return limits["dispatch_urgent"]
        return limits.get(stage.value, "")

    def remaining(self, clock: Clock, now: datetime) -> int:
        """Minutes left until the deadline, counted the way the category counts time."""
        due = clock.due_at
        if due is None or due <= now:
            return 0
        if self.policy.working_time:
            return self.cal.working_minutes_between(now, due)
        return int((due - now).total_seconds() // 60)

    def pause(self, clock: Clock, now: datetime) -> None:
        clock.paused_remaining_minutes = self.remaining(clock, now)
        clock.due_at = None
        clock.reminders_at = []

    def resume(self, clock: Clock, now: datetime) -> None:
        """Continue with the minutes that were left when the clock paused."""
        if clock.paused_remaining_minutes is None:
            return
        clock.due_at = self.add(now, clock.paused_remaining_minutes)
        clock.paused_remaining_minutes = None
        self.arm_reminders(clock, now)

    def extend(self, clock: Clock, now: datetime, minutes: int) -> None:
        """Move the deadline and restart its watch: if it has still passed, the next alarm
        fires at once and the case is marked overdue (and climbs) again.
        """
        if clock.due_at is None:
            return
        clock.due_at = self.add(clock.due_at, minutes)
        clock.overdue = False
        clock.escalation_level, clock.next_escalation_at = 0, None
        self.arm_reminders(clock, now)

    def arm_reminders(self, clock: Clock, now: datetime) -> None:
        if not self.supervised:
            return
        clock.reminders_at = reminder_instants(
            now=now,
            remaining=self.remaining(clock, now),
            limit=clock.limit_minutes,
            fractions=self.policy.reminders,
            policy=self.policy,
            cal=self.cal,
        )

    def add(self, at: datetime, minutes: int) -> datetime:
        return add_minutes(at, minutes, policy=self.policy, cal=self.cal)

    def next_alarm(self, clock: Clock) -> datetime | None:
        """The next instant the workflow must wake for: a reminder, the deadline, a rung."""
        if clock.due_at is None:
            return None
        if not clock.overdue:
            return min([*clock.reminders_at, clock.due_at])
        return clock.next_escalation_at if self.supervised else None
