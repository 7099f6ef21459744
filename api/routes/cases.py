"""JSON API for cases: intake, lists, one case with its timeline, and human actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.deps import ApiUser, Cases, IdempotencyKey, Intake
from api.errors import ACTION_RESPONSES, INTAKE_RESPONSES, NOT_FOUND
from core.bounds import PageNumber, PageSize
from core.cases import audit
from core.cases.service import ActionRequest, CaseFilter, IntakeRequest
from core.privacy import masking as privacy
from workflows.contracts import Action, CaseEvent, CaseState

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
    """A reporter, whole for the operator who took the report and supervisors of the case's
    area (each such view logged), else masked."""

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


@router.post("", status_code=201, response_model=CaseState, responses=INTAKE_RESPONSES)
async def create_case(
    body: IntakeRequest, user: ApiUser, cases: Cases, intake: Intake, key: IdempotencyKey = ""
) -> CaseState:
    """Record a new case; the same external_id or Idempotency-Key again returns the same case.
    A report that joins an open case (see POST /reports) answers with that case."""
    result = await intake.submit(cases.actor(user), body, key=key)
    return result.case


@router.get("", response_model=CaseList)
def list_cases(
    user: ApiUser,
    cases: Cases,
    filters: Annotated[CaseFilter, Query()],
    page: PageNumber = 1,
    size: PageSize = 50,
) -> CaseList:
    """The cases the caller may see, from the read model, soonest deadline first."""
    found = cases.list_cases(filters, viewer=user, page=page, size=size)
    items = [CaseSummary.model_validate(c, from_attributes=True) for c in found.items]
    return CaseList(items=items, total=found.total, page=found.page, size=found.size)


@router.get("/{ticket}", response_model=CaseDetail, responses=NOT_FOUND)
async def get_case(ticket: str, user: ApiUser, cases: Cases) -> CaseDetail:
    """The live case state and its timeline, both from its workflow (complete at once); 404
    for a case the caller may not see."""
    state = await cases.visible_state(user, ticket)
    events = await cases.live_timeline(state)
    view = privacy.View(user)
    people = [
        ReporterOut(
            ticket=r.ticket,
            channel=r.channel,
            split=r.split,
            **privacy.reporter(
                view,
                ticket=r.ticket,
                case_ticket=state.ticket,
                area_path=privacy.path_of(state.location.path),
                taken_by=r.taken_by,
                name=r.name,
                phone=r.phone,
            ),
        )
        for r in cases.reporters_of(state)
    ]
    view.record(cases.sessions)
    files = list(dict.fromkeys([*cases.attachments(state.case_id), *state.attachments]))
    return CaseDetail(
        case=state, timeline=[event_out(e) for e in events], reporters=people, attachments=files
    )


def event_out(e: CaseEvent) -> EventOut:
    return EventOut(seq=e.seq, **audit.event_columns(e))


@router.post("/{ticket}/actions/{action}", response_model=CaseState, responses=ACTION_RESPONSES)
async def act(
    ticket: str,
    action: Action,
    body: ActionRequest,
    user: ApiUser,
    cases: Cases,
    key: IdempotencyKey = "",
) -> Response:
    """Take one human action; the case's new state comes back (404: a case the caller may
    not see). Send an Idempotency-Key to make retries safe."""
    state_json = await cases.act_json(user, ticket, action.value, body, key=key)
    return Response(state_json, media_type="application/json")
