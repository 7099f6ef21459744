"""Read-model queries of the case pages: a user's queue."""

from __future__ import annotations

from sqlmodel import select

from core.cases.service import CaseFilter, CaseService
from core.db import SessionFactory, session_scope
from core.models import CaseRecord, User
from workflows.contracts import Role

QUEUE_SIZE = 200


def queue_for(cases: CaseService, user: User) -> list[CaseRecord]:
    """Open cases for `user`, soonest deadline first, of those the access policy lets them see.

    Handlers work what is assigned to their unit; centre roles watch their whole area.
    """
    if user.role == Role.HANDLER:
        filters = CaseFilter(open_only=True, unit=user.unit_id)
    else:
        filters = CaseFilter(open_only=True, area=user.unit_id)
    return cases.list_cases(filters, viewer=user, size=QUEUE_SIZE).items


def case_record(sessions: SessionFactory, ticket: str) -> CaseRecord | None:
    """The case's row of the read model; None until the projection has written it."""
    with session_scope(sessions) as session:
        return session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
