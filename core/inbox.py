"""A unit's inbox (待办消息): reminders, escalations and overrides addressed to it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, func, select

from core.cases import CaseError
from core.db import SessionFactory, session_scope
from core.models import InboxItem, User


def list_inbox(
    sessions: SessionFactory, unit_id: str, *, unread_only: bool = False, limit: int = 100
) -> list[InboxItem]:
    """Newest first."""
    query = select(InboxItem).where(InboxItem.unit_id == unit_id)
    if unread_only:
        query = query.where(col(InboxItem.read_at).is_(None))
    query = query.order_by(col(InboxItem.created_at).desc(), col(InboxItem.id).desc()).limit(limit)
    with session_scope(sessions) as session:
        return list(session.exec(query))


def unread_count(sessions: SessionFactory, unit_id: str) -> int:
    query = select(func.count()).where(
        InboxItem.unit_id == unit_id, col(InboxItem.read_at).is_(None)
    )
    with session_scope(sessions) as session:
        return session.exec(query).one()


def mark_read(sessions: SessionFactory, user: User, item_id: int) -> InboxItem:
    """Mark one item of the user's unit read (who and when are kept)."""
    with session_scope(sessions) as session:
        item = session.get(InboxItem, item_id)
        if item is None or item.unit_id != user.unit_id:
            raise CaseError(404, f"no inbox item {item_id} for unit {user.unit_id}")
        if item.read_at is None:
            item.read_at, item.read_by = datetime.now(UTC), user.username
        return item
