"""CaseWorkflow: one city event, from intake to archive, as a durable workflow.

Human actions are Updates whose validators run the pure rules in `transitions`; handlers are
synchronous so an update returns the new state in the same workflow task. Audit events queue up
in the workflow and a separate loop writes them to the SQL read model through an activity that
retries forever: a database outage delays the projection, never the case.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.case import CaseActivities
    from workflows import attributes as sa
    from workflows import transitions
    from workflows.contracts import (
        SYSTEM,
        TERMINAL,
        Action,
        Actor,
        CaseEvent,
        CaseInput,
        CaseState,
        Clock,
        Command,
        PendingExtension,
        RecordEventsInput,
        RouteInput,
        Stage,
        Status,
        Unit,
    )
    from workflows.workcal import WorkCalendar, add_natural_minutes, deadline

STAGE_OF = {
    Status.RECEIVED: Stage.DISPATCH,
    Status.REGISTERED: Stage.DISPATCH,
    Status.RETURNED: Stage.DISPATCH,
    Status.DISPATCHED: Stage.ACCEPT,
    Status.ACCEPTED: Stage.HANDLE,
    Status.HANDLING: Stage.HANDLE,
    Status.REWORK: Stage.HANDLE,
    Status.PARKED: Stage.HANDLE,
    Status.VERIFYING: Stage.VERIFY,
    Status.CLOSED: Stage.CALLBACK,
}
# The projection must eventually land, however long the database is away.
PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
ROUTE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))


@workflow.defn
class CaseWorkflow:
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        self._inp = inp
        self._state = _initial_state(inp, workflow.info().workflow_id, workflow.now())
        self._events: list[CaseEvent] = []
        self._unwritten: list[CaseEvent] = []
        self._cal = WorkCalendar.from_spec(
            day_start=inp.policy.day_start,
            day_end=inp.policy.day_end,
            extra_workdays=inp.policy.extra_workdays,
            extra_holidays=inp.policy.extra_holidays,
            on_unknown_year=self._warn_unknown_year,
        )
        self._needs_routing = False
        self._intake_settled = False
        self._unknown_years: set[int] = set()

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        self._record("receive", inp.reporter, Status.RECEIVED, from_status="")
        if inp.auto_dispatch:
            self._transition("register", SYSTEM, Status.REGISTERED)
            await self._route()
        self._intake_settled = True
        writer = asyncio.create_task(self._projection_loop())
        while self._state.status not in TERMINAL:
            if self._needs_routing:
                await self._route()
                continue
            await self._wait_for_change_or_deadline()
        await workflow.wait_condition(lambda: not self._unwritten)
        writer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    # ---- queries -------------------------------------------------------------------------
    @workflow.query
    def get_state(self) -> CaseState:
        return self._state

    @workflow.query
    def get_timeline(self) -> list[CaseEvent]:
        return self._events

    @workflow.query
    def get_allowed_actions(self, actor: Actor) -> list[str]:
        cmd = Command(actor=actor)
        return [a.value for a in transitions.allowed_actions(self._state, cmd, workflow.now())]

    # ---- updates: one per human action ----------------------------------------------------
    @workflow.update
    async def confirm_intake(self) -> CaseState:
        """Wait until intake has settled (registered and, where a rule matched, dispatched).

        Sent with the start (update-with-start), so the intake call returns the dispatched case.
        """
        await workflow.wait_condition(lambda: self._intake_settled)
        return self._state

    @workflow.update
    def register(self, cmd: Command) -> CaseState:
        return self._act(Action.REGISTER, cmd)

    @register.validator
    def validate_register(self, cmd: Command) -> None:
        self._validate(Action.REGISTER, cmd)

    @workflow.update
    def void(self, cmd: Command) -> CaseState:
        return self._act(Action.VOID, cmd)

    @void.validator
    def validate_void(self, cmd: Command) -> None:
        self._validate(Action.VOID, cmd)

    @workflow.update
    def dispatch(self, cmd: Command) -> CaseState:
        return self._act(Action.DISPATCH, cmd)

    @dispatch.validator
    def validate_dispatch(self, cmd: Command) -> None:
        self._validate(Action.DISPATCH, cmd)

    @workflow.update
    def accept(self, cmd: Command) -> CaseState:
        return self._act(Action.ACCEPT, cmd)

    @accept.validator
    def validate_accept(self, cmd: Command) -> None:
        self._validate(Action.ACCEPT, cmd)

    @workflow.update
    def return_case(self, cmd: Command) -> CaseState:
        return self._act(Action.RETURN, cmd)

    @return_case.validator
    def validate_return_case(self, cmd: Command) -> None:
        self._validate(Action.RETURN, cmd)

    @workflow.update
    def add_progress(self, cmd: Command) -> CaseState:
        return self._act(Action.PROGRESS, cmd)

    @add_progress.validator
    def validate_add_progress(self, cmd: Command) -> None:
        self._validate(Action.PROGRESS, cmd)

    @workflow.update
    def request_extension(self, cmd: Command) -> CaseState:
        return self._act(Action.REQUEST_EXTENSION, cmd)

    @request_extension.validator
    def validate_request_extension(self, cmd: Command) -> None:
        self._validate(Action.REQUEST_EXTENSION, cmd)

    @workflow.update
    def decide_extension(self, cmd: Command) -> CaseState:
        return self._act(Action.DECIDE_EXTENSION, cmd)

    @decide_extension.validator
    def validate_decide_extension(self, cmd: Command) -> None:
        self._validate(Action.DECIDE_EXTENSION, cmd)

    @workflow.update
    def park(self, cmd: Command) -> CaseState:
        return self._act(Action.PARK, cmd)

    @park.validator
    def validate_park(self, cmd: Command) -> None:
        self._validate(Action.PARK, cmd)

    @workflow.update
    def unpark(self, cmd: Command) -> CaseState:
        return self._act(Action.UNPARK, cmd)

    @unpark.validator
    def validate_unpark(self, cmd: Command) -> None:
        self._validate(Action.UNPARK, cmd)

    @workflow.update
    def submit_feedback(self, cmd: Command) -> CaseState:
        return self._act(Action.SUBMIT_FEEDBACK, cmd)

    @submit_feedback.validator
    def validate_submit_feedback(self, cmd: Command) -> None:
        self._validate(Action.SUBMIT_FEEDBACK, cmd)

    @workflow.update
    def verify(self, cmd: Command) -> CaseState:
        return self._act(Action.VERIFY, cmd)

    @verify.validator
    def validate_verify(self, cmd: Command) -> None:
        self._validate(Action.VERIFY, cmd)

    @workflow.update
    def record_callback(self, cmd: Command) -> CaseState:
        return self._act(Action.CALLBACK, cmd)

    @record_callback.validator
    def validate_record_callback(self, cmd: Command) -> None:
        self._validate(Action.CALLBACK, cmd)

    # ---- signals: machine inputs ---------------------------------------------------------
    @workflow.signal
    def add_note(self, note: str) -> None:
        """A machine or citizen note (sensor ping, citizen follow-up): recorded, no transition."""
        self._record("note", SYSTEM, self._state.status, payload={"note": note[:2000]})

    # ---- the mechanics -------------------------------------------------------------------
    def _validate(self, action: Action, cmd: Command) -> None:
        rejection = transitions.check(self._state, action, cmd, workflow.now())
        if rejection is not None:
            raise ApplicationError(
                rejection.reason, rejection.field, type=rejection.kind, non_retryable=True
            )

    def _act(self, action: Action, cmd: Command) -> CaseState:
        to = transitions.target(self._state, action, cmd)
        payload = self._apply_effects(action, cmd, to)
        self._transition(action.value, cmd.actor, to, reason=cmd.reason, payload=payload)
        return self._state

    def _apply_effects(self, action: Action, cmd: Command, to: Status) -> dict[str, Any]:
        """Change the state's fields an action touches; return what the audit trail keeps."""
        s = self._state
        payload: dict[str, Any] = {}
        if cmd.note:
            payload["note"] = cmd.note
        if action is Action.DISPATCH:
            self._assign(Unit(cmd.unit_id, cmd.unit_name or cmd.unit_id))
            payload["unit"] = cmd.unit_id
        elif action is Action.RETURN:
            s.return_count += 1
            if s.assigned_unit:
                s.returned_by.append(s.assigned_unit.id)
        elif action is Action.SUBMIT_FEEDBACK:
            s.result, s.evidence = cmd.note, list(cmd.evidence)
            payload["evidence"] = list(cmd.evidence)
        elif action is Action.VERIFY:
            payload["passed"] = cmd.passed
            s.rework_count += 0 if cmd.passed else 1
        elif action is Action.CALLBACK:
            s.rating = cmd.rating
            payload["rating"] = cmd.rating
            if to is Status.REWORK:
                s.reopen_count += 1
        elif action is Action.REQUEST_EXTENSION:
            s.pending_extension = PendingExtension(
                cmd.hours, cmd.reason, cmd.actor.username, workflow.now()
            )
            payload["hours"] = cmd.hours
        elif action is Action.DECIDE_EXTENSION:
            payload.update(self._decide_extension(cmd.approve))
        return payload

    def _decide_extension(self, approve: bool) -> dict[str, Any]:
        pending = self._state.pending_extension
        assert pending is not None  # the validator guarantees it
        self._state.pending_extension = None
        clock = self._state.clock
        if approve and clock.due_at is not None:
            clock.due_at = self._cal.add_working_minutes(clock.due_at, pending.hours * 60)
            clock.overdue = False
            self._state.extension_count += 1
        return {"approved": approve, "hours": pending.hours, "due_at": _iso(clock.due_at)}

    def _assign(self, unit: Unit) -> None:
        self._state.assigned_unit = unit
        if self._state.first_unit is None:
            self._state.first_unit = unit

    def _transition(
        self,
        action: str,
        actor: Actor,
        to: Status,
        *,
        reason: str = "",
        payload: dict[str, Any] | None = None,
    ) -> None:
        before = self._state.status
        self._state.status = to
        self._move_clock(before, to)
        if to is Status.REGISTERED:
            self._needs_routing = True
        if to is Status.CLOSED:
            self._state.closed_at = workflow.now()
        self._record(action, actor, to, from_status=before.value, reason=reason, payload=payload)

    def _record(
        self,
        action: str,
        actor: Actor,
        to: Status,
        *,
        from_status: str | None = None,
        reason: str = "",
        payload: dict[str, Any] | None = None,
    ) -> None:
        now = workflow.now()
        self._state.last_seq += 1
        self._state.updated_at = now
        event = CaseEvent(
            seq=self._state.last_seq,
            at=now,
            action=action,
            actor=actor,
            from_status=to.value if from_status is None else from_status,
            to_status=to.value,
            reason=reason,
            payload=payload or {},
        )
        self._events.append(event)
        self._unwritten.append(event)
        self._upsert_search_attributes()

    # ---- clocks --------------------------------------------------------------------------
    def _move_clock(self, before: Status, to: Status) -> None:
        """Start a new stage clock when the stage changes; pause it while parked."""
        clock = self._state.clock
        if to is Status.PARKED:
            clock.paused_remaining_minutes = self._remaining_minutes()
            clock.due_at = None
            return
        if before is Status.PARKED and clock.paused_remaining_minutes is not None:
            clock.due_at = self._add(workflow.now(), clock.paused_remaining_minutes)
            clock.paused_remaining_minutes = None
            return
        stage = STAGE_OF.get(to)
        if stage is None:
            self._state.clock = Clock()
        elif stage.value != clock.stage or to is Status.REWORK:
            self._state.clock = self._new_clock(stage)

    def _new_clock(self, stage: Stage) -> Clock:
        now = workflow.now()
        limits = self._inp.policy.limits
        key = stage.value
        if stage is Stage.DISPATCH and self._state.priority == "urgent":
            key = "dispatch_urgent" if "dispatch_urgent" in limits else key
        limit = limits.get(key)
        due = (
            deadline(now, limit, working=self._inp.policy.working_time, cal=self._cal)
            if limit
            else None
        )
        return Clock(stage=stage.value, started_at=now, due_at=due)

    def _remaining_minutes(self) -> int:
        due = self._state.clock.due_at
        now = workflow.now()
        if due is None or due <= now:
            return 0
        if self._inp.policy.working_time:
            return self._cal.working_minutes_between(now, due)
        return int((due - now).total_seconds() // 60)

    def _add(self, start: datetime, minutes: int) -> datetime:
        if self._inp.policy.working_time:
            return self._cal.add_working_minutes(start, minutes)
        return add_natural_minutes(start, minutes)

    def _next_alarm(self) -> datetime | None:
        """The next instant the clock must act on. Reminders and escalations plug in here."""
        clock = self._state.clock
        if clock.due_at is None or clock.overdue:
            return None
        return clock.due_at

    async def _wait_for_change_or_deadline(self) -> None:
        seq = self._state.last_seq
        alarm = self._next_alarm()
        timeout = None if alarm is None else max(alarm - workflow.now(), timedelta(seconds=0))
        try:
            await workflow.wait_condition(
                lambda: self._state.last_seq != seq or self._needs_routing, timeout=timeout
            )
        except TimeoutError:
            self._fire_alarm()

    def _fire_alarm(self) -> None:
        clock = self._state.clock
        clock.overdue = True
        self._record(
            "overdue",
            SYSTEM,
            self._state.status,
            payload={"stage": clock.stage, "due_at": _iso(clock.due_at)},
        )

    # ---- activities ----------------------------------------------------------------------
    async def _route(self) -> None:
        self._needs_routing = False
        result = await workflow.execute_activity_method(
            CaseActivities.route_case,
            RouteInput(
                category=self._state.category,
                category_kind=self._state.category_kind,
                location=self._state.location,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=ROUTE_RETRY,
        )
        # A dispatcher may have acted while the router ran; their decision wins.
        if result.unit is None or self._state.status is not Status.REGISTERED:
            return
        self._assign(result.unit)
        self._transition(
            "dispatch",
            SYSTEM,
            Status.DISPATCHED,
            payload={"unit": result.unit.id, "rule": result.rule, "auto": True},
        )

    async def _projection_loop(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._unwritten))
            batch = list(self._unwritten)
            await workflow.execute_activity_method(
                CaseActivities.record_events,
                RecordEventsInput(state=self._state, events=batch),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROJECTION_RETRY,
            )
            del self._unwritten[: len(batch)]

    def _warn_unknown_year(self, year: int) -> None:
        if year not in self._unknown_years:
            self._unknown_years.add(year)
            workflow.logger.warning("calendar_year_unknown_weekday_rule", extra={"year": year})

    def _upsert_search_attributes(self) -> None:
        s = self._state
        pairs: list[SearchAttributeUpdate[Any]] = [
            sa.CASE_STATUS.value_set(s.status.value),
            sa.PRIORITY.value_set(s.priority),
            sa.OVERDUE.value_set(s.clock.overdue),
            sa.ASSIGNED_UNIT.value_set(s.assigned_unit.id if s.assigned_unit else ""),
        ]
        if s.clock.due_at is not None:
            pairs.append(sa.DUE_AT.value_set(s.clock.due_at))
        workflow.upsert_search_attributes(pairs)


def _initial_state(inp: CaseInput, case_id: str, now: datetime) -> CaseState:
    return CaseState(
        case_id=case_id,
        ticket=inp.ticket,
        case_type=inp.case_type,
        title=inp.title,
        description=inp.description,
        category=inp.category,
        category_name=inp.category_name,
        category_kind=inp.category_kind,
        location=inp.location,
        priority=inp.priority,
        channel=inp.channel,
        external_id=inp.external_id,
        created_at=inp.received_at or now,
        reporter_name=inp.reporter_name,
        reporter_phone=inp.reporter_phone,
        request_kind=inp.request_kind,
    )


def start_search_attributes(inp: CaseInput) -> TypedSearchAttributes:
    """The attributes a case starts with, set by whoever starts the workflow."""
    loc = inp.location
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.CASE_TYPE, inp.case_type),
            SearchAttributePair(sa.CASE_STATUS, Status.RECEIVED.value),
            SearchAttributePair(sa.CATEGORY, inp.category),
            SearchAttributePair(sa.DISTRICT, loc.district_name),
            SearchAttributePair(sa.STREET, loc.street_name),
            SearchAttributePair(sa.PRIORITY, inp.priority),
            SearchAttributePair(sa.OVERDUE, False),
        ]
    )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""
