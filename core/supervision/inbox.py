"""A unit's inbox (待办消息): reminders, escalations and overrides addressed to it.

Who reads which message is the access policy's (core.access): the staff of the unit it is
addressed to. Messages can be filtered (unread, kinds, one case), grouped by case (a busy case
sends many), marked read one by one or all at once; each shows a reason, its event's own or,
for what the system did on its own (reminders, escalations), what the event did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, case, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from core import access
from core.cases.service import CaseError
from core.db import SessionFactory, session_scope
from core.logs import get_logger
from core.models import InboxItem, User
from core.notify.summaries import summaries

log = get_logger(__name__)


@dataclass(frozen=True)
class InboxFilter:
    """Which messages: unread only, of these kinds (event actions), of one case's ticket."""

    unread_only: bool = False
    kinds: tuple[str, ...] = ()
    ticket: str = ""

    def clause(self, user: User) -> ColumnElement[bool]:
        parts = [access.inbox_clause(user)]
        if self.unread_only:
            parts.append(col(InboxItem.read_at).is_(None))
        if self.kinds:
            parts.append(col(InboxItem.kind).in_(self.kinds))
        if self.ticket:
            parts.append(col(InboxItem.ticket) == self.ticket)
        return and_(*parts)


@dataclass
class CaseGroup:
    """One case's messages: counts, the kinds among them, the newest few."""

    ticket: str
    title: str
    total: int
    unread: int
    latest_at: datetime
    kinds: list[str]
    items: list[InboxItem] = field(default_factory=list)


def list_inbox(
    sessions: SessionFactory,
    user: User,
    *,
    unread_only: bool = False,
    limit: int = 100,
    filters: InboxFilter | None = None,
) -> list[InboxItem]:
    """The messages `user` may read, newest first."""
    f = filters or InboxFilter(unread_only=unread_only)
    query = select(InboxItem).where(f.clause(user))
    query = query.order_by(col(InboxItem.created_at).desc(), col(InboxItem.id).desc()).limit(limit)
    with session_scope(sessions) as session:
        return list(session.exec(query))


def unread_count(sessions: SessionFactory, user: User) -> int:
    query = select(func.count()).where(access.inbox_clause(user), col(InboxItem.read_at).is_(None))
    with session_scope(sessions) as session:
        return session.exec(query).one()


def kinds_in(sessions: SessionFactory, user: User) -> list[tuple[str, int]]:
    """The kinds of message `user` may read, with how many of each are unread (for a filter)."""
    unread = func.sum(case((col(InboxItem.read_at).is_(None), 1), else_=0))
    query = (
        sa_select(col(InboxItem.kind), unread)
        .where(access.inbox_clause(user))
        .group_by(col(InboxItem.kind))
        .order_by(col(InboxItem.kind))
    )
    with session_scope(sessions) as session:
        return [(kind, int(n or 0)) for kind, n in session.execute(query)]


def reasons(sessions: SessionFactory, items: list[InboxItem]) -> dict[int, str]:
    """item id -> the reason to show: the event's own, else what the event did ("" if neither)."""
    with session_scope(sessions) as session:
        lines = summaries(session, [(i.case_id, i.seq) for i in items if not i.reason])
    return {i.id: i.reason or lines.get((i.case_id, i.seq), "") for i in items if i.id is not None}


def by_case(
    sessions: SessionFactory,
    user: User,
    filters: InboxFilter,
    *,
    page: int = 1,
    size: int = 20,
    per_case: int = 5,
) -> tuple[list[CaseGroup], int]:
    """The messages grouped by case, cases with unread ones first, then the most recent;
    with how many cases there are in all."""
    where = filters.clause(user)
    with session_scope(sessions) as session:
        total = session.exec(select(func.count(func.distinct(InboxItem.ticket))).where(where)).one()
        groups = _groups(session, where, page, size)
        tickets = [g.ticket for g in groups]
        items = _newest(session, where, tickets, per_case)
        kinds = _kinds(session, where, tickets)
    for g in groups:
        g.items, g.kinds = items.get(g.ticket, []), kinds.get(g.ticket, [])
    return groups, total


def _groups(session: Session, where: ColumnElement[bool], page: int, size: int) -> list[CaseGroup]:
    unread = func.sum(case((col(InboxItem.read_at).is_(None), 1), else_=0))
    latest = func.max(InboxItem.created_at)
    query = (
        sa_select(col(InboxItem.ticket), func.max(InboxItem.title), func.count(), unread, latest)
        .where(where)
        .group_by(col(InboxItem.ticket))
        .order_by((unread > 0).desc(), latest.desc(), col(InboxItem.ticket))
        .offset((page - 1) * size)
        .limit(size)
    )
    return [
        CaseGroup(ticket, title, count, int(n or 0), _aware(at), [])
        for ticket, title, count, n, at in session.execute(query)
    ]


def _newest(
    session: Session, where: ColumnElement[bool], tickets: list[str], per_case: int
) -> dict[str, list[InboxItem]]:
    if not tickets:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=col(InboxItem.ticket),
            order_by=(col(InboxItem.created_at).desc(), col(InboxItem.id).desc()),
        )
        .label("rank")
    )
    ranked = (
        select(col(InboxItem.id), rank).where(where, col(InboxItem.ticket).in_(tickets)).subquery()
    )
    ids = select(ranked.c.id).where(ranked.c.rank <= per_case)
    query = select(InboxItem).where(col(InboxItem.id).in_(ids))
    query = query.order_by(col(InboxItem.created_at).desc(), col(InboxItem.id).desc())
    found: dict[str, list[InboxItem]] = {}
    for item in session.exec(query):
        found.setdefault(item.ticket, []).append(item)
    return found


def _kinds(
    session: Session, where: ColumnElement[bool], tickets: list[str]
) -> dict[str, list[str]]:
    query = (
        select(InboxItem.ticket, InboxItem.kind)
        .where(where, col(InboxItem.ticket).in_(tickets))
        .distinct()
        .order_by(col(InboxItem.ticket), col(InboxItem.kind))
    )
    found: dict[str, list[str]] = {}
    for ticket, kind in session.exec(query):
        found.setdefault(ticket, []).append(kind)
    return found


def _aware(at: datetime) -> datetime:
    # Should an aggregate come back without the column's type, SQLite's value is naive UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def mark_read(sessions: SessionFactory, user: User, item_id: int) -> InboxItem:
    """Mark one message the user may read as read (who and when are kept)."""
    with session_scope(sessions) as session:
        item = session.get(InboxItem, item_id)
        if item is None or not access.may_see_inbox_item(user, item):
            raise CaseError(
                404, f"no inbox item {item_id} for unit {user.unit_id}", code="not_found"
            )
        if item.read_at is None:
            item.read_at, item.read_by = datetime.now(UTC), user.username
        return item


def mark_all_read(sessions: SessionFactory, user: User, filters: InboxFilter) -> int:
    """Mark every unread message `filters` selects as read by `user`; return how many."""
    where = filters.clause(user)
    now = datetime.now(UTC)
    with session_scope(sessions) as session:
        done = session.execute(
            update(InboxItem)
            .where(where, col(InboxItem.read_at).is_(None))
            .values(read_at=now, read_by=user.username)
        )
        count = int(done.rowcount)  # type: ignore[attr-defined]
    log.info("inbox_marked_read", user=user.username, count=count, ticket=filters.ticket)
    return count
