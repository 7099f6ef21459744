"""Case pages: the queue, intake, one case with its timeline, and the actions on it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from core.cases import CaseError, CaseService
from core.models import User
from web import forms, reads
from web.deps import Cases, WebUser, check_csrf
from web.templating import error_status, redirect, render
from web.views import case_after_action, case_context, error_page, layout_context, may_intake

router = APIRouter(dependencies=[Depends(check_csrf)])


@router.get("/")
def queue(request: Request, user: WebUser, cases: Cases) -> Response:
    """The user's queue of open cases, soonest deadline first."""
    rows = reads.queue_for(cases, user)
    context = {**layout_context(cases, user), "rows": rows}
    return render(request, "cases/queue.html", context, block="queue")


@router.get("/cases/new")
def new_case(request: Request, user: WebUser, cases: Cases) -> Response:
    """The intake form."""
    if not may_intake(user):
        return error_page(request, cases, user, CaseError(403, "您的角色不能登记新工单"))
    return _intake_form(request, cases, user, values={"priority": "normal"}, errors={})


@router.post("/cases")
async def create_case(request: Request, user: WebUser, cases: Cases) -> Response:
    """Record a new case and go to its page; errors are shown next to the form, values kept."""
    values = forms.intake_values(await request.form())
    try:
        state = await cases.intake(user, forms.intake_request(values))
    except (ValidationError, CaseError) as err:
        status = err.status if isinstance(err, CaseError) else 422
        errors = forms.field_errors(err)
        return _intake_form(request, cases, user, values, errors, error_status(request, status))
    return redirect(request, f"/cases/{state.ticket}")


@router.get("/cases/{ticket}")
async def case_page(request: Request, ticket: str, user: WebUser, cases: Cases) -> Response:
    """One case: header, timeline, and the actions the user may take now."""
    try:
        context = await case_context(cases, user, ticket)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context.update(layout_context(cases, user))
    return render(request, "cases/detail.html", context, block="case")


@router.post("/cases/{ticket}/actions/{action}")
async def act(request: Request, ticket: str, action: str, user: WebUser, cases: Cases) -> Response:
    """Take one action; htmx gets the case block back, a plain form post a 303 to the case."""
    form = await request.form()
    try:
        state = await cases.act(user, ticket, action, forms.action_request(form))
    except (ValidationError, CaseError) as err:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return await _case_with_error(request, cases, user, ticket, action, err, values)
    return await case_after_action(request, cases, user, ticket, state)


async def _case_with_error(
    request: Request,
    cases: CaseService,
    user: User,
    ticket: str,
    action: str,
    err: ValidationError | CaseError,
    values: dict[str, str],
) -> Response:
    """The case again, with the refusal next to the action and the user's input kept."""
    try:
        context = await case_context(cases, user, ticket)
    except CaseError as missing:
        return error_page(request, cases, user, missing)
    status = err.status if isinstance(err, CaseError) else 422
    context.update(layout_context(cases, user))
    context.update(
        failed_action=action,
        action_error=forms.error_summary(forms.field_errors(err)),
        values=values,
    )
    return render(
        request, "cases/detail.html", context, block="case", status=error_status(request, status)
    )


def _intake_form(
    request: Request,
    cases: CaseService,
    user: User,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        **layout_context(cases, user),
        "categories": reads.category_groups(cases.sessions),
        "areas": reads.area_groups(cases.sessions),
        "values": values,
        "errors": errors,
        "summary": forms.error_summary(errors),
    }
    return render(request, "cases/new.html", context, block="intake", status=status)
