"""Ticket serials: one counter row per key (a day), bumped by a single UPDATE."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core.errors import CaseError
from core.models import TicketCounter


def next_serial(session: Session, key: str) -> int:
    """The next serial of counter `key`, creating its row the first time it is asked for."""
    for _ in range(3):
        bump = (
            update(TicketCounter)
            .where(col(TicketCounter.day) == key)
            .values(value=TicketCounter.value + 1)
            .returning(col(TicketCounter.value))
        )
        value = session.execute(bump).scalar()
        if value is not None:
            return int(value)
        try:
            with session.begin_nested():
                session.add(TicketCounter(day=key, value=0))
        except IntegrityError:
            pass  # another request created the counter first
    raise CaseError(503, "could not mint a ticket number", code="unavailable")
