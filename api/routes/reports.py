"""JSON API for reports at intake: submit (opens or joins a case), duplicate candidates,
category suggestions, and splitting a wrongly merged report back out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ApiUser, Cases, IdempotencyKey, Intake
from api.errors import ACTION_RESPONSES, INTAKE_RESPONSES
from core.cases.service import IntakeRequest
from core.db import session_scope
from core.intake.dedup import Candidate
from core.intake.service import suggest_categories
from workflows.contracts import CaseState

router = APIRouter(tags=["intake"])


class ReportOut(BaseModel):
    ticket: str = Field(description="the report's own ticket; it follows the case it joined")
    case_ticket: str
    merged: bool
    tracking_token: str
    case: CaseState


class SuggestionOut(BaseModel):
    category: str
    name: str
    hits: int


class SplitIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/reports", status_code=201, response_model=ReportOut, responses=INTAKE_RESPONSES)
async def submit_report(
    body: IntakeRequest, user: ApiUser, cases: Cases, intake: Intake, key: IdempotencyKey = ""
) -> ReportOut:
    """Report an event: opens a case, or (merge_into, or a certain duplicate with
    duplicates=auto) joins an open one as a linked report. With duplicates=ask (the default)
    nearby open cases of the category come back as 409 with `candidates`."""
    result = await intake.submit(cases.actor(user), body, key=key)
    return ReportOut(
        ticket=result.ticket,
        case_ticket=result.case.ticket,
        merged=result.merged,
        tracking_token=result.tracking_token,
        case=result.case,
    )


@router.get("/intake/duplicates", response_model=list[Candidate])
def duplicate_candidates(
    user: ApiUser,
    intake: Intake,
    category: Annotated[str, Query(min_length=1, max_length=64)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> list[Candidate]:
    """Open cases of `category` within its radius and window of the point, nearest first, of
    those the caller may see."""
    return intake.duplicates(user, category, lat, lon)


@router.get("/intake/suggest", response_model=list[SuggestionOut])
def suggest(
    _user: ApiUser, cases: Cases, text: Annotated[str, Query(max_length=5000)]
) -> list[SuggestionOut]:
    """Categories the catalog's keyword rules suggest for a description."""
    with session_scope(cases.sessions) as session:
        found = suggest_categories(session, text)
        return [SuggestionOut(category=c.key, name=c.name, hits=n) for c, n in found]


# The split report starts as a case of its own: routing may not have answered yet (202).
@router.post(
    "/cases/{ticket}/reports/{report}/split",
    status_code=201,
    response_model=CaseState,
    responses={**ACTION_RESPONSES, 202: INTAKE_RESPONSES[202]},
)
async def split_report(
    ticket: str, report: str, body: SplitIn, user: ApiUser, cases: Cases, intake: Intake
) -> CaseState:
    """A dispatcher splits a wrongly merged report out: it becomes a case of its own, under
    its own ticket; the new case comes back."""
    return await intake.split(cases.actor(user), ticket, report, body.reason)
