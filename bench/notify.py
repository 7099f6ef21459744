"""What the outbox costs the projection, and how fast the sender empties it.

Run as ``.venv/bin/python -m bench.notify [--cases 300] [--database-url URL]``. It prints
figures and asserts nothing. On a seeded database (a fresh SQLite file unless a URL is given)
with three staff members opted in, it projects each case's intake batch (receive, register,
dispatch: a citizen with an e-mail address and an opted-in handler are told) through
`CaseActivities.write_case`, once with the outbox and once with `outbox.plan` replaced by a
no-op, alternating the two so that both see the same load; then it sends the rows through a
local SMTP server (aiosmtpd, a dev dependency) and times that.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlmodel import col, select

from activities import case as case_activities
from activities.case import CaseActivities
from core.config import Settings
from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.models import User
from core.notify import contacts, outbox, preferences
from core.notify.delivery import deliver_due, notifiers
from core.notify.kinds import StaffKind
from core.notify.notifier import Channel
from core.notify.preferences import Preferences
from tests.cases import case_state
from workflows.contracts import SYSTEM, CaseEvent, RecordEventsInput, Status

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


class Sink:
    """An SMTP server that accepts everything and counts it."""

    count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def batch(n: int) -> RecordEventsInput:
    ticket = f"BN{n:06d}"
    snap = case_state(
        ticket,
        title="路口垃圾",
        channel="citizen",
        status=Status.DISPATCHED,
        created_at=T0,
        updated_at=T0,
        last_seq=3,
    ).snapshot()
    snap = dataclasses.replace(snap, reporter_phone="13812345678", tracking_token="t" * 22)
    steps = [("receive", Status.RECEIVED), ("register", Status.REGISTERED)]
    events = [CaseEvent(i + 1, T0, a, SYSTEM, "", s.value) for i, (a, s) in enumerate(steps)]
    payload = {"unit": "gl-nhl", "notify": ["gl-nhl"], "auto": True}
    events.append(CaseEvent(3, T0, "dispatch", SYSTEM, "REGISTERED", "DISPATCHED", "", payload))
    return RecordEventsInput(snap, events)


def opt_in(sessions: SessionFactory) -> None:
    wanted = {
        "handler_nhl": [StaffKind.DISPATCH, StaffKind.REMIND],
        "supervisor_gl": [StaffKind.ESCALATE],
        "dispatcher_gl": [StaffKind.DISPATCH],
    }
    with session_scope(sessions) as session:
        for user in session.exec(select(User).where(col(User.username).in_(wanted))):
            prefs = Preferences(
                channel=Channel.EMAIL,
                address=f"{user.username}@example.cn",
                kinds=wanted[user.username],
            )
            preferences.update(session, user, prefs)


def timed(write: Callable[[RecordEventsInput], int], inp: RecordEventsInput) -> float:
    start = time.perf_counter()
    write(inp)
    return (time.perf_counter() - start) * 1000


def project(sessions: SessionFactory, cases: int) -> tuple[list[float], list[float]]:
    """ms per intake batch with the outbox, and without (alternating, the same load)."""
    acts = CaseActivities(sessions)
    plan, with_ms, without_ms = outbox.plan, [], []
    for n in range(cases):
        with session_scope(sessions) as session:
            contacts.record(session, f"BN{n:06d}", f"citizen{n}@example.cn")
        if n % 2:
            case_activities.outbox.plan = lambda *_a, **_k: 0  # type: ignore[assignment]
            without_ms.append(timed(acts.write_case, batch(n)))
            case_activities.outbox.plan = plan
        else:
            with_ms.append(timed(acts.write_case, batch(n)))
    return with_ms, without_ms


def send(sessions: SessionFactory, cases: int) -> None:
    sink = Sink()
    with socket.socket() as probe:  # a free port (aiosmtpd's controller needs one named)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none", notify_batch=10**6)
    try:
        start = time.perf_counter()
        done = deliver_due(sessions, settings, notifiers(settings), T0 + timedelta(hours=1))
        seconds = time.perf_counter() - start
    finally:
        controller.stop()
    print(
        f"  sender: {done.sent} e-mails in {seconds:.2f} s = {done.sent / seconds:.0f}/s "
        f"(one SMTP connection each; the server received {sink.count})"
    )


def summary(label: str, ms: list[float]) -> str:
    p95 = statistics.quantiles(ms, n=20)[-1]
    return f"  {label:<16} median {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms"


def main(cases: int, url: str) -> None:
    if not url:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-notify-')) / 'bench.db'}"
    prepare_demo_database(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    opt_in(sessions)
    print(f"projection of an intake batch (3 events), {cases} cases, {url.split(':')[0]}")
    with_ms, without_ms = project(sessions, cases)
    print(summary("with outbox", with_ms))
    print(summary("without outbox", without_ms))
    send(sessions, cases)
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    main(args.cases, args.database_url)
