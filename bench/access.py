"""What the access policy costs a list: the queue query with and without its `where` clause.

Run as ``.venv/bin/python -m bench.access [--cases 50000] [--database-url URL]``. It prints
its figures and asserts nothing.

A fresh read model (SQLite in a temp dir, or the database at --database-url, migrated and
seeded) gets `--cases` case rows spread over every grid of the demo tree, held by their street
or by a department of their district; every 20th has a summoned whistle and every 10th a
merged report. Then, for a user at each level, it times the first page of open cases (50,
soonest deadline first, with the total) as `CaseService.list_cases` runs it, against the same
query without the policy's clause, and one case's visibility check (`access.visible_case`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import cast

from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.client import Client

from core import access
from core.cases.service import CaseFilter, CaseService
from core.config import Settings
from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.models import CaseRecord, LinkedReportRecord, Unit, User, WhistleRecord
from tests.cases import case_record

USERS = ["supervisor1", "dispatcher_gl", "handler_nhl", "handler_gl_water", "handler_xwm"]
REPEAT = 15


def parse_args(doc: str) -> argparse.Namespace:
    """The options of this bench and of `bench.queues`; `doc` is the bench's docstring."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--cases", type=int, default=50_000)
    p.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    return p.parse_args()


def seed(sessions: SessionFactory, n: int) -> None:
    """`n` open cases over every grid, held by their street or a department of the district."""
    with session_scope(sessions) as session:
        units = list(session.exec(select(Unit)))
    grids = [u for u in units if u.level == "grid"]
    depts = {u.parent_id: u.id for u in units if u.level == "dept" and u.dept_type == "water"}
    now = datetime.now(UTC)
    rows: list[CaseRecord] = []
    extra: list[WhistleRecord | LinkedReportRecord] = []
    for i in range(n):
        grid = grids[i % len(grids)]
        ids = [p for p in grid.path.split("/") if p]
        district, street = ids[1], ids[2]
        holder = depts[district] if i % 3 == 0 else street
        case_id = f"case-B{i:07d}"
        rows.append(_case(case_id, f"B{i:07d}", grid, district, street, holder, now, i))
        if i % 20 == 0:
            extra.append(_whistle(case_id, district, street, now))
        if i % 10 == 0:
            extra.append(_linked(case_id, f"B{i:07d}", now))
    with session_scope(sessions) as session:
        session.add_all(rows)
        session.flush()
        session.add_all(extra)


def _case(
    case_id: str,
    ticket: str,
    grid: Unit,
    district: str,
    street: str,
    holder: str,
    now: datetime,
    i: int,
) -> CaseRecord:
    return case_record(
        ticket,
        id=case_id,
        status="DISPATCHED",
        location_unit_id=grid.id,
        location_path=grid.path,
        district_id=district,
        street_id=street,
        assigned_unit_id=holder,
        due_at=now + timedelta(minutes=i % 5000),
        created_at=now,
        updated_at=now,
        taken_by="operator1",
    )


def _whistle(case_id: str, district: str, street: str, now: datetime) -> WhistleRecord:
    dept = f"{district}-dept-police"
    return WhistleRecord(
        id=f"whistle-{case_id}-1-{dept}",
        case_id=case_id,
        dept_id=dept,
        blower_unit_id=street,
        district_id=district,
        street_id=street,
        step="summoned",
        summoned_at=now,
    )


def _linked(case_id: str, ticket: str, now: datetime) -> LinkedReportRecord:
    return LinkedReportRecord(
        ticket=f"{ticket}-L",
        case_id=case_id,
        case_ticket=ticket,
        channel="hotline",
        title="同一处",
        taken_by="dispatcher_gl",
        linked_at=now,
    )


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Median and worst of REPEAT runs, in milliseconds (after one warm-up run)."""
    run()
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def baseline_page(sessions: SessionFactory) -> int:
    """The queue's first page and total, with no access clause (what lists did before)."""
    query = CaseFilter(open_only=True).apply(select(CaseRecord))
    with session_scope(sessions) as session:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        order = (col(CaseRecord.due_at).is_(None), col(CaseRecord.due_at), CaseRecord.ticket)
        list(session.exec(query.order_by(*order).limit(50)))
    return total


def visible(session: Session, user: User, ticket: str) -> bool:
    return access.visible_case(session, user, ticket) is not None


def report(sessions: SessionFactory, service: CaseService, n: int) -> None:
    with session_scope(sessions) as session:
        users = {u.username: u for u in session.exec(select(User))}
    median, worst = timed(lambda: baseline_page(sessions))
    print(f"{'no policy (all ' + str(n) + ')':>28}: page+total {median:8.1f} ms (max {worst:.1f})")
    for name in USERS:
        user = users[name]
        page = service.list_cases(CaseFilter(open_only=True), viewer=user)
        median, worst = timed(partial(service.list_cases, CaseFilter(open_only=True), viewer=user))
        with session_scope(sessions) as session:
            one_median, _ = timed(partial(visible, session, user, "B0000001"))
        print(
            f"{name + ' (' + str(page.total) + ')':>28}: page+total {median:8.1f} ms "
            f"(max {worst:.1f}); one case's check {one_median:.2f} ms"
        )


@contextmanager
def seeded(
    args: argparse.Namespace, name: str, then: Callable[[SessionFactory], None] | None = None
) -> Iterator[SessionFactory]:
    """A fresh read model with `--cases` seeded cases (and `then` done to them), timed."""
    with tempfile.TemporaryDirectory(prefix=f"cityloop-bench-{name}-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'cityloop.db'}"
        prepare_demo_database(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        start = time.perf_counter()
        seed(sessions, args.cases)
        if then is not None:
            then(sessions)
        seconds, backend = time.perf_counter() - start, url.split(":")[0]
        print(f"seeded {args.cases} cases in {seconds:.1f} s ({backend})")
        yield sessions
        engine.dispose()


def main() -> None:
    args = parse_args(__doc__)
    with seeded(args, "access") as sessions:
        service = CaseService(cast(Client, None), sessions, Settings(secret_key="bench"))
        report(sessions, service, args.cases)


if __name__ == "__main__":
    main()
