"""FastAPI dependencies: the case service, and the user behind a bearer token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from core.cases import CaseService
from core.db import session_scope
from core.intake import IntakeService
from core.models import User
from core.security import user_for_token

_bearer = HTTPBearer(auto_error=False)
T = TypeVar("T")


def get_cases(request: Request) -> CaseService:
    return request.app.state.cases


def get_intake(request: Request) -> IntakeService:
    return request.app.state.intake


def get_api_user(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    return bearer_holder(request, creds, user_for_token, "bearer token")


def bearer_holder(
    request: Request,
    creds: HTTPAuthorizationCredentials | None,
    lookup: Callable[[Session, str], T | None],
    what: str,
) -> T:
    """Whoever holds the bearer token (a user, a device), or 401."""
    if creds is None:
        raise HTTPException(401, f"missing {what}", headers={"WWW-Authenticate": "Bearer"})
    with session_scope(request.app.state.sessions) as session:
        holder = lookup(session, creds.credentials)
    if holder is None:
        raise HTTPException(401, f"invalid {what}", headers={"WWW-Authenticate": "Bearer"})
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
Cases = Annotated[CaseService, Depends(get_cases)]
Intake = Annotated[IntakeService, Depends(get_intake)]
ApiUser = Annotated[User, Depends(get_api_user)]
