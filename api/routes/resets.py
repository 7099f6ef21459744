"""JSON API for resetting a stuck case to an earlier decision point (supervisors over its area;
core/cases/reset.py, docs/replay.md)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import ApiUser, Cases, IdempotencyKey
from api.errors import ACTION_RESPONSES, FORBIDDEN, NOT_FOUND
from core.cases import reset as resets

router = APIRouter(tags=["cases"])


class DecisionPointOut(BaseModel):
    event_id: int = Field(description="the WorkflowTaskCompleted event to reset to")
    at: datetime
    undoes: list[str] = Field(description='what going back undoes first: "update:accept", …')


class ResetIn(BaseModel):
    event_id: int = Field(gt=0, le=2**62)
    reason: str = Field(min_length=1, max_length=resets.MAX_REASON)


class ResetOut(BaseModel):
    ticket: str
    run_id: str = Field(description="the workflow run the reset started")


@router.get(
    "/cases/{ticket}/decision-points",
    response_model=list[DecisionPointOut],
    responses={**FORBIDDEN, **NOT_FOUND},
)
async def decision_points(ticket: str, user: ApiUser, cases: Cases) -> list[DecisionPointOut]:
    """The points the case can be reset to, latest first."""
    points = await resets.decision_points(cases, user, ticket)
    return [DecisionPointOut(event_id=p.event_id, at=p.at, undoes=p.undoes) for p in points]


@router.post("/cases/{ticket}/reset", response_model=ResetOut, responses=ACTION_RESPONSES)
async def reset_case(
    ticket: str, body: ResetIn, user: ApiUser, cases: Cases, key: IdempotencyKey = ""
) -> ResetOut:
    """Reset the case to a decision point; the reason goes on its timeline with who did it."""
    run_id = await resets.reset(cases, user, ticket, body.event_id, body.reason, key=key)
    return ResetOut(ticket=ticket, run_id=run_id)
