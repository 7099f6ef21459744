"""Pure rules of a major event: who may do what in which phase, grades, the reporting clock.

Called by the workflow's validators and handlers alike; nothing here reads time or does I/O.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from workflows.case.transitions import Rejection
from workflows.contracts import Actor, CasePolicy, Clock, Role, Unit
from workflows.major_event.contracts import (
    EVENT_TYPES,
    GRADES,
    MajorEventPolicy,
    MajorEventState,
    Phase,
    ReportDue,
    ReportKind,
)
from workflows.shared.ladder import reminder_instants
from workflows.shared.workcal import CST, WorkCalendar, add_natural_minutes, limit_minutes

COMMAND_ROLES = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN})
REPORT_ROLES = frozenset({*COMMAND_ROLES, Role.OPERATOR})
RESPONSE = frozenset({Phase.RESPONDING, Phase.HANDLING})
# action -> (phases it may be taken in, the phase it leads to or None)
PHASES: dict[str, tuple[frozenset[Phase], Phase | None]] = {
    "assess": (frozenset({Phase.RECEIVED, Phase.ASSESSED}), Phase.ASSESSED),
    "activate": (frozenset({Phase.ASSESSED}), Phase.RESPONDING),
    "begin_handling": (frozenset({Phase.RESPONDING}), Phase.HANDLING),
    "terminate": (RESPONSE, Phase.TERMINATED),
    "evaluate": (frozenset({Phase.TERMINATED}), Phase.REVIEWING),
    "close": (frozenset({Phase.REVIEWING}), Phase.CLOSED),
    "order_station": (frozenset({Phase.ASSESSED, *RESPONSE}), None),
    "assign_task": (RESPONSE, None),
    "regrade": (frozenset(Phase) - {Phase.CLOSED}, None),
    "appoint": (frozenset(Phase) - {Phase.CLOSED}, None),
    "link_cases": (frozenset(Phase) - {Phase.CLOSED}, None),
    "submit_report": (frozenset(Phase) - {Phase.CLOSED}, None),
}
REPORT_LABELS = {
    ReportKind.FIRST_PHONE: "初报（电话）",
    ReportKind.FIRST_WRITTEN: "初报（书面）",
    ReportKind.PROGRESS: "续报",
    ReportKind.FINAL: "终报",
}
CAL = WorkCalendar()  # natural time throughout; the calendar is never asked for a workday


def check(state: MajorEventState, action: str, actor: Actor) -> Rejection | None:
    """Whether `actor` may take `action` now (the role and the phase)."""
    roles = REPORT_ROLES if action == "submit_report" else COMMAND_ROLES
    if actor.role not in roles:
        return Rejection(
            "forbidden",
            "major_role",
            f"role {actor.role} may not {action} a major event",
            params={"action": action},
        )
    allowed, _ = PHASES[action]
    if Phase(state.phase) not in allowed:
        return Rejection(
            "conflict",
            "major_phase",
            f"{action} is not possible in phase {state.phase}",
            params={"phase": state.phase},
        )
    return None


def check_classification(event_type: str, sub_type: str, grade: str) -> Rejection | None:
    if event_type not in EVENT_TYPES:
        return Rejection(
            "invalid", "major_event_type", f"unknown event type {event_type!r}", "event_type"
        )
    if sub_type and sub_type not in EVENT_TYPES[event_type][1]:
        return Rejection("invalid", "major_sub_type", f"unknown sub-type {sub_type!r}", "sub_type")
    if grade not in GRADES:
        return Rejection("invalid", "major_grade", f"unknown grade {grade!r}", "grade")
    return None


def lead_unit(grade: str, policy: MajorEventPolicy, city: Unit, district: Unit | None) -> Unit:
    """Who leads the response: the city for Ⅰ/Ⅱ, the district for Ⅲ/Ⅳ (configurable)."""
    if policy.lead_level.get(grade, "city") == "district" and district is not None:
        return district
    return city


def responsible(state: MajorEventState, policy: MajorEventPolicy) -> Unit:
    """Who reports: the lead centre, or before the response the one its grade names."""
    grade = state.classification.grade
    return state.lead or lead_unit(grade, policy, state.city, state.district)


def report_chain(state: MajorEventState, policy: MajorEventPolicy) -> list[Unit]:
    """Above the reporting centre: a late district report climbs to the city."""
    return [] if responsible(state, policy).id == state.city.id else [state.city]


def natural(policy: MajorEventPolicy) -> CasePolicy:
    """The case policy of every major-event clock: natural time, its reminders and grace."""
    return CasePolicy(working_time=False, reminders=policy.reminders, grace=policy.grace)


def clock_for(kind: str, start: datetime, due: datetime, policy: MajorEventPolicy) -> Clock:
    minutes = max(int((due - start).total_seconds() // 60), 1)
    clock = Clock(stage=kind, started_at=start, due_at=due, limit_minutes=minutes)
    clock.reminders_at = reminder_instants(
        now=start,
        remaining=minutes,
        limit=minutes,
        fractions=policy.reminders,
        policy=natural(policy),
        cal=CAL,
    )
    return clock


def after(start: datetime, limit: str) -> datetime:
    return add_natural_minutes(start, limit_minutes(limit, working=False, cal=CAL))


def first_reports(grade: str, received_at: datetime, policy: MajorEventPolicy) -> list[ReportDue]:
    """初报 obligations of `grade`, counted from 接报."""
    dues = []
    for kind, limits in (
        (ReportKind.FIRST_PHONE, policy.first_phone),
        (ReportKind.FIRST_WRITTEN, policy.first_written),
    ):
        if limits.get(grade):
            due = after(received_at, limits[grade])
            dues.append(ReportDue(kind.value, clock_for(kind.value, received_at, due, policy)))
    return dues


def regrade_reports(state: MajorEventState, policy: MajorEventPolicy) -> None:
    """A new grade moves the 初报 deadlines not yet met (and adds or drops the phone report)."""
    kept = [r for r in state.reports if r.kind not in FIRST or r.submitted_at is not None]
    done = {r.kind for r in kept}
    fresh = first_reports(state.classification.grade, state.received_at, policy)
    state.reports = [*[r for r in fresh if r.kind not in done], *kept]


FIRST = frozenset({ReportKind.FIRST_PHONE.value, ReportKind.FIRST_WRITTEN.value})


def next_progress_slot(after_at: datetime, policy: MajorEventPolicy) -> datetime:
    """The first 续报 time (08:00, 17:00 China time by default) after `after_at`."""
    local = after_at.astimezone(CST)
    slots = sorted(time.fromisoformat(t) for t in policy.progress_at)
    for days in range(3):
        day = local.date() + timedelta(days=days)
        for slot in slots:
            at = datetime.combine(day, slot, CST)
            if at > after_at:
                return at
    raise ValueError("no 续报 time configured")


def wants_progress(state: MajorEventState, policy: MajorEventPolicy) -> bool:
    return Phase(state.phase) in RESPONSE and state.classification.grade in policy.progress_grades


def last_progress(state: MajorEventState) -> ReportDue | None:
    return next((r for r in reversed(state.reports) if r.kind == ReportKind.PROGRESS), None)


def roll_progress(state: MajorEventState, now: datetime, policy: MajorEventPolicy) -> bool:
    """Keep one upcoming 续报 slot while the response runs; True if one was added."""
    if not wants_progress(state, policy):
        return False
    last = last_progress(state)
    if last is not None and last.clock.due_at is not None and last.clock.due_at > now:
        return False
    written = next((r for r in state.reports if r.kind == ReportKind.FIRST_WRITTEN), None)
    floor = max(now, written.clock.due_at) if written and written.clock.due_at else now
    if last is not None and last.clock.due_at is not None:
        floor = max(floor, last.clock.due_at)
    if last is not None and last.submitted_at is None:
        last.clock.next_escalation_at = None  # a missed 续报 is superseded by the next slot
    due = next_progress_slot(floor, policy)
    state.reports.append(
        ReportDue(ReportKind.PROGRESS.value, clock_for("progress", now, due, policy))
    )
    return True


def open_report(state: MajorEventState, kind: str) -> ReportDue | None:
    """The obligation a report of `kind` meets: a 续报 the slot just missed, else the next."""
    if kind == ReportKind.PROGRESS:
        slots = [r for r in state.reports if r.kind == kind][-2:]
        return next((r for r in slots if r.submitted_at is None), None)
    return next((r for r in state.reports if r.kind == kind and r.submitted_at is None), None)


def check_report(state: MajorEventState, kind: str, text: str) -> Rejection | None:
    if kind not in REPORT_LABELS:
        return Rejection("invalid", "major_report_kind", f"unknown report kind {kind!r}", "kind")
    if not text.strip():
        return Rejection("invalid", "required", "a report needs its text", "text")
    if kind != ReportKind.PROGRESS and open_report(state, kind) is None:
        return Rejection("conflict", "major_report_not_due", f"no {kind} report is due", "kind")
    return None


def report_alarm(report: ReportDue) -> datetime | None:
    """The next instant a reporting obligation wakes its workflow."""
    clock = report.clock
    if report.submitted_at is not None or clock.due_at is None:
        return None
    if not clock.overdue:
        return min([*clock.reminders_at, clock.due_at])
    return clock.next_escalation_at
