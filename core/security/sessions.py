"""Server-side web sessions: the browser's cookie holds a random id, this table the rest.

A session row is made at login and holds its user, its lifetimes and the little state the
UI keeps across a redirect (a notice). Logout, a password change and disabling the user
revoke it, so a copied cookie stops working at once. The id is stored as its SHA-256 digest:
a leaked table names no usable cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, delete, update

from core.models import User, WebSessionRecord

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at moves at most this often: fewer writes
KEEP_ENDED = timedelta(days=30)  # ended sessions stay this long, for the record


@dataclass(frozen=True)
class Lifetime:
    """How long a session lasts: from login, and without a request."""

    absolute: timedelta
    idle: timedelta


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def session_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(session: Session, user: User, lifetime: Lifetime, *, address: str = "") -> str:
    """A new session for `user`; returns its id (the cookie's value)."""
    assert user.id is not None
    session_id, now = new_session_id(), datetime.now(UTC)
    session.add(
        WebSessionRecord(
            id_hash=session_digest(session_id),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime.absolute,
            address=address[:64],
        )
    )
    _forget_old(session, now)
    return session_id


def live_session(
    session: Session, session_id: str, lifetime: Lifetime, *, touch: bool = True
) -> WebSessionRecord | None:
    """The session with this id if it is neither revoked, expired, idle too long, nor its
    user disabled; its last-seen time moves on (unless `touch` is off: a page polling on its
    own is no sign of a person at the screen, and must not keep an idle session alive)."""
    now = datetime.now(UTC)
    row = session.get(WebSessionRecord, session_digest(session_id))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + lifetime.idle <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return row


def save_data(session: Session, session_id: str, data: dict[str, object]) -> None:
    query = (
        update(WebSessionRecord)
        .where(col(WebSessionRecord.id_hash) == session_digest(session_id))
        .values(data=data)
    )
    session.exec(query)


def revoke_session(session: Session, session_id: str, reason: str) -> None:
    _revoke(session, col(WebSessionRecord.id_hash) == session_digest(session_id), reason)


def revoke_user_sessions(session: Session, user: User, reason: str) -> None:
    """End every live session of `user` (password changed, user disabled)."""
    _revoke(session, col(WebSessionRecord.user_id) == user.id, reason)


def _revoke(session: Session, which: object, reason: str) -> None:
    query = (
        update(WebSessionRecord)
        .where(which, col(WebSessionRecord.revoked_at).is_(None))  # type: ignore[arg-type]
        .values(revoked_at=datetime.now(UTC), revoked_reason=reason)
    )
    session.exec(query)


def _forget_old(session: Session, now: datetime) -> None:
    """Drop sessions that ended long ago; done at login, so the table stays the live ones."""
    query = delete(WebSessionRecord).where(col(WebSessionRecord.expires_at) < now - KEEP_ENDED)
    session.exec(query)
