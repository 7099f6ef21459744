"""Work queues per role: tabs with counts, search, filters and paging, all in SQL.

A tab is a `where` on the read model's `cases` table, on top of the one access policy
(`core.access.case_clause`): a queue never shows a case its user may not see. The counts and
the page's total are SQL counts, never the length of a truncated list.

Search matches the ticket, the address, the title and the description by substring, and a
phone number only whole (its digits, a leading +86 ignored), on the case's reporter and on its
linked reports'. A masked phone (138****1234) must not be recoverable by probing its hidden
digits, so a partial number finds nothing; results show phones as the viewer may see them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, true
from sqlmodel import Session, col, select

from core import access
from core.db import SessionFactory, session_scope
from core.models import CaseRecord, LinkedReportRecord, User
from workflows.contracts import TERMINAL, Role, Status

# A case is 即将超期 when its stage deadline is this close (natural time).
DUE_SOON = timedelta(hours=2)
PAGE_SIZE = 20
PHONE_DIGITS = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")


class Tab(StrEnum):
    """The queues' tabs; web/labels.py names them."""

    TO_REGISTER = "to_register"  # 待立案
    TO_DISPATCH = "to_dispatch"  # 待派遣
    RETURNED = "returned"  # 被退回
    TO_ACCEPT = "to_accept"  # 待签收
    HANDLING = "handling"  # 处置中
    REWORK = "rework"  # 返工
    TO_VERIFY = "to_verify"  # 待核查
    TO_CALLBACK = "to_callback"  # 待回访
    MINE = "mine"  # 我受理的
    OVERDUE = "overdue"  # 已超期
    DUE_SOON = "due_soon"  # 即将超期
    ESCALATED = "escalated"  # 已升级
    PARKED = "parked"  # 挂账
    REPORTED = "reported"  # 我的上报
    OPEN = "open"  # 全部待办: every open case of the user's scope


TABS: dict[Role, tuple[Tab, ...]] = {
    Role.DISPATCHER: (Tab.TO_REGISTER, Tab.TO_DISPATCH, Tab.RETURNED, Tab.OPEN),
    Role.HANDLER: (Tab.TO_ACCEPT, Tab.HANDLING, Tab.REWORK, Tab.OPEN),
    Role.VERIFIER: (Tab.TO_VERIFY, Tab.OPEN),
    Role.OPERATOR: (Tab.TO_CALLBACK, Tab.MINE, Tab.OPEN),
    Role.SUPERVISOR: (Tab.OVERDUE, Tab.DUE_SOON, Tab.ESCALATED, Tab.PARKED, Tab.OPEN),
    Role.GRID_WORKER: (Tab.REPORTED, Tab.OPEN),
}
# Tabs of what the user recorded list the newest first; the others the soonest deadline first.
RECENT_FIRST = frozenset({Tab.MINE, Tab.REPORTED})


def tabs_of(role: str) -> tuple[Tab, ...]:
    try:
        return TABS.get(Role(role), (Tab.OPEN,))
    except ValueError:
        return (Tab.OPEN,)


def _status(*statuses: Status) -> ColumnElement[bool]:
    return col(CaseRecord.status).in_([s.value for s in statuses])


def _open() -> ColumnElement[bool]:
    return col(CaseRecord.status).not_in([s.value for s in TERMINAL])


def _late(now: datetime) -> ColumnElement[bool]:
    return and_(_open(), or_(col(CaseRecord.overdue), col(CaseRecord.due_at) < now))


def _soon(now: datetime) -> ColumnElement[bool]:
    due = col(CaseRecord.due_at)
    return and_(_open(), ~col(CaseRecord.overdue), due >= now, due < now + DUE_SOON)


_WHERE: dict[Tab, Callable[[User, datetime], ColumnElement[bool]]] = {
    Tab.TO_REGISTER: lambda u, n: _status(Status.RECEIVED),
    Tab.TO_DISPATCH: lambda u, n: _status(Status.REGISTERED),
    Tab.RETURNED: lambda u, n: _status(Status.RETURNED),
    Tab.TO_ACCEPT: lambda u, n: _status(Status.DISPATCHED),
    Tab.HANDLING: lambda u, n: _status(Status.ACCEPTED, Status.HANDLING),
    Tab.REWORK: lambda u, n: _status(Status.REWORK),
    Tab.TO_VERIFY: lambda u, n: _status(Status.VERIFYING),
    Tab.TO_CALLBACK: lambda u, n: _status(Status.CLOSED),
    Tab.MINE: lambda u, n: access.taken_clause(u),
    Tab.OVERDUE: lambda u, n: _late(n),
    Tab.DUE_SOON: lambda u, n: _soon(n),
    Tab.ESCALATED: lambda u, n: and_(_open(), col(CaseRecord.escalation_level) > 0),
    Tab.PARKED: lambda u, n: _status(Status.PARKED),
    Tab.REPORTED: lambda u, n: access.taken_clause(u),
    Tab.OPEN: lambda u, n: _open(),
}


def _scope(user: User) -> ColumnElement[bool]:
    """Whose work a queue is: a handler's unit's cases, else its unit's area (the old queue),
    always narrowed to what the access policy lets the user see."""
    if not user.unit_id:
        return false()
    if user.role == Role.HANDLER:
        return col(CaseRecord.assigned_unit_id) == user.unit_id
    return col(CaseRecord.location_path).contains(f"/{user.unit_id}/", autoescape=True)


def _own_tab(tab: Tab) -> bool:
    """What the user recorded is theirs wherever it lies."""
    return tab in RECENT_FIRST


@dataclass(frozen=True)
class QueueQuery:
    """What the user asked of their queue."""

    tab: Tab | None = None  # None: the first tab with work in it
    q: str = ""
    category: str = ""
    priority: str = ""
    page: int = 1


@dataclass
class QueuePage:
    tab: Tab
    tabs: list[tuple[Tab, int]]  # each tab with its count (search and filters not applied)
    items: list[CaseRecord] = field(default_factory=list)
    total: int = 0  # of this tab, with search and filters
    page: int = 1
    pages: int = 1
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def phone_digits(value: str) -> str:
    """A phone as its digits, a leading China code (+86 / 86 before 11 digits) dropped."""
    digits = re.sub(r"\D", "", value)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def _normalized_phone(column: str) -> Any:
    value: Any = col(column)
    for sign in (" ", "-", "+"):
        value = func.replace(value, sign, "")
    return value


def _phone_match(q: str) -> ColumnElement[bool]:
    """Cases whose reporter, or a linked report's, has phone `q` (whole numbers only)."""
    if not PHONE_DIGITS.match(q):
        return false()
    digits = phone_digits(q)
    forms = [digits, "86" + digits]
    linked = select(LinkedReportRecord.case_id).where(
        _normalized_phone(LinkedReportRecord.reporter_phone).in_(forms)
    )
    return or_(
        _normalized_phone(CaseRecord.reporter_phone).in_(forms), col(CaseRecord.id).in_(linked)
    )


def search_clause(q: str) -> ColumnElement[bool]:
    """Ticket, address, title or description containing `q` (any case); or a reporter's whole
    phone."""
    q = q.strip()
    if not q:
        return true()
    texts = (CaseRecord.ticket, CaseRecord.address, CaseRecord.title, CaseRecord.description)
    return or_(*(col(c).icontains(q, autoescape=True) for c in texts), _phone_match(q))


def _filters(query: QueueQuery) -> ColumnElement[bool]:
    parts = [search_clause(query.q)]
    if query.category:
        parts.append(col(CaseRecord.category) == query.category)
    if query.priority:
        parts.append(col(CaseRecord.priority) == query.priority)
    return and_(*parts)


def _tab_where(user: User, tab: Tab, now: datetime) -> ColumnElement[bool]:
    scope = true() if _own_tab(tab) else _scope(user)
    return and_(scope, _WHERE[tab](user, now))


def _counts(session: Session, user: User, tabs: tuple[Tab, ...], now: datetime) -> list[int]:
    """Every tab's count in one pass over the cases the user may see."""
    sums = [func.coalesce(func.sum(case((_tab_where(user, t, now), 1), else_=0)), 0) for t in tabs]
    query = select(*sums).where(access.case_clause(session, user))
    row = session.execute(query).one()
    return [int(v) for v in row]


def queue_page(
    sessions: SessionFactory, user: User, query: QueueQuery, *, size: int = PAGE_SIZE
) -> QueuePage:
    """One page of `user`'s queue tab `query.tab`, with every tab's count."""
    now = datetime.now(UTC)
    tabs = tabs_of(user.role)
    with session_scope(sessions) as session:
        counts = _counts(session, user, tabs, now)
        tab = query.tab if query.tab in tabs else _first_with_work(tabs, counts)
        visible = access.case_clause(session, user)
        where = and_(visible, _tab_where(user, tab, now), _filters(query))
        total = session.exec(select(func.count()).select_from(CaseRecord).where(where)).one()
        pages = max(1, -(-total // size))
        page = min(max(1, query.page), pages)
        found = select(CaseRecord).where(where).order_by(*_order(tab))
        items = list(session.exec(found.offset((page - 1) * size).limit(size)))
    return QueuePage(
        tab=tab,
        tabs=list(zip(tabs, counts, strict=True)),
        items=items,
        total=total,
        page=page,
        pages=pages,
        now=now,
    )


def _first_with_work(tabs: tuple[Tab, ...], counts: list[int]) -> Tab:
    return next((t for t, n in zip(tabs, counts, strict=True) if n), Tab.OPEN)


def _order(tab: Tab) -> tuple[Any, ...]:
    if tab in RECENT_FIRST:
        return (col(CaseRecord.created_at).desc(), col(CaseRecord.ticket))
    return (col(CaseRecord.due_at).is_(None), col(CaseRecord.due_at), col(CaseRecord.ticket))
