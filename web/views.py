"""What the case pages show, gathered from the case's workflow and the read model."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from pydantic import ValidationError

from core.cases.service import INTAKE_ROLES, CaseError, CaseFilter, CaseService, Reporter
from core.errors import IntakePending
from core.intake.service import CHANNEL_ROLES, IntakeResult, IntakeService
from core.models import CaseRecord, User
from core.privacy import masking as privacy
from core.supervision import inbox
from web import forms, labels, reads, whistle_views
from web.templating import redirect, render, ticket_of, wants_fragment
from workflows.contracts import (
    TERMINAL,
    BulkProgress,
    CaseEvent,
    CaseState,
    Role,
    SplitReport,
    Status,
)
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
        **reports_panel(cases, user, state),
    }


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


def layout_context(cases: CaseService, user: User) -> dict[str, Any]:
    """What the layout shows of the user: name, role and unit, and whether they may record cases."""
    actor = cases.actor(user)
    return {
        "user": actor,
        "can_intake": actor.role in INTAKE_ROLES,
        "is_supervisor": actor.role is Role.SUPERVISOR,
        "unread": inbox.unread_count(cases.sessions, user),
        "open_whistles": reads.open_whistle_count(cases.sessions, user),
    }


def inbox_context(cases: CaseService, user: User, show: str) -> dict[str, Any]:
    """The unit's messages: unread ones first, then (unless `show` is "unread") the rest."""
    unread = inbox.list_inbox(cases.sessions, user, unread_only=True)
    items = list(unread)
    if show != "unread":
        items += [i for i in inbox.list_inbox(cases.sessions, user) if i.read_at]
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
        [(ticket_of(o.case_id), labels.chinese_reason(o.reason)) for o in progress.refusals]
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


def may_patrol(user: User) -> bool:
    return Role(user.role) in CHANNEL_ROLES["patrol"]


# ---- reports at intake: hotline and patrol forms share the submission and its outcomes --------
@dataclass
class ReportRefused:
    """A submission that did not go through: field errors, or duplicate candidates to decide on."""

    status: int
    errors: dict[str, str] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)


async def submit_report(
    intake: IntakeService, cases: CaseService, user: User, posted: forms.ReportForm, channel: str
) -> IntakeResult | IntakePending | ReportRefused:
    """Submit the posted report; a refusal comes back as what the form shows next to it."""
    try:
        return await intake.submit(cases.actor(user), posted.request(channel), key=posted.key)
    except IntakePending as pending:
        return pending
    except ValidationError as err:
        return ReportRefused(422, labels.field_errors(err))
    except CaseError as err:
        candidates = err.extra.get("candidates", []) if err.status == 409 else []
        # Nearby open cases of the category: the reporter decides, nothing is wrong with a field.
        errors = {} if candidates else labels.field_errors(err)
        return ReportRefused(err.status, errors, candidates)


def after_report(
    request: Request, cases: CaseService, result: IntakeResult | IntakePending
) -> Response:
    """To the case the report opened or joined, with a notice of what became of it."""
    if isinstance(result, IntakePending):
        text = f"工单 {result.ticket} 已受理，正在派单，请稍后刷新查看派往单位"
        request.session["notice"] = {"ticket": result.ticket, "text": text}
        return redirect(request, f"/cases/{result.ticket}")
    case = result.case
    if result.merged:
        text = f"已作为关联报告并入工单 {case.ticket}（报告编号 {result.ticket}）"
    elif case.direct_answer:
        text = f"工单 {case.ticket} 已直接答复并归档，无需派遣"
    elif case.channel == "patrol":
        unit_id = case.location.unit_id
        grid = reads.unit_names(cases.sessions, [unit_id]).get(unit_id, unit_id)
        text = f"巡查上报已登记为工单 {case.ticket}，所属网格：{grid}"
    else:
        text = ""
    if text:
        request.session["notice"] = {"ticket": case.ticket, "text": text}
    return redirect(request, f"/cases/{case.ticket}")


def take_notice(request: Request, ticket: str) -> str:
    """The notice left for this case's page by the submission that led here (shown once)."""
    notice = request.session.get("notice")
    if not isinstance(notice, dict) or notice.get("ticket") != ticket:
        return ""
    del request.session["notice"]
    return str(notice.get("text", ""))


def report_form_context(
    cases: CaseService, user: User, posted: forms.ReportForm, refused: ReportRefused | None
) -> dict[str, Any]:
    """What the hotline and patrol forms show: options, the values kept, errors, candidates."""
    errors = refused.errors if refused else {}
    return {
        **layout_context(cases, user),
        "categories": reads.category_groups(cases.sessions),
        "suggestions": reads.category_suggestions(
            cases.sessions, posted.values.get("description", "")
        ),
        "values": posted.values,
        "attachments": posted.attachments,
        "errors": errors,
        "summary": labels.error_summary(errors),
        "candidates": refused.candidates if refused else [],
    }


def error_page(request: Request, cases: CaseService, user: User, err: CaseError) -> Response:
    """A refusal as a page of its own (or its block, for htmx), in Chinese where its wording
    is known (a case the user may not see reads 没有这个工单, like one that does not exist)."""
    message = labels.chinese_reason(err.reason)
    context = {**layout_context(cases, user), "status": err.status, "message": message}
    return render(request, "error.html", context, block="error", status=err.status)


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
