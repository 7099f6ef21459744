"""Open311 GeoReport v2 at /open311/v2: discovery, services, service requests and tokens.

Each resource answers as JSON or XML after its `.json` / `.xml` suffix, rendered from the
same dicts (`core/open311.py` builds them). Refusals take the spec's error format in the
format asked for, so the routes have their own route class: the app-wide handlers answer
FastAPI's `{"detail": …}`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from temporalio.service import RPCError

from api.deps import Cases, IdempotencyKey, Intake
from core import open311
from core.cases.service import CaseError
from core.db import SessionFactory, session_scope
from core.errors import RETRY_AFTER_S, IntakePending
from core.open311 import Open311Error, Open311Post
from core.security.ratelimit import RateLimited, rate_limit

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The XML element of each item of a list, by the list's own element.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
# Characters XML 1.0 cannot carry at all, escaped or not.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Route(APIRoute):
    """Answers every refusal as the spec's `errors`, in the format the path asks for."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Open311Error as err:
                return error(request, err.code, err.description)
            except CaseError as err:  # the spec knows 400 for a bad parameter, not 422
                answer = error(request, 400 if err.status == 422 else err.status, err.reason)
                if err.retry_after:
                    answer.headers["Retry-After"] = str(err.retry_after)
                return answer
            except RequestValidationError as err:
                return error(request, 400, open311.describe_errors(err.errors()))
            except HTTPException as err:  # a malformed form body, say
                return error(request, err.status_code, str(err.detail))
            except RateLimited as err:
                refused = error(request, 429, f"too many requests: retry after {err.retry_after} s")
                refused.headers["Retry-After"] = str(err.retry_after)
                return refused
            except DataError:  # text with a NUL character, say (PostgreSQL refuses it)
                return error(request, 400, "a parameter holds a value that cannot be stored")
            except (OperationalError, InterfaceError, RPCError):  # never a 500, as elsewhere
                down = error(request, 503, "a service this request needs is unavailable; retry")
                down.headers["Retry-After"] = str(RETRY_AFTER_S)
                return down

        return answer


def response_format(
    # The enum is for the OpenAPI only: another suffix gets the spec's 400, not FastAPI's 422.
    fmt: Annotated[str, Path(json_schema_extra={"enum": list(CONTENT_TYPES)})],
) -> str:
    if fmt not in CONTENT_TYPES:
        raise Open311Error(400, f"format {fmt!r} is not supported: use json or xml")
    return fmt


def jurisdiction(jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None) -> None:
    open311.check_jurisdiction(jurisdiction_id)


def get_sessions(request: Request) -> SessionFactory:
    return request.app.state.sessions


Format = Annotated[str, Depends(response_format)]
Sessions = Annotated[SessionFactory, Depends(get_sessions)]
Csv = Annotated[str | None, Query(max_length=100_000)]
Date = Annotated[str | None, Query(max_length=64)]


def answers(description: str, json_schema: dict[str, Any]) -> dict[str, Any]:
    """An answer in OpenAPI: the same data as JSON or (the path's `.xml`) as XML."""
    xml = {"schema": {"type": "string"}}
    return {
        "description": description,
        "content": {"application/json": {"schema": json_schema}, "text/xml": xml},
    }


OBJECT: dict[str, Any] = {"type": "object"}
LIST: dict[str, Any] = {"type": "array", "items": OBJECT}
ERRORS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}
RETRY_AFTER = {"description": "seconds to wait", "required": True, "schema": {"type": "string"}}
REFUSED = answers("the spec's errors: 400 a bad parameter, 403 a bad api_key, 404, 429", ERRORS)
UNAVAILABLE = {**answers("a dependency is down", ERRORS), "headers": {"Retry-After": RETRY_AFTER}}
# POST's form, parsed by hand (core/open311.py); this documents it.
POST_FORM = Open311Post.model_json_schema()
POST_FORM["properties"]["api_key"] = {"type": "string", "description": "the client's key"}
POST_FORM["required"] = [*POST_FORM.get("required", []), "api_key"]
POST_BODY = {
    "required": True,
    "content": {"application/x-www-form-urlencoded": {"schema": POST_FORM}},
}
router = APIRouter(
    prefix="/open311/v2",
    tags=["open311"],
    route_class=Open311Route,
    dependencies=[Depends(jurisdiction)],
    # "4XX" also stands in for FastAPI's own 422, which these routes answer as 400.
    responses={"4XX": REFUSED, 503: UNAVAILABLE},
)


@router.get("/discovery.{fmt}", responses={200: answers("the discovery document", OBJECT)})
def get_discovery(request: Request, fmt: Format) -> Response:
    """Where this endpoint is, which formats it speaks, and whom to ask for an api_key."""
    url = str(request.url_for("get_discovery", fmt=fmt)).rsplit("/", 1)[0]
    return render(fmt, "discovery", open311.discovery(url))


@router.get("/services.{fmt}", responses={200: answers("the services", LIST)})
def get_services(fmt: Format, sessions: Sessions) -> Response:
    """The service list: one service per catalog category."""
    with session_scope(sessions) as session:
        return render(fmt, "services", open311.services(session))


@router.get("/services/{service_code}.{fmt}", responses={200: answers("the definition", OBJECT)})
def get_service_definition(service_code: str, fmt: Format, sessions: Sessions) -> Response:
    """A service's definition: we ask for no attributes beyond the standard fields."""
    with session_scope(sessions) as session:
        return render(fmt, "service_definition", open311.service_definition(session, service_code))


async def _api_key(request: Request) -> str | None:
    """The client's api_key, as the spec sends it: in the form body (or the query)."""
    key = (await request.form()).get("api_key") or request.query_params.get("api_key")
    return key if isinstance(key, str) else None


@router.post(
    "/requests.{fmt}",
    status_code=201,
    dependencies=[Depends(rate_limit("open311_post", _api_key))],
    responses={
        201: answers("the new request (a list of one)", LIST),
        202: answers("started; routing has not answered yet (a list of one)", LIST),
    },
    openapi_extra={"requestBody": POST_BODY},
)
async def post_request(
    request: Request, fmt: Format, sessions: Sessions, intake: Intake, key: IdempotencyKey = ""
) -> Response:
    """Report an event (form-encoded): it opens a case, or joins the open case it duplicates."""
    form = await request.form()
    params = {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}
    open311.check_jurisdiction(params.get("jurisdiction_id"))
    with session_scope(sessions) as session:
        actor, report = open311.prepare_post(session, params)
    try:
        result = await intake.submit(actor, report, key=key)
    except IntakePending as pending:  # started; routing has not answered yet
        return render(fmt, "service_requests", [open311.pending_answer(pending)], status=202)
    return render(fmt, "service_requests", [open311.post_answer(result)], status=201)


@router.get("/requests.{fmt}", responses={200: answers("the requests", LIST)})
def get_requests(
    fmt: Format,
    sessions: Sessions,
    service_request_id: Csv = None,
    service_code: Csv = None,
    start_date: Date = None,
    end_date: Date = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Requests by ids, or by service, status and date (the last 90 days by default)."""
    query = open311.parse_query(
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
        now=datetime.now(UTC),
    )
    with session_scope(sessions) as session:
        return render(fmt, "service_requests", open311.find_requests(session, query))


@router.get("/requests/{service_request_id}.{fmt}", responses={200: answers("a list of one", LIST)})
async def get_request(
    service_request_id: str, fmt: Format, sessions: Sessions, cases: Cases
) -> Response:
    """One request (as a list of one); a merged report shows the case it joined."""
    found = await open311.service_request(sessions, cases, service_request_id)
    return render(fmt, "service_requests", [found])


@router.get("/tokens/{token}.{fmt}", responses={200: answers("a list of one", LIST)})
def get_token(token: str, fmt: Format, sessions: Sessions) -> Response:
    """The service_request_id behind a token that POST handed out."""
    with session_scope(sessions) as session:
        ticket = open311.ticket_for_token(session, token)
    if ticket is None:
        raise Open311Error(404, f"token {token!r} not found")
    return render(fmt, "service_requests", [{"service_request_id": ticket, "token": token}])


@router.api_route("/{path:path}", methods=["GET", "POST"], include_in_schema=False)
def unknown(path: str) -> Response:
    """Anything else under the prefix: the spec's 404 rather than FastAPI's."""
    raise Open311Error(404, f"no Open311 resource {path!r}: try services.json or discovery.xml")


# ---- rendering -------------------------------------------------------------------------
def error(request: Request, code: int, description: str) -> Response:
    fmt = request.path_params.get("fmt") or request.url.path.rpartition(".")[2]
    fmt = fmt if fmt in CONTENT_TYPES else "json"
    return render(fmt, "errors", [{"code": code, "description": description}], status=code)


def render(fmt: str, root: str, data: Any, *, status: int = 200) -> Response:
    """The same data as JSON, or as XML under `root`."""
    if fmt == "xml":
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
            _element(root, data), encoding="unicode"
        )
    else:
        body = json.dumps(data, ensure_ascii=False)
    return Response(body.encode(), status_code=status, media_type=CONTENT_TYPES[fmt])


def _element(tag: str, value: Any) -> ET.Element:
    """Dicts become child elements, lists repeat their item tag, null an empty element."""
    element = ET.Element(tag)
    if isinstance(value, dict):
        element.extend(_element(key, item) for key, item in value.items())
    elif isinstance(value, list):
        element.extend(_element(ITEM_TAGS[tag], item) for item in value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML.sub("", str(value))
    return element
