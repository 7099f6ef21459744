"""JSON API for a unit's inbox: reminders, escalations and overrides addressed to it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.deps import ApiUser
from api.errors import NOT_FOUND
from core.bounds import RowId
from core.supervision import inbox

router = APIRouter(prefix="/inbox", tags=["inbox"])


class InboxItemOut(BaseModel):
    id: int
    unit_id: str
    ticket: str
    title: str
    kind: str
    reason: str
    created_at: datetime
    read_at: datetime | None
    read_by: str


@router.get("", response_model=list[InboxItemOut])
def list_items(request: Request, user: ApiUser, unread: bool = False) -> list[InboxItemOut]:
    """The caller's unit's inbox, newest first."""
    items = inbox.list_inbox(request.app.state.sessions, user, unread_only=unread)
    return [InboxItemOut.model_validate(i, from_attributes=True) for i in items]


@router.post("/{item_id}/read", response_model=InboxItemOut, responses=NOT_FOUND)
def read_item(item_id: RowId, request: Request, user: ApiUser) -> InboxItemOut:
    """Mark one item read."""
    item = inbox.mark_read(request.app.state.sessions, user, item_id)
    return InboxItemOut.model_validate(item, from_attributes=True)
