"""JSON API of the personal-data view log (article 21): supervisors read their area's entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ApiUser, Cases
from api.errors import FORBIDDEN
from core.bounds import PageNumber, PageSize
from core.privacy.views import ViewFilter, ViewPage, list_views

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/personal-data-views", response_model=ViewPage, responses=FORBIDDEN)
def personal_data_views(
    user: ApiUser,
    cases: Cases,
    filters: Annotated[ViewFilter, Query()],
    page: PageNumber = 1,
    size: PageSize = 50,
) -> ViewPage:
    """Who saw whose personal information unmasked, which fields, when and where: the
    records of the supervisor's own area, newest first (403 for other roles)."""
    return list_views(cases.sessions, user, filters, page=page, size=size)
