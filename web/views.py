"""What the case pages show, gathered from the case's workflow and the read model."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request, Response
from temporalio.service import RPCError, RPCStatusCode

from core import inbox
from core.cases import INTAKE_ROLES, CaseError, CaseFilter, CaseService
from core.models import User
from web import forms, reads, whistle_views
from web.templating import redirect, render, ticket_of, wants_fragment
from workflows.contracts import (
    TERMINAL,
    BulkProgress,
    CaseEvent,
    CaseState,
    Role,
    Status,
)


async def timeline(cases: CaseService, state: CaseState) -> list[CaseEvent]:
    """The case's events from its workflow: complete at once, unlike the projection."""
    handle = cases.client.get_workflow_handle(state.case_id)
    try:
        events: list[CaseEvent] = await handle.query("get_timeline", result_type=list[CaseEvent])
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CaseError(404, f"no case with ticket {state.ticket!r}") from None
        raise CaseError(503, f"case service unavailable: {err.message}") from None
    return events


async def case_context(
    cases: CaseService, user: User, ticket: str, *, state: CaseState | None = None
) -> dict[str, Any]:
    """Header, timeline and allowed actions of one case, live from its workflow.

    After an action the update's result is the state to show; the queries that follow it see
    the same workflow state, so nothing here waits for the read model.
    """
    state = state or await cases.live_state(ticket)
    events, allowed = await asyncio.gather(
        timeline(cases, state), cases.allowed_actions(user, ticket)
    )
    loc, sessions = state.location, cases.sessions
    picks_unit = bool({"dispatch", "reassign"} & set(allowed))
    return {
        "state": state,
        "events": events,
        "allowed": allowed,
        "path": loc.path,
        "unit_names": reads.unit_names(sessions, [*loc.path, *_units_named(state, events)]),
        "category_names": reads.category_names(sessions, _categories_named(events)),
        "dispatch_units": reads.dispatch_units(sessions, loc.district_id) if picks_unit else [],
        "categories": (reads.category_groups(sessions) if "change_category" in allowed else []),
        "failed_action": "",
        "action_error": "",
        "values": {},
        **whistle_views.case_panel(cases, user, state),
    }


def _units_named(state: CaseState, events: list[CaseEvent]) -> list[str]:
    """Units the header and the events point at: they keep ids, the page shows names."""
    ids = [state.escalated_to.id] if state.escalated_to else []
    for e in events:
        ids += [str(e.payload[k]) for k in ("unit", "from_unit") if e.payload.get(k)]
        ids += [str(u) for k in ("notify", "units") for u in e.payload.get(k, [])]
    return ids


def _categories_named(events: list[CaseEvent]) -> list[str]:
    keys = (e.payload.get(k) for e in events for k in ("category", "from_category"))
    return sorted({str(k) for k in keys if k})


def layout_context(cases: CaseService, user: User) -> dict[str, Any]:
    """What the layout shows of the user: name, role and unit, and whether they may record cases."""
    actor = cases.actor(user)
    return {
        "user": actor,
        "can_intake": actor.role in INTAKE_ROLES,
        "is_supervisor": actor.role is Role.SUPERVISOR,
        "unread": inbox.unread_count(cases.sessions, user.unit_id),
        "open_whistles": reads.open_whistle_count(cases.sessions, user.unit_id),
    }


def inbox_context(cases: CaseService, user: User, show: str) -> dict[str, Any]:
    """The unit's messages: unread ones first, then (unless `show` is "unread") the rest."""
    unread = inbox.list_inbox(cases.sessions, user.unit_id, unread_only=True)
    items = list(unread)
    if show != "unread":
        items += [i for i in inbox.list_inbox(cases.sessions, user.unit_id) if i.read_at]
    return {
        **layout_context(cases, user),
        "items": items,
        "show": show,
        "error": "",
        "oob": False,
    }


def overrides_context(
    cases: CaseService, user: User, filters: CaseFilter, **extra: Any
) -> dict[str, Any]:
    """The bulk override page: the filter's options and values, and a preview or progress."""
    sessions = cases.sessions
    districts = reads.districts_in(sessions, user.unit_id)
    # Reassigning goes to the streets and departments of one district: the filtered one, else
    # the supervisor's own; a code can always be typed.
    district = filters.district or (districts[0][0] if len(districts) == 1 else "")
    progress: BulkProgress | None = extra.get("progress")
    refusals = (
        [(ticket_of(o.case_id), forms.chinese_reason(o.reason)) for o in progress.refusals]
        if progress
        else []
    )
    return {
        **layout_context(cases, user),
        "filters": filters,
        "districts": districts,
        "categories": reads.category_groups(sessions),
        "statuses": [s.value for s in Status if s not in TERMINAL],
        "dispatch_units": reads.dispatch_units(sessions, district),
        "preview": None,
        "progress": None,
        "bulk_id": "",
        "refusals": refusals,
        "error": "",
        "values": {},
        **extra,
    }


def may_intake(user: User) -> bool:
    return Role(user.role) in INTAKE_ROLES


def error_page(request: Request, cases: CaseService, user: User, err: CaseError) -> Response:
    """A refusal as a page of its own (or its block, for htmx)."""
    context = {**layout_context(cases, user), "status": err.status, "message": err.reason}
    return render(request, "error.html", context, block="error", status=err.status)


async def case_after_action(
    request: Request, cases: CaseService, user: User, ticket: str, state: CaseState
) -> Response:
    """After an action: htmx gets the case block back, a plain form post a 303 to the case."""
    if not wants_fragment(request):
        return redirect(request, f"/cases/{ticket}")
    context = await case_context(cases, user, ticket, state=state)
    context.update(layout_context(cases, user))
    return render(request, "cases/detail.html", context, block="case")
