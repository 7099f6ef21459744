"""The reset page of a case (supervisors over its area): back to an earlier decision point,
with a reason that goes on the timeline (core/cases/reset.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from core.cases import reset as resets
from core.cases.service import CaseError, CaseService
from core.models import User
from web import formdata, labels
from web.deps import Cases, WebUser, check_csrf
from web.layout import error_page, layout_context
from web.templating import error_status, redirect, render

router = APIRouter(dependencies=[Depends(check_csrf)])


@router.get("/cases/{ticket}/reset")
async def reset_page(request: Request, ticket: str, user: WebUser, cases: Cases) -> Response:
    """The decision points the case can go back to, latest first, and the reason to give."""
    return await _page(request, cases, user, ticket)


@router.post("/cases/{ticket}/reset")
async def reset_case(request: Request, ticket: str, user: WebUser, cases: Cases) -> Response:
    """Reset; the case page then shows it, its timeline ending with who reset it and why."""
    form = await request.form()
    values = {"event_id": formdata.text(form, "event_id"), "reason": formdata.text(form, "reason")}
    try:
        event_id = int(values["event_id"]) if values["event_id"].isdigit() else 0
        key = formdata.idempotency_key(form)
        await resets.reset(cases, user, ticket, event_id, values["reason"], key=key)
    except CaseError as err:
        error = labels.error_summary(labels.field_errors(err))
        return await _page(
            request, cases, user, ticket, error=error, values=values, status=err.status
        )
    request.session["notice"] = {"ticket": ticket, "text": "工单已回退，原因已记入处理记录"}
    return redirect(request, f"/cases/{ticket}")


async def _page(
    request: Request,
    cases: CaseService,
    user: User,
    ticket: str,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    try:
        points = await resets.decision_points(cases, user, ticket)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context: dict[str, Any] = {
        **layout_context(cases, user),
        "ticket": ticket,
        "points": points,
        "undo_names": _undo_names(points),
        "error": error,
        "values": values or {},
    }
    return render(
        request, "cases/reset.html", context, block="reset", status=error_status(request, status)
    )


def _undo_names(points: list[resets.DecisionPoint]) -> dict[str, str]:
    """What each point undoes, in Chinese: an action by its name, activities as steps."""
    names = {}
    for point in points:
        for what in point.undoes:
            kind, _, name = what.partition(":")
            if kind == "update":
                names[what] = labels.EVENT_NAMES.get(name, name)
            elif kind == "child":
                names[what] = "吹哨召集"
            else:
                names[what] = "系统处理"
    return names
