"""Bulk overrides: preview the cases a filter matches, then apply one override to all.

The supervisor confirms the count they saw; if the matching set has changed since, the
request is refused rather than applied to cases nobody looked at.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlmodel import func, select
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from core import access
from core.bounds import Count
from core.cases.service import ActionRequest, CaseError, CaseFilter, CaseService
from core.db import session_scope
from core.models import BulkJob, CaseRecord, Unit, User
from workflows.case.transitions import check_fields
from workflows.contracts import Action, BulkOverrideInput, BulkProgress, Role
from workflows.supervision.bulk import BulkOverrideWorkflow

BULK_ID = re.compile(r"bulk-[0-9a-f]{12}")
BULK_ACTIONS = frozenset({Action.EXTEND_DEADLINE, Action.REASSIGN, Action.CHANGE_PRIORITY})


class BulkRequest(BaseModel):
    filters: CaseFilter
    action: Action
    body: ActionRequest
    expected: Count = Field(description="the preview count the supervisor confirmed")


class Preview(BaseModel):
    count: int
    sample: list[str]  # a few tickets, to see what the filter catches


def _authorise(user: User) -> None:
    if user.role != Role.SUPERVISOR:
        raise CaseError(403, "bulk overrides are for supervisors", code="supervisors_only")


def _scoped(user: User, filters: CaseFilter) -> CaseFilter:
    """Open cases within the supervisor's own area, whatever else the filter says."""
    return filters.model_copy(update={"open_only": True, "area": user.unit_id})


def preview(cases: CaseService, user: User, filters: CaseFilter) -> Preview:
    """How many open cases of the supervisor's area the filter matches, and a few tickets."""
    _authorise(user)
    query = _scoped(user, filters).apply(select(CaseRecord))
    with session_scope(cases.sessions) as session:
        count = session.exec(select(func.count()).select_from(query.subquery())).one()
        sample = [c.ticket for c in session.exec(query.limit(5))]
    return Preview(count=count, sample=sample)


async def start(cases: CaseService, user: User, req: BulkRequest) -> str:
    """Start the fan-out; return its id. Each case still validates the override itself."""
    _authorise(user)
    if req.action not in BULK_ACTIONS:
        allowed = sorted(a.value for a in BULK_ACTIONS)
        raise CaseError(422, f"bulk action must be one of {allowed}", "action", code="not_in_list")
    command = cases.command(user, req.action, req.body)
    rejection = check_fields(req.action, command, datetime.now(UTC))
    if rejection is not None:  # refuse once here, not once per case
        raise CaseError.of(rejection)
    found = preview(cases, user, req.filters).count
    if found != req.expected:
        raise CaseError(
            409,
            f"the filter now matches {found} open cases, not {req.expected}",
            code="filter_changed",
            params={"found": found, "expected": req.expected},
        )
    bulk_id = f"bulk-{uuid.uuid4().hex[:12]}"
    command.bulk_id = bulk_id
    filters = _scoped(user, req.filters).model_dump()
    _record(cases, user, bulk_id, req, filters)
    inp = BulkOverrideInput(req.action.value, command, filters)
    await cases.client.start_workflow(
        BulkOverrideWorkflow.run, inp, id=bulk_id, task_queue=cases.settings.task_queue
    )
    return bulk_id


def _record(
    cases: CaseService, user: User, bulk_id: str, req: BulkRequest, filters: dict[str, object]
) -> None:
    """Who started which override on what, and why: the record, and what `progress` asks the
    access policy about. Written before the start, so no running override goes unrecorded."""
    job = BulkJob(
        id=bulk_id,
        created_by=user.username,
        unit_id=user.unit_id,
        action=req.action.value,
        reason=req.body.reason,
        filters=filters,
        expected=req.expected,
        created_at=datetime.now(UTC),
    )
    with session_scope(cases.sessions) as session:
        session.add(job)


def _require_job(cases: CaseService, user: User, bulk_id: str) -> None:
    """404 for an override the user may not follow (its creator's, and its supervisors')."""
    with session_scope(cases.sessions) as session:
        job = session.get(BulkJob, bulk_id) if BULK_ID.fullmatch(bulk_id) else None
        unit = session.get(Unit, job.unit_id) if job else None
        if job is None or not access.may_see_bulk(user, job, unit.path if unit else ""):
            raise CaseError(404, f"no bulk override {bulk_id!r}", code="no_bulk")


async def progress(cases: CaseService, user: User, bulk_id: str) -> BulkProgress:
    _authorise(user)
    _require_job(cases, user, bulk_id)
    handle: WorkflowHandle[BulkOverrideWorkflow, BulkProgress] = cases.client.get_workflow_handle(
        bulk_id, result_type=BulkProgress
    )
    try:
        return await handle.query(BulkOverrideWorkflow.get_progress)
    except RPCError as err:
        raise CaseError(
            404, f"no bulk override {bulk_id!r}: {err.message}", code="no_bulk"
        ) from None
