"""The notifier adapters and the sender against a real SMTP server (aiosmtpd), on a real
database: what a message says, how a failure is recorded, and when a row is given up."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from core.config import Settings
from core.db import SessionFactory, session_scope
from core.logs import configure_logging, formatter
from core.models import Notification
from core.notify import delivery, messages
from core.notify.delivery import deliver_due, notifiers
from core.notify.kinds import Kind
from core.notify.mail import SmtpEmail
from core.notify.messages import Notice
from core.notify.notifier import Channel, Message, NotifyError
from core.notify.sms import LoggingSms
from tests.smtp import Mailbox, free_port, mailbox, smtp_settings

__all__ = ["mailbox"]  # the fixture
T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
CITIZEN = "citizen@example.cn"


def settings_for(box: Mailbox, **more: object) -> Settings:
    return Settings(**{**smtp_settings(box.port), **more})


def pending_row(session_factory: SessionFactory, **values: object) -> int:
    fields: dict[str, object] = {
        "case_id": "case-CL1",
        "seq": 1,
        "recipient": "report:CL1",
        "channel": "email",
        "kind": "tracking",
        "ticket": "CL1",
        "report_ticket": "CL1",
        "address": CITIZEN,
        "created_at": T0,
        "next_attempt_at": T0,
    }
    row = Notification.model_validate({**fields, **values})
    with session_scope(session_factory) as session:
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def row_of(session_factory: SessionFactory, row_id: int) -> Notification:
    with session_scope(session_factory) as session:
        row = session.get(Notification, row_id)
        assert row is not None
        return row


# ---- the adapters ------------------------------------------------------------------------------
def test_an_email_arrives_whole_with_the_row_key_as_its_message_id(mailbox: Mailbox) -> None:
    message = Message(
        to=CITIZEN, subject="您反映的问题已受理", body="正文：链接", message_id="a.1@x"
    )
    SmtpEmail(settings_for(mailbox)).send(message)
    [got] = mailbox.received
    assert (got["To"], got["Subject"], got["Message-ID"]) == (CITIZEN, message.subject, "<a.1@x>")
    assert got["From"] == "cityloop <noreply@cityloop.test>"
    assert mailbox.body(got).strip() == "正文：链接"


def test_an_unreachable_server_raises_notify_error() -> None:
    closed = Settings(**smtp_settings(free_port()), smtp_timeout_seconds=2)
    with pytest.raises(NotifyError, match="smtp"):
        SmtpEmail(closed).send(Message(CITIZEN, "s", "b", "m@x"))


def test_a_refused_message_raises_with_the_server_s_answer(mailbox: Mailbox) -> None:
    mailbox.refuse = True
    with pytest.raises(NotifyError, match="451"):
        SmtpEmail(settings_for(mailbox)).send(Message(CITIZEN, "s", "b", "m@x"))


@pytest.fixture
def sms_log() -> Iterator[io.StringIO]:
    """The SMS adapter's log lines as production writes them (JSON, through core/logs.py)."""
    configure_logging(json=True)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(json=True))
    logger = logging.getLogger("core.notify.sms")
    logger.addHandler(handler)
    try:
        yield out
    finally:
        logger.removeHandler(handler)


def test_the_logging_sms_masks_the_phone_and_the_tracking_token(sms_log: io.StringIO) -> None:
    body = "【城运】您反映的问题已受理，查看进度：https://x.test/track/CL1?t=SeCrEtToKeN"
    LoggingSms().send(Message("13812345678", "", body, "case-CL1.1.report%3ACL1.sms@cityloop"))
    [line] = [json.loads(x) for x in sms_log.getvalue().splitlines()]
    assert line["event"] == "sms_logged_not_sent"
    assert line["to"] == "138****5678"
    assert line["text"].endswith("/track/CL1?t=***")
    assert line["message_id"] == "case-CL1.1.report%3ACL1.sms@cityloop"
    assert "13812345678" not in sms_log.getvalue() and "SeCrEtToKeN" not in sms_log.getvalue()


def test_without_an_smtp_host_e_mail_is_only_logged() -> None:
    adapters = notifiers(Settings(smtp_host=""))
    assert type(adapters[Channel.EMAIL]).__name__ == "LoggingEmail"
    assert type(adapters[Channel.SMS]).__name__ == "LoggingSms"


# ---- the texts ---------------------------------------------------------------------------------
def test_a_reporter_s_message_carries_the_link_and_an_sms_is_short() -> None:
    notice = Notice(
        Kind.RESULT, "CL1", "暴露垃圾", link="https://x.test/track/CL2?t=k", report_ticket="CL2"
    )
    subject, body = messages.render(notice, Channel.EMAIL)
    assert subject == "您反映的问题已办结（工单号 CL2）"
    assert "https://x.test/track/CL2?t=k" in body and "暴露垃圾" in body
    subject, text = messages.render(notice, Channel.SMS)
    assert subject == "" and text.startswith("【城运】") and len(text) < 70 + len(notice.link)


def test_an_escalation_says_where_it_went() -> None:
    payload = {"level": 1, "unit": "gl", "notify": ["gl"]}
    assert messages.describe("escalate", payload, {"gl": "鼓楼区"}) == (
        "超期未办结，升级至鼓楼区督办（第 1 级）"
    )
    remind = {"stage": "accept", "due_at": "2026-12-02T02:30:00+00:00"}
    assert messages.describe("remind", remind, {}) == "签收时限 12月02日 10:30 到期，请及时办理"


def test_the_message_id_is_the_row_key_in_characters_an_id_may_hold() -> None:
    row = Notification(case_id="case-EX-a.b", seq=7, recipient="user:zhang san", channel="sms")
    assert delivery.message_id(row) == "case-EX-a%2Eb.7.user%3Azhang%20san.sms@cityloop"


# ---- the sender --------------------------------------------------------------------------------
def test_a_failing_server_leaves_the_row_pending_with_its_error_and_a_later_run_sends_it(
    db: SessionFactory, mailbox: Mailbox
) -> None:
    settings = settings_for(mailbox)
    row_id = pending_row(db)
    mailbox.refuse = True
    done = deliver_due(db, settings, notifiers(settings), T0)
    row = row_of(db, row_id)
    assert (done.sent, done.failed, row.status, row.attempts) == (0, 1, "pending", 1)
    assert "451" in row.last_error and row.next_attempt_at == T0 + timedelta(minutes=1)

    mailbox.refuse = False
    assert deliver_due(db, settings, notifiers(settings), T0 + timedelta(seconds=30)).sent == 0
    done = deliver_due(db, settings, notifiers(settings), T0 + timedelta(minutes=1))
    row = row_of(db, row_id)
    assert (done.sent, row.status, row.attempts, row.last_error) == (1, "sent", 2, "")
    assert row.sent_at == T0 + timedelta(minutes=1)
    [got] = mailbox.to(CITIZEN)
    assert got["Message-ID"] == "<case-CL1.1.report%3ACL1.email@cityloop>"
    # Sent rows are never picked again.
    assert deliver_due(db, settings, notifiers(settings), T0 + timedelta(days=1)).sent == 0
    assert len(mailbox.received) == 1


def test_a_row_is_given_up_after_the_bound_on_attempts(
    db: SessionFactory, mailbox: Mailbox
) -> None:
    settings = settings_for(mailbox, notify_max_attempts=3)
    row_id = pending_row(db)
    mailbox.refuse = True
    at = T0
    for _ in range(5):
        deliver_due(db, settings, notifiers(settings), at)
        at += timedelta(hours=2)
    row = row_of(db, row_id)
    assert (row.status, row.attempts) == ("failed", 3) and "451" in row.last_error
    assert mailbox.received == []


def test_a_batch_sends_the_oldest_due_first(db: SessionFactory, mailbox: Mailbox) -> None:
    settings = settings_for(mailbox, notify_batch=2)
    newest = pending_row(db, seq=3, next_attempt_at=T0 + timedelta(seconds=2))
    older = pending_row(db, seq=2, next_attempt_at=T0 + timedelta(seconds=1))
    oldest = pending_row(db, seq=1)
    assert deliver_due(db, settings, notifiers(settings), T0 + timedelta(minutes=5)).sent == 2
    with session_scope(db) as session:
        sent = session.exec(select(Notification.id).where(Notification.status == "sent")).all()
    assert set(sent) == {oldest, older} and row_of(db, newest).status == "pending"


class BrokenGateway:
    """An SMS gateway with a bug: it raises what no adapter should."""

    def send(self, message: Message) -> None:
        raise KeyError("status")


def test_an_adapter_s_bug_is_recorded_on_its_row_and_blocks_nothing(
    db: SessionFactory, mailbox: Mailbox
) -> None:
    settings = settings_for(mailbox)
    sms = pending_row(db, channel="sms", address="13812345678")
    email = pending_row(db, seq=2)
    adapters = {**notifiers(settings), Channel.SMS: BrokenGateway()}
    done = deliver_due(db, settings, adapters, T0)
    assert (done.sent, done.failed) == (1, 1)
    row = row_of(db, sms)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "KeyError: 'status'")
    assert row_of(db, email).status == "sent"


def test_an_unknown_sms_gateway_is_named() -> None:
    with pytest.raises(ValueError, match="CITYLOOP_SMS_GATEWAY='aliyun' names no SMS gateway"):
        notifiers(Settings(sms_gateway="aliyun"))
