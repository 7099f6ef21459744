"""Errors as the API answers them, and honest answers while a dependency is down (issue 9).

A dependency that is down or slow is never a 500: the database or Temporal unreachable gives 503
with `Retry-After` (retry with the same Idempotency-Key), and a case that started but whose
routing has not answered yet gives 202 with its ticket.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from temporalio.service import RPCError

from core.errors import RETRY_AFTER_S, CaseError, IntakePending
from core.logs import get_logger
from workflows.contracts import CaseState

log = get_logger(__name__)
UNAVAILABLE_HTML = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>服务暂时不可用</title>'
    "<p>服务暂时不可用，请稍后重试。您填写的内容未提交，请返回上一页再次提交。</p></html>"
)


class ErrorOut(BaseModel):
    """A refusal: why, and the field to blame ("" when none is)."""

    detail: str
    field: str = ""


class PendingOut(BaseModel):
    """The case was started, but routing has not answered within the wait: ask again later."""

    ticket: str
    tracking_token: str = ""
    detail: str
    case: CaseState | None = Field(default=None, description="the case as a query found it")


UNAVAILABLE = {"model": ErrorOut, "description": "a dependency is down: retry after Retry-After"}
INTAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": PendingOut, "description": "started; routing has not answered yet"},
    409: {"model": ErrorOut, "description": "possible duplicates (with candidates) or taken"},
    503: UNAVAILABLE,
}
ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut, "description": "this user may not take this action on this case"},
    404: {"model": ErrorOut, "description": "no such case or action"},
    409: {"model": ErrorOut, "description": "not in a state that allows it"},
    503: UNAVAILABLE,
}


def install(app: FastAPI) -> None:
    app.add_exception_handler(CaseError, _case_error)  # type: ignore[arg-type]
    app.add_exception_handler(IntakePending, _pending)  # type: ignore[arg-type]
    for unreachable in (OperationalError, InterfaceError, RPCError):
        app.add_exception_handler(unreachable, _unavailable)


async def _case_error(request: Request, exc: CaseError) -> Response:
    """JSON for everyone; web routes catch CaseError themselves to show it inline."""
    body = {"detail": exc.reason, "field": exc.field, **exc.extra}
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return JSONResponse(jsonable_encoder(body), status_code=exc.status, headers=headers)


async def _pending(request: Request, exc: IntakePending) -> Response:
    body = PendingOut(
        ticket=exc.ticket, tracking_token=exc.tracking_token, detail=str(exc), case=exc.state
    )
    return JSONResponse(jsonable_encoder(body), status_code=202)


async def _unavailable(request: Request, exc: Exception) -> Response:
    """The database or Temporal did not answer: 503, never 500."""
    log.warning("dependency_unavailable", error=type(exc).__name__, path=request.url.path)
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if request.url.path.startswith(("/api/", "/open311/")):
        body = {"detail": "a service this request needs is unavailable; retry", "field": ""}
        return JSONResponse(body, status_code=503, headers=headers)
    return HTMLResponse(UNAVAILABLE_HTML, status_code=503, headers=headers)
