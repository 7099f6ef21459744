"""The e-mail address a reporter left for being told (the phone travels with the report).

Recorded under the report's own ticket in the transaction that mints the ticket, like the
publication consent (core/intake/consent.py): the workflow never carries it, and a report
merged into a case or split back out keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.models import ReporterContact


def record(session: Session, ticket: str, email: str) -> None:
    """Keep `email` for the report `ticket`; none given, nothing kept; a retry keeps the first."""
    if not email:
        return
    row = ReporterContact(ticket=ticket, email=email, recorded_at=datetime.now(UTC))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass  # the same external id reported again: the first address stands


def emails(session: Session, tickets: Iterable[str]) -> dict[str, str]:
    """ticket -> e-mail, for those of `tickets` that left one."""
    wanted = list(set(tickets))
    if not wanted:
        return {}
    query = select(ReporterContact).where(col(ReporterContact.ticket).in_(wanted))
    return {row.ticket: row.email for row in session.exec(query)}
