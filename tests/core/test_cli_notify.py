"""`cityloop notify test USER`, run as a subprocess against a real SMTP server."""

from __future__ import annotations

from pathlib import Path

from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.notify import preferences
from core.notify.kinds import StaffKind
from core.notify.notifier import Channel
from core.notify.preferences import Preferences
from tests.conftest import user_named
from tests.core.test_cli_security import cityloop
from tests.smtp import Mailbox, free_port, mailbox, smtp_settings

__all__ = ["mailbox"]  # the fixture


def seeded(tmp_path: Path) -> tuple[str, SessionFactory]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    prepare_demo_database(url)
    return url, session_factory(make_engine(url))


def smtp_env(port: int) -> dict[str, str]:
    return {k: str(v) for k, v in smtp_settings(port).items()}


def test_a_test_message_reaches_the_user_s_address(tmp_path: Path, mailbox: Mailbox) -> None:
    url, sessions = seeded(tmp_path)
    with session_scope(sessions) as session:
        user = session.merge(user_named(sessions, "supervisor_gl"))
        wanted = Preferences(
            channel=Channel.EMAIL, address="sup@example.cn", kinds=[StaffKind.REMIND]
        )
        preferences.update(session, user, wanted)
    done = cityloop(
        "notify", "test", "supervisor_gl", cwd=tmp_path, database_url=url, **smtp_env(mailbox.port)
    )
    assert done.returncode == 0, done.stderr
    assert "sent a test email to supervisor_gl (SmtpEmail)" in done.stdout
    [mail] = mailbox.received
    assert (mail["To"], mail["Subject"]) == ("sup@example.cn", "通知测试")
    assert "鼓楼区督办员，您好！" in mailbox.body(mail)


def test_it_says_why_nothing_was_sent(tmp_path: Path) -> None:
    url, sessions = seeded(tmp_path)
    nobody = cityloop("notify", "test", "nobody", cwd=tmp_path, database_url=url)
    assert nobody.returncode == 2 and "no user 'nobody'" in nobody.stderr
    unset = cityloop("notify", "test", "handler_nhl", cwd=tmp_path, database_url=url)
    assert unset.returncode == 2 and "has no notification address" in unset.stdout
    with session_scope(sessions) as session:
        user = session.merge(user_named(sessions, "handler_nhl"))
        preferences.update(
            session, user, Preferences(channel=Channel.EMAIL, address="h@example.cn")
        )
    down = cityloop(
        "notify", "test", "handler_nhl", cwd=tmp_path, database_url=url, **smtp_env(free_port())
    )
    assert down.returncode == 1 and "not sent: smtp" in down.stderr
