"""Intake pages: the 12345 hotline form with its category suggestions, and grid patrol
(网格巡查), where a grid worker reports what they find, where they stand.

The patrol report's point decides its grid (point-in-polygon); nearby open cases of the
category are offered as duplicates exactly as on the hotline form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from core.cases.service import CaseError, CaseService
from core.models import User
from web import lookups
from web.deps import Cases, Intake, WebUser, check_csrf
from web.intake import forms, reads, submission
from web.intake.calls import earlier_calls
from web.intake.context import may_intake, may_patrol, report_form_context
from web.layout import error_page
from web.templating import error_status, render

router = APIRouter(dependencies=[Depends(check_csrf)])

PATROL_FIELDS = ("category", "description", "address", "lat", "lon")
FORBIDDEN = CaseError(403, "您的角色不能巡查上报")


# ---- the hotline form ------------------------------------------------------------------------


@router.get("/cases/new")
def new_case(request: Request, user: WebUser, cases: Cases) -> Response:
    """The 12345 hotline intake form."""
    if not may_intake(user):
        return error_page(request, cases, user, CaseError(403, "您的角色不能登记新工单"))
    return _intake_form(request, cases, user, forms.ReportForm({"priority": "normal"}))


@router.get("/cases/suggest")
def suggest(
    request: Request,
    user: WebUser,
    cases: Cases,
    description: Annotated[str, Query(max_length=5000)] = "",
) -> Response:
    """Categories the catalog suggests for the description typed so far (the user picks one)."""
    if not (may_intake(user) or may_patrol(user)):
        return error_page(request, cases, user, CaseError(403, "您的角色不能登记新工单"))
    found = reads.category_suggestions(cases.sessions, description)
    return render(request, "intake/_suggestions.html", {"suggestions": found}, block="suggestions")


@router.get("/cases/calls")
def calls(
    request: Request,
    user: WebUser,
    cases: Cases,
    reporter_phone: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """A caller's earlier calls by the number typed so far (masked as the access rules say)."""
    if not may_intake(user):
        return error_page(request, cases, user, CaseError(403, "您的角色不能登记新工单"))
    found = earlier_calls(cases, user, reporter_phone)
    return render(request, "intake/_calls.html", {"calls": found}, block="calls")


@router.post("/cases")
async def create_case(request: Request, user: WebUser, cases: Cases, intake: Intake) -> Response:
    """Record a report: a new case, or one joined; errors and duplicates show on the form."""
    if not may_intake(user):
        return error_page(request, cases, user, CaseError(403, "您的角色不能登记新工单"))
    posted = forms.report_form(await request.form())
    outcome = await submission.submit_report(intake, cases, user, posted, "hotline")
    if isinstance(outcome, submission.ReportRefused):
        status = error_status(request, outcome.status)
        return _intake_form(request, cases, user, posted, outcome, status)
    return submission.after_report(request, cases, outcome)


def _intake_form(
    request: Request,
    cases: CaseService,
    user: User,
    posted: forms.ReportForm,
    refused: submission.ReportRefused | None = None,
    status: int = 200,
) -> Response:
    context = report_form_context(cases, user, posted, refused)
    context.update(areas=reads.area_groups(cases.sessions), request_kinds=forms.REQUEST_KINDS)
    return render(request, "intake/new.html", context, block="intake", status=status)


# ---- grid patrol -----------------------------------------------------------------------------


@router.get("/patrol/new")
def new_report(request: Request, user: WebUser, cases: Cases) -> Response:
    """The patrol report form."""
    if not may_patrol(user):
        return error_page(request, cases, user, FORBIDDEN)
    return _patrol_form(request, cases, user, forms.ReportForm({}))


@router.post("/patrol")
async def submit(request: Request, user: WebUser, cases: Cases, intake: Intake) -> Response:
    """Record a patrol report: a new case, or one joined; errors and duplicates on the form."""
    if not may_patrol(user):
        return error_page(request, cases, user, FORBIDDEN)
    posted = forms.report_form(await request.form(), PATROL_FIELDS)
    values = posted.values
    if not (values["lat"] or values["lon"]):
        # The grid comes from the point; there is no area list to fall back on here.
        message = "请在地图上点选位置、使用我的位置，或填写纬度和经度"
        refused = submission.ReportRefused(422, {"lat": message})
        return _patrol_form(request, cases, user, posted, refused)
    posted.values = {**values, "title": _title(cases, values["category"])}
    outcome = await submission.submit_report(intake, cases, user, posted, "patrol")
    posted.values = values  # the form shows what the worker typed, not the title made for it
    if isinstance(outcome, submission.ReportRefused):
        return _patrol_form(request, cases, user, posted, outcome)
    return submission.after_report(request, cases, outcome)


def _title(cases: CaseService, category: str) -> str:
    """A patrol report has no title of its own: it is named by what was found."""
    name = lookups.category_names(cases.sessions, [category]).get(category) if category else None
    return f"巡查发现：{name}" if name else "网格巡查上报"


def _patrol_form(
    request: Request,
    cases: CaseService,
    user: User,
    posted: forms.ReportForm,
    refused: submission.ReportRefused | None = None,
) -> Response:
    context = report_form_context(cases, user, posted, refused)
    status = error_status(request, refused.status) if refused else 200
    return render(request, "intake/patrol.html", context, block="patrol", status=status)
