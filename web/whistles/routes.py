"""吹哨报到 pages: the whistle forms on a case, a department's queue and a street's board, one
whistle with its steps, and the statistics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from core import whistles
from core.cases.service import CaseError, CaseService
from core.models import User
from web.cases.context import case_after_action, case_again
from web.deps import Cases, WebUser, check_csrf
from web.layout import error_page, layout_context
from web.refused import page_again, summary
from web.templating import redirect, render, wants_fragment
from web.whistles import forms
from web.whistles.context import STATS_ROLES, queue_context, stats_context, whistle_context
from workflows.contracts import CaseState, Role

router = APIRouter(dependencies=[Depends(check_csrf)])
Show = Literal["open", "all"]
CaseCall = Callable[[CaseService, User, str, Any], Awaitable[CaseState]]
# The whistle forms of a case page: how each form is read, and what it asks of the case.
CASE_FORMS: dict[str, tuple[Callable[[FormData], Any], CaseCall]] = {
    "blow": (forms.blow_request, whistles.blow),
    "approve": (forms.approve_request, whistles.approve),
    "close": (forms.close_request, whistles.close),
    "rate": (forms.rate_request, whistles.rate),
}


@router.post("/cases/{ticket}/whistles")
async def blow(request: Request, ticket: str, user: WebUser, cases: Cases) -> Response:
    """Blow a whistle: summon departments (a 攻坚克难哨 waits for the district's approval)."""
    return await _case_form(request, cases, user, ticket, "blow")


@router.post("/cases/{ticket}/whistles/{name}")
async def on_round(
    request: Request, ticket: str, name: str, user: WebUser, cases: Cases
) -> Response:
    """Approve, close early or rate the case's whistle; the case block comes back."""
    if name not in CASE_FORMS or name == "blow":
        return error_page(request, cases, user, CaseError(404, "没有这个吹哨操作"))
    return await _case_form(request, cases, user, ticket, name)


async def _case_form(
    request: Request, cases: CaseService, user: User, ticket: str, name: str
) -> Response:
    form = await request.form()
    read, call = CASE_FORMS[name]
    try:
        state = await call(cases, user, ticket, read(form))
    except (ValidationError, CaseError) as err:
        # the refusal in the whistle panel, what was typed kept
        values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        values["departments"] = form.getlist("departments")
        shown = {"whistle_failed": name, "whistle_error": summary(err), "whistle_values": values}
        return await case_again(request, cases, user, ticket, err, **shown)
    return await case_after_action(request, cases, user, ticket, state)


@router.get("/whistles")
def queue(
    request: Request,
    user: WebUser,
    cases: Cases,
    show: Show = "open",
    unit: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Whistles summoning the user's unit (its queue) and whistles it blew (its board)."""
    try:
        context = queue_context(cases, user, unit, show)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context.update(layout_context(cases, user))
    return render(request, "whistles/queue.html", context, block="whistles")


@router.get("/whistles/stats")
def stats(
    request: Request,
    user: WebUser,
    cases: Cases,
    district: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """吹哨率 per street; 报到及时率 and average rating per department."""
    if Role(user.role) not in STATS_ROLES:
        return error_page(request, cases, user, CaseError(403, "吹哨统计仅限督办员和派遣员查看"))
    context = {**stats_context(cases, user, district), **layout_context(cases, user)}
    return render(request, "whistles/stats.html", context, block="stats")


@router.get("/whistles/{whistle_id}")
async def whistle_page(request: Request, whistle_id: str, user: WebUser, cases: Cases) -> Response:
    """One whistle: its deadlines and steps, its timeline, and the department's next step."""
    try:
        context = await whistle_context(cases, user, whistle_id)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context.update(layout_context(cases, user))
    return render(request, "whistles/detail.html", context, block="whistle")


@router.post("/whistles/{whistle_id}/actions/{stage}")
async def step(
    request: Request, whistle_id: str, stage: str, user: WebUser, cases: Cases
) -> Response:
    """签收, 联系 or 报到 for the summoned department; htmx gets the whistle block back."""
    form = await request.form()
    try:
        state = await whistles.act(cases, user, whistle_id, stage, forms.step_request(form))
    except (ValidationError, CaseError) as err:
        return await _whistle_with_error(request, cases, user, whistle_id, stage, err, form)
    if not wants_fragment(request):
        return redirect(request, f"/whistles/{whistle_id}")
    context = await whistle_context(cases, user, whistle_id, state=state)
    context.update(layout_context(cases, user))
    return render(request, "whistles/detail.html", context, block="whistle")


def _whistle_with_error(
    request: Request,
    cases: CaseService,
    user: User,
    whistle_id: str,
    stage: str,
    err: ValidationError | CaseError,
    form: FormData,
) -> Awaitable[Response]:
    page = whistle_context(cases, user, whistle_id)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    shown = {"failed_stage": stage, "step_error": summary(err), "values": values}
    return page_again(
        request, cases, user, err, page, "whistles/detail.html", block="whistle", **shown
    )
