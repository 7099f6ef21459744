"""Reset a stuck case to an earlier decision point (a supervisor's last resort).

A decision point is a workflow task the case's workflow completed: Temporal's reset starts a new
run of the same workflow id that replays the history up to that task and decides it again with
today's code. What the case did from that task on is undone in the workflow: human actions
(updates) are not replayed, machine inputs (signals: alarms, whistle progress, notes) are. The
stored timeline keeps the undone steps (article 21); a `reset` event after them says who went
back where and why, signalled to the new run right after the reset (the dev server takes no
post-reset operations yet).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyExcludeType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from core import access
from core.cases.service import CaseService, rpc_error
from core.db import session_scope
from core.errors import CaseError
from core.logs import get_logger
from core.models import CaseRecord, User
from workflows.contracts import ResetNote

log = get_logger(__name__)
MAX_POINTS = 100  # the latest; a case stuck for longer needs an operator with the CLI
MAX_REASON = 500
RESET_SIGNAL = "record_reset"  # CaseWorkflow.record_reset


@dataclass
class DecisionPoint:
    """A workflow task the case completed; resetting to it undoes `undoes` and what followed."""

    event_id: int
    at: datetime
    undoes: list[str] = field(default_factory=list)  # "update:accept", "activity:route_case"


async def decision_points(cases: CaseService, user: User, ticket: str) -> list[DecisionPoint]:
    """The points the case can go back to, latest first (supervisors over its area only)."""
    record = _resettable(cases, user, ticket)
    handle = cases.client.get_workflow_handle(record.id)
    try:
        history = await handle.fetch_history()
    except RPCError as err:
        raise rpc_error(err, ticket) from None
    return list(reversed(points_of(list(history.events))))[:MAX_POINTS]


def points_of(events: list[HistoryEvent]) -> list[DecisionPoint]:
    """Every completed workflow task, with what it and the tasks until the next did."""
    points: list[DecisionPoint] = []
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            points.append(DecisionPoint(event.event_id, event.event_time.ToDatetime(tzinfo=UTC)))
        elif points and (what := _what(event)):
            points[-1].undoes.append(what)
    return points


def _what(event: HistoryEvent) -> str:
    """What the task did, as an event after it records it (an update it accepted, an activity
    or a child it started), or ""."""
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        update = event.workflow_execution_update_accepted_event_attributes.accepted_request
        return f"update:{update.input.name}"
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return f"activity:{event.activity_task_scheduled_event_attributes.activity_type.name}"
    if kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        child = event.start_child_workflow_execution_initiated_event_attributes
        return f"child:{child.workflow_id}"
    return ""  # signals and fired timers came from outside the task: they are replayed


async def reset(
    cases: CaseService, user: User, ticket: str, event_id: int, reason: str, *, key: str = ""
) -> str:
    """Reset the case to decision point `event_id`, noting who and why; return the new run id.

    `key` (the client's Idempotency-Key) makes a retried request find the reset it made.
    """
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise CaseError(
            422, f"a reset needs a reason (1-{MAX_REASON} characters)", "reason", code="required"
        )
    record = _resettable(cases, user, ticket)
    handle = cases.client.get_workflow_handle(record.id)
    try:
        described = await handle.describe()
        if described.status != WorkflowExecutionStatus.RUNNING:
            raise CaseError(
                409, f"case {ticket} is finished and takes no more actions", code="case_finished"
            )
        history = await handle.fetch_history()
    except RPCError as err:
        raise rpc_error(err, ticket) from None
    if event_id not in {p.event_id for p in points_of(list(history.events))}:
        raise CaseError(
            422,
            f"event {event_id} is no decision point of case {ticket}",
            "event_id",
            code="not_decision_point",
        )
    note = ResetNote(cases.actor(user), reason, event_id, after_seq=record.last_seq)
    request = ResetWorkflowExecutionRequest(
        namespace=cases.client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=record.id, run_id=described.run_id),
        reason=f"{user.username}: {reason}",
        workflow_task_finish_event_id=event_id,
        request_id=f"{user.username}:{record.id}:{key}" if key else str(uuid.uuid4()),
        # Human actions after the point are what a reset undoes; machine inputs still happened.
        reset_reapply_exclude_types=[ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE],
        identity=user.username,
    )
    try:
        done = await cases.client.workflow_service.reset_workflow_execution(request)
        # To the new run only (the workflow notes a retried reset, the same run again, once).
        new_run = cases.client.get_workflow_handle(record.id, run_id=done.run_id)
        await new_run.signal(RESET_SIGNAL, note)
    except RPCError as err:
        raise rpc_error(err, ticket) from None
    log.info(
        "case_reset", case_id=record.id, event_id=event_id, user=user.username, run=done.run_id
    )
    return done.run_id


def _resettable(cases: CaseService, user: User, ticket: str) -> CaseRecord:
    """The case as the read model has it (a stuck workflow may answer no query), if `user`
    may reset it: 404 for a case they may not see, 403 for one they see but may not reset."""
    with session_scope(cases.sessions) as session:
        record = access.visible_case(session, user, ticket)
        if record is None:
            raise CaseError(404, f"no case with ticket {ticket!r}", code="no_case")
        if not access.may_reset(user, access.scope_of_record(session, record)):
            raise CaseError(
                403, "a reset is for supervisors over the case's area", code="reset_role"
            )
        session.expunge(record)
    return record
