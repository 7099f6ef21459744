"""The sender: deliver the notifications that are due, and record how each attempt went.

A message is sent outside any transaction (a slow mail server holds no lock) and marked after:
a crash between the two sends it again on the next run. Delivery is therefore at least once,
and every attempt carries the row's key as its message id, by which a duplicate is recognised.
A failed attempt records its error and waits longer before the next one; after
`notify_max_attempts` the row is given up (`failed`), its last error kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from sqlmodel import Session, col, select

from core.config import Settings
from core.db import SessionFactory, session_scope
from core.logs import get_logger
from core.models import CaseRecord, LinkedReportRecord, Notification, User
from core.notify import mail, messages, sms
from core.notify.kinds import Kind
from core.notify.messages import Notice
from core.notify.notifier import Channel, Message, Notifier, NotifyError
from core.notify.summaries import summaries

log = get_logger(__name__)
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class Delivered:
    """What one run did."""

    sent: int = 0
    failed: int = 0  # attempts that failed (the rows wait for a later run)
    gave_up: int = 0  # rows that reached the bound on attempts


def notifiers(settings: Settings) -> dict[Channel, Notifier]:
    """The deployment's adapters: SMTP when a host is set (else logged), the SMS gateway."""
    email: Notifier = mail.SmtpEmail(settings) if settings.smtp_host else mail.LoggingEmail()
    return {Channel.EMAIL: email, Channel.SMS: sms.gateway(settings)}


def deliver_due(
    sessions: SessionFactory,
    settings: Settings,
    adapters: Mapping[Channel, Notifier],
    now: datetime,
    *,
    progress: Callable[[Delivered], None] = lambda _done: None,
) -> Delivered:
    """Send up to `notify_batch` rows due at `now`, oldest first."""
    done = Delivered()
    for row_id in _due(sessions, now, settings.notify_batch):
        with session_scope(sessions) as session:
            row = session.get(Notification, row_id)
            if row is None or row.status != "pending":
                continue  # another sender took it
            message = compose(session, settings, row)
        error = _attempt(adapters[Channel(row.channel)], message)
        with session_scope(sessions) as session:
            _mark(session, row_id, error, now, settings.notify_max_attempts, done)
        progress(done)
    return done


def _due(sessions: SessionFactory, now: datetime, limit: int) -> list[int]:
    query = (
        select(Notification.id)
        .where(Notification.status == "pending", col(Notification.next_attempt_at) <= now)
        .order_by(col(Notification.next_attempt_at), col(Notification.id))
        .limit(limit)
    )
    with session_scope(sessions) as session:
        return [i for i in session.exec(query) if i is not None]


def _attempt(adapter: Notifier, message: Message) -> str:
    """Why the message was not handed over; empty when it was."""
    try:
        adapter.send(message)
    except NotifyError as err:
        return str(err) or type(err).__name__
    except Exception as err:  # an adapter's bug: recorded on its row, never blocking the rest
        log.exception("notification_adapter_error", message_id=message.message_id)
        return f"{type(err).__name__}: {err}"
    return ""


def _mark(
    session: Session, row_id: int, error: str, now: datetime, max_attempts: int, done: Delivered
) -> None:
    row = session.get(Notification, row_id)
    if row is None:
        return  # dropped meanwhile (a reset of its case)
    row.attempts += 1
    row.last_attempt_at = now
    if not error:
        row.status, row.sent_at, row.last_error = "sent", now, ""
        done.sent += 1
        return
    row.last_error = error[:500]
    done.failed += 1
    if row.attempts >= max_attempts:
        row.status = "failed"
        done.gave_up += 1
        log.warning("notification_given_up", id=row.id, channel=row.channel, error=row.last_error)
        return
    row.next_attempt_at = now + min(timedelta(minutes=2 ** (row.attempts - 1)), MAX_BACKOFF)
    log.info("notification_failed", id=row.id, channel=row.channel, attempts=row.attempts)


def trial_message(user: User, channel: Channel, to: str) -> Message:
    """The test message `cityloop notify test USER` sends to the user's address."""
    notice = Notice(kind=Kind.TEST, ticket="", recipient_name=user.display_name)
    subject, body = messages.render(notice, channel)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return Message(
        to=to,
        subject=subject,
        body=body,
        message_id=f"test.{quote(user.username, safe='')}.{stamp}@cityloop",
    )


def message_id(row: Notification) -> str:
    """The row's key as a Message-ID: case.seq.recipient.channel@cityloop, each part escaped
    to characters an id may hold."""
    parts = [row.case_id, str(row.seq), row.recipient, row.channel]
    left = ".".join(quote(p, safe="").replace(".", "%2E") for p in parts)
    return f"{left}@cityloop"


def compose(session: Session, settings: Settings, row: Notification) -> Message:
    """The message `row` stands for, rendered now (so a fixed base URL fixes pending links)."""
    case = session.get(CaseRecord, row.case_id)
    kind = Kind(row.kind)
    notice = Notice(
        kind=kind,
        ticket=row.ticket,
        category_name=case.category_name if case else "",
        report_ticket=row.report_ticket,
    )
    if kind in (Kind.TRACKING, Kind.RESULT):
        token = _tracking_token(session, row.report_ticket)
        notice = replace(notice, link=tracking_link(settings, row.report_ticket, token))
    else:
        notice = replace(
            notice,
            link=case_link(settings, row.ticket),
            detail=_detail(session, row),
            recipient_name=_name(session, row.recipient),
        )
    subject, body = messages.render(notice, Channel(row.channel))
    return Message(to=row.address, subject=subject, body=body, message_id=message_id(row))


def tracking_link(settings: Settings, ticket: str, token: str) -> str:
    base = settings.public_base_url.rstrip("/")
    return f"{base}/track/{quote(ticket, safe='')}?{urlencode({'t': token})}"


def case_link(settings: Settings, ticket: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/cases/{quote(ticket, safe='')}"


def _tracking_token(session: Session, ticket: str) -> str:
    case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
    if case is not None:
        return case.tracking_token
    linked = session.get(LinkedReportRecord, ticket)
    return linked.tracking_token if linked else ""


def _detail(session: Session, row: Notification) -> str:
    key = (row.case_id, row.seq)
    return summaries(session, [key]).get(key, "")


def _name(session: Session, recipient: str) -> str:
    kind, _, name = recipient.partition(":")
    if kind != "user":
        return ""
    user = session.exec(select(User).where(User.username == name)).first()
    return user.display_name if user else ""
