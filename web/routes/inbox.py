"""The inbox (消息): reminders, escalations and overrides addressed to the user's unit."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request, Response

from core.bounds import RowId
from core.cases.service import CaseError
from core.supervision import inbox
from web import forms
from web.deps import Cases, WebUser, check_csrf
from web.templating import error_status, redirect, render, wants_fragment
from web.views import inbox_context

router = APIRouter(dependencies=[Depends(check_csrf)])
Show = Literal["all", "unread"]


@router.get("/inbox")
def inbox_page(request: Request, user: WebUser, cases: Cases, show: Show = "all") -> Response:
    """The unit's messages, unread first (or unread only)."""
    context = inbox_context(cases, user, show)
    return render(request, "inbox/list.html", context, block="inbox")


@router.post("/inbox/{item_id}/read")
async def read_item(request: Request, item_id: RowId, user: WebUser, cases: Cases) -> Response:
    """Mark one message read; htmx gets the list back (and the nav's count), a plain post a 303."""
    show = "unread" if forms.text(await request.form(), "show") == "unread" else "all"
    try:
        inbox.mark_read(cases.sessions, user, item_id)
    except CaseError as err:
        context = {
            **inbox_context(cases, user, show),
            "error": "找不到这条消息，或它不属于您的单位",
        }
        status = error_status(request, err.status)
        return render(request, "inbox/list.html", context, block="inbox", status=status)
    if not wants_fragment(request):
        return redirect(request, f"/inbox?show={show}")
    context = {**inbox_context(cases, user, show), "oob": True}
    return render(request, "inbox/list.html", context, block="inbox")
