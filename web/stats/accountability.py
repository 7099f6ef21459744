"""The monthly accountability report per unit (通报, article 21), its drill-down to the cases
behind each number, and its .xlsx export; scoped like the overview (web/stats/overview.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.routes.stats import last_month
from core.cases.service import CaseError, CaseService
from core.db import session_scope
from core.measures import accountability
from core.measures.definitions import MEASURES
from core.measures.queries import parse_period
from core.models import User
from web.deps import Cases, WebUser
from web.layout import error_page, layout_context
from web.stats.overview import scope_for
from web.templating import render

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _lines(cases: CaseService, user: User, unit: str, period: str) -> dict[str, Any]:
    span = parse_period(period)
    with session_scope(cases.sessions) as session:
        scope = scope_for(session, user, unit)
        lines = accountability.report(session, span, now=datetime.now(UTC), area=scope.area)
    return {"scope": scope, "span": span, "lines": lines}


@router.get("/reports/accountability")
async def accountability_page(
    request: Request, user: WebUser, cases: Cases, period: str = "", unit: str = ""
) -> Response:
    """Each unit's month: overdue, escalated, returned, reworked cases, rates and rank."""
    period = period.strip() or last_month()
    try:
        data = await run_in_threadpool(_lines, cases, user, unit, period)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context = {
        **layout_context(cases, user),
        **data,
        "period": period,
        "unit": unit,
        "counts": [m for m in MEASURES if m.key in accountability.COUNTS],
        "rates": [m for m in MEASURES if m.key in accountability.RATES],
    }
    return render(request, "stats/accountability.html", context, block="report")


@router.get("/reports/accountability.xlsx")
async def accountability_xlsx(
    request: Request, user: WebUser, cases: Cases, period: str = "", unit: str = ""
) -> Response:
    """The same report as an Excel workbook."""
    period = period.strip() or last_month()
    try:
        data = await run_in_threadpool(_lines, cases, user, unit, period)
    except CaseError as err:
        return error_page(request, cases, user, err)
    body = accountability.workbook(data["lines"], data["span"])
    name = f"accountability-{data['span'].label}.xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=XLSX, headers=headers)


def _behind(cases: CaseService, user: User, unit: str, holder: str, key: str, period: str) -> Any:
    span, measure = parse_period(period), accountability.measure_of(key)
    with session_scope(cases.sessions) as session:
        scope = scope_for(session, user, unit)
        rows = accountability.cases_behind(session, span, holder, measure, area=scope.area)
    return {"span": span, "measure": measure, "rows": rows}


@router.get("/reports/accountability/cases")
async def accountability_cases(
    request: Request,
    user: WebUser,
    cases: Cases,
    holder: str,
    measure: str,
    period: str = "",
    unit: str = "",
) -> Response:
    """The cases behind one number of the report (within the user's area)."""
    period = period.strip() or last_month()
    try:
        data = await run_in_threadpool(_behind, cases, user, unit, holder, measure, period)
    except CaseError as err:
        return error_page(request, cases, user, err)
    context = {**layout_context(cases, user), **data, "holder": holder, "period": period}
    return render(request, "stats/accountability_cases.html", context, block="cases")
