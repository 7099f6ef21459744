"""Passwords (pwdlib, Argon2) and API tokens (random, stored as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from pwdlib import PasswordHash
from sqlmodel import Session, select

from core.models import ApiToken, User

_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return _hasher.verify(password, hashed)


def token_digest(token: str) -> str:
    # Tokens are 256 random bits, so a fast digest is enough and lookups stay cheap.
    return hashlib.sha256(token.encode()).hexdigest()


def mint_token(session: Session, user: User) -> str:
    """Create an API token for `user`; only its digest is stored."""
    token = "cl_" + secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(
        ApiToken(user_id=user.id, token_hash=token_digest(token), created_at=datetime.now(UTC))
    )
    return token


def user_for_token(session: Session, token: str) -> User | None:
    query = select(User).join(ApiToken).where(ApiToken.token_hash == token_digest(token))
    return session.exec(query).first()


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not verify_password(password, user.password_hash):
        return None
    return user
