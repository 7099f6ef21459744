"""What the case pages show, gathered from the case's workflow and the read model."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from pydantic import ValidationError

from core import access
from core.cases.service import CaseError, CaseService, Reporter
from core.models import CaseRecord, User
from core.privacy import masking as privacy
from web import lookups
from web.cases.evidence import before_after
from web.layout import layout_context
from web.refused import page_again
from web.templating import redirect, render, wants_fragment
from web.whistles.context import case_panel as whistle_panel
from workflows.contracts import TERMINAL, CaseEvent, CaseState, SplitReport
from workflows.intake import reports


async def case_context(
    cases: CaseService, user: User, ticket: str, *, state: CaseState | None = None
) -> dict[str, Any]:
    """Header, timeline and allowed actions of one case, live from its workflow.

    After an action the update's result is the state to show; the queries that follow it see
    the same workflow state, so nothing here waits for the read model.
    """
    state = await cases.visible_state(user, ticket, known=state)
    events, allowed = await asyncio.gather(
        cases.live_timeline(state), cases.allowed_actions(user, ticket)
    )
    loc, sessions = state.location, cases.sessions
    picks_unit = bool({"dispatch", "reassign"} & set(allowed))
    units = lookups.dispatch_units(sessions, loc.district_id) if picks_unit else []
    return {
        "state": state,
        "events": events,
        "allowed": allowed,
        "path": loc.path,
        "unit_names": lookups.unit_names(sessions, [*loc.path, *_units_named(state, events)]),
        "category_names": lookups.category_names(sessions, _categories_named(events)),
        "dispatch_units": units,
        "default_unit": default_unit(state, units),
        "geo_link": geo_link(user, state),
        "now": datetime.now(UTC),
        "stale": False,
        "categories": (lookups.category_groups(sessions) if "change_category" in allowed else []),
        "may_reset": access.may_reset(user, state) and state.status not in TERMINAL,
        "failed_action": "",
        "action_error": "",
        "values": {},
        **whistle_panel(cases, user, state),
        **reports_panel(cases, user, state),
        **before_after(sessions, events),
    }


def default_unit(state: CaseState, units: list[tuple[str, str]]) -> str:
    """The unit the dispatch picker starts on: the one routing or a dispatcher chose, else the
    case's street (事件 go to the locality first); never one that sent the case back."""
    picked = [u.id for u in (state.assigned_unit, state.first_unit) if u is not None]
    offered = {uid for uid, _ in units}
    for uid in [*picked, state.location.street_id]:
        if uid and uid in offered and uid not in state.returned_by:
            return uid
    return ""


def geo_link(user: User, state: CaseState) -> str:
    """A geo: link to the case's map point (a phone opens its map app to navigate there), for
    who may see the exact location."""
    loc = state.location
    if loc.lat is None or loc.lon is None or not access.may_see_exact_location(user, state):
        return ""
    return f"geo:{loc.lat:.6f},{loc.lon:.6f}?q={loc.lat:.6f},{loc.lon:.6f}"


def reports_panel(cases: CaseService, user: User, state: CaseState) -> dict[str, Any]:
    """Who reported the case (masked as the user may see them), its linked reports and files."""
    probe = reports.check_split(state, SplitReport(actor=cases.actor(user)))
    return {
        "reporters": reporter_rows(cases, user, state),
        # Refused only for the probe's empty fields: the user may split this case's reports.
        "may_split": probe is None or probe.kind == "invalid",
        "attachments": list(dict.fromkeys([*cases.attachments(state.case_id), *state.attachments])),
        "notice": "",
        "split_failed": "",
        "split_error": "",
        "split_values": {},
    }


def reporter_rows(cases: CaseService, user: User, state: CaseState) -> list[dict[str, Any]]:
    """The case's reporters who left a name or a phone, as `user` may see them; the ones
    shown whole are logged."""
    view = privacy.View(user)
    area = privacy.path_of(state.location.path)
    shown = [
        {
            "ticket": r.ticket,
            "channel": r.channel,
            "split": r.split,
            **_reporter(view, r, state.ticket, area),
        }
        for r in cases.reporters_of(state)
        if r.name or r.phone
    ]
    view.record(cases.sessions)
    return shown


def _reporter(view: privacy.View, r: Reporter, case_ticket: str, area: str) -> dict[str, Any]:
    return privacy.reporter(
        view,
        ticket=r.ticket,
        case_ticket=case_ticket,
        area_path=area,
        taken_by=r.taken_by,
        name=r.name,
        phone=r.phone,
    )


def queue_reporters(
    cases: CaseService, user: User, rows: list[CaseRecord]
) -> dict[str, dict[str, Any]]:
    """Each queue row's reporter as `user` may see them (whole only to the taker and the
    supervisors of the case's area; those views are logged)."""
    view = privacy.View(user)
    shown = {
        c.ticket: _reporter(
            view,
            Reporter(c.ticket, c.channel, c.taken_by, c.reporter_name, c.reporter_phone),
            c.ticket,
            c.location_path,
        )
        for c in rows
    }
    view.record(cases.sessions)
    return shown


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


def take_notice(request: Request, ticket: str) -> dict[str, str]:
    """The notice left for this case's page by the submission that led here (shown once):
    `notice`, and `notice_next`, where the user goes on from it (下一个来电)."""
    notice = request.session.get("notice")
    if not isinstance(notice, dict) or notice.get("ticket") != ticket:
        return {"notice": ""}
    del request.session["notice"]
    return {"notice": str(notice.get("text", "")), "notice_next": str(notice.get("next", ""))}


async def case_after_action(
    request: Request,
    cases: CaseService,
    user: User,
    ticket: str,
    state: CaseState | None,
    *,
    notice: str = "",
) -> Response:
    """After an action: htmx gets the case block back, a plain form post a 303 to the case.

    `state`: the action's result, when it is this case's new state; `notice`: a line to show
    on top of the case (through the session across the 303).
    """
    if not wants_fragment(request):
        if notice:
            request.session["notice"] = {"ticket": ticket, "text": notice}
        return redirect(request, f"/cases/{ticket}")
    context = await case_context(cases, user, ticket, state=state)
    context.update(layout_context(cases, user), notice=notice)
    return render(request, "cases/detail.html", context, block="case")


async def case_again(
    request: Request,
    cases: CaseService,
    user: User,
    ticket: str,
    err: ValidationError | CaseError,
    **shown: Any,
) -> Response:
    """The case block again after a refused form on it, with `shown` (the refusal beside the
    form that failed, what was typed) over the fresh case (web/refused.py)."""
    page = case_context(cases, user, ticket)
    return await page_again(
        request, cases, user, err, page, "cases/detail.html", block="case", **shown
    )
