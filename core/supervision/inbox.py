"""A unit's inbox (待办消息): reminders, escalations and overrides addressed to it.

Who reads which message is the access policy's (core.access): the staff of the unit it is
addressed to.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, func, select

from core import access
from core.cases.service import CaseError
from core.db import SessionFactory, session_scope
from core.models import InboxItem, User


def list_inbox(
    sessions: SessionFactory, user: User, *, unread_only: bool = False, limit: int = 100
) -> list[InboxItem]:
    """The messages `user` may read, newest first."""
    query = select(InboxItem).where(access.inbox_clause(user))
    if unread_only:
        query = query.where(col(InboxItem.read_at).is_(None))
    query = query.order_by(col(InboxItem.created_at).desc(), col(InboxItem.id).desc()).limit(limit)
    with session_scope(sessions) as session:
        return list(session.exec(query))


def unread_count(sessions: SessionFactory, user: User) -> int:
    query = select(func.count()).where(access.inbox_clause(user), col(InboxItem.read_at).is_(None))
    with session_scope(sessions) as session:
        return session.exec(query).one()


def mark_read(sessions: SessionFactory, user: User, item_id: int) -> InboxItem:
    """Mark one message the user may read as read (who and when are kept)."""
    with session_scope(sessions) as session:
        item = session.get(InboxItem, item_id)
        if item is None or not access.may_see_inbox_item(user, item):
            raise CaseError(404, f"no inbox item {item_id} for unit {user.unit_id}")
        if item.read_at is None:
            item.read_at, item.read_by = datetime.now(UTC), user.username
        return item
