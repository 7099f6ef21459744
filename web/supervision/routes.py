"""Supervision pages: the inbox (消息) of reminders, escalations and overrides addressed to the
user's unit, and bulk overrides (批量督办): filter, preview the matching cases, confirm, follow
progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from core.bounds import PageNumber, RowId
from core.cases.service import CaseError, CaseFilter, CaseService
from core.models import User
from core.supervision import inbox, overrides
from core.supervision.inbox import InboxFilter
from web import formdata, labels, lookups
from web.deps import Cases, WebUser, check_csrf
from web.layout import error_page, layout_context
from web.supervision import forms
from web.supervision.context import InboxQuery, inbox_context, overrides_context
from web.templating import error_status, redirect, render, wants_fragment
from workflows.contracts import Role

router = APIRouter(dependencies=[Depends(check_csrf)])
Show = Literal["all", "unread"]
Kind = Annotated[str, Query(max_length=32)]
INBOX = "supervision/inbox.html"
PAGE = "supervision/overrides.html"


# ---- the inbox -------------------------------------------------------------------------------


@router.get("/inbox")
def inbox_page(
    request: Request,
    user: WebUser,
    cases: Cases,
    show: Show = "all",
    kind: Kind = "",
    page: PageNumber = 1,
) -> Response:
    """The unit's messages grouped by case, unread first; filtered by unread and kind."""
    context = inbox_context(cases, user, InboxQuery(show, kind, page))
    return render(request, INBOX, context, block="inbox")


@router.get("/inbox/badge")
def inbox_badge(request: Request, user: WebUser, cases: Cases) -> Response:
    """The nav's unread count (and open whistles), polled by every page."""
    context = layout_context(cases, user)
    return render(request, "_badges.html", context, block="badges")


@router.post("/inbox/read")
async def read_all(request: Request, user: WebUser, cases: Cases) -> Response:
    """Mark every unread message the filter shows (or one case's) read."""
    form = await request.form()
    query = _posted_query(form)
    ticket = formdata.text(form, "ticket")[:80]
    filters = InboxFilter(kinds=query.filters.kinds, ticket=ticket)
    inbox.mark_all_read(cases.sessions, user, filters)
    return _inbox_after(request, cases, user, query)


@router.post("/inbox/{item_id}/read")
async def read_item(request: Request, item_id: RowId, user: WebUser, cases: Cases) -> Response:
    """Mark one message read; htmx gets the list back (and the nav's count), a plain post a 303."""
    query = _posted_query(await request.form())
    try:
        inbox.mark_read(cases.sessions, user, item_id)
    except CaseError as err:
        error = "找不到这条消息，或它不属于您的单位"
        context = {**inbox_context(cases, user, query), "error": error}
        status = error_status(request, err.status)
        return render(request, INBOX, context, block="inbox", status=status)
    return _inbox_after(request, cases, user, query)


def _posted_query(form: FormData) -> InboxQuery:
    """The inbox view a mark-read form came from (its hidden fields), to show it again."""
    show = "unread" if formdata.text(form, "show") == "unread" else "all"
    page = formdata.text(form, "page")
    number = int(page) if page.isdigit() and len(page) <= 6 and int(page) > 0 else 1
    return InboxQuery(show, formdata.text(form, "kind")[:32], number)


def _inbox_after(request: Request, cases: CaseService, user: User, query: InboxQuery) -> Response:
    if not wants_fragment(request):
        return redirect(request, query.url())
    context = {**inbox_context(cases, user, query), "oob": True}
    return render(request, INBOX, context, block="inbox")


# ---- bulk overrides --------------------------------------------------------------------------


@router.get("/overrides")
def bulk_page(request: Request, user: WebUser, cases: Cases) -> Response:
    """The filter form."""
    if refused := _not_supervisor(request, cases, user):
        return refused
    context = overrides_context(cases, user, CaseFilter())
    return render(request, PAGE, context, block="overrides")


@router.post("/overrides/preview")
async def preview(request: Request, user: WebUser, cases: Cases) -> Response:
    """How many open cases the filter matches in the user's area, and the confirmation forms."""
    if refused := _not_supervisor(request, cases, user):
        return refused
    return _preview(request, cases, user, await request.form())


@router.post("/overrides")
async def start(request: Request, user: WebUser, cases: Cases) -> Response:
    """Start the override on the confirmed set; htmx gets its progress, which polls itself."""
    if refused := _not_supervisor(request, cases, user):
        return refused
    form = await request.form()
    try:
        bulk = forms.bulk_request(form, user.unit_id, _unit_named(cases))
        bulk_id = await overrides.start(cases, user, bulk)
    except (ValidationError, CaseError) as err:
        status = err.status if isinstance(err, CaseError) else 422
        error = labels.error_summary(labels.field_errors(err))
        return _preview(request, cases, user, form, error=error, status=status)
    if not wants_fragment(request):
        return redirect(request, f"/overrides/{bulk_id}")
    return await progress(request, bulk_id, user, cases)


@router.get("/overrides/{bulk_id}")
async def progress(request: Request, bulk_id: str, user: WebUser, cases: Cases) -> Response:
    """How far a bulk override has come, and which cases refused it and why."""
    if refused := _not_supervisor(request, cases, user):
        return refused
    try:
        done = await overrides.progress(cases, user, bulk_id)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context = overrides_context(cases, user, CaseFilter(), progress=done, bulk_id=bulk_id)
    return render(request, PAGE, context, block="result")


def _not_supervisor(request: Request, cases: CaseService, user: User) -> Response | None:
    if user.role == Role.SUPERVISOR:
        return None
    return error_page(request, cases, user, CaseError(403, "批量督办仅限督办员使用"))


def _preview(
    request: Request,
    cases: CaseService,
    user: User,
    form: FormData,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    """The preview of the posted filter (fresh, also after a refusal), with what was typed."""
    filters = forms.case_filter(form, user.unit_id)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    found = overrides.preview(cases, user, filters)
    context = overrides_context(cases, user, filters, preview=found, error=error, values=values)
    return render(request, PAGE, context, block="result", status=error_status(request, status))


def _unit_named(cases: CaseService) -> Callable[[str], str]:
    return lambda name: lookups.unit_id_named(cases.sessions, name)
