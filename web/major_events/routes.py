"""重大事件 pages: the list, an event's board with its actions, and receiving a new event.

Every action goes through the generic seam (core/cases/types.py), as the JSON API's does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError

from core.cases.service import CaseError
from core.cases.types import CaseTypes
from core.models import User
from web import labels as web_labels
from web import lookups
from web.deps import Cases, WebUser, check_csrf
from web.layout import error_page, layout_context
from web.major_events import context as ctx
from web.templating import redirect, render
from workflows import registry

router = APIRouter(dependencies=[Depends(check_csrf)])
TYPE = registry.MAJOR_EVENT


def _types(request: Request) -> CaseTypes:
    return request.app.state.types


@router.get("/major-events")
def events(request: Request, user: WebUser, cases: Cases) -> Response:
    """Major events, newest first (the read model)."""
    context = {**layout_context(cases, user), **ctx.labels(), "events": ctx.recent(cases.sessions)}
    context["may_start"] = TYPE in registry.startable_by(user.role)
    return render(request, "major_events/list.html", context, block="events")


@router.get("/major-events/new")
def new_event(request: Request, user: WebUser, cases: Cases) -> Response:
    """接报: title, type and sub-type, grade, place."""
    return _new_form(request, cases, user, {}, "")


@router.post("/major-events")
async def create_event(request: Request, user: WebUser, cases: Cases) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ctx.SKIP}
    try:
        state = await _types(request).start(user, TYPE.name, {**values, "case_type": TYPE.name})
    except (CaseError, RequestValidationError) as err:
        return _new_form(request, cases, user, values, _reason(err))
    return redirect(request, f"/major-events/{state.ticket}")


def _new_form(
    request: Request, cases: Cases, user: User, values: dict[str, str], error: str
) -> Response:
    context = {**layout_context(cases, user), **ctx.labels(), "values": values, "error": error}
    return render(
        request, "major_events/new.html", context, block="intake_me", status=422 if error else 200
    )


@router.get("/major-events/{ticket}")
async def board(request: Request, ticket: str, user: WebUser, cases: Cases) -> Response:
    """The event board: grade, lead, command, reports, stations, tasks, linked cases."""
    return await _board(request, cases, user, ticket)


@router.post("/major-events/{ticket}/actions/{action}")
async def act(request: Request, ticket: str, action: str, user: WebUser, cases: Cases) -> Response:
    """One action from the board; htmx gets the board block back, the refusal inline."""
    form = await request.form()
    key = str(form.get("idempotency_key", ""))
    try:
        await _types(request).act(user, ticket, action, ctx.body_of(action, form), key=key)
    except (CaseError, RequestValidationError) as err:
        if isinstance(err, CaseError) and err.status == 404:
            return error_page(request, cases, user, err)
        return await _board(request, cases, user, ticket, failed=action, error=_reason(err))
    return await _board(request, cases, user, ticket)


async def _board(request: Request, cases: Cases, user: User, ticket: str, **extra: Any) -> Response:
    if not _types(request).handles(ticket):
        return error_page(
            request, cases, user, CaseError(404, f"no case {ticket!r}", code="no_case")
        )
    try:
        found = await _types(request).detail(user, ticket)
    except CaseError as err:
        return error_page(request, cases, user, err)
    e = found.case
    context: dict[str, Any] = {
        **layout_context(cases, user),
        **ctx.labels(),
        "e": e,
        "events": list(reversed(found.timeline)),
        "departments": ctx.departments(cases.sessions, e.location.district_id),
        "categories": lookups.category_groups(cases.sessions),
        "districts": lookups.districts_in(cases.sessions, user.unit_id),
        "step_after": ctx.STEP_AFTER,
        "failed": "",
        "error": "",
        **extra,
    }
    status = 422 if extra.get("error") else 200
    return render(request, "major_events/board.html", context, block="board", status=status)


def _reason(err: CaseError | RequestValidationError) -> str:
    if isinstance(err, CaseError):
        return web_labels.refusal_text(err)
    first = err.errors()[0] if err.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ())[1:])
    return f"{field}：输入有误" if field else "输入有误"
