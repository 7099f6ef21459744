"""FastAPI dependencies: the case service, and the user behind a bearer token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from core.cases.service import CaseService
from core.cases.types import CaseTypes
from core.db import session_scope
from core.intake.service import IntakeService
from core.models import User
from core.security.tokens import CredentialsUnavailable, TokenCache

_bearer = HTTPBearer(auto_error=False)
T = TypeVar("T")
RETRY_AFTER_OUTAGE = "5"  # seconds a client waits when credentials cannot be checked


# The services the lifespan built (api/app.py); the web UI's dependencies reach them here too.
def get_cases(request: Request) -> CaseService:
    return request.app.state.cases


def get_intake(request: Request) -> IntakeService:
    return request.app.state.intake


def get_types(request: Request) -> CaseTypes:
    return request.app.state.types


def get_api_user(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The active user of an unexpired, unrevoked token (checked through the token cache)."""
    if creds is None:
        raise _unauthorized("missing bearer token")
    tokens: TokenCache = request.app.state.tokens
    try:
        user = tokens.user_for(creds.credentials)
    except CredentialsUnavailable:
        raise _unavailable() from None
    if user is None:
        raise _unauthorized("invalid bearer token")
    return user


def bearer_holder(
    request: Request,
    creds: HTTPAuthorizationCredentials | None,
    lookup: Callable[[Session, str], T | None],
    what: str,
) -> T:
    """Whoever holds the bearer token (a user, a device), or 401."""
    if creds is None:
        raise _unauthorized(f"missing {what}")
    try:
        with session_scope(request.app.state.sessions) as session:
            holder = lookup(session, creds.credentials)
    except SQLAlchemyError:
        raise _unavailable() from None
    if holder is None:
        raise _unauthorized(f"invalid {what}")
    return holder


# A retry with the same key answers with the first result instead of acting again (issue 9).
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{1,100}$",
        description="Makes the request safe to retry: the same key again (also after a "
        "timeout, a 503 or a lost connection) returns the first result and acts at most once; "
        "the same key with another body is refused with 422. Keys are per user and per case "
        "(actions) or per user (intake); see the README for how long they are kept.",
    ),
]


def _unavailable() -> HTTPException:
    return HTTPException(
        503,
        "credentials cannot be checked right now: the database is unreachable",
        headers={"Retry-After": RETRY_AFTER_OUTAGE},
    )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


Cases = Annotated[CaseService, Depends(get_cases)]
Intake = Annotated[IntakeService, Depends(get_intake)]
Types = Annotated[CaseTypes, Depends(get_types)]
ApiUser = Annotated[User, Depends(get_api_user)]
