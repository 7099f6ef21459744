"""JSON API for bulk overrides: preview the matching cases, start, follow progress."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ApiUser, Cases
from api.errors import CONFLICT, FORBIDDEN, NOT_FOUND
from core.cases.service import CaseFilter
from core.supervision import overrides
from workflows.contracts import BulkProgress

router = APIRouter(prefix="/overrides", tags=["overrides"])


class Started(BaseModel):
    id: str


@router.post("/preview", response_model=overrides.Preview, responses=FORBIDDEN)
def preview(filters: CaseFilter, user: ApiUser, cases: Cases) -> overrides.Preview:
    """How many open cases of the supervisor's area a filter matches, with a few tickets."""
    return overrides.preview(cases, user, filters)


@router.post("", status_code=202, response_model=Started, responses={**FORBIDDEN, **CONFLICT})
async def start(req: overrides.BulkRequest, user: ApiUser, cases: Cases) -> Started:
    """Apply one override to every open case the filter matches (supervisors only)."""
    return Started(id=await overrides.start(cases, user, req))


@router.get("/{bulk_id}", response_model=BulkProgress, responses={**FORBIDDEN, **NOT_FOUND})
async def progress(bulk_id: str, user: ApiUser, cases: Cases) -> BulkProgress:
    """How far a bulk override has come, and which cases refused it and why."""
    return await overrides.progress(cases, user, bulk_id)
