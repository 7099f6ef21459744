"""What each checked action does to a case's state, and how the stage clock follows.

Pure: the workflow passes `now` and its clock helper; each function returns what the audit
trail keeps, including `notify`, the units whose inbox the event lands in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows.case.clock import StageClock
from workflows.case.transitions import SUPERVISOR_OVERRIDES
from workflows.contracts import (
    Action,
    CaseState,
    Clock,
    Command,
    PendingExtension,
    Stage,
    Status,
    Unit,
)

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
# Overrides land in the holding unit's inbox (reassignments in the new holder's too).
OVERRIDES = SUPERVISOR_OVERRIDES | {Action.PARK, Action.UNPARK, Action.DECIDE_EXTENSION}


def assign(state: CaseState, unit: Unit, chain: list[Unit]) -> None:
    """Give the case to `unit`; the first receiver stays on record (首接负责)."""
    state.assigned_unit = unit
    state.escalation_chain = list(chain)
    state.pending_extension = None
    if state.first_unit is None:
        state.first_unit = unit


def apply(
    state: CaseState, action: Action, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    """Change the fields `action` touches; return the event payload."""
    payload: dict[str, Any] = {"note": cmd.note} if cmd.note else {}
    holder = state.assigned_unit.id if state.assigned_unit else ""
    handler = _HANDLERS.get(action)
    if handler is not None:
        payload.update(handler(state, cmd, to, now, clock))
    if cmd.evidence and "evidence" not in payload:
        payload["attachments"] = list(cmd.evidence)  # photos with a progress note
    if cmd.bulk_id:
        payload["bulk_id"] = cmd.bulk_id
    if action in OVERRIDES:
        payload["notify"] = sorted({u for u in (holder, *payload.get("notify", [])) if u})
    return payload


def _dispatch(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    assign(state, Unit(cmd.unit_id, cmd.unit_name or cmd.unit_id), cmd.unit_chain)
    return {"unit": cmd.unit_id, "notify": [cmd.unit_id]}


def _return(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    state.return_count += 1
    if state.assigned_unit:
        state.returned_by.append(state.assigned_unit.id)
    return {}


def _feedback(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    state.result, state.evidence = cmd.note, list(cmd.evidence)
    return {"evidence": list(cmd.evidence)}


def _verify(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    state.rework_count += 0 if cmd.passed else 1
    return {"passed": cmd.passed}


def _callback(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    state.rating = cmd.rating
    if to is Status.REWORK:
        state.reopen_count += 1
    if not cmd.outcome:
        return {"rating": cmd.rating}  # as recorded before outcomes
    state.callback_outcome = cmd.outcome
    return {"rating": cmd.rating, "outcome": cmd.outcome}


def _request_extension(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    state.pending_extension = PendingExtension(cmd.hours, cmd.reason, cmd.actor.username, now)
    return {"hours": cmd.hours}


def _decide_extension(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    pending = state.pending_extension
    assert pending is not None  # the validator guarantees it
    state.pending_extension = None
    if cmd.approve and state.clock.due_at is not None:
        clock.extend(state.clock, now, pending.hours * 60)
        state.extension_count += 1
        state.escalated_to = None
    return {"approved": cmd.approve, "hours": pending.hours, "due_at": iso(state.clock.due_at)}


def _extend(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    clock.extend(state.clock, now, cmd.hours * 60)
    state.extension_count += 1
    state.escalated_to = None
    return {"hours": cmd.hours, "due_at": iso(state.clock.due_at)}


def _reassign(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    previous = state.assigned_unit.id if state.assigned_unit else ""
    assign(state, Unit(cmd.unit_id, cmd.unit_name or cmd.unit_id), cmd.unit_chain)
    return {"unit": cmd.unit_id, "from_unit": previous, "notify": [cmd.unit_id]}


def _change_category(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    before = state.category
    state.category, state.category_name = cmd.category, cmd.category_name or cmd.category
    state.category_kind = cmd.category_kind or state.category_kind
    return {"category": cmd.category, "from_category": before}


def _change_priority(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    before, state.priority = state.priority, cmd.priority
    return {"priority": cmd.priority, "from_priority": before}


def _de_escalate(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    level = state.clock.escalation_level
    state.clock.escalation_level, state.escalated_to = 0, None
    return {"from_level": level}


def _park(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    state.review_at = cmd.review_at
    return {"review_at": iso(cmd.review_at)}


def _unpark(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    state.review_at = None
    return {}


def _force_close(
    state: CaseState, cmd: Command, to: Status, now: datetime, clock: StageClock
) -> dict[str, Any]:
    state.result = cmd.note
    return {"forced": True}


_HANDLERS = {
    Action.DISPATCH: _dispatch,
    Action.RETURN: _return,
    Action.SUBMIT_FEEDBACK: _feedback,
    Action.VERIFY: _verify,
    Action.CALLBACK: _callback,
    Action.CITIZEN_RATE: _callback,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.DECIDE_EXTENSION: _decide_extension,
    Action.EXTEND_DEADLINE: _extend,
    Action.REASSIGN: _reassign,
    Action.CHANGE_CATEGORY: _change_category,
    Action.CHANGE_PRIORITY: _change_priority,
    Action.DE_ESCALATE: _de_escalate,
    Action.PARK: _park,
    Action.UNPARK: _unpark,
    Action.FORCE_CLOSE: _force_close,
}
# A new unit starts the stage afresh; a new category or priority recounts it from its start,
# so that a recategorisation is not a free extension.
RESTART_FRESH = frozenset({Action.DISPATCH, Action.REASSIGN})
RESTART_FROM_START = frozenset({Action.CHANGE_CATEGORY, Action.CHANGE_PRIORITY})


def move_clock(
    state: CaseState,
    before: Status,
    to: Status,
    now: datetime,
    clock: StageClock,
    *,
    action: Action | None = None,
) -> None:
    """Start a new stage clock when the stage changes; pause it while parked."""
    current = state.clock
    if to is Status.PARKED:
        clock.pause(current, now)
        return
    if before is Status.PARKED and current.paused_remaining_minutes is not None:
        clock.resume(current, now)
        return
    stage = STAGE_OF.get(to)
    if stage is None:
        state.clock = Clock()
    elif clock.supervised and action in RESTART_FRESH | RESTART_FROM_START:
        keep = action in RESTART_FROM_START and current.stage == stage.value
        start = current.started_at if keep and current.started_at else now
        _restart(state, clock.start(stage, start, priority=state.priority), now, clock)
    elif stage.value != current.stage or to is Status.REWORK:
        _restart(state, clock.start(stage, now, priority=state.priority), now, clock)


def _restart(state: CaseState, fresh: Clock, now: datetime, clock: StageClock) -> None:
    clock.arm_reminders(fresh, now)  # reminders count from now, never from a past start
    state.clock = fresh
    state.escalated_to = None


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""
