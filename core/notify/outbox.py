"""The outbox: which notifications a case's events call for, written with the events.

`plan` runs inside the projection's transaction (activities/case.py), so a notification
exists exactly when the event that called for it does. Rows are keyed by (case, seq,
recipient, channel): a retried or repeated batch finds its rows and adds nothing, and past the
workflow's last event nothing is kept (activities/projection.py drops them with the events
after a reset). A rewritten event (after a reset) converges like the inbox: pending rows it no
longer calls for go; what was sent stays on record.

Who gets what:
- the reporter (hotline, citizen, Open311 and web channels; patrol and sensor reports come
  from staff and devices) at intake: the tracking link, by e-mail when they left one, else
  by SMS to a mobile number; a merged report's reporter likewise, for their own ticket;
- every reporter of the case (its own and merged ones not split out) when it is closed, or
  archived without being closed first: the result, the tracking link again;
- staff who opted in (core/notify/preferences.py), of the units an event addresses: reminders,
  escalations and dispatches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core.models import LinkedReportRecord, Notification, NotificationPreference, User
from core.notify import contacts
from core.notify.addresses import mobile
from core.notify.kinds import EVENT_KINDS, Kind, StaffKind
from core.notify.notifier import Channel
from workflows.contracts import CaseEvent, CaseSnapshot, Status

# Channels whose reporter is a member of the public, to be told.
REPORTER_CHANNELS = frozenset({"hotline", "citizen", "open311", "web"})
DONE = frozenset({Status.CLOSED.value, Status.ARCHIVED.value})
DISPATCH_EVENTS = frozenset({"dispatch", "reassign"})


@dataclass(frozen=True)
class Planned:
    """One notification an event calls for."""

    seq: int
    recipient: str
    channel: Channel
    kind: Kind
    address: str
    report_ticket: str = ""

    @property
    def key(self) -> tuple[int, str, str]:
        return self.seq, self.recipient, self.channel.value


@dataclass(frozen=True)
class Reporter:
    ticket: str  # the report's own
    channel: str
    phone: str


def plan(session: Session, case: CaseSnapshot, events: list[CaseEvent]) -> int:
    """Write the notifications `events` call for, each once; return how many are new."""
    wanted = {p.key: p for p in _decide(session, case, events)}
    have = _stored(session, case.id, [e.seq for e in events])
    for key, row in have.items():
        if key not in wanted and row.status == "pending":
            session.delete(row)
    new = [p for key, p in sorted(wanted.items()) if key not in have]
    by_seq = {e.seq: e for e in events}
    session.add_all(_row(case, p, by_seq[p.seq].at) for p in new)
    return len(new)


def _stored(
    session: Session, case_id: str, seqs: list[int]
) -> dict[tuple[int, str, str], Notification]:
    query = select(Notification).where(
        Notification.case_id == case_id, col(Notification.seq).in_(seqs)
    )
    return {(n.seq, n.recipient, n.channel): n for n in session.exec(query)}


def _row(case: CaseSnapshot, p: Planned, at: datetime) -> Notification:
    return Notification(
        case_id=case.id,
        seq=p.seq,
        recipient=p.recipient,
        channel=p.channel.value,
        kind=p.kind.value,
        ticket=case.ticket,
        report_ticket=p.report_ticket,
        address=p.address,
        created_at=at,
        next_attempt_at=at,
    )


def _decide(session: Session, case: CaseSnapshot, events: list[CaseEvent]) -> Iterator[Planned]:
    own = Reporter(case.ticket, case.channel, case.reporter_phone)
    for e in events:
        if e.action == "receive":
            yield from _to_reporters(session, e.seq, Kind.TRACKING, [own])
        elif e.action == "link_report":
            linked = _linked(session, case.id, str(e.payload.get("report", "")))
            yield from _to_reporters(session, e.seq, Kind.TRACKING, linked)
        if e.to_status in DONE and e.from_status not in DONE:
            everyone = [own, *_linked(session, case.id)]
            yield from _to_reporters(session, e.seq, Kind.RESULT, everyone)
        kind = EVENT_KINDS.get(e.action)
        if kind is not None:
            yield from _to_staff(session, e, kind)


def _linked(session: Session, case_id: str, ticket: str = "") -> list[Reporter]:
    """The reports merged into the case and not split out (only `ticket`, if given)."""
    query = select(LinkedReportRecord).where(
        LinkedReportRecord.case_id == case_id, col(LinkedReportRecord.split_at).is_(None)
    )
    if ticket:
        query = query.where(LinkedReportRecord.ticket == ticket)
    rows = session.exec(query.order_by(col(LinkedReportRecord.ticket)))
    return [Reporter(r.ticket, r.channel, r.reporter_phone) for r in rows]


def _to_reporters(
    session: Session, seq: int, kind: Kind, reporters: Iterable[Reporter]
) -> Iterator[Planned]:
    """By e-mail to those who left one, else by SMS to a mobile; the public only."""
    told = [r for r in reporters if r.channel in REPORTER_CHANNELS]
    if kind is Kind.TRACKING:  # a report split out of a case keeps the link it was sent
        told = [r for r in told if not _tracked(session, r.ticket)]
    emails = contacts.emails(session, [r.ticket for r in told])
    for r in told:
        recipient = f"report:{r.ticket}"
        if email := emails.get(r.ticket):
            yield Planned(seq, recipient, Channel.EMAIL, kind, email, r.ticket)
        elif number := mobile(r.phone):
            yield Planned(seq, recipient, Channel.SMS, kind, number, r.ticket)


def _tracked(session: Session, ticket: str) -> bool:
    query = select(Notification.id).where(
        Notification.report_ticket == ticket, Notification.kind == Kind.TRACKING.value
    )
    return session.exec(query.limit(1)).first() is not None


def _to_staff(session: Session, e: CaseEvent, kind: StaffKind) -> Iterator[Planned]:
    """To the users of the units the event addresses who opted in to `kind`.

    A dispatch addresses the unit that gets the case (a reassignment's notify list also
    names the unit that lost it, which is told in the app only).
    """
    if e.action in DISPATCH_EVENTS:
        units = [str(e.payload.get("unit", ""))]
    else:
        units = [str(u) for u in e.payload.get("notify", [])]
    units = [u for u in units if u]
    if not units:
        return
    query = (
        select(User, NotificationPreference)
        .join(NotificationPreference, col(NotificationPreference.user_id) == col(User.id))
        .where(col(User.unit_id).in_(units), col(User.disabled_at).is_(None))
        .order_by(col(User.username))
    )
    for user, pref in session.exec(query):
        if kind.value in pref.kinds and pref.address:
            channel = Channel(pref.channel)
            yield Planned(e.seq, f"user:{user.username}", channel, Kind(kind.value), pref.address)
