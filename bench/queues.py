"""What a work queue costs: every tab's count and one page, for users at each level.

Run as ``.venv/bin/python -m bench.queues [--cases 50000] [--database-url URL]``. It prints its
figures and asserts nothing.

The read model is seeded as `bench.access` seeds it (open cases over every grid, held by their
street or a district department, whistles and merged reports), then spread over the statuses the
tabs ask for by the ticket's last digit. For each user it times `queues.queue_page` (the tab
counts in one pass, the tab's total and its first page of 20) on the default tab, and with a
text search and with a whole phone number.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import update
from sqlmodel import col, select

from bench.access import USERS, parse_args, seeded, timed
from core.cases import queues
from core.db import SessionFactory, session_scope
from core.models import CaseRecord, User

# The ticket's last digit decides the status: a spread over every tab.
STATUSES = {
    "0": "RECEIVED",
    "1": "REGISTERED",
    "2": "RETURNED",
    "3": "ACCEPTED",
    "4": "HANDLING",
    "5": "REWORK",
    "6": "VERIFYING",
    "7": "CLOSED",
    "8": "PARKED",
    "9": "ARCHIVED",
}


def spread(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        for digit, status in STATUSES.items():
            ending = col(CaseRecord.ticket).endswith(digit)
            session.execute(update(CaseRecord).where(ending).values(status=status))
        phones = col(CaseRecord.ticket).endswith("00")
        session.execute(update(CaseRecord).where(phones).values(reporter_phone="139-1234-5678"))


def report(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        users = {u.username: u for u in session.exec(select(User))}
        for u in users.values():
            session.expunge(u)
    for name in USERS:
        user = users[name]
        for label, q in (("tabs+page", ""), ("text search", "垃圾"), ("phone", "13912345678")):
            query = queues.QueueQuery(q=q)
            found = queues.queue_page(sessions, user, query)
            median, worst = timed(partial(queues.queue_page, sessions, user, query))
            counts = " ".join(f"{t.value}={n}" for t, n in found.tabs)
            print(
                f"{name:>18} {label:>11}: {median:7.1f} ms (max {worst:.1f}); "
                f"tab {found.tab.value} total {found.total}; {counts}"
            )


def main() -> None:
    with seeded(parse_args(__doc__), "queues", then=spread) as sessions:
        report(sessions)


if __name__ == "__main__":
    main()
