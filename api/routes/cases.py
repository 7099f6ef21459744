"""JSON API for cases: intake, lists, one case with its timeline, and human actions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import ApiUser, Cases, IdempotencyKey, Intake, Types
from api.errors import ACTION_RESPONSES, INTAKE_RESPONSES, NOT_FOUND
from core.bounds import PageNumber, PageSize
from core.cases import audit
from core.cases.service import ActionRequest, CaseFilter, IntakeRequest
from core.cases.types import parse
from core.privacy import masking as privacy
from workflows import registry
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


def _body_schema(*models: type[BaseModel]) -> dict[str, Any]:
    """The request body as OpenAPI shows it: any of the types' intake models."""
    schemas = [m.model_json_schema() for m in models]
    content = {
        "application/json": {"schema": {"anyOf": schemas} if len(schemas) > 1 else schemas[0]}
    }
    return {"requestBody": {"required": True, "content": content}}


def _intake_models() -> list[type[BaseModel]]:
    """Each startable type's intake body (the registry names its service), city event first."""
    others = [t for t in registry.all_types() if t.startable and t.service]
    return [IntakeRequest, *(registry.load(t.service).intake_model for t in others)]


async def json_body(request: Request) -> Any:
    """The body as FastAPI reads a model's: JSON if it says so, refused the way FastAPI
    refuses a missing, malformed (422) or undecodable (400, answered 422 on `body`) one."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
        )
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if not (kind.startswith("application/") and (kind.endswith("/json") or kind.endswith("+json"))):
        return raw  # refused by the model, as FastAPI refuses it
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        error = {"type": "json_invalid", "loc": ("body", err.pos), "msg": "JSON decode error"}
        raise RequestValidationError([error]) from None
    except ValueError:
        raise HTTPException(400, "There was an error parsing the body") from None


@router.post(
    "",
    status_code=201,
    response_model=CaseState,
    responses=INTAKE_RESPONSES,
    openapi_extra=_body_schema(*_intake_models()),
)
async def create_case(
    request: Request,
    user: ApiUser,
    cases: Cases,
    intake: Intake,
    types: Types,
    key: IdempotencyKey = "",
) -> Any:
    """Record a new case of `case_type` (default the city event); the same external_id or
    Idempotency-Key again returns the same case. A report that joins an open case (see POST
    /reports) answers with that case. Other types answer with their own state."""
    raw = await json_body(request)
    name = raw.get("case_type", registry.CITY_EVENT.name) if isinstance(raw, dict) else ""
    if name != registry.CITY_EVENT.name and registry.get(str(name)) is not None:
        state = await types.start(user, str(name), raw, key=key)
        return JSONResponse(jsonable_encoder(state), status_code=201)
    body = parse(IntakeRequest, raw)
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
async def get_case(ticket: str, user: ApiUser, cases: Cases, types: Types) -> Any:
    """The live case state and its timeline, both from its workflow (complete at once); 404
    for a case the caller may not see. Other types answer {case_type, case, timeline}."""
    if types.handles(ticket):
        found = await types.detail(user, ticket)
        timeline = [event_out(e) for e in found.timeline]
        body = {"case_type": found.case_type, "case": found.case, "timeline": timeline}
        return JSONResponse(jsonable_encoder(body))
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


@router.post(
    "/{ticket}/actions/{action}",
    response_model=CaseState,
    responses=ACTION_RESPONSES,
    openapi_extra=_body_schema(ActionRequest),
)
async def act(
    ticket: str,
    action: str,
    request: Request,
    user: ApiUser,
    cases: Cases,
    types: Types,
    key: IdempotencyKey = "",
) -> Response:
    """Take one human action; the case's new state comes back (404: a case the caller may
    not see). Send an Idempotency-Key to make retries safe. A type's actions and their
    bodies are listed by GET /case-types."""
    raw = await json_body(request)
    if types.handles(ticket):
        result = await types.act(user, ticket, action, raw, key=key)
        return JSONResponse(jsonable_encoder(result))
    act = parse(Action, action, loc=("path", "action"))
    body = parse(ActionRequest, raw)
    state_json = await cases.act_json(user, ticket, act.value, body, key=key)
    return Response(state_json, media_type="application/json")
