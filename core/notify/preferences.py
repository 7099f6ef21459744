"""What a staff member opted in to be told outside the app, and where (one row per user).

Nothing is sent to staff who did not opt in; an address is checked against its channel
before it is kept, and the change is logged (who, when, what).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlmodel import Session

from core import access
from core.errors import CaseError
from core.logs import get_logger
from core.models import NotificationPreference, User
from core.notify.addresses import is_email, mobile
from core.notify.kinds import StaffKind
from core.notify.notifier import Channel

log = get_logger(__name__)


class Preferences(BaseModel):
    """One user's choice: the channel, its address, and the kinds of message wanted."""

    channel: Channel = Field(default=Channel.EMAIL, description="email or sms")
    address: str = Field(
        default="", max_length=254, description="an e-mail address, or a mainland mobile number"
    )
    kinds: list[StaffKind] = Field(
        default_factory=list,
        max_length=len(StaffKind),
        description="remind (催办), escalate (升级督办, also the top level's daily report), "
        "dispatch (新派工单: dispatched or reassigned to the unit); empty: nothing is sent",
    )


def get(session: Session, user: User) -> tuple[Preferences, datetime | None]:
    """The user's preferences and when they were last changed (none yet: nothing wanted)."""
    row = session.get(NotificationPreference, user.id)
    if row is None:
        return Preferences(), None
    kinds = [StaffKind(k) for k in row.kinds if k in set(StaffKind)]
    return Preferences(channel=Channel(row.channel), address=row.address, kinds=kinds), (
        row.updated_at
    )


def update(session: Session, user: User, wanted: Preferences) -> datetime:
    """Keep `wanted` as the user's preferences; refuse an address its channel cannot reach."""
    if not access.is_staff(user):
        raise CaseError(403, "only staff who work cases can be notified", code="notify_role")
    address = _checked(wanted.channel, wanted.address.strip(), bool(wanted.kinds))
    kinds = [k.value for k in StaffKind if k in wanted.kinds]
    now = datetime.now(UTC)
    assert user.id is not None  # a stored user
    row = session.get(NotificationPreference, user.id) or NotificationPreference(
        user_id=user.id, updated_at=now
    )
    row.channel, row.address, row.kinds, row.updated_at = wanted.channel.value, address, kinds, now
    session.add(row)
    log.info("notification_preferences_set", user=user.username, channel=row.channel, kinds=kinds)
    return now


def _checked(channel: Channel, address: str, wants_any: bool) -> str:
    if not address:
        if wants_any:
            raise CaseError(
                422, "an address is needed to be told anything", "address", code="required"
            )
        return ""
    if channel is Channel.EMAIL:
        if not is_email(address):
            raise CaseError(422, "not an e-mail address", "address", code="email_format")
        return address
    number = mobile(address)
    if not number:
        raise CaseError(
            422,
            "not a mainland mobile number (an SMS cannot reach it)",
            "address",
            code="mobile_format",
        )
    return number
