"""Credentials against a real database: token expiry and revocation, disabled users, the API's
token cache (its TTL, and a read-model outage), equal work for unknown users, migration 0007."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import select

from core.db import SessionFactory, make_engine, migrate, session_factory, session_scope
from core.models import ApiToken, SecurityEvent, User
from core.security import tokens as security
from core.security.tokens import CredentialError, CredentialsUnavailable, TokenCache
from tests.conftest import migrations, outage, user_named


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def mint(sessions: SessionFactory, username: str, days: int = 90) -> str:
    with session_scope(sessions) as session:
        return security.mint_token(session, user_named(sessions, username), days=days)


def token_row(sessions: SessionFactory, token: str) -> ApiToken:
    with session_scope(sessions) as session:
        query = select(ApiToken).where(ApiToken.token_hash == security.token_digest(token))
        return session.exec(query).one()


def test_a_token_expires_after_its_days(sessions: SessionFactory) -> None:
    token = mint(sessions, "handler_nhl", days=3)
    row = token_row(sessions, token)
    assert row.expires_at - row.created_at == timedelta(days=3)
    assert row.prefix == token[: security.PREFIX_LENGTH]
    with session_scope(sessions) as session:
        assert security.user_for_token(session, token).username == "handler_nhl"  # type: ignore[union-attr]
        session.get(ApiToken, row.id).expires_at = datetime.now(UTC) - timedelta(seconds=1)  # type: ignore[union-attr]
    with session_scope(sessions) as session:
        assert security.user_for_token(session, token) is None


def test_revoked_tokens_and_disabled_users_are_refused(sessions: SessionFactory) -> None:
    token, other = mint(sessions, "handler_nhl"), mint(sessions, "dispatcher1")
    with session_scope(sessions) as session:
        found = security.find_token(session, token[:12])  # a prefix names it
        security.revoke_token(session, found, actor="cli:test", reason="lost laptop")
        security.disable_user(
            session, security.find_user(session, "dispatcher1"), actor="cli:test", reason="left"
        )
    with session_scope(sessions) as session:
        assert security.user_for_token(session, token) is None
        assert security.user_for_token(session, other) is None
        log = session.exec(select(SecurityEvent).order_by(SecurityEvent.id)).all()  # type: ignore[arg-type]
    assert [(e.actor, e.action, e.reason) for e in log][-2:] == [
        ("cli:test", "token_revoked", "lost laptop"),
        ("cli:test", "user_disabled", "left"),
    ]
    with session_scope(sessions) as session:
        security.enable_user(
            session, security.find_user(session, "dispatcher1"), actor="cli:test", reason="back"
        )
    with session_scope(sessions) as session:
        assert security.user_for_token(session, other).username == "dispatcher1"  # type: ignore[union-attr]


def test_a_token_is_found_by_id_prefix_or_itself_and_nothing_vague(
    sessions: SessionFactory,
) -> None:
    token = mint(sessions, "handler_nhl")
    row = token_row(sessions, token)
    with session_scope(sessions) as session:
        assert security.find_token(session, str(row.id)).id == row.id
        assert security.find_token(session, token).id == row.id
        assert security.find_token(session, row.prefix).id == row.id
        with pytest.raises(CredentialError, match="at least 7"):
            security.find_token(session, "cl_")
        with pytest.raises(CredentialError, match="no such token"):
            security.find_token(session, token[:-1] + ("A" if token[-1] != "A" else "B"))
        with pytest.raises(CredentialError, match="no user"):
            security.find_user(session, "nobody")


def test_the_cache_answers_within_its_ttl_and_asks_again_after(sessions: SessionFactory) -> None:
    clock = Clock()
    cache = TokenCache(sessions, ttl=60, clock=clock)
    token = mint(sessions, "handler_nhl")
    assert cache.user_for(token).username == "handler_nhl"  # type: ignore[union-attr]
    with session_scope(sessions) as session:
        security.revoke_token(
            session, security.find_token(session, token), actor="cli:test", reason="t"
        )
    clock.now += 59
    assert cache.user_for(token) is not None  # revocation is honoured within the TTL…
    clock.now += 2
    assert cache.user_for(token) is None  # …and from then on
    clock.now += 1000
    assert cache.user_for(token) is None  # refused tokens are not cached as valid


def test_the_cache_never_outlives_the_token_itself(sessions: SessionFactory) -> None:
    clock = Clock()
    cache = TokenCache(sessions, ttl=3600, clock=clock)
    token = mint(sessions, "handler_nhl")
    with session_scope(sessions) as session:  # a token with 30 minutes left
        row = security.find_token(session, token)
        row.expires_at = datetime.now(UTC) + timedelta(minutes=30)
    assert cache.user_for(token) is not None
    clock.now += 29 * 60
    with session_scope(sessions) as session:  # the database would refuse it by now…
        security.find_token(session, token).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert cache.user_for(token) is not None  # …but within its expiry the cache answers
    clock.now += 2 * 60
    assert cache.user_for(token) is None  # past the token's expiry the database is asked


def test_the_cache_keeps_at_most_max_entries(sessions: SessionFactory) -> None:
    clock = Clock()
    cache = TokenCache(sessions, ttl=60, max_entries=2, clock=clock)
    tokens = [mint(sessions, "handler_nhl") for _ in range(3)]
    for token in tokens:
        assert cache.user_for(token) is not None
    assert len(cache._checked) == 2
    assert security.token_digest(tokens[0]) not in cache._checked  # the oldest went


def test_unknown_and_known_users_cost_one_password_check_each(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing is measured in bench/login_timing.py; here, that both paths do the same work."""
    checks: list[str] = []
    real = security.verify_password

    def counting(password: str, hashed: str) -> bool:
        checks.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(security, "verify_password", counting)
    with session_scope(sessions) as session:
        assert security.authenticate(session, "nobody", "demo1234") is None
        assert security.authenticate(session, "handler_nhl", "wrong") is None
        assert security.authenticate(session, "handler_nhl", "demo1234") is not None
    assert len(checks) == 3
    assert checks[0] == security.dummy_hash() and checks[0].startswith("$argon2id$")
    assert checks[1] == user_named(sessions, "handler_nhl").password_hash


def test_a_disabled_user_cannot_log_in_and_a_new_password_ends_sessions(
    sessions: SessionFactory,
) -> None:
    with session_scope(sessions) as session:
        user = security.find_user(session, "verifier_gl")
        security.set_password(session, user, "a-new-password", actor="cli:test")
    with session_scope(sessions) as session:
        assert security.authenticate(session, "verifier_gl", "demo1234") is None
        assert security.authenticate(session, "verifier_gl", "a-new-password") is not None
        security.disable_user(
            session, security.find_user(session, "verifier_gl"), actor="cli:test", reason="x"
        )
    with session_scope(sessions) as session:
        assert security.authenticate(session, "verifier_gl", "a-new-password") is None


# ---- a read-model outage (PostgreSQL refusing connections) ---------------------------------
@pytest.mark.postgres
def test_through_an_outage_cached_tokens_work_for_the_ttl_and_others_are_unavailable(
    pg_database: tuple[str, str],
) -> None:
    url, name = pg_database
    engine = make_engine(url)
    sessions = session_factory(engine)
    clock = Clock()
    cache = TokenCache(sessions, ttl=60, clock=clock)
    known, unknown = mint(sessions, "handler_nhl"), mint(sessions, "dispatcher1")
    assert cache.user_for(known) is not None
    with outage(name):
        assert cache.user_for(known).username == "handler_nhl"  # type: ignore[union-attr]
        with pytest.raises(CredentialsUnavailable):
            cache.user_for(unknown)
        clock.now += 61
        with pytest.raises(CredentialsUnavailable):
            cache.user_for(known)  # past the TTL even a known token needs the database
    assert cache.user_for(unknown).username == "dispatcher1"  # type: ignore[union-attr]
    engine.dispose()


# ---- migration 0007 ------------------------------------------------------------------------
def test_migration_0007_gives_old_tokens_an_expiry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = migrations(url)
    command.upgrade(cfg, "0006")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into unit (id, name, level, path, dept_type, is_demo) "
                "values ('nj', 'nj', 'city', '/nj/', '', 0)"
            )
        )
        conn.execute(
            text(
                "insert into user (id, username, display_name, password_hash, role, "
                "unit_id, is_demo) values (1, 'u', 'u', 'x', 'operator', 'nj', 0)"
            )
        )
        conn.execute(
            text(
                "insert into apitoken (user_id, token_hash, created_at) "
                "values (1, 'h', '2026-01-01 00:00:00')"
            )
        )
    migrate(url)
    with session_scope(session_factory(engine)) as session:
        row = session.exec(select(ApiToken)).one()
        user = session.exec(select(User)).one()
    assert row.expires_at == datetime(2026, 4, 1, tzinfo=UTC)  # 90 days on
    assert (row.revoked_at, row.prefix, user.disabled_at) == (None, "", None)
    command.downgrade(cfg, "0006")  # and back down, on SQLite's batch mode
    engine.dispose()
