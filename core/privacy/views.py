"""The log of personal information shown unmasked (article 21), as supervisors read it: who saw
whose record, which fields, when and through which route — each supervisor the records of
their own area. `core.privacy.View` writes it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import col, func, select

from core import access
from core.db import SessionFactory, session_scope
from core.errors import CaseError
from core.models import PersonalDataView, User
from workflows.contracts import Role


class ViewFilter(BaseModel):
    viewer: str = Field(default="", max_length=64, description="a viewer's username")
    subject: str = Field(
        default="", max_length=80, description="a report's ticket, or a directory row's id"
    )
    since: datetime | None = Field(default=None, description="from (with a timezone)")
    until: datetime | None = Field(default=None, description="until (with a timezone)")


class ViewOut(BaseModel):
    at: datetime
    viewer_username: str
    viewer_role: str
    viewer_unit_id: str
    subject_kind: str
    subject_key: str
    fields: list[str]
    route: str


class ViewPage(BaseModel):
    items: list[ViewOut]
    total: int
    page: int
    size: int


def list_views(
    sessions: SessionFactory, user: User, filters: ViewFilter, *, page: int = 1, size: int = 50
) -> ViewPage:
    """The entries of records in `user`'s area, newest first.

    Raises:
        CaseError: 403 for anyone but a supervisor; 422 for a date without a timezone.
    """
    if user.role != Role.SUPERVISOR:
        raise CaseError(
            403,
            f"role {user.role} may not read the personal-data view log",
            code="supervisors_only",
        )
    query = select(PersonalDataView).where(access.covers_clause(user, PersonalDataView.area_path))
    for name, bound in (("since", filters.since), ("until", filters.until)):
        if bound is not None and bound.tzinfo is None:
            raise CaseError(422, f"{name} needs a timezone", name, code="timezone_needed")
    if filters.viewer:
        query = query.where(PersonalDataView.viewer_username == filters.viewer)
    if filters.subject:
        query = query.where(PersonalDataView.subject_key == filters.subject)
    if filters.since is not None:
        query = query.where(col(PersonalDataView.at) >= filters.since)
    if filters.until is not None:
        query = query.where(col(PersonalDataView.at) <= filters.until)
    with session_scope(sessions) as session:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        newest = (col(PersonalDataView.at).desc(), col(PersonalDataView.id).desc())
        rows = session.exec(query.order_by(*newest).offset((page - 1) * size).limit(size))
        items = [ViewOut.model_validate(r, from_attributes=True) for r in rows]
    return ViewPage(items=items, total=total, page=page, size=size)
