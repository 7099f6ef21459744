"""`cityloop notify test USER`: send USER a test message where their preferences say."""

from __future__ import annotations

import typer
from sqlmodel import select

from core.config import get_settings
from core.db import database
from core.models import User
from core.notify import delivery, preferences
from core.notify.notifier import NotifyError

notify_app = typer.Typer(no_args_is_help=True, help="Notifications out of the app (e-mail, SMS).")


@notify_app.command("test")
def notify_test(username: str = typer.Argument(..., help="the user to send it to")) -> None:
    """Send USER a test message by the channel and to the address of their preferences.

    Sent at once, not through the outbox; exits 1 when the server or gateway refuses it.
    """
    settings = get_settings()
    with database(settings.database_url) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            typer.echo(f"no user {username!r}", err=True)
            raise typer.Exit(2)
        prefs, _ = preferences.get(session, user)
        if not prefs.address:
            typer.echo(f"{username} has no notification address (PUT /api/v1/me/notifications)")
            raise typer.Exit(2)
        message = delivery.trial_message(user, prefs.channel, prefs.address)
    adapter = delivery.notifiers(settings)[prefs.channel]
    try:
        adapter.send(message)
    except NotifyError as err:
        typer.echo(f"not sent: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"sent a test {prefs.channel.value} to {username} ({type(adapter).__name__})")
