"""CaseWorkflow: one city event, from intake to archive, as a durable workflow.

Human actions are Updates whose validators run the pure rules in `transitions`; handlers are
synchronous so an update returns the new state in the same workflow task. Audit events queue up
in the workflow and a separate loop writes them to the SQL read model through an activity that
retries forever: a database outage delays the projection, never the case.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.case import CaseActivities
    from workflows.case import effects, transitions
    from workflows.case.clock import StageClock
    from workflows.contracts import (
        SYSTEM,
        TERMINAL,
        Action,
        Actor,
        AlarmSignal,
        ApproveWhistle,
        BlowWhistle,
        CaseCarry,
        CaseEscalated,
        CaseEvent,
        CaseInput,
        CasePolicy,
        CaseSnapshot,
        CaseState,
        CloseWhistle,
        Command,
        LinkReport,
        RateWhistle,
        RecordEventsInput,
        ResetNote,
        ResourceNote,
        RouteInput,
        SplitReport,
        Stage,
        Status,
        Unit,
        WhistleProgress,
    )
    from workflows.intake import reports
    from workflows.intake.joining import Joining
    from workflows.shared import attributes as sa
    from workflows.shared import idempotency, longlived, privacy
    from workflows.shared import ladder as supervision
    from workflows.shared.fields import derive
    from workflows.shared.projection import PROJECTION_RETRY, PROJECTION_TIMEOUT
    from workflows.shared.rejection import Rejection
    from workflows.shared.timers import StandingTimer
    from workflows.shared.workcal import WorkCalendar
    from workflows.whistle import rules as whistle_rules
    from workflows.whistle.desk import WhistleDesk

# Reminders, the escalation ladder and supervisor overrides (issue 3). Cases started before
# it keep the closed loop's first clock: an overdue mark only.
SUPERVISION_PATCH = "supervision-v1"
# The projection runs as an ordinary activity, which Temporal schedules only after the workflow
# task that made the events is recorded: SQL never shows an event that did not happen (issue 9).
# Cases started before keep the local activity their histories recorded.
PROJECTION_PATCH = "projection-after-record-v1"
# A case linked to a major event tells its command of each rung it climbs (issue 11).
COMMAND_PATCH = "escalate-to-command-v1"
# Cases started since continue-as-new landed hand over to a new run before the history cap.
LONG_LIVED_PATCH = "continue-as-new-v1"
# Patrol and sensor cases have nobody to call back: they archive once closed (issue 12).
# Cases started before keep waiting for a 回访.
CALLBACK_BY_CHANNEL_PATCH = "callback-by-channel-v1"
ROUTE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
LOCAL_PROJECTION_RETRY = RetryPolicy(
    maximum_attempts=2, initial_interval=timedelta(milliseconds=200)
)
MAX_KEYS = 1000  # idempotency keys a case remembers


@workflow.defn
class CaseWorkflow:
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        self._inp = inp
        self._state = _initial_state(inp, workflow.info().workflow_id, workflow.now())
        self._events: list[CaseEvent] = []
        self._unwritten: list[CaseEvent] = []
        # Reporters' personal information, raw: the state holds masked copies (privacy.py).
        self._joins = Joining(self, {inp.ticket: inp})
        self._unknown_years: set[int] = set()
        self._supervised = False  # decided in run(): histories from before it replay unchanged
        self._set_policy(inp.policy)
        self._needs_routing = False
        self._intake_settled = False
        self._projection_degraded = False
        self._after_record = False  # decided in run(), like _supervised
        self._callback_by_channel = False  # decided in run(), like _supervised
        self._keys: dict[str, str] = {}  # idempotency key -> request fingerprint (idempotency.py)
        self._timer = StandingTimer()
        self._attributes: dict[str, Any] = {}  # search attribute values last upserted
        self._whistles = WhistleDesk(self)
        self._command_news: asyncio.Task[None] | None = None  # telling a linked major event
        self._long_lived = False  # decided in run(), like _supervised
        if inp.carried is not None:
            self._restore(inp.carried)

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        self._attributes = sa.started()
        if inp.carried is None:
            await self._begin(inp)
        self._intake_settled = True
        writer = asyncio.create_task(self._projection_loop())
        while self._state.status not in TERMINAL:
            if self._needs_routing:
                await self._route()
                continue
            if self._hand_over_due():
                await longlived.hand_over(CaseWorkflow.run, self._carry, idle=self._idle)
            await self._wait_for_change_or_deadline()
        self._timer.cancel()
        if self._supervised:
            self._upsert_search_attributes()
        if self._whistles.busy:  # cancelled whistles record their end before the case ends
            await self._whistles.all_ended()
        await workflow.wait_condition(lambda: not self._unwritten)
        writer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _begin(self, inp: CaseInput) -> None:
        """The first run: receive, register and route."""
        self._supervised = workflow.patched(SUPERVISION_PATCH)
        self._after_record = workflow.patched(PROJECTION_PATCH)
        self._long_lived = workflow.patched(LONG_LIVED_PATCH)
        self._callback_by_channel = workflow.patched(CALLBACK_BY_CHANNEL_PATCH)
        self._set_policy(inp.policy)
        received = {"attachments": list(inp.attachments)} if inp.attachments else None
        self._record("receive", inp.reporter, Status.RECEIVED, from_status="", payload=received)
        if inp.direct_answer:
            self._answer_directly(inp)
        elif inp.auto_dispatch:
            self._transition("register", SYSTEM, Status.REGISTERED)
            await self._route()

    # ---- continue-as-new (workflows/shared/longlived.py) ---------------------------------
    def _hand_over_due(self) -> bool:
        """Time to continue as new: a long-lived case, idle, near its history limit."""
        return self._long_lived and self._idle() and longlived.due(self._policy.history_limit)

    def _idle(self) -> bool:
        """Nothing in flight that a new run could not pick up: no whistle open, all projected."""
        return not (
            self._whistles.busy or self._unwritten or self._joins.unprojected or self._needs_routing
        )

    def _carry(self) -> CaseInput:
        carry = CaseCarry(
            state=self._state,
            policy=self._policy,
            raw_reports=self._joins.raw_reports,
            keys=self._keys,
            unknown_years=sorted(self._unknown_years),
            supervised=self._supervised,
            after_record=self._after_record,
            projection_degraded=self._projection_degraded,
            callback_by_channel=self._callback_by_channel,
        )
        return dataclasses.replace(self._inp, carried=carry)

    def _restore(self, carry: CaseCarry) -> None:
        self._state, self._keys = carry.state, carry.keys
        self._joins.raw_reports = carry.raw_reports
        self._unknown_years = set(carry.unknown_years)
        self._supervised, self._after_record = carry.supervised, carry.after_record
        self._projection_degraded, self._long_lived = carry.projection_degraded, True
        self._callback_by_channel = carry.callback_by_channel
        self._set_policy(carry.policy)

    # ---- queries -------------------------------------------------------------------------
    @workflow.query
    def get_state(self) -> CaseState:
        return self._state

    @workflow.query
    def get_timeline(self) -> list[CaseEvent]:
        return self._events

    @workflow.query
    def check_tracking_token(self, token: str) -> bool:
        """Whether `token` is this case's tracking token (the state never carries it)."""
        return bool(token) and hmac.compare_digest(token, self._inp.tracking_token)

    @workflow.query
    def get_allowed_actions(self, actor: Actor) -> list[str]:
        cmd = Command(actor=actor)
        allowed = transitions.allowed_actions(self._state, cmd, workflow.now())
        # While a whistle round is open the case takes no feedback.
        return [a.value for a in allowed if whistle_rules.check_case_action(self._state, a) is None]

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

    @workflow.update
    def rate_by_citizen(self, cmd: Command) -> CaseState:
        """评价: the reporter rates the result on the tracking page; it counts as the 回访."""
        return self._act(Action.CITIZEN_RATE, cmd)

    @rate_by_citizen.validator
    def validate_rate_by_citizen(self, cmd: Command) -> None:
        self._validate(Action.CITIZEN_RATE, cmd)

    # ---- updates: supervisor overrides (督办), always with a reason ------------------------
    @workflow.update
    def reassign(self, cmd: Command) -> CaseState:
        return self._act(Action.REASSIGN, cmd)

    @reassign.validator
    def validate_reassign(self, cmd: Command) -> None:
        self._validate(Action.REASSIGN, cmd)

    @workflow.update
    def change_category(self, cmd: Command) -> CaseState:
        return self._act(Action.CHANGE_CATEGORY, cmd)

    @change_category.validator
    def validate_change_category(self, cmd: Command) -> None:
        self._validate(Action.CHANGE_CATEGORY, cmd)

    @workflow.update
    def change_priority(self, cmd: Command) -> CaseState:
        return self._act(Action.CHANGE_PRIORITY, cmd)

    @change_priority.validator
    def validate_change_priority(self, cmd: Command) -> None:
        self._validate(Action.CHANGE_PRIORITY, cmd)

    @workflow.update
    def extend_deadline(self, cmd: Command) -> CaseState:
        return self._act(Action.EXTEND_DEADLINE, cmd)

    @extend_deadline.validator
    def validate_extend_deadline(self, cmd: Command) -> None:
        self._validate(Action.EXTEND_DEADLINE, cmd)

    @workflow.update
    def de_escalate(self, cmd: Command) -> CaseState:
        return self._act(Action.DE_ESCALATE, cmd)

    @de_escalate.validator
    def validate_de_escalate(self, cmd: Command) -> None:
        self._validate(Action.DE_ESCALATE, cmd)

    @workflow.update
    def force_close(self, cmd: Command) -> CaseState:
        return self._act(Action.FORCE_CLOSE, cmd)

    @force_close.validator
    def validate_force_close(self, cmd: Command) -> None:
        self._validate(Action.FORCE_CLOSE, cmd)

    @workflow.update
    def void_invalid(self, cmd: Command) -> CaseState:
        return self._act(Action.VOID_INVALID, cmd)

    @void_invalid.validator
    def validate_void_invalid(self, cmd: Command) -> None:
        self._validate(Action.VOID_INVALID, cmd)

    @workflow.update
    def reopen(self, cmd: Command) -> CaseState:
        return self._act(Action.REOPEN, cmd)

    @reopen.validator
    def validate_reopen(self, cmd: Command) -> None:
        self._validate(Action.REOPEN, cmd)

    # ---- 吹哨报到: whistles summon departments as child workflows (workflows/whistle/desk.py)
    @workflow.update
    async def blow_whistle(self, cmd: BlowWhistle) -> CaseState:
        await self._whistles.blow(cmd)
        return self._state

    @blow_whistle.validator
    def validate_blow_whistle(self, cmd: BlowWhistle) -> None:
        self._refuse(whistle_rules.check_blow(self._state, cmd))

    @workflow.update
    async def approve_whistle(self, cmd: ApproveWhistle) -> CaseState:
        await self._whistles.approve(cmd)
        return self._state

    @approve_whistle.validator
    def validate_approve_whistle(self, cmd: ApproveWhistle) -> None:
        self._refuse(whistle_rules.check_approve(self._state, cmd))

    @workflow.update
    async def close_whistle(self, cmd: CloseWhistle) -> CaseState:
        await self._whistles.close(cmd)
        return self._state

    @close_whistle.validator
    def validate_close_whistle(self, cmd: CloseWhistle) -> None:
        self._refuse(whistle_rules.check_close(self._state, cmd))

    @workflow.update
    def rate_whistle(self, cmd: RateWhistle) -> CaseState:
        self._whistles.rate(cmd)
        return self._state

    @rate_whistle.validator
    def validate_rate_whistle(self, cmd: RateWhistle) -> None:
        self._refuse(whistle_rules.check_rate(self._state, cmd))

    @workflow.signal
    def whistle_progress(self, progress: WhistleProgress) -> None:
        self._whistles.progress(progress)

    def _refuse(self, rejection: Rejection | None) -> None:
        rejection = self._key_reused() or rejection
        if rejection is not None:
            raise rejection.error()

    def _key_reused(self) -> Rejection | None:
        """An idempotency key already taken by a different request (a retry has the same id and
        never reaches the validator: Temporal answers it with the first outcome)."""
        key, digest = idempotency.parse(_update_id())
        if key and self._keys.get(key, digest) != digest:
            return Rejection(
                "invalid",
                "key_reused",
                "this Idempotency-Key was sent before with another request",
                "key",
            )
        return None

    def _remember_key(self) -> None:
        key, digest = idempotency.parse(_update_id())
        if key:
            self._keys[key] = digest
            if len(self._keys) > MAX_KEYS:  # the oldest go: retries come within minutes
                del self._keys[next(iter(self._keys))]

    # ---- what joins a case after intake (workflows/intake/joining.py) --------------------
    @workflow.update
    def link_report(self, cmd: LinkReport) -> CaseState:
        self._joins.link(cmd)
        return self._state

    @link_report.validator
    def validate_link_report(self, cmd: LinkReport) -> None:
        self._refuse(reports.check_link(self._state, cmd))

    @workflow.update
    def split_report(self, cmd: SplitReport) -> CaseState:
        self._joins.split(cmd)
        return self._state

    @split_report.validator
    def validate_split_report(self, cmd: SplitReport) -> None:
        self._refuse(reports.check_split(self._state, cmd))

    @workflow.update
    async def record_alarm(self, alarm: AlarmSignal) -> CaseState:
        """A sensor alarm: the first opens the case (update-with-start), the rest join it."""
        await workflow.wait_condition(lambda: self._intake_settled)
        self._joins.alarm(alarm)
        return self._state

    @record_alarm.validator
    def validate_record_alarm(self, alarm: AlarmSignal) -> None:
        self._refuse(reports.check_alarm(self._state, alarm))

    @workflow.signal
    def record_resource(self, note: ResourceNote) -> None:
        self._joins.resource(note)

    @workflow.signal
    def record_reset(self, note: ResetNote) -> None:
        """Sent to the run a reset started: who went back to which decision point, and why.
        Its seq follows every event stored, so the undone steps keep their place; a retried
        reset request (the same run again) notes nothing twice."""
        if any(
            e.action == "reset" and e.payload.get("event_id") == note.event_id for e in self._events
        ):
            return
        undone = self._state.last_seq + 1
        self._state.last_seq = max(self._state.last_seq, note.after_seq)
        payload = {"event_id": note.event_id, "undone_from_seq": undone}
        self._record("reset", note.actor, self._state.status, reason=note.reason, payload=payload)

    # ---- signals: machine inputs ---------------------------------------------------------
    @workflow.signal
    def link_command(self, event_id: str) -> None:
        """A major event took this case under its command (sent by the event)."""
        self._state.command_id = event_id
        self._record("link_command", SYSTEM, self._state.status, payload={"event": event_id})

    @workflow.signal
    def add_note(self, note: str) -> None:
        """A machine or citizen note (sensor ping, citizen follow-up): recorded, no transition."""
        self._record("note", SYSTEM, self._state.status, payload={"note": note[:2000]})

    def _answer_directly(self, inp: CaseInput) -> None:
        """直接答复: a 咨询 the operator answered on the spot closes without dispatch."""
        self._state.direct_answer = inp.direct_answer
        self._state.result = inp.direct_answer
        self._state.closed_at = workflow.now()
        payload = {"answer": inp.direct_answer[:5000]}
        self._transition("direct_answer", inp.reporter, Status.ARCHIVED, payload=payload)

    # ---- what the collaborators it owns see (workflows/case/host.py) ---------------------
    @property
    def state(self) -> CaseState:
        return self._state

    @property
    def policy(self) -> CasePolicy:
        return self._policy

    @property
    def calendar(self) -> WorkCalendar:
        return self._cal

    def record(
        self, action: str, actor: Actor, *, reason: str = "", payload: dict[str, Any] | None = None
    ) -> None:
        """Record an event in the case's current status."""
        self._record(action, actor, self._state.status, reason=reason, payload=payload)

    # ---- the mechanics -------------------------------------------------------------------
    def _validate(self, action: Action, cmd: Command) -> None:
        # The version check sits in the validator, so it and the handler's change happen in one
        # workflow task: nothing can slip in between. Validators do not run on replay and old
        # commands carry no version, so recorded histories replay unchanged (no patch needed;
        # a validator may not call workflow.patched, which records a marker).
        self._refuse(
            transitions.check_version(self._state, cmd)
            or transitions.check(self._state, action, cmd, workflow.now())
            or whistle_rules.check_case_action(self._state, action)
        )

    def _act(self, action: Action, cmd: Command) -> CaseState:
        to = transitions.target(self._state, action, cmd)
        if action is Action.CHANGE_CATEGORY and cmd.policy is not None:
            self._set_policy(cmd.policy)
        payload = effects.apply(self._state, action, cmd, to, workflow.now(), self._clock)
        self._transition(
            action.value, cmd.actor, to, reason=cmd.reason, payload=payload, cause=action
        )
        self._whistles.end()
        return self._state

    def _set_policy(self, policy: CasePolicy) -> None:
        self._policy = policy
        self._cal = self._calendar(policy)
        self._clock = StageClock(policy, self._cal, supervised=self._supervised)

    def _calendar(self, policy: CasePolicy) -> WorkCalendar:
        return WorkCalendar.from_spec(
            day_start=policy.day_start,
            day_end=policy.day_end,
            extra_workdays=policy.extra_workdays,
            extra_holidays=policy.extra_holidays,
            on_unknown_year=self._warn_unknown_year,
        )

    def _transition(
        self,
        action: str,
        actor: Actor,
        to: Status,
        *,
        reason: str = "",
        payload: dict[str, Any] | None = None,
        cause: Action | None = None,
    ) -> None:
        before = self._state.status
        self._state.status = to
        effects.move_clock(self._state, before, to, workflow.now(), self._clock, action=cause)
        if to is Status.REGISTERED:
            self._needs_routing = True
        if to is Status.CLOSED:
            self._state.closed_at = workflow.now()
        self._record(action, actor, to, from_status=before.value, reason=reason, payload=payload)
        if to is Status.CLOSED and self._nobody_to_call():
            self._transition("archive", SYSTEM, Status.ARCHIVED, payload={"no_callback": True})

    def _nobody_to_call(self) -> bool:
        """A patrol or sensor case has no caller to ask: it skips the 回访 (issue 12)."""
        return self._callback_by_channel and self._state.channel in transitions.NO_CALLBACK_CHANNELS

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
        self._remember_key()
        if not self._supervised:
            self._upsert_search_attributes()  # as recorded before supervision: every event
        # Supervised cases upsert once per workflow task, in _wait_with_standing_timer.

    # ---- clocks: reminders, deadline, escalation ladder ----------------------------------
    async def _wait_for_change_or_deadline(self) -> None:
        if self._supervised:
            await self._wait_with_standing_timer()
            return
        seq = self._state.last_seq
        alarm = self._next_alarm()
        timeout = None if alarm is None else max(alarm - workflow.now(), timedelta(seconds=0))
        try:
            await workflow.wait_condition(
                lambda: self._state.last_seq != seq or self._needs_routing, timeout=timeout
            )
        except TimeoutError:
            assert alarm is not None  # only a timeout can time out
            self._fire_alarm(alarm)

    async def _wait_with_standing_timer(self) -> None:
        """Wait for a change or the next alarm (see workflows/shared/timers.py)."""
        self._upsert_search_attributes()
        seq = self._state.last_seq
        await self._timer.wait(
            self._next_alarm,
            self._fire_alarm,
            lambda: self._state.last_seq != seq or self._needs_routing or self._hand_over_due(),
        )

    def _next_alarm(self) -> datetime | None:
        if self._state.status is Status.PARKED and self._supervised:
            return self._state.review_at
        return self._clock.next_alarm(self._state.clock)

    def _fire_alarm(self, alarm: datetime) -> None:
        """Act on the alarm due at `alarm` (timers fire a little after; rungs count from it)."""
        kind = supervision.alarm_kind(self._state.clock, alarm)
        if self._state.status is Status.PARKED:
            self._review_parked()
        elif kind == "escalate":
            self._escalate(alarm)
        elif kind == "remind":
            self._remind()
        else:
            self._mark_overdue(alarm)

    def _mark_overdue(self, alarm: datetime) -> None:
        clock = self._state.clock
        clock.overdue = True
        self._record(
            "overdue",
            SYSTEM,
            self._state.status,
            payload={"stage": clock.stage, "due_at": effects.iso(clock.due_at)},
        )
        if self._supervised:
            self._escalate(alarm)  # 督办: the first rung is climbed as the deadline passes

    def _review_parked(self) -> None:
        """A parked case's review date has come: remind its holder and the district."""
        s = self._state
        s.review_at = None
        holder = s.assigned_unit.id if s.assigned_unit else ""
        units = sorted({u for u in (holder, s.location.district_id) if u})
        self._record("park_review", SYSTEM, s.status, payload={"notify": units})

    def _remind(self) -> None:
        """催办: tell the responsible unit its deadline is near."""
        clock = self._state.clock
        clock.reminders_at.pop(0)
        unit = self._responsible_unit()
        workflow.logger.info("case_reminded", extra={"ticket": self._state.ticket, "unit": unit})
        payload = {"stage": clock.stage, "due_at": effects.iso(clock.due_at), "notify": [unit]}
        self._record("remind", SYSTEM, self._state.status, payload=payload)

    def _escalate(self, alarm: datetime) -> None:
        """督办: climb one level up from the holder; at the top, report to the city daily."""
        s, clock = self._state, self._state.clock
        chain = s.escalation_chain or [Unit(s.location.path[0], "", "city")]
        target = supervision.climb(clock, chain, alarm, policy=self._policy, cal=self._cal)
        if target is None:
            payload = {"level": clock.escalation_level, "notify": [chain[-1].id]}
            self._record("escalation_report", SYSTEM, s.status, payload=payload)
            return
        s.escalation_count += 1
        s.escalated_to = target
        s.priority = supervision.raise_priority(s.priority)
        workflow.logger.info(
            "case_escalated",
            extra={"ticket": s.ticket, "unit": target.id, "rung": clock.escalation_level},
        )
        payload = {
            "level": clock.escalation_level,
            "unit": target.id,
            "priority": s.priority,
            "notify": [target.id],
        }
        self._record("escalate", SYSTEM, s.status, payload=payload)
        if s.command_id and workflow.patched(COMMAND_PATCH):
            tell = CaseEscalated(s.ticket, clock.escalation_level, target.id)
            self._command_news = asyncio.create_task(self._tell_command(s.command_id, tell))

    async def _tell_command(self, event_id: str, news: CaseEscalated) -> None:
        try:
            await workflow.get_external_workflow_handle(event_id).signal("case_escalated", news)
        except FailureError as err:  # the event has ended: the case climbs on as before
            workflow.logger.warning("command_gone", extra={"error": str(err)})

    def _responsible_unit(self) -> str:
        """Who must act in the current stage: the holder while it works, else the district."""
        s = self._state
        if s.clock.stage in (Stage.ACCEPT, Stage.HANDLE) and s.assigned_unit is not None:
            return s.assigned_unit.id
        return s.location.district_id or s.location.path[0]

    # ---- activities ----------------------------------------------------------------------
    async def _route(self) -> None:
        self._needs_routing = False
        route = RouteInput(
            category=self._state.category,
            category_kind=self._state.category_kind,
            location=self._state.location,
        )
        # Routing is one quick read: as a local activity it runs within the workflow task,
        # sparing intake a round trip through the server.
        execute = (
            workflow.execute_local_activity_method
            if self._supervised
            else workflow.execute_activity_method
        )
        result = await execute(
            CaseActivities.route_case,
            route,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=ROUTE_RETRY,
        )
        # A dispatcher may have acted while the router ran; their decision wins.
        if result.unit is None or self._state.status is not Status.REGISTERED:
            return
        effects.assign(self._state, result.unit, result.chain)
        payload = {"unit": result.unit.id, "rule": result.rule, "auto": True}
        if self._supervised:
            payload["notify"] = [result.unit.id]
        self._transition("dispatch", SYSTEM, Status.DISPATCHED, payload=payload)

    async def _projection_loop(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._unwritten))
            batch, changed = list(self._unwritten), list(self._joins.unprojected)
            raw = [self._joins.raw(r) for r in changed]
            await self._project(RecordEventsInput(case=self._snapshot(), events=batch, reports=raw))
            del self._unwritten[: len(batch)]
            del self._joins.unprojected[: len(changed)]

    def _snapshot(self) -> CaseSnapshot:
        """The read-model row, with the reporter's personal information unmasked."""
        snap, raw = self._state.snapshot(), self._inp
        snap.reporter_name, snap.reporter_phone = raw.reporter_name, raw.reporter_phone
        snap.tracking_token = raw.tracking_token  # the citizen's secret: never in the state
        return snap

    async def _project(self, inp: RecordEventsInput) -> None:
        """Write to the read model once the events are recorded, retrying until it lands."""
        if self._after_record:
            await workflow.execute_activity_method(
                CaseActivities.record_events,
                inp,
                start_to_close_timeout=PROJECTION_TIMEOUT,
                retry_policy=PROJECTION_RETRY,
            )
            return
        await self._project_before_record(inp)

    async def _project_before_record(self, inp: RecordEventsInput) -> None:
        """As cases started before issue 9 recorded it: in the workflow task while the database
        answers (a local activity), else as an ordinary activity until it does."""
        if self._supervised and not self._projection_degraded:
            try:
                await workflow.execute_local_activity_method(
                    CaseActivities.record_events,
                    inp,
                    start_to_close_timeout=timedelta(seconds=5),
                    retry_policy=LOCAL_PROJECTION_RETRY,
                )
                return
            # A local activity's failure comes bare: an application error, or the timeout of an
            # attempt (a TimeoutError on replay) — any of them moves the write on (issue 9).
            except FailureError:
                self._projection_degraded = True
                workflow.logger.warning("projection_degraded", extra={"ticket": inp.case.ticket})
        await workflow.execute_activity_method(
            CaseActivities.record_events,
            inp,
            start_to_close_timeout=PROJECTION_TIMEOUT,
            retry_policy=PROJECTION_RETRY,
        )
        self._projection_degraded = False

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
        if not self._supervised:
            workflow.upsert_search_attributes(pairs)  # as recorded before supervision
            return
        pairs.append(sa.CATEGORY.value_set(s.category))
        pairs.append(sa.ESCALATED.value_set(s.clock.escalation_level > 0))
        pairs.append(sa.ESCALATION_LEVEL.value_set(s.clock.escalation_level))
        sa.upsert_changed(self._attributes, pairs)


def _update_id() -> str | None:
    info = workflow.current_update_info()
    return info.id if info else None


def _initial_state(inp: CaseInput, case_id: str, now: datetime) -> CaseState:
    """The state's fields of the same name as the input's, and these. The tracking token
    never enters the state; a direct answer is recorded as the case answers (`_begin`)."""
    return derive(
        CaseState,
        inp,
        skip=("direct_answer", "tracking_token"),
        case_id=case_id,
        created_at=inp.received_at or now,
        reporter_name=privacy.mask_name(inp.reporter_name),
        reporter_phone=privacy.mask_phone(inp.reporter_phone),
        taken_by=inp.reporter.username,
        attachments=list(inp.attachments),
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
