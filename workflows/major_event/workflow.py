"""MajorEventWorkflow: 重大事件综合指挥调度 — one major event from 接报 to its review.

接报 → 研判定级 → 启动响应 (the lead follows the grade) → 处置 → 响应终止 → 总结评估 → closed, with
a regrade at any time. Departments ordered to station and tasks run as AssignmentWorkflow
children (their own clocks, the shared ladder); the reporting clock (初报/续报/终报) runs here,
each obligation a stage clock that reminds, goes overdue and climbs like any other. Linked city
events report their escalations to the command. The run continues as new before its history
grows too long (workflows/shared/longlived.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import (
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import FailureError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.major_event import MajorEventActivities
    from workflows.case.transitions import Rejection
    from workflows.contracts import SYSTEM, Actor, CaseEvent, Unit
    from workflows.major_event import rules
    from workflows.major_event.assignment import CANCELLED, DONE, AssignmentWorkflow
    from workflows.major_event.contracts import (
        GRADES,
        Activate,
        Appoint,
        Assess,
        AssignmentInput,
        AssignmentProgress,
        AssignmentStepSpec,
        AssignTask,
        Board,
        CaseEscalated,
        LinkCases,
        MajorEventInput,
        MajorEventSnapshot,
        MajorEventState,
        OrderStation,
        Phase,
        PhaseStep,
        RecordMajorEventInput,
        Regrade,
        SubmitReport,
    )
    from workflows.shared import attributes as sa
    from workflows.shared import ladder, longlived
    from workflows.shared.projection import project_unwritten
    from workflows.shared.timers import StandingTimer

CASE_PREFIX = "case-"  # the city-event type's workflow ids (workflows/registry.py)
EVENT_PREFIX = "major-event-"  # this type's


@workflow.defn
class MajorEventWorkflow:
    @workflow.init
    def __init__(self, inp: MajorEventInput) -> None:
        self._inp, self._policy = inp, inp.policy
        self._state = inp.carried or _initial_state(inp, workflow.info().workflow_id)
        self._events: list[CaseEvent] = []
        self._unwritten: list[CaseEvent] = []
        self._timer = StandingTimer()
        self._attributes: dict[str, Any] = {}

    @workflow.run
    async def run(self, inp: MajorEventInput) -> MajorEventState:
        self._attributes = sa.started()
        if inp.carried is None:
            c = self._state.classification
            payload = {"grade": c.grade, "event_type": c.event_type, "notify": self._leads()}
            self._record("receive", inp.reporter, payload=payload)
        writer = asyncio.create_task(self._writer())
        while self._state.phase != Phase.CLOSED:
            if self._hand_over_due():
                await longlived.hand_over(MajorEventWorkflow.run, self._carry, idle=self._idle)
            await self._wait_for_change_or_alarm()
        self._timer.cancel()
        await self._cancel_assignments()
        self._upsert_search_attributes()
        await workflow.wait_condition(self._idle)
        writer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    def _carry(self) -> MajorEventInput:
        self._state.runs += 1
        return dataclasses.replace(self._inp, carried=self._state)

    def _hand_over_due(self) -> bool:
        return self._idle() and longlived.due(self._policy.history_limit)

    def _idle(self) -> bool:
        return not self._unwritten

    # ---- queries ------------------------------------------------------------------------
    @workflow.query
    def get_state(self) -> MajorEventState:
        return self._state

    @workflow.query
    def get_timeline(self) -> list[CaseEvent]:
        """This run's events (the read model holds those of earlier runs too)."""
        return self._events

    # ---- updates: the phases ------------------------------------------------------------
    @workflow.update
    def assess(self, cmd: Assess) -> MajorEventState:
        c = self._state.classification
        before = c.grade
        c.grade, c.sub_type = cmd.grade or c.grade, cmd.sub_type or c.sub_type
        if c.grade != before:
            rules.regrade_reports(self._state, self._policy)
        payload = {"grade": c.grade, "sub_type": c.sub_type}
        return self._move("assess", cmd.actor, reason=cmd.note, payload=payload)

    @assess.validator
    def validate_assess(self, cmd: Assess) -> None:
        c = self._state.classification
        self._check("assess", cmd.actor)
        _raise(rules.check_classification(c.event_type, cmd.sub_type, cmd.grade or c.grade))

    @workflow.update
    def activate(self, cmd: Activate) -> MajorEventState:
        s = self._state
        s.lead = rules.lead_unit(s.classification.grade, self._policy, s.city, s.district)
        s.responding_since = workflow.now()
        payload = {"lead": s.lead.id, "notify": self._leads()}
        return self._move("activate", cmd.actor, reason=cmd.note, payload=payload)

    @activate.validator
    def validate_activate(self, cmd: Activate) -> None:
        self._check("activate", cmd.actor)

    @workflow.update
    def begin_handling(self, cmd: PhaseStep) -> MajorEventState:
        return self._move("begin_handling", cmd.actor, reason=cmd.note)

    @begin_handling.validator
    def validate_begin_handling(self, cmd: PhaseStep) -> None:
        self._check("begin_handling", cmd.actor)

    @workflow.update
    def terminate(self, cmd: PhaseStep) -> MajorEventState:
        s, now = self._state, workflow.now()
        s.terminated_at = now
        s.reports = [r for r in s.reports if not _unsent_slot(r, now)]
        due = rules.after(now, self._policy.final_report)
        final = rules.clock_for("final", now, due, self._policy)
        s.reports.append(rules.ReportDue("final", final))
        return self._move(
            "terminate", cmd.actor, reason=cmd.note, payload={"notify": self._leads()}
        )

    @terminate.validator
    def validate_terminate(self, cmd: PhaseStep) -> None:
        self._check("terminate", cmd.actor)
        _need(cmd.note, "note")

    @workflow.update
    def evaluate(self, cmd: PhaseStep) -> MajorEventState:
        self._state.summary = cmd.note
        return self._move("evaluate", cmd.actor, reason=cmd.note)

    @evaluate.validator
    def validate_evaluate(self, cmd: PhaseStep) -> None:
        self._check("evaluate", cmd.actor)
        _need(cmd.note, "note")

    @workflow.update
    def close(self, cmd: PhaseStep) -> MajorEventState:
        return self._move("close", cmd.actor, reason=cmd.note)

    @close.validator
    def validate_close(self, cmd: PhaseStep) -> None:
        self._check("close", cmd.actor)
        if rules.open_report(self._state, "final") is not None:
            _raise(
                Rejection(
                    "conflict",
                    "major_final_report_missing",
                    "the final report (终报) is not in yet",
                )
            )

    # ---- updates: command ---------------------------------------------------------------
    @workflow.update
    def regrade(self, cmd: Regrade) -> MajorEventState:
        s = self._state
        before, s.classification.grade = s.classification.grade, cmd.grade
        rules.regrade_reports(s, self._policy)
        if s.lead is not None:
            s.lead = rules.lead_unit(cmd.grade, self._policy, s.city, s.district)
        payload = {"from": before, "to": cmd.grade, "notify": self._leads()}
        return self._move("regrade", cmd.actor, reason=cmd.reason, payload=payload)

    @regrade.validator
    def validate_regrade(self, cmd: Regrade) -> None:
        self._check("regrade", cmd.actor)
        if cmd.grade not in GRADES:
            _raise(Rejection("invalid", "major_grade", f"unknown grade {cmd.grade!r}", "grade"))
        if cmd.grade == self._state.classification.grade:
            _raise(
                Rejection(
                    "conflict",
                    "major_same_grade",
                    f"the event is graded {cmd.grade} already",
                    "grade",
                )
            )
        _need(cmd.reason, "reason")

    @workflow.update
    def appoint(self, cmd: Appoint) -> MajorEventState:
        s = self._state
        s.commander, s.deputies = cmd.commander, list(cmd.deputies)
        payload = {
            "commander": cmd.commander.username,
            "deputies": [d.username for d in cmd.deputies],
        }
        return self._move("appoint", cmd.actor, payload=payload)

    @appoint.validator
    def validate_appoint(self, cmd: Appoint) -> None:
        self._check("appoint", cmd.actor)
        _need(cmd.commander.username, "commander")

    @workflow.update
    async def order_station(self, cmd: OrderStation) -> MajorEventState:
        steps = [
            AssignmentStepSpec("sign", "签收", self._policy.station_sign),
            AssignmentStepSpec("arrive", "到岗", self._policy.station_arrive),
        ]
        for unit, chain in zip(cmd.units, cmd.chains, strict=True):
            await self._assign("station", unit, "进驻指挥中心", steps, chain, cmd.actor)
        payload = {"units": [u.id for u in cmd.units], "notify": [u.id for u in cmd.units]}
        return self._move("order_station", cmd.actor, payload=payload)

    @order_station.validator
    def validate_order_station(self, cmd: OrderStation) -> None:
        self._check("order_station", cmd.actor)
        if not cmd.units or len(cmd.units) != len(cmd.chains):
            _raise(
                Rejection(
                    "invalid", "major_no_department", "name the departments to station", "unit_ids"
                )
            )
        there = {b.unit.id for b in self._state.board if b.kind == "station"}
        if there & {u.id for u in cmd.units}:
            _raise(
                Rejection(
                    "conflict",
                    "major_stationed_already",
                    "a department is ordered to station already",
                    "unit_ids",
                )
            )

    @workflow.update
    async def assign_task(self, cmd: AssignTask) -> MajorEventState:
        assert cmd.unit is not None  # the validator saw to it
        steps = [
            AssignmentStepSpec("accept", "签收", self._policy.task_accept),
            AssignmentStepSpec("complete", "完成", cmd.limit or self._policy.task_limit),
        ]
        await self._assign("task", cmd.unit, cmd.title, steps, cmd.chain, cmd.actor)
        payload = {"unit": cmd.unit.id, "title": cmd.title, "notify": [cmd.unit.id]}
        return self._move("assign_task", cmd.actor, payload=payload)

    @assign_task.validator
    def validate_assign_task(self, cmd: AssignTask) -> None:
        self._check("assign_task", cmd.actor)
        if cmd.unit is None:
            _raise(Rejection("invalid", "required", "name the unit that takes the task", "unit_id"))
        _need(cmd.title, "title")

    @workflow.update
    def submit_report(self, cmd: SubmitReport) -> MajorEventState:
        s, now = self._state, workflow.now()
        report = rules.open_report(s, cmd.kind)
        if report is None:  # a 续报 beyond the slots
            report = rules.ReportDue(cmd.kind, rules.Clock(stage=cmd.kind))
            s.reports.append(report)
        report.submitted_at, report.submitted_by, report.text = now, cmd.actor.username, cmd.text
        due = report.clock.due_at
        report.late = due is not None and now > due
        payload = {"kind": cmd.kind, "late": report.late, "notify": [s.city.id]}
        return self._move("submit_report", cmd.actor, reason=cmd.text, payload=payload)

    @submit_report.validator
    def validate_submit_report(self, cmd: SubmitReport) -> None:
        self._check("submit_report", cmd.actor)
        _raise(rules.check_report(self._state, cmd.kind, cmd.text))

    @workflow.update
    async def link_cases(self, cmd: LinkCases) -> MajorEventState:
        s = self._state
        new = [t for t in dict.fromkeys(cmd.tickets) if t not in s.linked]
        s.linked.extend(new)
        for ticket in new:
            case = workflow.get_external_workflow_handle(CASE_PREFIX + ticket)
            try:
                await case.signal("link_command", s.event_id)
            except FailureError as err:  # the case has ended: it stays listed
                workflow.logger.warning("linked_case_gone", extra={"error": str(err)})
        return self._move("link_cases", cmd.actor, payload={"tickets": new})

    @link_cases.validator
    def validate_link_cases(self, cmd: LinkCases) -> None:
        self._check("link_cases", cmd.actor)
        if not cmd.tickets:
            _raise(Rejection("invalid", "major_no_case_matches", "no case matches", "tickets"))

    # ---- signals ------------------------------------------------------------------------
    @workflow.signal
    def assignment_progress(self, p: AssignmentProgress) -> None:
        entry = next((b for b in self._state.board if b.assignment_id == p.assignment_id), None)
        if entry is None:
            return
        before = entry.step
        entry.step, entry.due_at, entry.overdue = p.step, p.due_at, p.overdue
        entry.escalation_level, entry.done_at = p.escalation_level, p.done_at
        if p.alarm or p.step != before:
            action = f"{entry.kind}_{p.alarm or before}"
            notify = sorted({entry.unit.id, p.escalated_to} - {""})
            payload = {"assignment": p.assignment_id, "unit": entry.unit.id, "notify": notify}
            self._record(action, SYSTEM, payload=payload)

    @workflow.signal
    def case_escalated(self, e: CaseEscalated) -> None:
        """A linked city event climbed a rung: the command is told."""
        s = self._state
        if e.ticket not in s.escalated_cases:
            s.escalated_cases.append(e.ticket)
        payload = {"ticket": e.ticket, "level": e.level, "notify": self._leads()}
        self._record("linked_case_escalated", SYSTEM, payload=payload)

    # ---- mechanics ----------------------------------------------------------------------
    def _check(self, action: str, actor: Actor) -> None:
        _raise(rules.check(self._state, action, actor))

    def _move(
        self, action: str, actor: Actor, *, reason: str = "", payload: dict[str, Any] | None = None
    ) -> MajorEventState:
        s = self._state
        before = s.phase
        to = rules.PHASES[action][1]
        if to is not None:
            s.phase = to.value
        self._record(action, actor, reason=reason, payload=payload, from_phase=before)
        return s

    async def _assign(
        self,
        kind: str,
        unit: Unit,
        title: str,
        steps: list[AssignmentStepSpec],
        chain: list[Unit],
        actor: Actor,
    ) -> None:
        s, now = self._state, workflow.now()
        number = sum(1 for b in s.board if b.kind == kind) + 1
        # From the ticket, not the run's workflow id: a history replays under any id.
        assignment_id = (
            f"{EVENT_PREFIX}{s.ticket}-{kind}-{unit.id if kind == 'station' else number}"
        )
        command = [*chain, s.lead or s.city]
        inp = AssignmentInput(
            event_id=s.event_id,
            ticket=s.ticket,
            kind=kind,
            title=title,
            unit=unit,
            steps=steps,
            chain=list({u.id: u for u in command}.values()),
            ordered_at=now,
            ordered_by=actor,
            policy=rules.natural(self._policy),
        )
        s.board.append(Board(assignment_id, kind, unit, title, steps[0].name))
        await workflow.start_child_workflow(
            AssignmentWorkflow.run,
            inp,
            id=assignment_id,
            parent_close_policy=ParentClosePolicy.ABANDON,  # survives continue-as-new
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.CASE_TYPE, "major_event_" + kind),
                    SearchAttributePair(sa.ASSIGNED_UNIT, unit.id),
                ]
            ),
        )

    async def _cancel_assignments(self) -> None:
        for entry in self._state.board:
            if entry.step not in (DONE, CANCELLED):
                handle = workflow.get_external_workflow_handle(entry.assignment_id)
                try:
                    await handle.cancel()
                except FailureError as err:
                    workflow.logger.warning("assignment_gone", extra={"error": str(err)})

    def _leads(self) -> list[str]:
        s = self._state
        return sorted({rules.responsible(s, self._policy).id, s.city.id})

    def _record(
        self,
        action: str,
        actor: Actor,
        *,
        reason: str = "",
        payload: dict[str, Any] | None = None,
        from_phase: str | None = None,
    ) -> None:
        s = self._state
        s.last_seq += 1
        event = CaseEvent(
            seq=s.last_seq,
            at=workflow.now(),
            action=action,
            actor=actor,
            from_status=s.phase if from_phase is None else from_phase,
            to_status=s.phase,
            reason=reason,
            payload=payload or {},
        )
        self._events.append(event)
        self._unwritten.append(event)

    # ---- the reporting clock ------------------------------------------------------------
    async def _wait_for_change_or_alarm(self) -> None:
        now = workflow.now()
        if rules.roll_progress(self._state, now, self._policy):
            due = rules.last_progress(self._state)
            at = due.clock.due_at if due else None
            self._record("progress_due", SYSTEM, payload={"due_at": at.isoformat() if at else ""})
        self._upsert_search_attributes()
        seq = self._state.last_seq
        await self._timer.wait(
            self._next_alarm,
            self._fire,
            lambda: self._state.last_seq != seq or self._hand_over_due(),
        )

    def _next_alarm(self) -> datetime | None:
        alarms = [a for r in self._state.reports if (a := rules.report_alarm(r)) is not None]
        last = rules.last_progress(self._state)
        if (
            last is not None
            and last.clock.due_at
            and rules.wants_progress(self._state, self._policy)
        ):
            alarms.append(last.clock.due_at)  # the next slot is opened as this one falls due
        return min(alarms, default=None)

    def _fire(self, alarm: datetime) -> None:
        for report in self._state.reports:
            if rules.report_alarm(report) == alarm:
                self._report_alarm(report, alarm)

    def _report_alarm(self, report: rules.ReportDue, alarm: datetime) -> None:
        clock, kind = report.clock, ladder.alarm_kind(report.clock, alarm)
        payload: dict[str, Any] = {"report": report.kind, "due_at": _iso(clock.due_at)}
        if kind == "remind":
            clock.reminders_at.pop(0)
            payload["notify"] = self._leads()
            self._record("report_remind", SYSTEM, payload=payload)
            return
        if kind == "overdue":
            clock.overdue = True
            self._record("report_overdue", SYSTEM, payload={**payload, "notify": self._leads()})
        target = ladder.climb(
            clock,
            rules.report_chain(self._state, self._policy),
            alarm,
            policy=rules.natural(self._policy),
            cal=rules.CAL,
        )
        top = target or self._state.city
        payload.update(level=clock.escalation_level, unit=top.id, notify=[top.id])
        self._record("report_escalate" if target else "escalation_report", SYSTEM, payload=payload)

    # ---- the projection and the search attributes ---------------------------------------
    async def _writer(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._unwritten))
            await project_unwritten(
                self._unwritten,
                MajorEventActivities.record_major_event,
                lambda batch: RecordMajorEventInput(event=snapshot(self._state), events=batch),
            )

    def _upsert_search_attributes(self) -> None:
        s = self._state
        late = any(r.clock.overdue and r.submitted_at is None for r in s.reports)
        pairs: list[SearchAttributeUpdate[Any]] = [
            sa.CASE_STATUS.value_set(s.phase),
            sa.PRIORITY.value_set(s.classification.grade),
            sa.OVERDUE.value_set(late),
        ]
        sa.upsert_changed(self._attributes, pairs)


def _raise(rejection: Rejection | None) -> None:
    if rejection is not None:
        raise rejection.error()  # with its code and params: the UI shows the code's zh-CN text


def _need(text: str, field: str) -> None:
    if not text.strip():
        _raise(Rejection("invalid", "required", f"{field} is required", field))


def _unsent_slot(report: rules.ReportDue, now: datetime) -> bool:
    """A 续报 slot still ahead when the response ends: it falls away."""
    due = report.clock.due_at
    return (
        report.kind == "progress" and report.submitted_at is None and due is not None and due > now
    )


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at else ""


def _initial_state(inp: MajorEventInput, event_id: str) -> MajorEventState:
    c = inp.classification
    return MajorEventState(
        event_id=event_id,
        ticket=inp.ticket,
        title=inp.title,
        classification=dataclasses.replace(c),
        location=inp.location,
        city=inp.city,
        district=inp.district,
        received_at=inp.received_at,
        reports=rules.first_reports(c.grade, inp.received_at, inp.policy),
    )


def snapshot(s: MajorEventState) -> MajorEventSnapshot:
    """The read-model row of a major event."""
    upcoming = [r.clock.due_at for r in s.reports if r.submitted_at is None and r.clock.due_at]
    return MajorEventSnapshot(
        id=s.event_id,
        ticket=s.ticket,
        title=s.title,
        event_type=s.classification.event_type,
        sub_type=s.classification.sub_type,
        grade=s.classification.grade,
        phase=s.phase,
        district_id=s.location.district_id,
        lead_unit_id=s.lead.id if s.lead else "",
        commander=s.commander.name or s.commander.username if s.commander else "",
        stations=sum(1 for b in s.board if b.kind == "station"),
        stations_late=sum(1 for b in s.board if b.kind == "station" and b.overdue),
        tasks_open=sum(1 for b in s.board if b.kind == "task" and b.step not in (DONE, CANCELLED)),
        reports_late=sum(1 for r in s.reports if r.clock.overdue and r.submitted_at is None),
        next_report_at=min(upcoming, default=None),
        linked=len(s.linked),
        received_at=s.received_at,
        last_seq=s.last_seq,
    )


def start_search_attributes(inp: MajorEventInput) -> TypedSearchAttributes:
    """The attributes a major event starts with (CaseType `major_event`)."""
    c = inp.classification
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.CASE_TYPE, "major_event"),
            SearchAttributePair(sa.CASE_STATUS, Phase.RECEIVED.value),
            SearchAttributePair(sa.CATEGORY, c.event_type),
            SearchAttributePair(sa.DISTRICT, inp.location.district_id),
            SearchAttributePair(sa.PRIORITY, c.grade),
            SearchAttributePair(sa.OVERDUE, False),
        ]
    )
