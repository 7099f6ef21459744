"""JSON API for 吹哨报到: whistles on a case, a department's steps, queues, boards, statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from api.deps import ApiUser, Cases
from api.errors import ACTION_RESPONSES, FORBIDDEN, NOT_FOUND
from api.routes.cases import EventOut
from core import whistles
from workflows.contracts import CaseState, WhistleState

router = APIRouter(tags=["whistles"])


class WhistleDetailOut(BaseModel):
    whistle: WhistleState
    timeline: list[EventOut]


@router.post("/cases/{ticket}/whistles", response_model=CaseState, responses=ACTION_RESPONSES)
async def blow(ticket: str, body: whistles.BlowRequest, user: ApiUser, cases: Cases) -> CaseState:
    """Blow a whistle: summon departments to report (the case then shows their progress)."""
    return await whistles.blow(cases, user, ticket, body)


@router.post(
    "/cases/{ticket}/whistles/approve", response_model=CaseState, responses=ACTION_RESPONSES
)
async def approve(
    ticket: str, body: whistles.ApproveRequest, user: ApiUser, cases: Cases
) -> CaseState:
    """A district supervisor approves a whistle that needs it (攻坚克难哨)."""
    return await whistles.approve(cases, user, ticket, body)


@router.post("/cases/{ticket}/whistles/close", response_model=CaseState, responses=ACTION_RESPONSES)
async def close(ticket: str, body: whistles.CloseRequest, user: ApiUser, cases: Cases) -> CaseState:
    """The whistle-blower closes the open whistle early, with a reason."""
    return await whistles.close(cases, user, ticket, body)


@router.post("/cases/{ticket}/whistles/rate", response_model=CaseState, responses=ACTION_RESPONSES)
async def rate(ticket: str, body: whistles.RateRequest, user: ApiUser, cases: Cases) -> CaseState:
    """The whistle-blower rates one department's response (1–5 and a note)."""
    return await whistles.rate(cases, user, ticket, body)


@router.post(
    "/whistles/{whistle_id}/actions/{action}",
    response_model=WhistleState,
    responses=ACTION_RESPONSES,
)
async def act(
    whistle_id: str,
    action: Literal["sign", "contact", "report"],
    body: whistles.StepRequest,
    user: ApiUser,
    cases: Cases,
) -> WhistleState:
    """A summoned department signs (签收), contacts the street (联系) or reports (报到)."""
    return await whistles.act(cases, user, whistle_id, action, body)


@router.get("/whistles", response_model=list[whistles.WhistleOut], responses=FORBIDDEN)
def list_whistles(
    request: Request,
    user: ApiUser,
    unit: Annotated[str, Query(max_length=64)] = "",
    open: bool = False,
) -> list[whistles.WhistleOut]:
    """A department's queue and a street's board: whistles summoning or blown by `unit`."""
    sessions, settings = request.app.state.sessions, request.app.state.settings
    return whistles.list_whistles(sessions, settings, user, unit=unit, open_only=open)


@router.get("/whistles/{whistle_id}", response_model=WhistleDetailOut, responses=NOT_FOUND)
async def get_whistle(whistle_id: str, user: ApiUser, cases: Cases) -> WhistleDetailOut:
    """The live whistle (its workflow) and its timeline."""
    found = await whistles.detail(cases, user, whistle_id)
    timeline = [EventOut.model_validate(e, from_attributes=True) for e in found.timeline]
    return WhistleDetailOut(whistle=found.whistle, timeline=timeline)


@router.get("/stats/whistles", response_model=whistles.WhistleStats, responses=FORBIDDEN)
def whistle_stats(
    request: Request, user: ApiUser, district: str = "", at: datetime | None = None
) -> whistles.WhistleStats:
    """吹哨率 per street; 及时签收率, 报到及时率 and average rating per department."""
    return whistles.stats(request.app.state.sessions, user, district=district, now=at)
