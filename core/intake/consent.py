"""The reporter's consent to publish their report's text (article 20).

Asked on the citizen's form (a box, unticked by default); an Open311 client posts to a public
feed, so its reports are public as the spec expects; operators record it when the caller
agreed (they do not ask today, so hotline text stays private). Recorded under the report's
own ticket in the transaction that mints the ticket, before the case exists: a case is never
public before its consent is known, and a consent without a case publishes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.models import PublicationConsent

# Who answered, by channel; a sensor's report has nobody to ask and records nothing.
BASIS = {
    "citizen": "form",
    "open311": "open311",
    "hotline": "operator",
    "web": "operator",
    "patrol": "staff",
}


def record(session: Session, ticket: str, *, channel: str, publish: bool, by: str) -> None:
    """Note whether the report `ticket` may be published; a retry keeps the first answer."""
    basis = BASIS.get(channel)
    if basis is None:
        return
    row = PublicationConsent(
        ticket=ticket, publish=publish, basis=basis, recorded_by=by, recorded_at=datetime.now(UTC)
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass  # the same external id reported again: its first answer stands


def published(session: Session, tickets: Iterable[str]) -> set[str]:
    """Which of `tickets` their reporters agreed to publish."""
    wanted = list(set(tickets))
    if not wanted:
        return set()
    query = select(PublicationConsent.ticket).where(
        col(PublicationConsent.ticket).in_(wanted), col(PublicationConsent.publish).is_(True)
    )
    return set(session.exec(query))
