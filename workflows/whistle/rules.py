"""Pure rules of 吹哨报到: who may blow, approve, close and rate a whistle on a case, who may
sign, contact and report for a department, and the deadlines of each step.

The case's and the whistle's update validators and handlers call these, and so do the unit
tests, without Temporal. Refusals are `transitions.Rejection`s, mapped to HTTP the same way.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from workflows.case.clock import StageClock
from workflows.case.transitions import HANDLING_STATES
from workflows.contracts import (
    WHISTLE_STAGES,
    Action,
    Actor,
    ApproveWhistle,
    BlowWhistle,
    CasePolicy,
    CaseState,
    Clock,
    CloseWhistle,
    RateWhistle,
    Role,
    Status,
    Unit,
    WhistleAction,
    WhistleMember,
    WhistleProgress,
    WhistleRound,
    WhistleSpec,
    WhistleState,
    WhistleStep,
)
from workflows.shared.rejection import Rejection
from workflows.shared.workcal import WorkCalendar, deadline, limit_minutes

BLOWER_ROLES = frozenset({Role.HANDLER, Role.SUPERVISOR})
BLOWER_LEVELS = frozenset({"street", "community"})
OPEN_ROUND = frozenset({"pending_approval", "open"})
# Steps a department has finished with: nothing more to sign, contact or report.
FINISHED = frozenset({WhistleStep.REPORTED, WhistleStep.CLOSED, WhistleStep.CANCELLED})
# The case ending these ways cancels its open whistles.
ENDS_WHISTLES = frozenset({Status.CLOSED, Status.VOIDED, Status.ARCHIVED})
MAX_NEED = 2000
STEP_OF = {
    "sign": WhistleStep.SIGNED,
    "contact": WhistleStep.CONTACTED,
    "report": WhistleStep.REPORTED,
}
COMES_FROM = {
    "sign": WhistleStep.SUMMONED,
    "contact": WhistleStep.SIGNED,
    "report": WhistleStep.CONTACTED,
}
NEXT_STAGE = {"sign": "contact", "contact": "report", "report": ""}


def whistle_id(ticket: str, round_no: int, dept_id: str) -> str:
    return f"whistle-{ticket}-{round_no}-{dept_id}"


def open_round(state: CaseState) -> WhistleRound | None:
    return next((r for r in reversed(state.whistles) if r.status in OPEN_ROUND), None)


# ---- the case's side -------------------------------------------------------------------
def check_blow(state: CaseState, cmd: BlowWhistle) -> Rejection | None:
    """Why `cmd` may not blow a whistle on `state`, or None."""
    return _check_blower(state, cmd.actor) or _check_blow_state(state) or _check_blow_fields(cmd)


def _check_blower(state: CaseState, actor: Actor) -> Rejection | None:
    if actor.role not in BLOWER_ROLES:
        return Rejection(
            "forbidden",
            "whistle_role",
            f"blowing a whistle requires role handler/supervisor, not {actor.role}",
        )
    holder = state.assigned_unit
    holds = holder is not None and holder.id == actor.unit_id and holder.level in BLOWER_LEVELS
    centre = bool(state.location.path) and actor.unit_id == state.location.path[0]
    if not (holds or centre):
        return Rejection(
            "forbidden",
            "whistle_not_holder",
            "only the street or community holding the case, or the city centre, blows a whistle",
        )
    return None


def _check_blow_state(state: CaseState) -> Rejection | None:
    if state.status not in HANDLING_STATES:
        return Rejection(
            "conflict",
            "whistle_needs_handling",
            f"a whistle needs a case in handling, not {state.status}",
        )
    if open_round(state) is not None:
        return Rejection("conflict", "whistle_open", "a whistle of this case is still open")
    return None


def _check_blow_fields(cmd: BlowWhistle) -> Rejection | None:
    if cmd.spec is None or cmd.spec.kind != cmd.kind:
        return Rejection("invalid", "not_in_list", f"unknown whistle kind {cmd.kind!r}", "kind")
    if missing := [s for s in WHISTLE_STAGES if s not in cmd.spec.stages]:
        return Rejection(
            "invalid",
            "whistle_kind_incomplete",
            f"whistle kind {cmd.kind} lacks limits for {missing}",
            "kind",
        )
    if not cmd.need.strip() or len(cmd.need) > MAX_NEED:
        return Rejection(
            "invalid", "required", "a whistle needs a description of what is needed", "need"
        )
    ids = [d.id for d in cmd.departments]
    if not ids:
        return Rejection(
            "invalid", "whistle_no_department", "summon at least one department", "departments"
        )
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        return Rejection(
            "invalid",
            "whistle_summoned_twice",
            f"department summoned twice: {', '.join(twice)}",
            "departments",
            {"units": ", ".join(twice)},
        )
    if cmd.actor.unit_id in ids:
        return Rejection(
            "invalid",
            "whistle_own_unit",
            "the whistle-blower cannot summon its own unit",
            "departments",
        )
    if others := [d.id for d in cmd.departments if d.level != "dept"]:
        return Rejection(
            "invalid",
            "whistle_not_department",
            f"not a department: {', '.join(others)}",
            "departments",
            {"units": ", ".join(others)},
        )
    return None


def new_round(state: CaseState, cmd: BlowWhistle, now: datetime) -> WhistleRound:
    """The round `cmd` opens (checked already): waiting for approval, or open at once."""
    assert cmd.spec is not None  # the validator guarantees it
    number = len(state.whistles) + 1
    unit = (
        state.assigned_unit
        if state.assigned_unit and state.assigned_unit.id == cmd.actor.unit_id
        else None
    )
    blower_unit = unit or Unit(cmd.actor.unit_id, cmd.actor.unit_name, "city")
    members = [
        WhistleMember(
            whistle_id=whistle_id(state.ticket, number, d.id),
            unit=d,
            chain=[d, *cmd.chains.get(d.id, [])],
        )
        for d in cmd.departments
    ]
    return WhistleRound(
        round=number,
        kind=cmd.kind,
        kind_label=cmd.spec.label or cmd.kind,
        need=cmd.need.strip(),
        blower=cmd.actor,
        blower_unit=blower_unit,
        spec=cmd.spec,
        members=members,
        status="pending_approval" if cmd.spec.needs_approval else "open",
        blown_at=now,
    )


def check_approve(state: CaseState, cmd: ApproveWhistle) -> Rejection | None:
    """A district leader (a supervisor of the case's district) approves a 攻坚克难哨."""
    actor = cmd.actor
    if actor.role is not Role.SUPERVISOR or actor.unit_id != state.location.district_id:
        return Rejection(
            "forbidden",
            "whistle_approver",
            "a whistle is approved by a supervisor of the case's district",
        )
    rnd = open_round(state)
    if rnd is None or rnd.status != "pending_approval":
        return Rejection(
            "conflict", "whistle_no_approval_pending", "no whistle of this case waits for approval"
        )
    return None


def check_close(state: CaseState, cmd: CloseWhistle) -> Rejection | None:
    rnd = open_round(state)
    if rnd is None:
        return Rejection("conflict", "whistle_none_open", "no whistle of this case is open")
    if cmd.actor.unit_id != rnd.blower_unit.id:
        return Rejection(
            "forbidden",
            "whistle_close_by_blower",
            f"only {rnd.blower_unit.name or rnd.blower_unit.id} may close its whistle",
        )
    if not cmd.reason.strip():
        return Rejection("invalid", "required", "closing a whistle early needs a reason", "reason")
    return None


def rated_member(state: CaseState, cmd: RateWhistle) -> tuple[WhistleRound, WhistleMember] | None:
    """The round and department `cmd` rates: the given round, else the latest to summon it."""
    for rnd in reversed(state.whistles):
        if cmd.round and rnd.round != cmd.round:
            continue
        for member in rnd.members:
            if member.unit.id == cmd.unit_id:
                return rnd, member
    return None


def check_rate(state: CaseState, cmd: RateWhistle) -> Rejection | None:
    found = rated_member(state, cmd)
    if found is None:
        return Rejection(
            "invalid", "whistle_not_summoned", f"no whistle summoned {cmd.unit_id!r}", "unit_id"
        )
    rnd, member = found
    if cmd.actor.unit_id != rnd.blower_unit.id:
        return Rejection(
            "forbidden",
            "whistle_rate_by_blower",
            "only the whistle-blower rates the departments' response",
        )
    if not 1 <= cmd.score <= 5:
        return Rejection("invalid", "score_range", "score must be between 1 and 5", "score")
    if rnd.status in OPEN_ROUND and member.step != WhistleStep.REPORTED:
        return Rejection(
            "conflict",
            "whistle_rate_early",
            "rate a department once it has reported or the whistle is closed",
        )
    if rnd.status == "pending_approval" or member.step == WhistleStep.PENDING:
        return Rejection("conflict", "whistle_not_summoned", "the department was never summoned")
    if member.rating:
        return Rejection(
            "conflict", "whistle_rated_already", "this department's response is rated already"
        )
    return None


def check_case_action(state: CaseState, action: Action) -> Rejection | None:
    """While a whistle is open the case waits: no feedback before the departments report."""
    if action is Action.SUBMIT_FEEDBACK and open_round(state) is not None:
        return Rejection(
            "conflict",
            "whistle_open_wait",
            "a whistle of this case is open: wait for the departments or close it",
        )
    return None


def apply_progress(
    state: CaseState, p: WhistleProgress
) -> tuple[WhistleRound, WhistleMember] | None:
    """Record a department's step on the case; None for a signal about nothing open.

    A step taken before the round ended still counts (its signal may arrive after the
    whistle-blower closed the round), but it no longer moves the department's step.
    """
    for rnd in state.whistles:
        if rnd.round != p.round or not _took_place_in(rnd, p.at):
            continue
        for m in rnd.members:
            if m.whistle_id != p.whistle_id:
                continue
            if rnd.status == "open":
                m.step = p.step
            m.escalation_level = p.escalation_level
            m.note = p.note or m.note
            if p.event == "sign":
                m.signed_at, m.signed_in_time = p.at, p.signed_in_time
            elif p.event == "contact":
                m.contacted_at = p.at
            elif p.event == "report":
                m.reported_at, m.reported_in_time = p.at, p.reported_in_time
            return rnd, m
    return None


def _took_place_in(rnd: WhistleRound, at: datetime) -> bool:
    if rnd.status == "open":
        return True
    return rnd.status != "pending_approval" and rnd.closed_at is not None and at <= rnd.closed_at


def all_reported(rnd: WhistleRound) -> bool:
    return all(m.step == WhistleStep.REPORTED for m in rnd.members)


def add_co_handlers(state: CaseState, units: list[Unit]) -> None:
    """协办: the departments that took part, once each."""
    for unit in units:
        if all(u.id != unit.id for u in state.co_handlers):
            state.co_handlers.append(unit)


# ---- the department's side -------------------------------------------------------------
def check_step(state: WhistleState, stage: str, cmd: WhistleAction) -> Rejection | None:
    """Whether `cmd` may take `stage` (sign, contact, report) for the summoned department."""
    if cmd.actor.unit_id != state.department.id:
        return Rejection(
            "forbidden",
            "whistle_other_unit",
            f"this whistle summons {state.department.id}, not unit {cmd.actor.unit_id}",
        )
    if state.step != COMES_FROM[stage]:
        return Rejection(
            "conflict",
            "whistle_wrong_step",
            f"cannot {stage} a whistle that is {state.step}",
            params={"stage": stage, "step": str(state.step)},
        )
    if stage in ("contact", "report") and not cmd.note.strip():
        return Rejection("invalid", "required", f"{stage} needs a note", "note")
    if stage == "report":
        return _check_report(cmd)
    return None


def _check_report(cmd: WhistleAction) -> Rejection | None:
    if not cmd.arrived and not cmd.plan_date:
        return Rejection(
            "invalid",
            "whistle_report_plan",
            "report that you arrived, or a plan with a date",
            "plan_date",
        )
    if cmd.plan_date:
        try:
            date.fromisoformat(cmd.plan_date)
        except ValueError:
            return Rejection(
                "invalid", "date_format", "plan_date must be an ISO date (YYYY-MM-DD)", "plan_date"
            )
    return None


class WhistleClock:
    """Deadlines of a whistle's steps, all counted from the summons, each in its own time
    (working or natural), with the case's calendar, reminders and grace.
    """

    def __init__(self, spec: WhistleSpec, policy: CasePolicy, cal: WorkCalendar) -> None:
        self.spec, self.policy, self.cal = spec, policy, cal

    def policy_for(self, stage: str) -> CasePolicy:
        working = self.spec.stages[stage].working
        return dataclasses.replace(self.policy, working_time=working)

    def stage_clock(self, stage: str) -> StageClock:
        return StageClock(self.policy_for(stage), self.cal, supervised=True)

    def dues(self, summoned_at: datetime) -> dict[str, datetime]:
        return {
            name: deadline(summoned_at, stage.limit, working=stage.working, cal=self.cal)
            for name, stage in self.spec.stages.items()
            if name in WHISTLE_STAGES
        }

    def start(self, stage: str, now: datetime, due: datetime) -> Clock:
        """The clock of `stage`, begun `now`, with reminders on what is left of its limit."""
        spec = self.spec.stages[stage]
        minutes = limit_minutes(spec.limit, working=spec.working, cal=self.cal)
        clock = Clock(stage=stage, started_at=now, due_at=due, limit_minutes=minutes)
        self.stage_clock(stage).arm_reminders(clock, now)
        return clock
