"""The personal-data view log as a page (article 21): for supervisors, their area's entries."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from core.bounds import PageNumber
from core.cases.service import CaseError
from core.privacy.views import ViewFilter, list_views
from web.deps import Cases, WebUser
from web.layout import error_page, layout_context
from web.templating import render

router = APIRouter()
FIELD_NAMES = {"reporter_name": "反映人姓名", "reporter_phone": "反映人电话", "phone": "电话"}
KIND_NAMES = {"report": "工单反映人", "person": "人员", "team": "队伍"}


@router.get("/audit/personal-data-views")
def views_page(
    request: Request,
    user: WebUser,
    cases: Cases,
    viewer: str = "",
    subject: str = "",
    page: PageNumber = 1,
) -> Response:
    """Who saw whose personal information unmasked, newest first, in the supervisor's area."""
    try:
        filters = ViewFilter(viewer=viewer.strip(), subject=subject.strip())
        found = list_views(cases.sessions, user, filters, page=page)
    except ValidationError:
        return error_page(request, cases, user, CaseError(422, "筛选条件过长"))
    except CaseError as err:
        return error_page(request, cases, user, CaseError(err.status, "只有督办员可以查看"))
    context = {
        **layout_context(cases, user),
        "found": found,
        "filters": filters,
        "field_names": FIELD_NAMES,
        "kind_names": KIND_NAMES,
    }
    return render(request, "privacy/views.html", context, block="views")
