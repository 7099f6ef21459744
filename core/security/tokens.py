"""Credentials: passwords (pwdlib, Argon2), API bearer tokens and who may still use them.

Tokens are random, stored as SHA-256 digests, expire, and can be revoked; users can be
disabled. Every such change is written to `security_events` (who, when, what, why). The API
process keeps a short-lived cache of checked tokens (`TokenCache`), so that authentication
outlives a read-model outage by its TTL and revocation takes effect within it.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from pwdlib import PasswordHash
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from core.db import SessionFactory, session_scope
from core.models import ApiToken, Open311Key, SecurityEvent, User
from core.security.sessions import revoke_user_sessions

_hasher = PasswordHash.recommended()
TOKEN_PREFIX = "cl_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8  # shown in lists; enough to tell tokens apart
TOKEN_LENGTH = len(TOKEN_PREFIX) + 43  # 32 random bytes in URL-safe base64


class CredentialError(ValueError):
    """A credential command that cannot be carried out (unknown user, ambiguous prefix …)."""


class CredentialsUnavailable(Exception):
    """The database could not be asked whether a credential is valid (and none was cached)."""


# ---- passwords -------------------------------------------------------------------------
def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return _hasher.verify(password, hashed)


@cache
def dummy_hash() -> str:
    """A hash of a random password with the real parameters: verifying against it for an
    unknown user costs what a known user's check costs, so timing does not tell them apart."""
    return hash_password(secrets.token_urlsafe(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password; None otherwise, at the same cost."""
    user = session.exec(select(User).where(User.username == username)).first()
    valid = verify_password(password, user.password_hash if user else dummy_hash())
    if user is None or not valid or user.disabled_at is not None:
        return None
    return user


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    """A new password; every web session of the user ends with the old one."""
    user.password_hash = hash_password(password)
    session.add(user)
    revoke_user_sessions(session, user, "password_changed")
    record(session, actor, "password_changed", f"user:{user.username}")


# ---- users -------------------------------------------------------------------------------
def find_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise CredentialError(f"no user {username!r}")
    return user


def disable_user(session: Session, user: User, *, actor: str, reason: str) -> None:
    """Refuse the user everywhere: login, web sessions (revoked now) and bearer tokens."""
    if user.disabled_at is None:
        user.disabled_at = datetime.now(UTC)
        session.add(user)
    revoke_user_sessions(session, user, "user_disabled")
    record(session, actor, "user_disabled", f"user:{user.username}", reason)


def enable_user(session: Session, user: User, *, actor: str, reason: str) -> None:
    """Let a disabled user log in again; their unexpired, unrevoked tokens work again."""
    user.disabled_at = None
    session.add(user)
    record(session, actor, "user_enabled", f"user:{user.username}", reason)


def record(session: Session, actor: str, action: str, target: str, reason: str = "") -> None:
    """One line of the credential log."""
    now = datetime.now(UTC)
    session.add(SecurityEvent(at=now, actor=actor, action=action, target=target, reason=reason))


# ---- bearer tokens -------------------------------------------------------------------------
def token_digest(token: str) -> str:
    # Tokens are 256 random bits, so a fast digest is enough and lookups stay cheap.
    return hashlib.sha256(token.encode()).hexdigest()


def mint_token(session: Session, user: User, *, days: int = 90, actor: str = "system") -> str:
    """Create an API token for `user`, valid `days`; only its digest is stored."""
    if days < 1:
        raise CredentialError("a token lives at least one day")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    assert user.id is not None
    row = ApiToken(
        user_id=user.id,
        token_hash=token_digest(token),
        prefix=token[:PREFIX_LENGTH],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    record(session, actor, "token_minted", f"token:{row.prefix} user:{user.username}")
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user holding this unexpired, unrevoked token, if any."""
    found = _token_holder(session, token_digest(token))
    return found[0] if found else None


def _token_holder(session: Session, digest: str) -> tuple[User, datetime] | None:
    query = (
        select(User, ApiToken.expires_at)
        .join(ApiToken)
        .where(
            ApiToken.token_hash == digest,
            col(ApiToken.revoked_at).is_(None),
            col(ApiToken.expires_at) > datetime.now(UTC),
            col(User.disabled_at).is_(None),
        )
    )
    row = session.exec(query).first()
    return (row[0], row[1]) if row else None


def find_token(session: Session, ref: str) -> ApiToken:
    """A token by the token itself, its id, or a prefix of it that names exactly one."""
    ref = ref.strip()
    if ref.isdigit():
        row = session.get(ApiToken, int(ref))
        if row is None:
            raise CredentialError(f"no token with id {ref}")
        return row
    if len(ref) >= TOKEN_LENGTH:  # the token itself
        query = select(ApiToken).where(ApiToken.token_hash == token_digest(ref))
        if (row := session.exec(query).first()) is None:
            raise CredentialError("no such token")
        return row
    if len(ref) < len(TOKEN_PREFIX) + 4:
        raise CredentialError("give the token, its id, or at least 7 of its first characters")
    # Only the first PREFIX_LENGTH characters are stored: a longer start is matched by those.
    start = ref[:PREFIX_LENGTH]
    rows = session.exec(select(ApiToken).where(col(ApiToken.prefix).startswith(start))).all()
    if len(rows) != 1:
        raise CredentialError(f"{len(rows)} tokens start with {ref!r}: give its id instead")
    return rows[0]


def revoke_token(session: Session, token: ApiToken, *, actor: str, reason: str) -> None:
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        session.add(token)
    record(session, actor, "token_revoked", f"token:{token.id} {token.prefix}", reason)


# ---- the API's token cache -----------------------------------------------------------------
@dataclass(frozen=True)
class _Checked:
    user: User
    valid_until: float  # monotonic: the TTL's end, or the token's own expiry if sooner


class TokenCache:
    """Token digest → user, trusted for `ttl` seconds after the database last confirmed it.

    Every API request names its bearer token; answering from here spares the read model a
    query per request and keeps case actions going through a read-model outage for up to
    `ttl`. The price is that a revoked token, or a disabled user's, works on for at most
    `ttl` in each API process. Only valid tokens are cached (bounded by `max_entries`).
    """

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions, self.ttl, self.max_entries, self.clock = sessions, ttl, max_entries, clock
        self._checked: dict[str, _Checked] = {}

    def user_for(self, token: str) -> User | None:
        """The user behind `token`; raises CredentialsUnavailable if the database cannot
        answer and no fresh entry can."""
        digest = token_digest(token)
        hit = self._checked.get(digest)
        if hit and self.clock() < hit.valid_until:
            return hit.user
        try:
            with session_scope(self.sessions) as session:
                found = _token_holder(session, digest)
        except SQLAlchemyError as err:
            raise CredentialsUnavailable(str(err.__class__.__name__)) from err
        if found is None:
            self._checked.pop(digest, None)
            return None
        user, expires_at = found
        lifetime = min(self.ttl, (expires_at - datetime.now(UTC)).total_seconds())
        self._remember(digest, _Checked(user, self.clock() + lifetime))
        return user

    def _remember(self, digest: str, entry: _Checked) -> None:
        self._checked.pop(digest, None)  # re-inserted: the dict's order is the checks' order
        if len(self._checked) >= self.max_entries:
            del self._checked[next(iter(self._checked))]  # the longest unchecked goes first
        self._checked[digest] = entry


# ---- Open311 api keys ----------------------------------------------------------------------
def revoke_open311_keys(session: Session, name: str, *, actor: str, reason: str) -> int:
    """Deactivate every active api_key of the Open311 client `name`; returns how many."""
    keys = session.exec(
        select(Open311Key).where(Open311Key.name == name.strip(), col(Open311Key.active))
    ).all()
    if not keys:
        raise CredentialError(f"no active Open311 key named {name!r}")
    for key in keys:
        key.active = False
        session.add(key)
        record(session, actor, "open311_key_revoked", f"open311:{key.id} {key.name}", reason)
    return len(keys)
