"""FastAPI dependencies: the case service, and the user behind a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.cases import CaseService
from core.db import session_scope
from core.intake import IntakeService
from core.models import User
from core.security import user_for_token

_bearer = HTTPBearer(auto_error=False)


def get_cases(request: Request) -> CaseService:
    return request.app.state.cases


def get_intake(request: Request) -> IntakeService:
    return request.app.state.intake


def get_api_user(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if creds is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    with session_scope(request.app.state.sessions) as session:
        user = user_for_token(session, creds.credentials)
    if user is None:
        raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
    return user


Cases = Annotated[CaseService, Depends(get_cases)]
Intake = Annotated[IntakeService, Depends(get_intake)]
ApiUser = Annotated[User, Depends(get_api_user)]
