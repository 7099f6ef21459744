"""JSON API for cases: intake, lists, one case with its timeline, and human actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.deps import ApiUser, Cases, Intake
from core import privacy
from core.cases import ActionRequest, CaseFilter, IntakeRequest
from workflows.contracts import Action, CaseState

router = APIRouter(prefix="/cases", tags=["cases"])


class CaseSummary(BaseModel):
    ticket: str
    title: str
    category: str
    category_name: str
    status: str
    priority: str
    district_id: str
    assigned_unit_id: str
    assigned_unit_name: str
    stage: str
    due_at: datetime | None
    overdue: bool
    escalation_level: int
    created_at: datetime


class CaseList(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    size: int


class EventOut(BaseModel):
    seq: int
    at: datetime
    action: str
    actor_username: str
    actor_name: str
    actor_role: str
    actor_unit_id: str
    from_status: str
    to_status: str
    reason: str
    payload: dict[str, object]


class ReporterOut(BaseModel):
    """A reporter, whole for the operator who took the report and supervisors, else masked."""

    ticket: str  # the case's, or a linked report's own
    channel: str
    name: str
    phone: str
    masked: bool
    split: bool = False


class CaseDetail(BaseModel):
    case: CaseState
    timeline: list[EventOut]
    reporters: list[ReporterOut]
    attachments: list[str]


@router.post("", status_code=201, response_model=CaseState)
async def create_case(
    body: IntakeRequest, user: ApiUser, cases: Cases, intake: Intake
) -> CaseState:
    """Record a new case; the same external_id again returns the same case. A report that
    joins an open case (see POST /reports) answers with that case."""
    result = await intake.submit(cases.actor(user), body)
    return result.case


@router.get("", response_model=CaseList)
def list_cases(
    user: ApiUser,
    cases: Cases,
    filters: Annotated[CaseFilter, Query()],
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CaseList:
    """The cases the caller may see, from the read model, soonest deadline first."""
    found = cases.list_cases(filters, viewer=user, page=page, size=size)
    items = [CaseSummary.model_validate(c, from_attributes=True) for c in found.items]
    return CaseList(items=items, total=found.total, page=found.page, size=found.size)


@router.get("/{ticket}", response_model=CaseDetail)
async def get_case(ticket: str, user: ApiUser, cases: Cases) -> CaseDetail:
    """The live case state (from its workflow) and its timeline (from the audit trail); 404
    for a case the caller may not see."""
    state = await cases.visible_state(user, ticket)
    record, events = cases.get_case(ticket, user)
    timeline = [EventOut.model_validate(e, from_attributes=True) for e in events]
    people = [
        ReporterOut(
            ticket=r.ticket,
            channel=r.channel,
            split=r.split,
            **privacy.reporter(user, r.taken_by, r.name, r.phone),
        )
        for r in cases.reporters(record)
    ]
    return CaseDetail(
        case=state, timeline=timeline, reporters=people, attachments=cases.attachments(record.id)
    )


@router.post("/{ticket}/actions/{action}", response_model=CaseState)
async def act(
    ticket: str, action: Action, body: ActionRequest, user: ApiUser, cases: Cases
) -> Response:
    """Take one human action; the case's new state comes back (404: a case the caller may
    not see)."""
    await cases.check_visible(user, ticket)
    state_json = await cases.act_json(user, ticket, action.value, body)
    return Response(state_json, media_type="application/json")
