"""The outbox as the projection writes it, on real databases (SQLite, and PostgreSQL): who is
told what, once; a retried batch adds and sends nothing twice; a reset leaves nothing behind."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlmodel import col, select

from activities.case import CaseActivities
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.models import CaseRecord, LinkedReportRecord, Notification
from core.notify import contacts, preferences
from core.notify.delivery import deliver_due, notifiers
from core.notify.kinds import StaffKind
from core.notify.notifier import Channel
from core.notify.preferences import Preferences
from tests.activities.test_case import T0, event, snapshot
from tests.conftest import user_named
from tests.smtp import Mailbox, mailbox, smtp_settings
from workflows.contracts import CaseEvent, CaseSnapshot, RecordEventsInput, Status

__all__ = ["mailbox"]  # the fixture
REPORTER = "citizen@example.cn"


def citizen_case(seq: int, status: Status, **changes: object) -> CaseSnapshot:
    snap = snapshot(seq, status)
    return dataclasses.replace(
        snap, channel="citizen", reporter_phone="13812345678", tracking_token="tok", **changes
    )


def action(
    seq: int, name: str, to: Status, *, before: Status | None = None, **payload: object
) -> CaseEvent:
    e = event(seq, to)
    e.action, e.payload = name, dict(payload)
    e.from_status = (before or to).value
    return e


def opt_in(
    sessions: SessionFactory, username: str, channel: Channel, address: str, *kinds: StaffKind
) -> None:
    with session_scope(sessions) as session:
        user = session.merge(user_named(sessions, username))
        preferences.update(
            session, user, Preferences(channel=channel, address=address, kinds=list(kinds))
        )


def rows(sessions: SessionFactory) -> list[tuple[int, str, str, str, str]]:
    with session_scope(sessions) as session:
        query = select(Notification).order_by(col(Notification.seq), col(Notification.recipient))
        return [(n.seq, n.recipient, n.channel, n.kind, n.address) for n in session.exec(query)]


INTAKE = [
    action(1, "receive", Status.RECEIVED),
    action(2, "register", Status.REGISTERED, before=Status.RECEIVED),
    action(
        3, "dispatch", Status.DISPATCHED, before=Status.REGISTERED, unit="gl-nhl", notify=["gl-nhl"]
    ),
]
ESCALATE = action(4, "escalate", Status.DISPATCHED, level=1, unit="gl", notify=["gl"])


def test_who_is_told_what(sessions: SessionFactory) -> None:
    """The reporter (by e-mail, left at intake) and the staff who opted in, each for their kind."""
    with session_scope(sessions) as session:
        contacts.record(session, "X1", REPORTER)
    opt_in(sessions, "supervisor_gl", Channel.EMAIL, "sup@example.cn", StaffKind.ESCALATE)
    opt_in(sessions, "dispatcher_gl", Channel.EMAIL, "dis@example.cn", StaffKind.DISPATCH)
    opt_in(sessions, "handler_nhl", Channel.SMS, "139 1111 2222", StaffKind.DISPATCH)
    opt_in(sessions, "supervisor1", Channel.EMAIL, "city@example.cn", StaffKind.REMIND)
    acts = CaseActivities(sessions)
    acts.write_case(RecordEventsInput(citizen_case(3, Status.DISPATCHED), INTAKE))
    acts.write_case(RecordEventsInput(citizen_case(4, Status.DISPATCHED), [ESCALATE]))
    assert rows(sessions) == [
        (1, "report:X1", "email", "tracking", REPORTER),
        (3, "user:handler_nhl", "sms", "dispatch", "13911112222"),
        (4, "user:supervisor_gl", "email", "escalate", "sup@example.cn"),
    ]


def test_a_reporter_without_e_mail_gets_an_sms_and_patrol_reports_nobody(
    sessions: SessionFactory,
) -> None:
    acts = CaseActivities(sessions)
    acts.write_case(RecordEventsInput(citizen_case(1, Status.RECEIVED), INTAKE[:1]))
    patrol = dataclasses.replace(
        citizen_case(1, Status.RECEIVED), id="case-P1", ticket="P1", channel="patrol"
    )
    acts.write_case(RecordEventsInput(patrol, INTAKE[:1]))
    landline = dataclasses.replace(
        citizen_case(1, Status.RECEIVED), id="case-L1", ticket="L1", reporter_phone="025-83001234"
    )
    acts.write_case(RecordEventsInput(landline, INTAKE[:1]))
    assert rows(sessions) == [(1, "report:X1", "sms", "tracking", "13812345678")]


def test_every_reporter_hears_the_result_once(sessions: SessionFactory) -> None:
    """Closed, then archived after the callback: one result each, merged reports included."""
    with session_scope(sessions) as session:
        contacts.record(session, "M1", "merged@example.cn")
        session.add(
            LinkedReportRecord(
                ticket="M1",
                case_id="case-X1",
                case_ticket="X1",
                channel="hotline",
                title="t",
                linked_at=T0,
            )
        )
        session.add(
            LinkedReportRecord(
                ticket="M2",
                case_id="case-X1",
                case_ticket="X1",
                channel="citizen",
                title="t",
                reporter_phone="13900000000",
                linked_at=T0,
                split_at=T0,
            )
        )
    acts = CaseActivities(sessions)
    close = action(5, "verify", Status.CLOSED, before=Status.VERIFYING, passed=True)
    archive = action(6, "record_callback", Status.ARCHIVED, before=Status.CLOSED)
    acts.write_case(RecordEventsInput(citizen_case(6, Status.ARCHIVED), [close, archive]))
    assert rows(sessions) == [
        (5, "report:M1", "email", "result", "merged@example.cn"),
        (5, "report:X1", "sms", "result", "13812345678"),
    ]


def test_a_retried_batch_adds_and_sends_nothing_twice(
    sessions: SessionFactory, mailbox: Mailbox
) -> None:
    settings = Settings(**smtp_settings(mailbox.port))
    with session_scope(sessions) as session:
        contacts.record(session, "X1", REPORTER)
    opt_in(sessions, "supervisor_gl", Channel.EMAIL, "sup@example.cn", StaffKind.ESCALATE)
    acts = CaseActivities(sessions)
    batch = RecordEventsInput(citizen_case(4, Status.DISPATCHED), [*INTAKE, ESCALATE])
    acts.write_case(batch)
    assert deliver_due(sessions, settings, notifiers(settings), T0 + timedelta(hours=1)).sent == 2
    acts.write_case(batch)  # a retry of the same batch, after its messages went out
    acts.write_case(RecordEventsInput(citizen_case(4, Status.DISPATCHED), [ESCALATE]))
    assert deliver_due(sessions, settings, notifiers(settings), T0 + timedelta(hours=2)).sent == 0
    assert sorted(m["To"] for m in mailbox.received) == [REPORTER, "sup@example.cn"]
    assert len(rows(sessions)) == 2


def test_a_rewritten_event_keeps_only_what_was_sent(
    sessions: SessionFactory, mailbox: Mailbox
) -> None:
    """After a reset, seq 4 is no escalation any more: its pending message goes, sent ones stay;
    past the workflow's last event nothing is kept."""
    opt_in(
        sessions,
        "supervisor_gl",
        Channel.EMAIL,
        "sup@example.cn",
        StaffKind.ESCALATE,
        StaffKind.REMIND,
    )
    acts = CaseActivities(sessions)
    remind = action(5, "remind", Status.DISPATCHED, stage="accept", notify=["gl"])
    acts.write_case(
        RecordEventsInput(citizen_case(5, Status.DISPATCHED), [*INTAKE, ESCALATE, remind])
    )
    with session_scope(sessions) as session:  # seq 4's message went out; seq 5's waits
        sent = session.exec(select(Notification).where(Notification.seq == 4)).one()
        sent.status = "sent"
    note = action(4, "note", Status.DISPATCHED)
    with session_scope(sessions) as session:  # the reset rewinds the row (as in test_case.py)
        row = session.get(CaseRecord, "case-X1")
        assert row is not None
        row.last_seq = 3
    acts.write_case(RecordEventsInput(citizen_case(4, Status.DISPATCHED), [note]))
    assert rows(sessions) == [
        (1, "report:X1", "sms", "tracking", "13812345678"),
        (4, "user:supervisor_gl", "email", "escalate", "sup@example.cn"),
    ]


def test_a_disabled_user_is_told_nothing(sessions: SessionFactory) -> None:
    opt_in(sessions, "supervisor_gl", Channel.EMAIL, "sup@example.cn", StaffKind.ESCALATE)
    with session_scope(sessions) as session:
        user = session.merge(user_named(sessions, "supervisor_gl"))
        user.disabled_at = T0
    acts = CaseActivities(sessions)
    acts.write_case(RecordEventsInput(citizen_case(4, Status.DISPATCHED), [*INTAKE, ESCALATE]))
    assert [r for r in rows(sessions) if r[1].startswith("user:")] == []
