"""Pure rules for what joins a case after intake: linked reports, sensor alarms, resources.

A merged report (减少重复派单) becomes a linked report of the open case it duplicates; a
dispatcher may split it back out. Alarms of one device and type join the case their first
alarm opened. The workflow's validators call the `check_*` functions; refusals use the
transitions' kinds (forbidden 403, conflict 409, invalid 422).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from workflows.contracts import (
    TERMINAL,
    AlarmSignal,
    CaseInput,
    CasePolicy,
    CaseState,
    LinkedReport,
    LinkReport,
    Role,
    SplitReport,
    Status,
)
from workflows.shared.rejection import Rejection

# A closed case waits only for its callback: a new report of the same problem is a new case.
JOINABLE = frozenset(Status) - TERMINAL - {Status.CLOSED}
LINK_ROLES = frozenset(
    {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.GRID_WORKER, Role.PUBLIC, Role.DEVICE}
)
SPLIT_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR})


def find(state: CaseState, ticket: str) -> LinkedReport | None:
    return next((r for r in state.linked_reports if r.report.ticket == ticket), None)


def check_link(state: CaseState, cmd: LinkReport) -> Rejection | None:
    if cmd.actor.role not in LINK_ROLES:
        return Rejection("forbidden", "merge_role", f"role {cmd.actor.role} may not merge reports")
    if cmd.report.ticket == state.ticket:
        return Rejection(
            "invalid", "merge_self", "a case cannot be merged into itself", "merge_into"
        )
    if find(state, cmd.report.ticket) is not None:
        return None  # a retried merge: the handler answers without recording it twice
    if refused := _not_joinable(state, "and takes no reports"):
        return refused
    if cmd.report.category != state.category:
        return Rejection(
            "invalid",
            "merge_other_category",
            "only a report of the same category can be merged",
            "category",
        )
    return None


def link(state: CaseState, cmd: LinkReport, now: datetime) -> LinkedReport | None:
    """Add the report; None when it was linked already (nothing to record)."""
    if find(state, cmd.report.ticket) is not None:
        return None
    linked = LinkedReport(report=cmd.report, linked_by=cmd.actor, linked_at=now, auto=cmd.auto)
    state.linked_reports.append(linked)
    state.report_count += 1
    state.attachments.extend(a for a in cmd.report.attachments if a not in state.attachments)
    return linked


def slim(report: CaseInput) -> CaseInput:
    """What the state keeps of a linked report: every update returns the state, so its
    policy and long text stay out (the read model has them)."""
    return dataclasses.replace(report, description=report.description[:200], policy=CasePolicy())


def check_split(state: CaseState, cmd: SplitReport) -> Rejection | None:
    if cmd.actor.role not in SPLIT_ROLES:
        return Rejection(
            "forbidden",
            "split_role",
            f"split requires role dispatcher/supervisor, not {cmd.actor.role}",
        )
    if cmd.actor.unit_id not in state.location.path:
        return Rejection(
            "forbidden", "outside_area", f"unit {cmd.actor.unit_id} does not cover this case's area"
        )
    if not cmd.reason.strip():
        return Rejection("invalid", "required", "split needs a reason", "reason")
    linked = find(state, cmd.ticket)
    if linked is None:
        return Rejection(
            "invalid",
            "report_not_linked",
            f"no report {cmd.ticket!r} is linked to this case",
            "ticket",
        )
    if linked.split_at is not None:
        return Rejection(
            "conflict",
            "report_split_already",
            f"report {cmd.ticket} was split out already",
            params={"ticket": cmd.ticket},
        )
    return None


def split(state: CaseState, cmd: SplitReport, now: datetime) -> LinkedReport:
    linked = find(state, cmd.ticket)
    assert linked is not None  # the validator guarantees it
    linked.split_at, linked.split_by, linked.split_reason = now, cmd.actor.username, cmd.reason
    state.report_count -= 1
    return linked


def check_alarm(state: CaseState, alarm: AlarmSignal) -> Rejection | None:
    return _not_joinable(state, "and takes no alarms: open a new one")


def _not_joinable(state: CaseState, why: str) -> Rejection | None:
    if state.status in JOINABLE:
        return None
    reason = f"case {state.ticket} is {state.status} {why}"
    return Rejection("conflict", "case_takes_no_reports", reason, params={"ticket": state.ticket})


def add_alarm(state: CaseState, alarm: AlarmSignal) -> None:
    state.signal_count += max(alarm.count, 1)
    state.last_signal = alarm
