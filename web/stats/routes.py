"""Public pages, no login: the monthly measures per district or category, and how each is
computed. Counts and ratios only (core/measures/report.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.routes.stats import last_month
from core.errors import CaseError
from core.measures import report
from core.measures.definitions import DURATIONS, MEASURES
from core.security.ratelimit import rate_limit
from web.templating import error_status, render

router = APIRouter()
PUBLIC_BY = ("district", "category", "channel", "kind", "all")  # the published groupings


@router.get("/stats", dependencies=[Depends(rate_limit("stats"))])
async def stats_page(request: Request, period: str = "", by: str = "district") -> Response:
    """This month's (or the chosen month's) measures, per district or per category."""
    by = by if by in PUBLIC_BY else "district"
    period = period.strip() or last_month()
    context: dict[str, Any] = {
        "period": period,
        "by": by,
        "choices": PUBLIC_BY,
        "by_names": report.BY_NAMES,
    }
    try:
        sessions = request.app.state.sessions
        context["table"] = await run_in_threadpool(report.published, sessions, period, by)
    except CaseError as err:
        context |= {"table": None, "error": "请按“年-月”（如 2026-11）选择统计月份"}
        return render(
            request,
            "stats/stats.html",
            context,
            block="results",
            status=error_status(request, err.status),
        )
    return render(request, "stats/stats.html", context, block="results")


@router.get("/stats/definitions")
def definitions_page(request: Request) -> Response:
    """How each published measure is computed."""
    context = {"measures": MEASURES, "durations": DURATIONS}
    return render(request, "stats/definitions.html", context, block="definitions")
