"""The `cityloop` command, run as a subprocess: production refuses a weak secret key, and the
credential commands (tokens, users, Open311 keys) change what they say and log who did it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from api.app import create_app
from core.config import InsecureSettings, Settings
from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.models import ApiToken, Open311Key, SecurityEvent, WebSessionRecord
from core.security import tokens as security
from core.security.sessions import Lifetime, open_session
from tests.conftest import user_named


def cityloop(
    *args: str, cwd: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """`cityloop ARGS` in a fresh interpreter, with no CITYLOOP_* setting but those given."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CITYLOOP_")}
    return subprocess.run(
        [sys.executable, "-m", "core.cli.main", *args],
        cwd=cwd,  # no .env of the checkout is read
        env={**base, **{f"CITYLOOP_{k.upper()}": v for k, v in env.items()}},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


# ---- production refuses weak settings --------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "key"),
    [("web", None), ("web", "x" * 31), ("run", None)],
    ids=["web-default-key", "web-short-key", "run-default-key"],
)
def test_production_refuses_to_start_with_a_weak_secret_key(
    tmp_path: Path, command: str, key: str | None
) -> None:
    settings = {"env": "production", "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    if key is not None:
        settings["secret_key"] = key
    done = cityloop(command, cwd=tmp_path, **settings)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refusing to start: CITYLOOP_SECRET_KEY must be set" in done.stderr
    assert "at least 32 bytes" in done.stderr
    assert not (tmp_path / "db.sqlite").exists()  # nothing was started or migrated


def test_create_app_refuses_too_and_accepts_a_strong_key() -> None:
    with pytest.raises(InsecureSettings, match="CITYLOOP_SECRET_KEY"):
        create_app(Settings(env="production"))
    with pytest.raises(InsecureSettings, match="CITYLOOP_SECRET_KEY"):
        create_app(Settings(env="production", secret_key="密" * 10))  # 30 bytes in UTF-8
    assert create_app(Settings(env="production", secret_key="k" * 32)) is not None
    assert create_app(Settings()) is not None  # development keeps its default


# ---- credentials ----------------------------------------------------------------------------
@pytest.fixture
def db(sqlite_db: str) -> SessionFactory:
    return session_factory(make_engine(sqlite_db))


Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(sqlite_db: str, tmp_path: Path) -> Cli:
    """`cityloop` on the test's database."""

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return cityloop(*args, cwd=tmp_path, stdin=stdin, database_url=sqlite_db)

    return run


def log(sessions: SessionFactory) -> list[tuple[str, str, str]]:
    with session_scope(sessions) as session:
        rows = session.exec(select(SecurityEvent).order_by(col(SecurityEvent.id))).all()
        return [(e.action, e.target, e.reason) for e in rows]


def test_tokens_are_minted_with_days_listed_and_revoked_by_prefix(
    db: SessionFactory, cli: Cli
) -> None:
    minted = cli("token", "handler_nhl", "--days", "3")
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    assert token.startswith("cl_") and "expires in 3 days" in minted.stderr
    with session_scope(db) as session:
        row = security.find_token(session, token)
    assert row.expires_at - row.created_at == timedelta(days=3)

    listed = cli("token", "list", "--user", "handler_nhl")
    assert f"{row.id}\t{row.prefix}\thandler_nhl\t" in listed.stdout
    assert listed.stdout.rstrip().endswith("active")

    vague = cli("token", "revoke", "cl_", "--reason", "x")
    assert vague.returncode == 2 and "at least 7" in vague.stderr
    revoked = cli("token", "revoke", row.prefix, "--reason", "laptop lost")
    assert revoked.returncode == 0, revoked.stderr
    with session_scope(db) as session:
        assert security.user_for_token(session, token) is None
    action, target, reason = log(db)[-1]
    assert (action, reason) == ("token_revoked", "laptop lost") and row.prefix in target
    with session_scope(db) as session:
        actor = session.exec(
            select(SecurityEvent.actor).order_by(col(SecurityEvent.id).desc())
        ).first()
    assert actor is not None and actor.startswith("cli:")


def test_a_user_is_disabled_enabled_and_given_a_password(db: SessionFactory, cli: Cli) -> None:
    user = user_named(db, "handler_nhl")
    with session_scope(db) as session:
        open_session(session, user, Lifetime(timedelta(hours=1), timedelta(hours=1)))
    refused = cli("user", "disable", "nobody", "--reason", "x")
    assert refused.returncode == 2 and "no user 'nobody'" in refused.stderr
    done = cli("user", "disable", "handler_nhl", "--reason", "left")
    assert done.returncode == 0, done.stderr
    with session_scope(db) as session:
        assert security.authenticate(session, "handler_nhl", "demo1234") is None
        row = session.exec(select(WebSessionRecord)).one()
    assert row.revoked_reason == "user_disabled"  # the live session ended
    assert cli("user", "enable", "handler_nhl", "--reason", "back").returncode == 0
    changed = cli("user", "password", "handler_nhl", "--password-stdin", stdin="a-long-password\n")
    assert changed.returncode == 0, changed.stderr
    with session_scope(db) as session:
        assert security.authenticate(session, "handler_nhl", "a-long-password") is not None
    assert [a for a, _t, _r in log(db)] == ["user_disabled", "user_enabled", "password_changed"]


def test_open311_keys_are_revoked_by_client_name(db: SessionFactory, cli: Cli) -> None:
    minted = cli("open311-key", "街道App")
    assert minted.returncode == 0 and minted.stdout.startswith("o311_"), minted.stderr
    revoked = cli("open311-key", "revoke", "街道App", "--reason", "app retired")
    assert revoked.returncode == 0 and "revoked 1 key(s)" in revoked.stdout
    with session_scope(db) as session:
        key = session.exec(select(Open311Key)).one()
        assert not key.active
        assert session.exec(select(ApiToken)).all() == []
    again = cli("open311-key", "revoke", "街道App", "--reason", "x")
    assert again.returncode == 2 and "no active Open311 key" in again.stderr
    assert [a for a, _t, _r in log(db)] == ["open311_key_minted", "open311_key_revoked"]
