"""The remote codec endpoint: /codec/decode and /codec/encode for the Temporal Web UI and CLI.

Temporal's remote codec protocol: POST a `Payloads` message as protobuf JSON
(`{"payloads": [{"metadata": {...}, "data": "<base64>"}]}`) and get the payloads back
decrypted (decode) or encrypted (encode). The Temporal Web UI calls it from the browser, so
the routes answer CORS for the UI's origins (settings.codec_cors_origins), errors included.

The caller shows who they are with `Authorization: Bearer <cityloop token>` (the `temporal`
CLI's `--codec-auth`), or with the cityloop session cookie (the Web UI's "include
cross-origin credentials": the UI has no way to send a token of ours). Everyone else gets
401/403 and the UI keeps showing ciphertext. See docs/codec.md.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from api.deps import bearer_holder
from api.errors import UNAUTHORIZED, UNAVAILABLE, ErrorOut, InvalidOut, Responses, refusal
from core.db import session_scope
from core.models import Unit, User
from core.security.tokens import user_for_token
from core.temporal.codec import EncryptionCodec, PayloadDecryptError
from web.deps import current_user
from workflows.contracts import Role

# Decoded history holds every case's reporters, and a payload arrives without the case it
# belongs to, so the endpoint cannot scope by area the way case pages do: only those who may
# see every case's personal data decode, i.e. supervisors of the whole city (who see reporters
# unmasked, core/privacy/masking.py) and administrators (who run the system and read stuck
# workflows).
# A district supervisor would see other districts' reporters, so is refused.
DECODING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
DECODING_LEVEL = "city"
# Temporal refuses payloads over 2 MiB; a batch of a few is plenty.
MAX_BODY_BYTES = 8 * 1024 * 1024
_ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"
_bearer = HTTPBearer(auto_error=False)
# The body is parsed by protobuf's own JSON parser, as the protocol asks; this only documents it.
_BYTES = {"type": "string", "format": "byte"}
PAYLOADS_SCHEMA = {
    "type": "object",
    "required": ["payloads"],
    "properties": {
        "payloads": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "metadata": {"type": "object", "additionalProperties": _BYTES},
                    "data": _BYTES,
                },
            },
        }
    },
}
_JSON = {"application/json": {"schema": PAYLOADS_SCHEMA}}
OPENAPI = {"requestBody": {"required": True, "content": _JSON}}
RESPONSES: Responses = {
    200: {"description": "The payloads, converted", "content": _JSON},
    **UNAUTHORIZED,
    403: {"model": ErrorOut, "description": "Not a city supervisor or an administrator"},
    413: {"model": ErrorOut, "description": "More than 8 MiB of payloads"},
    422: {
        "model": InvalidOut,
        "description": "Not a Payloads JSON, or a payload that cannot be decrypted (key id)",
    },
    **UNAVAILABLE,
}


def cors_headers(request: Request) -> dict[str, str]:
    """CORS answer headers when the request comes from an allowed Temporal UI origin."""
    origin = request.headers.get("origin", "")
    if origin not in request.app.state.settings.codec_cors_origins:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


class CorsRoute(APIRoute):
    """Every answer of these routes carries the CORS headers, refusals included, so the UI
    can read a 401 instead of seeing a network error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            try:
                response = await handler(request)
            except HTTPException as exc:
                field = "payloads" if exc.status_code in (413, 422) else ""
                body = refusal(exc.status_code, str(exc.detail), field)
                response = JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
            response.headers.update(cors_headers(request))
            return response

        return with_cors


router = APIRouter(prefix="/codec", tags=["codec"], route_class=CorsRoute)


def codec_reader(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The caller, if allowed to see decoded history: 401 unknown, 403 not allowed."""
    if creds is not None:
        user = bearer_holder(request, creds, user_for_token, "bearer token")
    else:
        user = _session_user(request)
    with session_scope(request.app.state.sessions) as session:
        unit = session.get(Unit, user.unit_id)
    if user.role not in DECODING_ROLES or unit is None or unit.level != DECODING_LEVEL:
        raise HTTPException(403, "only city supervisors and administrators see decoded history")
    return user


def _session_user(request: Request) -> User:
    try:
        return current_user(request, request.app.state.sessions)
    except HTTPException:  # its redirect to the login page means nothing to a codec client
        raise HTTPException(
            401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        ) from None


Reader = Annotated[User, Depends(codec_reader)]


@router.options("/{action}", include_in_schema=False)
def preflight(action: str, request: Request) -> Response:
    """The browser's CORS preflight: allowed only for the Temporal UI's origins."""
    if "Access-Control-Allow-Origin" not in cors_headers(request):
        return Response(status_code=403)
    headers = {
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
    }
    return Response(status_code=204, headers=headers)


@router.post("/decode", responses=RESPONSES, openapi_extra=OPENAPI)
async def decode(request: Request, _user: Reader) -> Response:
    """Decrypt payloads (remote codec protocol); unencrypted ones come back as they were."""
    codec: EncryptionCodec = request.app.state.codec
    try:
        decoded = await codec.decode(await _payloads(request))
    except PayloadDecryptError as err:  # names the key id the payload asks for
        raise HTTPException(422, f"payloads: {err}") from None
    return _answer(decoded)


@router.post("/encode", responses=RESPONSES, openapi_extra=OPENAPI)
async def encode(request: Request, _user: Reader) -> Response:
    """Encrypt payloads with the current key (the UI uses it to send a signal's input)."""
    codec: EncryptionCodec = request.app.state.codec
    return _answer(await codec.encode(await _payloads(request)))


async def _payloads(request: Request) -> list[Any]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"payloads: more than {MAX_BODY_BYTES} bytes")
    try:
        message = json_format.Parse(bytes(body), Payloads())
    except (json_format.ParseError, UnicodeDecodeError) as err:
        raise HTTPException(422, f"payloads: not a Temporal Payloads JSON ({err})") from None
    return list(message.payloads)


def _answer(payloads: list[Any]) -> Response:
    # `payloads` even when empty, which protobuf's JSON would leave out
    return JSONResponse({"payloads": [json_format.MessageToDict(p) for p in payloads]})
