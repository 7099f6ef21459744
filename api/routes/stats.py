"""Published statistics (article 13): the monthly measures, without login, as JSON or CSV.

Counts and ratios per group only — no case, no person, no free text (docs/measures.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from core.measures import report
from core.security.ratelimit import rate_limit
from workflows.shared.workcal import CST

router = APIRouter(tags=["stats"])
By = Literal["district", "street", "unit", "category", "channel", "kind", "all"]


def last_month(now: datetime | None = None) -> str:
    """The last whole month in Beijing time, as YYYY-MM."""
    today = (now or datetime.now(UTC)).astimezone(CST)
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@router.get(
    "/stats/measures",
    dependencies=[Depends(rate_limit("stats"))],
    response_model=report.MeasureTable,
    responses={200: {"content": {"text/csv": {}}}},
)
async def measures(
    request: Request,
    period: str = "",
    by: By = "district",
    format: Literal["json", "csv"] = "json",
) -> report.MeasureTable | Response:
    """响应率, 解决率, 满意率 and the other measures of a month (YYYY-MM, default the last) or
    year (YYYY) per group; `format=csv` for a download. Public: no login."""
    sessions = request.app.state.sessions
    table = await run_in_threadpool(report.published, sessions, period or last_month(), by)
    if format == "json":
        return table
    name = f"cityloop-measures-{table.period}-{by}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(report.as_csv(table), media_type="text/csv; charset=utf-8", headers=headers)
