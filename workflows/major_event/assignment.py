"""AssignmentWorkflow: one department stationed (进驻) or one task, as a child of a major event.

Its steps (station: 签收 sign → 到岗 arrive; task: 签收 accept → 完成 complete) each have a
deadline counted from the order, with reminders, an overdue mark and the shared escalation
ladder (workflows/shared/ladder.py) up to the command. Each step and each alarm is signalled to
the event, whose board shows it. The event ending cancels what is still open.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.case.clock import StageClock
    from workflows.contracts import Clock, Role
    from workflows.major_event import rules
    from workflows.major_event.contracts import (
        AssignmentInput,
        AssignmentProgress,
        AssignmentState,
        StepTaken,
    )
    from workflows.shared import ladder
    from workflows.shared.timers import StandingTimer
    from workflows.shared.workcal import deadline

DONE, CANCELLED = "done", "cancelled"
STEP_ROLES = frozenset({Role.HANDLER, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN})


@workflow.defn
class AssignmentWorkflow:
    @workflow.init
    def __init__(self, inp: AssignmentInput) -> None:
        self._inp = inp
        self._clocks = StageClock(inp.policy, rules.CAL, supervised=True)
        dues = {
            s.name: deadline(inp.ordered_at, s.limit, working=False, cal=rules.CAL)
            for s in inp.steps
        }
        first = inp.steps[0].name
        self._state = AssignmentState(
            assignment_id=workflow.info().workflow_id,
            event_id=inp.event_id,
            kind=inp.kind,
            title=inp.title,
            unit=inp.unit,
            step=first,
            dues=dues,
            clock=self._start(first, inp.ordered_at, dues[first]),
        )
        self._unsent: list[AssignmentProgress] = []
        self._timer = StandingTimer()

    @workflow.run
    async def run(self, inp: AssignmentInput) -> AssignmentState:
        self._tell()
        teller = asyncio.create_task(self._teller())
        try:
            while self._state.step not in (DONE, CANCELLED):
                await self._wait_for_change_or_alarm()
        except asyncio.CancelledError:
            self._timer.cancel()
            self._state.step, self._state.clock = CANCELLED, Clock()
            self._tell()
        await workflow.wait_condition(lambda: not self._unsent)
        teller.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @workflow.query
    def get_assignment(self) -> AssignmentState:
        return self._state

    @workflow.update
    def take_step(self, cmd: StepTaken) -> AssignmentState:
        s, now = self._state, workflow.now()
        s.done[cmd.step], s.escalated_to = now, None
        if cmd.note:
            s.notes[cmd.step] = cmd.note
        names = [x.name for x in self._inp.steps]
        following = names[names.index(cmd.step) + 1 :]
        s.step = following[0] if following else DONE
        s.clock = self._start(s.step, now, s.dues[s.step]) if following else Clock()
        s.last_seq += 1
        self._tell()
        return s

    @take_step.validator
    def validate_take_step(self, cmd: StepTaken) -> None:
        s = self._state
        if cmd.actor.role not in STEP_ROLES or (
            cmd.actor.unit_id != s.unit.id and cmd.actor.role is not Role.ADMIN
        ):
            raise _refuse("forbidden", f"only {s.unit.name} takes this step", "")
        if cmd.step != s.step:
            raise _refuse("conflict", f"the next step is {s.step}, not {cmd.step}", "step")

    # ---- clocks ---------------------------------------------------------------------------
    def _start(self, step: str, now: datetime, due: datetime) -> Clock:
        minutes = max(int((due - now).total_seconds() // 60), 1)
        clock = Clock(stage=step, started_at=now, due_at=due, limit_minutes=minutes)
        self._clocks.arm_reminders(clock, now)
        return clock

    async def _wait_for_change_or_alarm(self) -> None:
        alarm = self._clocks.next_alarm(self._state.clock)
        if alarm is not None and alarm <= workflow.now():
            self._fire(alarm)
            return
        self._timer.arm(alarm)
        seq = self._state.last_seq
        await workflow.wait_condition(lambda: self._state.last_seq != seq or self._timer.fired)
        moved = alarm != self._clocks.next_alarm(self._state.clock)
        if self._timer.take() and alarm is not None and not moved:
            self._fire(alarm)

    def _fire(self, alarm: datetime) -> None:
        s, clock = self._state, self._state.clock
        kind = ladder.alarm_kind(clock, alarm)
        if kind == "remind":
            clock.reminders_at.pop(0)
        else:
            clock.overdue = True
            s.escalated_to = ladder.climb(
                clock, self._inp.chain, alarm, policy=self._inp.policy, cal=rules.CAL
            )
        s.last_seq += 1
        self._tell(kind)

    # ---- telling the event ------------------------------------------------------------------
    def _tell(self, alarm: str = "") -> None:
        s = self._state
        self._unsent.append(
            AssignmentProgress(
                assignment_id=s.assignment_id,
                step=s.step,
                due_at=s.clock.due_at,
                overdue=s.clock.overdue,
                escalation_level=s.clock.escalation_level,
                done_at=workflow.now() if s.step in (DONE, CANCELLED) else None,
                alarm=alarm,
                escalated_to=s.escalated_to.id if s.escalated_to and alarm else "",
            )
        )

    async def _teller(self) -> None:
        event = workflow.get_external_workflow_handle(self._state.event_id)
        while True:
            await workflow.wait_condition(lambda: bool(self._unsent))
            try:
                await event.signal("assignment_progress", self._unsent[0])
            except FailureError as err:  # the event has ended: nobody to tell
                workflow.logger.warning("assignment_event_gone", extra={"error": str(err)})
            self._unsent.pop(0)


def _refuse(kind: str, reason: str, field: str) -> ApplicationError:
    return ApplicationError(reason, field, type=kind, non_retryable=True)
