"""Read-model queries of the case pages: a user's queue, one case's row."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlmodel import select

from core.bounds import MAX_PAGE
from core.cases import queues
from core.db import SessionFactory, session_scope
from core.models import CaseRecord, User


def queue_query(params: dict[str, str], user: User) -> queues.QueueQuery:
    """The queue the user asked for in the URL; without a tab (or an unknown one), the first
    of theirs with work in it."""
    tabs = queues.tabs_of(user.role)
    tab = next((t for t in tabs if t.value == params.get("tab")), None)
    page = params.get("page", "1")
    return queues.QueueQuery(
        tab=tab,
        q=params.get("q", "").strip()[:100],
        category=params.get("category", "")[:64],
        priority=params.get("priority", "")[:16],
        page=min(int(page), MAX_PAGE) if page.isdigit() and 0 < len(page) <= 7 and int(page) else 1,
    )


def queue_url(query: queues.QueueQuery, shown: queues.Tab, **changes: object) -> str:
    """The queue's URL for `query` on `tab` (the one shown) with `changes` (another tab, page)."""
    values = {
        "tab": shown.value,
        "q": query.q,
        "category": query.category,
        "priority": query.priority,
        "page": query.page,
        **changes,
    }
    kept = {k: v for k, v in values.items() if v not in ("", None, 1) or k == "tab"}
    return "/?" + urlencode(kept)


def case_record(sessions: SessionFactory, ticket: str) -> CaseRecord | None:
    """The case's row of the read model; None until the projection has written it."""
    with session_scope(sessions) as session:
        return session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
