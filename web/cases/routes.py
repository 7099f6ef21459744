"""Case pages: the queue, one case with its timeline, and the actions on it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from core.cases import queues
from core.cases.service import CaseError, CaseService
from core.models import User
from web import formdata, lookups
from web.cases import forms, reads
from web.cases.context import (
    case_after_action,
    case_again,
    case_context,
    queue_reporters,
    take_notice,
)
from web.deps import Cases, Intake, WebUser, check_csrf
from web.layout import error_page, layout_context
from web.refused import summary
from web.templating import render

router = APIRouter(dependencies=[Depends(check_csrf)])


@router.get("/")
def queue(request: Request, user: WebUser, cases: Cases) -> Response:
    """The user's work queue: their role's tabs with counts, a search, one page of a tab."""
    query = reads.queue_query(dict(request.query_params), user)
    found = queues.queue_page(cases.sessions, user, query)
    context = {
        **layout_context(cases, user),
        "found": found,
        "query": query,
        "queue_url": lambda **changes: reads.queue_url(query, found.tab, **changes),
        "rows": found.items,
        "reporters": queue_reporters(cases, user, found.items),
        "categories": lookups.category_groups(cases.sessions),
    }
    # The polled list (and the search that fills it) swaps only itself.
    block = "queue_list" if request.headers.get("hx-target") == "queue-list" else "queue"
    return render(request, "cases/queue.html", context, block=block)


@router.get("/cases/{ticket}")
async def case_page(request: Request, ticket: str, user: WebUser, cases: Cases) -> Response:
    """One case: header, reports, timeline, and the actions the user may take now."""
    try:
        context = await case_context(cases, user, ticket)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context.update(layout_context(cases, user), **take_notice(request, ticket))
    return render(request, "cases/detail.html", context, block="case")


@router.post("/cases/{ticket}/reports/{report}/split")
async def split_report(
    request: Request, ticket: str, report: str, user: WebUser, cases: Cases, intake: Intake
) -> Response:
    """Split a wrongly merged report out: it becomes a case of its own, under its own ticket."""
    reason = formdata.text(await request.form(), "reason")
    try:
        if not reason:
            raise CaseError(422, "split needs a reason", "reason", code="required")
        new_case = await intake.split(cases.actor(user), ticket, report, reason)
    except CaseError as err:
        # the refusal next to the report's 拆分 form, the reason kept
        kept = {"reason": reason}
        shown = {"split_failed": report, "split_error": summary(err), "split_values": kept}
        return await case_again(request, cases, user, ticket, err, **shown)
    notice = f"报告 {report} 已拆分为新工单 {new_case.ticket}"
    return await case_after_action(request, cases, user, ticket, None, notice=notice)


@router.post("/cases/{ticket}/actions/{action}")
async def act(request: Request, ticket: str, action: str, user: WebUser, cases: Cases) -> Response:
    """Take one action; htmx gets the case block back, a plain form post a 303 to the case."""
    form = await request.form()
    try:
        key = formdata.idempotency_key(form)
        req = forms.action_request(form, lambda name: lookups.unit_id_named(cases.sessions, name))
        state = await cases.act(user, ticket, action, req, key=key)
    except (ValidationError, CaseError) as err:
        values: dict[str, object] = {
            k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"
        }
        values["attachments"] = forms.evidence(form)  # the step's photos stay on the form
        return await _case_with_error(request, cases, user, ticket, action, err, values)
    return await case_after_action(request, cases, user, ticket, state)


async def _case_with_error(
    request: Request,
    cases: CaseService,
    user: User,
    ticket: str,
    action: str,
    err: ValidationError | CaseError,
    values: dict[str, object],
) -> Response:
    """The case again, with the refusal next to the action and the user's input kept; a stale
    page shows the fresh case instead, with what the user typed kept in its form."""
    stale = isinstance(err, CaseError) and err.code == "stale"
    values.pop("expected_version", None)
    error = "" if stale else summary(err)
    shown = {"failed_action": action, "action_error": error, "values": values, "stale": stale}
    return await case_again(request, cases, user, ticket, err, **shown)
