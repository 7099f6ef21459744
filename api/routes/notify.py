"""JSON API for one's own notifications out of the app: what to be told, and where."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import Field

from api.deps import ApiUser
from api.errors import FORBIDDEN
from core.db import session_scope
from core.notify import preferences
from core.notify.preferences import Preferences

router = APIRouter(prefix="/me/notifications", tags=["notifications"])


class PreferencesOut(Preferences):
    updated_at: datetime | None = Field(description="when last changed; null: never set")


@router.get("", response_model=PreferencesOut)
def get_preferences(request: Request, user: ApiUser) -> PreferencesOut:
    """The caller's notification preferences (none set: nothing is sent)."""
    with session_scope(request.app.state.sessions) as session:
        prefs, updated_at = preferences.get(session, user)
    return PreferencesOut(**prefs.model_dump(), updated_at=updated_at)


@router.put("", response_model=PreferencesOut, responses=FORBIDDEN)
def put_preferences(body: Preferences, request: Request, user: ApiUser) -> PreferencesOut:
    """Opt in to (or out of) e-mail or SMS for reminders, escalations and new dispatches."""
    with session_scope(request.app.state.sessions) as session:
        updated_at = preferences.update(session, user, body)
        prefs, _ = preferences.get(session, user)
    return PreferencesOut(**prefs.model_dump(), updated_at=updated_at)
