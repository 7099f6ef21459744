"""`cityloop token`, `cityloop user` and `cityloop open311-key`: credentials from the shell.

Every change is recorded in `security_events` with the operator's OS account as the actor
("cli:<account>") and the `--reason` given. `cityloop token USER` and `cityloop open311-key
NAME` mint, as they always did; a user or client named like a subcommand is minted for with
`cityloop token mint NAME`.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer
from sqlmodel import Session, col, select
from typer.core import TyperGroup

from core.config import get_settings
from core.db import database
from core.models import ApiToken, User
from core.security import tokens as security
from core.security.tokens import CredentialError

REASON = typer.Option(..., "--reason", help="why (kept in the credential log)")


class MintByDefault(TyperGroup):
    """A group whose first argument, when it names no subcommand, goes to `mint`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] != "--help":
            args = ["mint", *args]
        return super().parse_args(ctx, args)


token_app = typer.Typer(
    cls=MintByDefault, no_args_is_help=True, help="Mint, list and revoke API bearer tokens."
)
user_app = typer.Typer(no_args_is_help=True, help="Disable, enable users; set a password.")
open311_app = typer.Typer(
    cls=MintByDefault, no_args_is_help=True, help="Mint and revoke Open311 api_keys."
)


def operator() -> str:
    """Who runs the command, for the credential log."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no passwd entry
        name = f"uid{os.getuid()}"
    return f"cli:{name}"[:64]


@contextmanager
def _credentials() -> Iterator[Session]:
    """The configured database; a refused command prints why and exits 2, changing nothing."""
    try:
        with database(get_settings().database_url) as session:
            yield session
    except CredentialError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None


# ---- tokens --------------------------------------------------------------------------------
@token_app.command("mint")
def token_mint(
    username: str,
    days: int = typer.Option(0, help="days the token lives (default: CITYLOOP_TOKEN_DAYS)"),
) -> None:
    """Mint an API bearer token for USERNAME and print it (shown once)."""
    days = days or get_settings().token_days
    with _credentials() as session:
        user = security.find_user(session, username)
        typer.echo(security.mint_token(session, user, days=days, actor=operator()))
    typer.echo(f"expires in {days} days", err=True)


@token_app.command("list")
def token_list(username: str = typer.Option("", "--user", help="only this user's")) -> None:
    """List tokens: id, prefix, user, created, expires, state."""
    with _credentials() as session:
        query = select(ApiToken, User.username).join(User).order_by(col(ApiToken.id))
        if username:
            query = query.where(User.username == username)
        for token, name in session.exec(query):
            typer.echo(
                f"{token.id}\t{token.prefix or '-'}\t{name}\t{_day(token.created_at)}\t"
                f"{_day(token.expires_at)}\t{_token_state(token)}"
            )


@token_app.command("revoke")
def token_revoke(
    ref: str = typer.Argument(..., help="the token, its id, or its first characters"),
    reason: str = REASON,
) -> None:
    """Revoke one token: the API refuses it within CITYLOOP_TOKEN_CACHE_SECONDS."""
    with _credentials() as session:
        token = security.find_token(session, ref)
        security.revoke_token(session, token, actor=operator(), reason=reason)
        typer.echo(f"revoked token {token.id} ({token.prefix or 'no prefix'})")


def _token_state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= datetime.now(UTC) else "active"


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


# ---- users ---------------------------------------------------------------------------------
def _user_command(change: Callable[..., None], done: str) -> Callable[[str, str], None]:
    def command(username: str, reason: str = REASON) -> None:
        with _credentials() as session:
            user = security.find_user(session, username)
            change(session, user, actor=operator(), reason=reason)
        typer.echo(f"{username}: {done}")

    return command


user_app.command("disable", help="Refuse USERNAME everywhere; their web sessions end now.")(
    _user_command(security.disable_user, "disabled, web sessions revoked")
)
user_app.command("enable", help="Let a disabled USERNAME log in again.")(
    _user_command(security.enable_user, "enabled")
)


@user_app.command("password")
def user_password(
    username: str,
    password_stdin: bool = typer.Option(False, help="read the password from standard input"),
) -> None:
    """Set USERNAME's password; their web sessions end."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        typer.echo("a password has at least 8 characters", err=True)
        raise typer.Exit(2)
    with _credentials() as session:
        user = security.find_user(session, username)
        security.set_password(session, user, password, actor=operator())
    typer.echo(f"{username}: password set, web sessions revoked")


# ---- Open311 keys --------------------------------------------------------------------------
@open311_app.command("mint")
def open311_mint(name: str) -> None:
    """Mint an Open311 api_key for the client NAME and print it."""
    from core.open311 import mint_open311_key

    try:
        with _credentials() as session:
            key = mint_open311_key(session, name)
            security.record(session, operator(), "open311_key_minted", f"open311:{name.strip()}")
        typer.echo(key)
    except ValueError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None


@open311_app.command("revoke")
def open311_revoke(name: str, reason: str = REASON) -> None:
    """Revoke every active api_key of the client NAME (refused from the next request on)."""
    with _credentials() as session:
        count = security.revoke_open311_keys(session, name, actor=operator(), reason=reason)
    typer.echo(f"revoked {count} key(s) of {name!r}")
