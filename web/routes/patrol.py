"""Grid patrol (网格巡查): a grid worker reports what they find, where they stand.

The report's point decides its grid (point-in-polygon); nearby open cases of the category are
offered as duplicates exactly as on the hotline form.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from core.cases.service import CaseError, CaseService
from core.models import User
from web import forms, reads, views
from web.deps import Cases, Intake, WebUser, check_csrf
from web.templating import error_status, render
from web.views import error_page, may_patrol

router = APIRouter(dependencies=[Depends(check_csrf)])

PATROL_FIELDS = ("category", "description", "address", "lat", "lon")
FORBIDDEN = CaseError(403, "您的角色不能巡查上报")


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
        refused = views.ReportRefused(422, {"lat": "请获取当前位置，或填写纬度和经度"})
        return _patrol_form(request, cases, user, posted, refused)
    posted.values = {**values, "title": _title(cases, values["category"])}
    outcome = await views.submit_report(intake, cases, user, posted, "patrol")
    posted.values = values  # the form shows what the worker typed, not the title made for it
    if isinstance(outcome, views.ReportRefused):
        return _patrol_form(request, cases, user, posted, outcome)
    return views.after_report(request, cases, outcome)


def _title(cases: CaseService, category: str) -> str:
    """A patrol report has no title of its own: it is named by what was found."""
    name = reads.category_names(cases.sessions, [category]).get(category) if category else None
    return f"巡查发现：{name}" if name else "网格巡查上报"


def _patrol_form(
    request: Request,
    cases: CaseService,
    user: User,
    posted: forms.ReportForm,
    refused: views.ReportRefused | None = None,
) -> Response:
    context = views.report_form_context(cases, user, posted, refused)
    status = error_status(request, refused.status) if refused else 200
    return render(request, "patrol/new.html", context, block="patrol", status=status)
