"""JSON API of routing that learns: the misrouting report and the overrides supervisors accept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ApiUser, Cases
from api.errors import FORBIDDEN, NOT_FOUND
from core.bounds import RowId
from core.db import session_scope
from core.errors import CaseError
from core.routing import learning, overrides
from core.routing.overrides import OverrideIn, OverrideOut, RevokeIn
from workflows.contracts import Role

router = APIRouter(prefix="/routing", tags=["routing"])


@router.get("/suggestions", response_model=list[learning.Suggestion], responses=FORBIDDEN)
def suggestions(
    user: ApiUser,
    cases: Cases,
    since: Annotated[
        datetime | None, Query(description="closed from (default: 90 days ago)")
    ] = None,
    until: Annotated[datetime | None, Query(description="closed before (default: now)")] = None,
    min_cases: Annotated[int, Query(ge=1, le=1000)] = 5,
    min_share: Annotated[float, Query(gt=0, le=1)] = 0.3,
) -> list[learning.Suggestion]:
    """(category × street) pairs of the supervisor's area whose first dispatch was often not
    where the case ended, each with the unit it should go to first (403 for other roles)."""
    if user.role != Role.SUPERVISOR:
        raise CaseError(403, f"role {user.role} may not read the routing report")
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=90)
    for name, bound in (("since", since), ("until", until)):
        if bound.tzinfo is None:
            raise CaseError(422, f"{name} needs a timezone", name)
    with session_scope(cases.sessions) as session:
        return learning.suggestions(
            session, user, since, until, min_cases=min_cases, min_share=min_share
        )


@router.get("/overrides", response_model=list[OverrideOut])
def list_overrides(user: ApiUser, cases: Cases) -> list[OverrideOut]:
    """The routing overrides of the caller's area, newest first, ended ones included."""
    with session_scope(cases.sessions) as session:
        return overrides.listed(session, user)


@router.post("/overrides", status_code=201, response_model=OverrideOut, responses=FORBIDDEN)
def accept_override(body: OverrideIn, user: ApiUser, cases: Cases) -> OverrideOut:
    """Route `category` in the street (or district) to `unit_id` first, from the next case on;
    an override of the same pair before it ends. Supervisors of the area only."""
    with session_scope(cases.sessions) as session:
        return overrides.accept(session, user, body)


@router.post(
    "/overrides/{override_id}/revoke",
    response_model=OverrideOut,
    responses={**FORBIDDEN, **NOT_FOUND},
)
def revoke_override(override_id: RowId, body: RevokeIn, user: ApiUser, cases: Cases) -> OverrideOut:
    """End an override (kept on record with who ended it and why); routing falls back to the
    catalogue's rule."""
    with session_scope(cases.sessions) as session:
        return overrides.revoke(session, user, override_id, body)
