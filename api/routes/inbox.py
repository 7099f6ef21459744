"""JSON API for a unit's inbox: reminders, escalations and overrides addressed to it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import ApiUser
from api.errors import NOT_FOUND
from core.bounds import PageNumber, PageSize, RowId
from core.models import InboxItem
from core.supervision import inbox
from core.supervision.inbox import InboxFilter

router = APIRouter(prefix="/inbox", tags=["inbox"])
Kinds = Annotated[
    list[Annotated[str, Field(max_length=32)]],
    Query(
        max_length=20,
        description="only these kinds (the event's action: remind, escalate, "
        "escalation_report, dispatch, reassign, link_report, summon …); repeat for several",
    ),
]
Ticket = Annotated[str, Query(max_length=80, description="only this case's messages")]


class InboxItemOut(BaseModel):
    id: int
    unit_id: str
    ticket: str
    title: str
    kind: str
    reason: str = Field(description="as the event gave it (a person's reason), or empty")
    summary: str = Field(
        default="", description="the reason to show: the event's own, else what it did"
    )
    created_at: datetime
    read_at: datetime | None
    read_by: str


class InboxCaseOut(BaseModel):
    """One case's messages: counts, the kinds among them, the newest few."""

    ticket: str
    title: str
    total: int
    unread: int
    latest_at: datetime
    kinds: list[str]
    items: list[InboxItemOut]


class InboxCasesOut(BaseModel):
    items: list[InboxCaseOut]
    total: int = Field(description="cases with messages that match, on every page")
    page: int
    size: int


class UnreadOut(BaseModel):
    unread: int


class MarkedOut(BaseModel):
    marked: int = Field(description="messages that were unread and now are read")


def _out(request: Request, items: list[InboxItem]) -> list[InboxItemOut]:
    why = inbox.reasons(request.app.state.sessions, items)
    return [
        InboxItemOut.model_validate(i, from_attributes=True).model_copy(
            update={"summary": why.get(i.id or 0, "")}
        )
        for i in items
    ]


@router.get("", response_model=list[InboxItemOut])
def list_items(
    request: Request,
    user: ApiUser,
    unread: bool = False,
    kind: Kinds = [],  # noqa: B006 -- FastAPI copies a query default
    ticket: Ticket = "",
) -> list[InboxItemOut]:
    """The caller's unit's inbox, newest first (at most 100)."""
    f = InboxFilter(unread_only=unread, kinds=tuple(kind), ticket=ticket)
    return _out(request, inbox.list_inbox(request.app.state.sessions, user, filters=f))


@router.get("/cases", response_model=InboxCasesOut)
def list_by_case(
    request: Request,
    user: ApiUser,
    unread: bool = False,
    kind: Kinds = [],  # noqa: B006
    page: PageNumber = 1,
    size: PageSize = 20,
) -> InboxCasesOut:
    """The inbox grouped by case: cases with unread messages first, then the most recent."""
    f = InboxFilter(unread_only=unread, kinds=tuple(kind))
    groups, total = inbox.by_case(request.app.state.sessions, user, f, page=page, size=size)
    items = [
        InboxCaseOut.model_validate({**vars(g), "items": _out(request, g.items)}) for g in groups
    ]
    return InboxCasesOut(items=items, total=total, page=page, size=size)


@router.get("/unread", response_model=UnreadOut)
def unread_count(request: Request, user: ApiUser) -> UnreadOut:
    """How many messages are unread (for a badge that refreshes itself)."""
    return UnreadOut(unread=inbox.unread_count(request.app.state.sessions, user))


@router.post("/read", response_model=MarkedOut)
def read_all(
    request: Request,
    user: ApiUser,
    kind: Kinds = [],  # noqa: B006
    ticket: Ticket = "",
) -> MarkedOut:
    """Mark all unread messages read (or only those of some kinds, or of one case)."""
    f = InboxFilter(kinds=tuple(kind), ticket=ticket)
    return MarkedOut(marked=inbox.mark_all_read(request.app.state.sessions, user, f))


@router.post("/{item_id}/read", response_model=InboxItemOut, responses=NOT_FOUND)
def read_item(item_id: RowId, request: Request, user: ApiUser) -> InboxItemOut:
    """Mark one item read."""
    item = inbox.mark_read(request.app.state.sessions, user, item_id)
    return _out(request, [item])[0]
