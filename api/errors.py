"""Errors as the API answers them, and honest answers while a dependency is down (issue 9).

Every refusal of the JSON API has one shape, `ErrorOut` `{"detail", "field", "code", "params"}`
(`detail` in English; `code` names the refusal for clients to translate, as web/labels.py does,
and `params` fill its text), and a 422 adds `errors` (`InvalidOut`), whether FastAPI's
validation refused the input or a service did; the response dicts below put exactly these in
each route's OpenAPI (Open311 keeps the spec's own error list, api/routes/open311.py). A
dependency that is down or slow is never a 500: the database or Temporal unreachable gives 503
with `Retry-After` (retry with the same Idempotency-Key), and a case that started but whose
routing has not answered yet gives 202 with its ticket."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from core.errors import RETRY_AFTER_S, CaseError, IntakePending
from core.logs import get_logger
from core.security.ratelimit import RateLimited
from web.templating import render
from workflows.contracts import CaseState

log = get_logger(__name__)
JSON_PREFIXES = ("/api/", "/open311/")
API_PREFIXES = ("/api/", "/codec/")  # Open311 answers its own errors (api/routes/open311.py)
SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
UNAVAILABLE_HTML = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>服务暂时不可用</title>'
    "<p>服务暂时不可用，请稍后重试。您填写的内容未提交，请返回上一页再次提交。</p></html>"
)


class ErrorOut(BaseModel):
    """A refusal: why, the field to blame ("" when none is), and its code with params."""

    detail: str
    field: str = Field(description='the field to blame, "" when none is')
    code: str = Field(
        default="", description='the refusal\'s name (`not_assigned`, …), "" when it has none'
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="values the refusal's text names, by name"
    )


class ConflictOut(ErrorOut):
    """409: the case is not in a state that allows the action; `code` "stale" when the request's
    `expected_version` is no longer the case's version (read the case again, then decide)."""

    code: str = Field(default="", description='"stale", or "" for any other conflict')


class FieldError(BaseModel):
    """One invalid input: where it is (`["query", "page"]`), why, and the kind of error."""

    loc: list[str | int]
    msg: str
    type: str


class InvalidOut(ErrorOut):
    """422: the first invalid input in `detail` and `field`, every one of them in `errors`."""

    errors: list[FieldError]


class RateLimitedOut(ErrorOut):
    """429: too many requests, or a used-up quota; send again after `retry_after` seconds."""

    retry_after: int = Field(description="seconds, as the Retry-After header says")


class PendingOut(BaseModel):
    """The case was started, but routing has not answered within the wait: ask again later."""

    ticket: str
    tracking_token: str = ""
    detail: str
    case: CaseState | None = Field(default=None, description="the case as a query found it")


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "string"}}


def _error(description: str, model: type[BaseModel] = ErrorOut, **headers: str) -> dict[str, Any]:
    named = {name.replace("_", "-").title(): _header(text) for name, text in headers.items()}
    return {"model": model, "description": description, **({"headers": named} if named else {})}


Responses = dict[int | str, dict[str, Any]]
RETRY_AFTER = "seconds to wait before sending again (the same Idempotency-Key is safe)"
UNAUTHORIZED: Responses = {
    401: _error(
        "no bearer token, or one unknown, expired or revoked",
        www_authenticate="Bearer",
    )
}
FORBIDDEN: Responses = {403: _error("the caller's role or unit may not do this")}
NOT_FOUND: Responses = {404: _error("no such thing, or one the caller may not see")}
CONFLICT: Responses = {409: _error("not in a state that allows it")}
INVALID: Responses = {
    422: _error("an invalid input: the first in `detail` and `field`, all in `errors`", InvalidOut)
}
RATE_LIMITED: Responses = {
    429: _error(
        "too many requests: retry after Retry-After", RateLimitedOut, retry_after=RETRY_AFTER
    )
}
UNAVAILABLE: Responses = {
    503: _error("a dependency is down: retry after Retry-After", retry_after=RETRY_AFTER)
}
# Every /api/v1 route: a bearer token checked against the database, inputs validated.
API_RESPONSES: Responses = {**UNAUTHORIZED, **INVALID, **UNAVAILABLE}
INTAKE_RESPONSES: Responses = {
    202: {"model": PendingOut, "description": "started; routing has not answered yet"},
    **FORBIDDEN,
    404: _error("merge_into names no case the caller may see"),
    409: _error("possible duplicates (with candidates) or taken"),
}
ACTION_RESPONSES: Responses = {
    403: _error("this user may not take this action on this case"),
    404: _error("no such case or action, or a case the caller may not see"),
    409: _error(
        "not in a state that allows it, or (code stale) changed since expected_version",
        ConflictOut,
    ),
}


def refusal(
    status: int,
    detail: str,
    field: str = "",
    code: str = "",
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of every refusal of the JSON API (`ErrorOut`, `InvalidOut` for 422)."""
    body: dict[str, Any] = {"detail": detail, "field": field, "code": code, "params": params or {}}
    if status == 422:
        body["errors"] = [{"loc": [field] if field else [], "msg": detail, "type": "invalid"}]
    return body


def install(app: FastAPI) -> None:
    app.add_exception_handler(CaseError, _case_error)  # type: ignore[arg-type]
    app.add_exception_handler(IntakePending, _pending)  # type: ignore[arg-type]
    app.add_exception_handler(RateLimited, _rate_limited)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(DataError, _unstorable)  # type: ignore[arg-type]
    for unreachable in (OperationalError, InterfaceError, RPCError):
        app.add_exception_handler(unreachable, _unavailable)


async def _case_error(request: Request, exc: CaseError) -> Response:
    """JSON for everyone; web routes catch CaseError themselves to show it inline."""
    body = {**refusal(exc.status, exc.reason, exc.field, exc.code, exc.params), **exc.extra}
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return JSONResponse(jsonable_encoder(body), status_code=exc.status, headers=headers)


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    """FastAPI's own validation, in the shape of every other refusal (`InvalidOut`)."""
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in exc.errors()
    ] or [{"loc": [], "msg": "invalid request", "type": "invalid"}]
    first = errors[0]
    field = _field(list(first["loc"]))
    detail = f"{field}: {first['msg']}" if field else first["msg"]
    body = {"detail": detail, "field": field, "errors": errors}
    return JSONResponse(jsonable_encoder(body), status_code=422)


def _field(loc: list[Any]) -> str:
    """`["body", "location", 0]` → "location.0": where the input is, without its source."""
    inside = loc[1:] if len(loc) > 1 and loc[0] in SOURCES else loc
    return ".".join(str(part) for part in inside)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """The API's HTTP errors (401, an unknown path) as `ErrorOut`; the rest as FastAPI has them."""
    if not request.url.path.startswith(API_PREFIXES):
        return await http_exception_handler(request, exc)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (not UTF-8), where a JSON syntax error
        # gets 422: both are an unreadable body, so both are 422 on `body`.
        return JSONResponse(refusal(422, str(exc.detail), "body"), status_code=422)
    body = refusal(exc.status_code, str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _pending(request: Request, exc: IntakePending) -> Response:
    body = PendingOut(
        ticket=exc.ticket, tracking_token=exc.tracking_token, detail=str(exc), case=exc.state
    )
    return JSONResponse(jsonable_encoder(body), status_code=202)


async def _unavailable(request: Request, exc: Exception) -> Response:
    """The database or Temporal did not answer: 503, never 500."""
    log.warning("dependency_unavailable", error=type(exc).__name__, path=request.url.path)
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if request.url.path.startswith(JSON_PREFIXES):
        body = refusal(503, "a service this request needs is unavailable; retry")
        return JSONResponse(body, status_code=503, headers=headers)
    return HTMLResponse(UNAVAILABLE_HTML, status_code=503, headers=headers)


async def _unstorable(request: Request, exc: DataError) -> Response:
    """A value the database refuses to store or compare (PostgreSQL: a NUL character in text,
    a number out of its column's range): bad input, so 422, and the transaction rolled back."""
    # The driver's message may quote the value: only its kind goes to the log.
    log.warning("input_not_storable", path=request.url.path, error=type(exc.orig).__name__)
    reason = "a value cannot be stored: text with a NUL character, or a number out of range"
    if request.url.path.startswith(JSON_PREFIXES):
        return JSONResponse(refusal(422, reason), status_code=422)
    context = {"status": 422, "message": "输入包含无法保存的字符或超出范围的数字，请修改后重试"}
    return render(request, "error.html", context, block="error", status=422)


async def _rate_limited(request: Request, exc: RateLimited) -> Response:
    """429 with Retry-After: JSON for the API, a page in Chinese for the web UI."""
    headers = {"Retry-After": str(exc.retry_after)}
    if request.url.path.startswith(JSON_PREFIXES):
        body = {**refusal(429, str(exc)), "retry_after": exc.retry_after}
        return JSONResponse(body, status_code=429, headers=headers)
    context = {"status": 429, "message": f"请求过于频繁，请 {exc.retry_after} 秒后再试"}
    response = render(request, "error.html", context, block="error", status=429)
    response.headers.update(headers)
    return response
