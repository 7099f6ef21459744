"""WhistleWorkflow: one department summoned by a whistle (吹哨报到), as a child of its case.

签收 sign → 联系 contact (the street, with a note) → 报到 report (arrived, or a plan with a
date). Each step has a deadline counted from the summons; the clock follows the current step,
with reminders, an overdue mark and the escalation ladder of supervision (the department's
head, then its district, then the city). Every step is signalled to the case, which shows the
round's progress live. The case closing or being voided cancels the whistle (the event is
recorded and projected before it ends); the whistle-blower closing the round early signals
`close`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import (
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.whistle import WhistleActivities
    from workflows.case import effects
    from workflows.contracts import (
        SYSTEM,
        Actor,
        CaseEvent,
        Clock,
        RecordWhistleInput,
        WhistleAction,
        WhistleInput,
        WhistleProgress,
        WhistleSnapshot,
        WhistleState,
        WhistleStep,
    )
    from workflows.shared import attributes as sa
    from workflows.shared import ladder as supervision
    from workflows.shared.fields import derive
    from workflows.shared.projection import project_unwritten
    from workflows.shared.timers import StandingTimer
    from workflows.shared.workcal import WorkCalendar
    from workflows.whistle import rules as whistle_rules
    from workflows.whistle.rules import FINISHED, NEXT_STAGE, STEP_OF, WhistleClock

# Progress signals and the projection must land before the whistle ends.
SIGNALLED = frozenset({"sign", "contact", "report", "overdue", "escalate"})


@workflow.defn
class WhistleWorkflow:
    @workflow.init
    def __init__(self, inp: WhistleInput) -> None:
        self._inp = inp
        self._cal = WorkCalendar.from_spec(
            day_start=inp.policy.day_start,
            day_end=inp.policy.day_end,
            extra_workdays=inp.policy.extra_workdays,
            extra_holidays=inp.policy.extra_holidays,
        )
        self._clock = WhistleClock(inp.spec, inp.policy, self._cal)
        self._state = _initial_state(inp, workflow.info().workflow_id, self._clock)
        self._events: list[CaseEvent] = []
        self._unwritten: list[CaseEvent] = []
        self._unsent: list[WhistleProgress] = []
        self._timer = StandingTimer()
        self._attributes: dict[str, Any] = {}

    @workflow.run
    async def run(self, inp: WhistleInput) -> WhistleState:
        self._attributes = sa.started()
        notify = [inp.department.id]
        self._record("summon", inp.blower, reason=inp.need, payload={"notify": notify})
        writer = asyncio.create_task(self._writer())
        try:
            while self._state.step not in FINISHED:
                await self._wait_for_change_or_alarm()
        except asyncio.CancelledError:
            self._cancelled()
            await self._drain(writer)
            raise
        await self._drain(writer)
        return self._state

    def _cancelled(self) -> None:
        """The case closed or was voided: record why, and stop every clock."""
        self._timer.cancel()
        s = self._state
        before, s.step, s.clock = s.step, WhistleStep.CANCELLED.value, Clock()
        s.closed_reason = workflow.cancellation_reason() or "案件已结束，吹哨撤销"
        notify = {"notify": [s.department.id]}
        self._record("cancelled", SYSTEM, reason=s.closed_reason, payload=notify, from_step=before)

    async def _drain(self, writer: asyncio.Task[None]) -> None:
        """Let the last events reach the read model and the case, then stop the writer.

        After a cancellation this still runs: Temporal cancels only the run task, once, so
        the activities scheduled here are not cancelled with it.
        """
        self._timer.cancel()
        self._upsert_search_attributes()
        await workflow.wait_condition(lambda: not self._unwritten and not self._unsent)
        writer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)

    # ---- queries and updates -------------------------------------------------------------
    @workflow.query
    def get_whistle(self) -> WhistleState:
        return self._state

    @workflow.query
    def get_timeline(self) -> list[CaseEvent]:
        return self._events

    @workflow.update
    def sign(self, cmd: WhistleAction) -> WhistleState:
        return self._step("sign", cmd)

    @sign.validator
    def validate_sign(self, cmd: WhistleAction) -> None:
        self._validate("sign", cmd)

    @workflow.update
    def contact(self, cmd: WhistleAction) -> WhistleState:
        return self._step("contact", cmd)

    @contact.validator
    def validate_contact(self, cmd: WhistleAction) -> None:
        self._validate("contact", cmd)

    @workflow.update
    def report(self, cmd: WhistleAction) -> WhistleState:
        return self._step("report", cmd)

    @report.validator
    def validate_report(self, cmd: WhistleAction) -> None:
        self._validate("report", cmd)

    @workflow.signal
    def close(self, reason: str) -> None:
        """The whistle-blower closed the round early (sent by the case)."""
        s = self._state
        if s.step in FINISHED:
            return
        self._timer.cancel()
        before, s.step, s.clock, s.closed_reason = s.step, WhistleStep.CLOSED.value, Clock(), reason
        notify = {"notify": [s.department.id]}
        self._record("close", SYSTEM, reason=reason, payload=notify, from_step=before)

    # ---- the mechanics -------------------------------------------------------------------
    def _validate(self, stage: str, cmd: WhistleAction) -> None:
        rejection = whistle_rules.check_step(self._state, stage, cmd)
        if rejection is not None:
            raise rejection.error()

    def _step(self, stage: str, cmd: WhistleAction) -> WhistleState:
        s, now = self._state, workflow.now()
        before, s.step = s.step, STEP_OF[stage].value
        payload: dict[str, Any] = {"note": cmd.note} if cmd.note else {}
        if stage == "sign":
            s.signed_at = now
        elif stage == "contact":
            s.contacted_at, s.contact_note = now, cmd.note
        else:
            s.reported_at, s.report_note = now, cmd.note
            s.arrived, s.plan_date = cmd.arrived, cmd.plan_date
            payload.update(arrived=cmd.arrived, plan_date=cmd.plan_date)
        payload["in_time"] = s.in_time(stage, now)
        payload["notify"] = [s.blower_unit.id]
        following = NEXT_STAGE[stage]
        s.escalated_to = None
        s.clock = self._clock.start(following, now, s.dues[following]) if following else Clock()
        self._record(stage, cmd.actor, reason=cmd.note, payload=payload, from_step=before)
        return s

    def _record(
        self,
        action: str,
        actor: Actor,
        *,
        reason: str = "",
        payload: dict[str, Any] | None = None,
        from_step: str | None = None,
    ) -> None:
        s, now = self._state, workflow.now()
        s.last_seq += 1
        event = CaseEvent(
            seq=s.last_seq,
            at=now,
            action=action,
            actor=actor,
            from_status=s.step if from_step is None else from_step,
            to_status=s.step,
            reason=reason,
            payload=payload or {},
        )
        self._events.append(event)
        self._unwritten.append(event)
        if action in SIGNALLED:
            self._unsent.append(self._progress(event))

    def _progress(self, event: CaseEvent) -> WhistleProgress:
        s = self._state
        return WhistleProgress(
            whistle_id=s.whistle_id,
            round=s.round,
            unit_id=s.department.id,
            event=event.action,
            at=event.at,
            step=s.step,
            actor=event.actor,
            note=event.reason,
            signed_in_time=s.in_time("sign", s.signed_at),
            reported_in_time=s.in_time("report", s.reported_at),
            escalation_level=s.clock.escalation_level,
        )

    # ---- clocks: reminders, deadline, escalation ladder ----------------------------------
    async def _wait_for_change_or_alarm(self) -> None:
        """Wait for a step or the next alarm, keeping one timer while the alarm stays put."""
        self._upsert_search_attributes()
        seq = self._state.last_seq
        await self._timer.wait(
            self._next_alarm, self._fire_alarm, lambda: self._state.last_seq != seq
        )

    def _next_alarm(self) -> datetime | None:
        clock = self._state.clock
        if not clock.stage:
            return None
        return self._clock.stage_clock(clock.stage).next_alarm(clock)

    def _fire_alarm(self, alarm: datetime) -> None:
        kind = supervision.alarm_kind(self._state.clock, alarm)
        if kind == "escalate":
            self._escalate(alarm)
        elif kind == "remind":
            self._remind()
        else:
            self._mark_overdue(alarm)

    def _remind(self) -> None:
        """催办: the department's deadline is near."""
        clock, unit = self._state.clock, self._state.department.id
        clock.reminders_at.pop(0)
        payload = {"stage": clock.stage, "due_at": effects.iso(clock.due_at), "notify": [unit]}
        self._record("remind", SYSTEM, payload=payload)

    def _mark_overdue(self, alarm: datetime) -> None:
        s, clock = self._state, self._state.clock
        clock.overdue = True
        notify = sorted({s.department.id, s.blower_unit.id})
        payload = {"stage": clock.stage, "due_at": effects.iso(clock.due_at), "notify": notify}
        self._record("overdue", SYSTEM, payload=payload)
        self._escalate(alarm)  # 督办: the first rung is climbed as the deadline passes

    def _escalate(self, alarm: datetime) -> None:
        """督办: the department's head, then its district, then the city; then daily reports."""
        s, clock, chain = self._state, self._state.clock, self._inp.chain
        stage_policy = self._clock.policy_for(clock.stage)
        target = supervision.climb(clock, chain, alarm, policy=stage_policy, cal=self._cal)
        if target is None:
            top = chain[-1].id if chain else s.department.id
            payload = {"level": clock.escalation_level, "notify": [top]}
            self._record("escalation_report", SYSTEM, payload=payload)
            return
        s.escalated_to = target
        workflow.logger.info(
            "whistle_escalated",
            extra={"whistle": s.whistle_id, "unit": target.id, "rung": clock.escalation_level},
        )
        payload = {"level": clock.escalation_level, "unit": target.id, "notify": [target.id]}
        self._record("escalate", SYSTEM, payload=payload)

    # ---- the projection and the case ----------------------------------------------------
    async def _writer(self) -> None:
        """Write events to the read model and tell the case, in order, until cancelled."""
        while True:
            await workflow.wait_condition(lambda: bool(self._unwritten or self._unsent))
            if self._unwritten:
                await project_unwritten(
                    self._unwritten,
                    WhistleActivities.record_whistle,
                    lambda batch: RecordWhistleInput(whistle=snapshot(self._state), events=batch),
                )
            while self._unsent:
                await self._tell_case(self._unsent[0])
                self._unsent.pop(0)

    async def _tell_case(self, progress: WhistleProgress) -> None:
        case = workflow.get_external_workflow_handle(self._state.case_id)
        try:
            await case.signal("whistle_progress", progress)
        except FailureError as err:  # the case has ended meanwhile: nobody to tell
            workflow.logger.warning("whistle_case_gone", extra={"error": str(err)})

    def _upsert_search_attributes(self) -> None:
        s = self._state
        pairs: list[SearchAttributeUpdate[Any]] = [
            sa.CASE_STATUS.value_set(s.step),
            sa.OVERDUE.value_set(s.clock.overdue),
            sa.ESCALATED.value_set(s.clock.escalation_level > 0),
            sa.ESCALATION_LEVEL.value_set(s.clock.escalation_level),
        ]
        if s.clock.due_at is not None:
            pairs.append(sa.DUE_AT.value_set(s.clock.due_at))
        sa.upsert_changed(self._attributes, pairs)


def _initial_state(inp: WhistleInput, whistle_id: str, clock: WhistleClock) -> WhistleState:
    """The state's fields of the same name as the input's, and its clock."""
    dues = clock.dues(inp.summoned_at)
    return derive(
        WhistleState,
        inp,
        whistle_id=whistle_id,
        dues=dues,
        clock=clock.start("sign", inp.summoned_at, dues["sign"]),
    )


def snapshot(s: WhistleState) -> WhistleSnapshot:
    """The read-model row of a whistle: the state's fields of the same name, and these."""
    return derive(
        WhistleSnapshot,
        s,
        id=s.whistle_id,
        dept_id=s.department.id,
        dept_name=s.department.name,
        blower_unit_id=s.blower_unit.id,
        blower_unit_name=s.blower_unit.name,
        sign_due=s.dues.get("sign"),
        contact_due=s.dues.get("contact"),
        report_due=s.dues.get("report"),
        due_at=s.clock.due_at,
        signed_in_time=s.in_time("sign", s.signed_at),
        reported_in_time=s.in_time("report", s.reported_at),
        overdue=s.clock.overdue,
        escalation_level=s.clock.escalation_level,
    )


def start_search_attributes(
    inp: WhistleInput, *, district: str, street: str
) -> TypedSearchAttributes:
    """The attributes a whistle starts with (CaseType `whistle`), set by its case."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.CASE_TYPE, "whistle"),
            SearchAttributePair(sa.CASE_STATUS, WhistleStep.SUMMONED.value),
            SearchAttributePair(sa.CATEGORY, inp.kind),
            SearchAttributePair(sa.DISTRICT, district),
            SearchAttributePair(sa.STREET, street),
            SearchAttributePair(sa.ASSIGNED_UNIT, inp.department.id),
            SearchAttributePair(sa.PRIORITY, "normal"),
            SearchAttributePair(sa.OVERDUE, False),
        ]
    )
